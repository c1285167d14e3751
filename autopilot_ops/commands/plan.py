"""`plan ROSTER`: a roster file's dry run against the current state, with the monthly cost."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from autopilot.domain.hr.roster import parse_roster
from autopilot_ops import planning
from autopilot_ops.commands.output import emit, json_option, table
from autopilot_ops.commands.session import current_session
from autopilot_ops.errors import BadInput
from autopilot_ops.policy_check import read_policy
from autopilot_ops.pricing import DEFAULT_AUTOSTOP_HOURS

# The plan's tables: (key in the plan, heading, (column heading, key in a row)...); a missing value prints empty.
SECTIONS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "hires",
        "Hires",
        (
            ("employee", "employee_id"),
            ("site", "site"),
            ("profile", "profile"),
            ("bundle", "bundle"),
            ("mode", "running_mode"),
            ("provision on", "provision_on"),
            ("$/month", "monthly"),
            ("action", "action"),
        ),
    ),
    (
        "departures",
        "Departures",
        (
            ("employee", "employee_id"),
            ("workspace", "workspace_id"),
            ("state", "lifecycle"),
            ("stop on", "stop_on"),
            ("terminate on", "terminate_on"),
            ("$/month saved", "monthly_saving"),
            ("action", "action"),
        ),
    ),
    (
        "transfers",
        "Transfers",
        (
            ("employee", "employee_id"),
            ("workspace", "workspace_id"),
            ("from", "from_profile"),
            ("to", "to_profile"),
            ("$/month", "monthly_delta"),
            ("action", "action"),
        ),
    ),
)


def _cells(row: dict[str, Any], columns: tuple[tuple[str, str], ...]) -> tuple[Any, ...]:
    return tuple(row.get(key, "") for _, key in columns)


@click.command()
@click.argument("roster_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Plan with this policy instead of the deployed one.",
)
@click.option(
    "--hours",
    default=DEFAULT_AUTOSTOP_HOURS,
    show_default=True,
    type=click.IntRange(0, 744),
    help="AutoStop hours a month assumed per desk.",
)
@click.option(
    "--date", "feed_date", type=click.DateTime(formats=["%Y-%m-%d"]), help="The feed's date (default: today)."
)
@json_option
def plan(roster_file: Path, policy_file: Path | None, hours: int, feed_date: dt.datetime | None, as_json: bool) -> None:
    """Dry run of a roster file against the current state: desks given, stopped, terminated, resized; monthly cost."""
    try:
        text = roster_file.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise BadInput(f"{roster_file}: cannot read it: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise BadInput(f"{roster_file}: not UTF-8 text") from exc
    parsed = parse_roster(text, name=roster_file.name)
    if policy_file is not None:
        policy, errors = read_policy(policy_file)
        if policy is None:
            raise BadInput(f"{policy_file}: " + "; ".join(errors))
    session = current_session()
    backend = session.backend()
    if policy_file is None:
        policy = backend.policy()
    assert policy is not None
    session.progress("reading the accepted roster and the desks")
    data = planning.plan_roster(
        parsed,
        previous=backend.roster.load(),
        desks={desk.employee_id: desk for desk in backend.desks.all_desks()},
        policy=policy,
        today=feed_date.date() if feed_date else backend.now().date(),
        region=backend.resources.region,
        autostop_hours=hours,
    )

    def render(out: Console) -> None:
        if data["held"]:
            out.print(
                f"[bold red]This file would be HELD[/bold red]: {data['held_because']}. None of the rows below "
                "would be applied until an operator releases it (`autopilot feed release ID`)."
            )
        for section, title, columns in SECTIONS:
            rows = data[section]
            out.print(table(f"{title}: {len(rows)}", [h for h, _ in columns], [_cells(r, columns) for r in rows]))
        for row in data["rejected_rows"]:
            out.print(
                f"[red]line {row['line']} rejected[/red] ({escape(str(row['employee_id']))}): "
                f"{escape('; '.join(row['errors']))}"
            )
        cost = data["cost"]
        out.print(
            f"Monthly cost ({cost['currency']}, {cost['region']}, {cost['autostop_hours_per_month']} h AutoStop): "
            f"now {cost['current_monthly']}, after {cost['after_monthly']} ({cost['delta_monthly']:+})"
            + (
                f"  [yellow]no price for: {', '.join(cost['profiles_without_price'])}[/yellow]"
                if cost["profiles_without_price"]
                else ""
            )
        )

    emit(as_json, data, render)
