"""`autopilot`: the operator CLI. Against a deployed stack (`--profile`, `--region`, `--stage` or `--stack`) or the
local cloud (`--local SCENARIO`: the scenario runs in-process first, then the command runs against its world).

    autopilot status E10234                 autopilot desks --state READY --site paris-hq
    autopilot incidents --open              autopilot incident ack|resolve INC_ID
    autopilot feed held                     autopilot feed release|discard FEED_ID
    autopilot dlq list                      autopilot dlq redrive [--dry-run]
    autopilot plan roster.csv               autopilot policy check policy.yaml --sample events/
    autopilot report --html fleet.html      autopilot policy publish policy.yaml [--dry-run]

Every command takes --json (one JSON document on stdout). Progress goes to stderr. Exit status: 0 done,
1 failed (AWS, the stack, the world), 2 bad input (the message says which file, id or option).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from autopilot.adapters.usage_store import UsageStore
from autopilot.domain.cost.running_modes import monthly_report_csv
from autopilot.domain.hr.roster import parse_roster
from autopilot.domain.kernel.errors import AutopilotError, InvalidInput, PolicyError
from autopilot.domain.kernel.resolution import resolve as resolve_policy
from autopilot_ops import cur, dlq, feeds, fleet, planning, records, report_data, report_html
from autopilot_ops.backend import Backend, aws_backend, world_backend
from autopilot_ops.errors import BAD_INPUT, FAILED, BadInput, OpsError
from autopilot_ops.local import scenario_world
from autopilot_ops.policy_check import SSM_TIER_LIMITS, publishable, read_policy
from autopilot_ops.policy_check import check as check_policy
from autopilot_ops.pricing import DEFAULT_AUTOSTOP_HOURS

PROG = "autopilot"
STATE_STYLES = {
    "READY": "green",
    "AVAILABLE": "green",
    "PROVISIONING": "yellow",
    "SCHEDULED": "magenta",
    "LEAVING": "cyan",
    "STOPPED": "blue",
    "FAILED": "bold red",
    "OPEN": "red",
    "RESOLVED": "green",
}


class Session:
    """What the group's options chose; the backend is built on first use (policy check needs none)."""

    def __init__(
        self,
        *,
        profile: str | None = None,
        region: str | None = None,
        stage: str = "dev",
        stack: str | None = None,
        local: Path | None = None,
        quiet: bool = False,
        backend: Backend | None = None,
    ) -> None:
        self.profile, self.region, self.stage, self.stack, self.local = profile, region, stage, stack, local
        self.quiet = quiet
        self._backend = backend
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)
        self.out = Console(highlight=False, soft_wrap=False, width=160)

    def progress(self, message: str) -> None:
        if not self.quiet:
            self.err.print(f"[dim]{escape(message)}[/dim]")

    def backend(self) -> Backend:
        if self._backend is None:
            if self.local is not None:
                root = click.get_current_context().find_root()
                cloud = root.with_resource(scenario_world(self.local, self.progress))
                self._backend = world_backend(cloud)
            else:
                self.progress(f"reading stack {self.stack or f'workspaces-autopilot-{self.stage}'}")
                self._backend = aws_backend(
                    profile=self.profile, region=self.region, stage=self.stage, stack=self.stack
                )
        return self._backend


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"{PROG}: {' '.join(str(message).split())}", err=True)
    sys.exit(code)


class OpsGroup(click.Group):
    """Every error is one line on stderr and an exit status: 2 bad input, 1 anything else."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.UsageError as exc:
            hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
            _fail(f"{exc.format_message()}{hint}", BAD_INPUT)
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code)
        except click.Abort:
            _fail("aborted", FAILED)
        except OpsError as exc:
            _fail(exc.message, exc.exit_code)
        except PolicyError as exc:
            _fail("; ".join(exc.errors), BAD_INPUT)
        except InvalidInput as exc:
            _fail(str(exc), BAD_INPUT)
        except NoCredentialsError:
            _fail("no AWS credentials: give --profile, or set AWS_PROFILE or credentials in the environment", FAILED)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            _fail(f"AWS {exc.operation_name}: {error.get('Code')}: {error.get('Message')}", FAILED)
        except (BotoCoreError, AutopilotError) as exc:
            _fail(str(exc), FAILED)
        if isinstance(result, int) and result:
            sys.exit(result)
        return result


def json_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")(function)


def _session() -> Session:
    session = click.get_current_context().find_object(Session)
    assert session is not None
    return session


def _emit(as_json: bool, data: Any, render: Callable[[Console], None]) -> None:
    session = _session()
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))
    else:
        render(session.out)


_MOMENT = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2}(\.\d+)?)?(Z|[+-]00:00)?$")


def _styled(value: object) -> str:
    text = "" if value is None else str(value)
    moment = _MOMENT.match(text)
    if moment:  # tables show minutes, UTC; --json keeps the full time
        text = f"{moment[1]} {moment[2]}"
    style = STATE_STYLES.get(text)
    return f"[{style}]{escape(text)}[/{style}]" if style else escape(text)


# Columns shown whole, never cut with an ellipsis or wrapped: ids an operator copies into the next command.
ID_COLUMNS = frozenset({"incident", "feed", "workspace", "employee", "desk/directory", "user"})


def _table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for index, column in enumerate(columns):
        if column in ID_COLUMNS:
            longest = max([len(column), *(len(str(row[index] or "")) for row in rows)])
            table.add_column(column, no_wrap=True, min_width=longest)
        else:
            table.add_column(column)
    for row in rows:
        table.add_row(*[_styled(value) for value in row])
    return table


# ======================================================================================== the group


@click.group(cls=OpsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--profile", envvar="AWS_PROFILE", help="AWS profile of the deployed stack.")
@click.option("--region", envvar="AWS_REGION", help="AWS region of the deployed stack.")
@click.option(
    "--stage",
    envvar="AUTOPILOT_STAGE",
    default="dev",
    show_default=True,
    help="Stage: the stack is workspaces-autopilot-<stage>.",
)
@click.option("--stack", envvar="AUTOPILOT_STACK", help="Stack name, when it is not workspaces-autopilot-<stage>.")
@click.option(
    "--local",
    "local",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Run SCENARIO_FILE in the local cloud first, then the command against its world (no AWS account).",
    metavar="SCENARIO_FILE",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress messages on stderr.")
@click.pass_context
def main(
    ctx: click.Context,
    profile: str | None,
    region: str | None,
    stage: str,
    stack: str | None,
    local: Path | None,
    quiet: bool,
) -> None:
    """Operate WorkSpaces Autopilot: desks, incidents, held feeds, dead letters, plans, policy, reports."""
    if isinstance(ctx.obj, Session):  # a caller (a test) gave a ready session
        return
    if local is not None and not local.is_file():
        raise BadInput(f"--local {local}: no such scenario file")
    ctx.obj = Session(profile=profile, region=region, stage=stage, stack=stack, local=local, quiet=quiet)


# ======================================================================================== desks


def _employee_label(desk: dict[str, Any]) -> str:
    """An adopted desk nobody in HR claimed carries its WorkSpace id as employee id: say so instead."""
    if desk.get("employee_id") == desk.get("workspace_id"):
        return NO_HR_RECORD
    return str(desk["employee_id"])


NO_HR_RECORD = "no HR record (adopted desk)"


@main.command()
@click.argument("identifier", metavar="EMPLOYEE_ID|WORKSPACE_ID|USER_NAME")
@json_option
def status(identifier: str, as_json: bool) -> None:
    """A desk: its record, its WorkSpace, its timers, its open incident and its recent history."""
    data = fleet.status(_session().backend(), identifier)

    def render(out: Console) -> None:
        desk = data["desk"]
        ws = data["workspace"] or {}
        out.print(
            f"[bold]{escape(_employee_label(desk))}[/bold]  user {escape(desk.get('username') or '-')}  "
            f"desk {_styled(desk['lifecycle'])}  "
            f"site {escape(desk['site'])}  profile {escape(desk['profile'])}  origin {escape(desk.get('origin', ''))}"
        )
        out.print(
            f"  WorkSpace {escape(str(desk.get('workspace_id', '(none yet)')))}  state {_styled(ws.get('state', '-'))}"
            f"  {escape(str(ws.get('running_mode', desk['running_mode'])))}"
            f"  connection {escape(str(ws.get('connection_state', '-')))}"
        )
        moments = ("start_date", "last_day", "ready_at", "last_login", "updated_at")
        out.print("  " + "  ".join(f"{name} {escape(str(desk[name]))}" for name in moments if desk.get(name)))
        if desk.get("last_error"):
            out.print(f"  [red]last error: {escape(desk['last_error'])}[/red]")
        timers = data["timers"]
        out.print(
            _table("Timers", ["name", "due", "target"], [(t["name"], t["due"], t["target"]) for t in timers])
            if timers
            else "Timers: none pending"
        )
        incident = data["incident"]
        if incident:
            out.print(
                f"Open incident [bold]{escape(incident['incident_id'])}[/bold] ({escape(incident['cause'])}, opened "
                f"{escape(incident['opened_at'])}, waiting for {escape(incident['waiting'])}"
                + (", escalated" if incident["escalated_at"] else "")
                + ")"
            )
            for step in incident["steps"]:
                out.print(
                    f"  {escape(step['at'])}  {escape(step['action'])} {escape(step['outcome'])} "
                    f"{escape(step['reason'])}"
                )
        else:
            out.print("Open incident: none")
        history = data["history"]
        out.print(
            _table(
                "Recent history",
                ["at", "event", "detail"],
                [(h["at"], h["kind"], json.dumps(h["detail"])) for h in history],
            )
        )

    _emit(as_json, data, render)


@main.command()
@click.option(
    "--state", help="Desk state: SCHEDULED, PROVISIONING, READY, FAILED, CANCELLED, LEAVING, STOPPED, TERMINATED."
)
@click.option("--site", help="Site, as the policy names it.")
@click.option("--profile", "profile", help="Profile, as the policy names it.")
@json_option
def desks(state: str | None, site: str | None, profile: str | None, as_json: bool) -> None:
    """Desk records, filtered by state, site and profile."""
    session = _session()
    rows = fleet.desks(session.backend(), state=state, site=site, profile=profile, progress=session.progress)

    def render(out: Console) -> None:
        columns = ["employee", "user", "workspace", "state", "site", "profile", "mode", "ready at", "last login"]
        table_rows = [
            (
                _employee_label(d),
                d.get("username", ""),
                d.get("workspace_id", ""),
                d["lifecycle"],
                d["site"],
                d["profile"],
                d["running_mode"],
                d.get("ready_at", ""),
                d.get("last_login", ""),
            )
            for d in rows
        ]
        out.print(_table(f"{len(rows)} desks", columns, table_rows))

    _emit(as_json, rows, render)


# ======================================================================================== incidents


def _incident_rows(rows: list[dict[str, Any]]) -> list[tuple[object, ...]]:
    return [
        (
            i["incident_id"],
            i["status"],
            i["scope"],
            i["cause"],
            i["subject"],
            i["employee_id"] or "",
            i["opened_at"],
            "yes" if i["escalated_at"] else "",
            "yes" if i["acknowledged"] else "",
            i["last_step"] or "",
            i["resolved_by"] or "",
        )
        for i in rows
    ]


INCIDENT_COLUMNS = [
    "incident",
    "status",
    "scope",
    "cause",
    "desk/directory",
    "employee",
    "opened",
    "escalated",
    "acked",
    "last step",
    "resolved by",
]


@main.command()
@click.option("--open", "only_open", is_flag=True, help="Only the open ones.")
@json_option
def incidents(only_open: bool, as_json: bool) -> None:
    """Incidents, newest first."""
    session = _session()
    rows = fleet.incidents(session.backend(), only_open=only_open, progress=session.progress)
    _emit(
        as_json, rows, lambda out: out.print(_table(f"{len(rows)} incidents", INCIDENT_COLUMNS, _incident_rows(rows)))
    )


@main.group()
def incident() -> None:
    """Act on one incident."""


@incident.command("ack")
@click.argument("incident_id")
@json_option
def incident_ack(incident_id: str, as_json: bool) -> None:
    """Take the incident over: the runbook stops acting on it; a login, the alarm clearing or `resolve` ends it."""
    backend = _session().backend()
    data = fleet.acknowledge(backend, incident_id, by=backend.caller)
    _emit(
        as_json,
        data,
        lambda out: out.print(f"{escape(data['incident_id'])} acknowledged: the automation leaves it to you"),
    )


@incident.command("resolve")
@click.argument("incident_id")
@json_option
def incident_resolve(incident_id: str, as_json: bool) -> None:
    """Close the incident (on-call gets the resolution in its thread; its timers are cancelled)."""
    backend = _session().backend()
    data = fleet.resolve(backend, incident_id, by=backend.caller)
    _emit(as_json, data, lambda out: out.print(f"{escape(data['incident_id'])} resolved by an operator"))


# ======================================================================================== feeds


@main.group()
def feed() -> None:
    """Roster feeds held for approval (a mass departure)."""


FEED_COLUMNS = ["feed", "status", "file", "received", "hires", "departures", "transfers", "rejected lines", "reason"]


def _feed_row(f: dict[str, Any]) -> tuple[object, ...]:
    rejected = ", ".join(str(line) for line in f["rejected_lines"])
    return (
        f["feed_id"],
        f["status"],
        f["file"],
        f["received_at"],
        f["hires"],
        f["departures"],
        f["transfers"],
        rejected,
        f.get("reason") or "",
    )


@feed.command("held")
@json_option
def feed_held(as_json: bool) -> None:
    """Feeds waiting for a person: held (release or discard each) and rejected in the last 7 days (resend)."""
    session = _session()
    rows = feeds.held(session.backend(), session.progress)
    _emit(
        as_json,
        rows,
        lambda out: out.print(_table(f"{len(rows)} held feeds", FEED_COLUMNS, [_feed_row(f) for f in rows])),
    )


def _confirm(yes: bool, question: str) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise BadInput(f"{question}: add --yes to confirm")
    if not click.confirm(question, default=False, err=True):
        raise click.Abort()


@feed.command("release")
@click.argument("feed_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
def feed_release(feed_id: str, yes: bool, as_json: bool) -> None:
    """Accept a held feed: its hires, departures and transfers go ahead now."""
    _confirm(yes, f"release {feed_id}: its departures stop and later terminate desks")
    data = feeds.release(_session().backend(), feed_id)
    _emit(
        as_json,
        data,
        lambda out: out.print(
            f"{escape(data['feed_id'])} {_styled(data['status'])}: {data['hires']} hires, "
            f"{data['departures']} departures, "
            f"{data['transfers']} transfers published"
            + (f"  [yellow]{escape(data['warning'])}[/yellow]" if data.get("warning") else "")
        ),
    )


@feed.command("discard")
@click.argument("feed_id")
@json_option
def feed_discard(feed_id: str, as_json: bool) -> None:
    """Throw a held feed away: nothing happens, the accepted roster stays as it was."""
    data = feeds.discard(_session().backend(), feed_id)
    _emit(
        as_json,
        data,
        lambda out: out.print(f"{escape(data['feed_id'])} {_styled(data['status'])}: nothing was published"),
    )


# ======================================================================================== dead letters


@main.group("dlq")
def dead_letters() -> None:
    """Dead-letter queues: what failed, why, and sending it back."""


def _wait(session: Session) -> int:
    return 0 if session.local is not None or session.backend().label.startswith("local") else 1


@dead_letters.command("list")
@click.option(
    "--queue",
    help="Only this queue (ProvisioningDLQ, LifecycleDLQ, EventDeliveryDLQ, AsyncFailureDLQ, AlertDeliveryDLQ).",
)
@click.option(
    "--limit", default=100, show_default=True, type=click.IntRange(1, 10_000), help="Messages read per queue."
)
@json_option
def dlq_list(queue: str | None, limit: int, as_json: bool) -> None:
    """Every dead letter: the queue, what it is, why it failed, where a redrive would send it."""
    session = _session()
    backend = session.backend()
    listing = dlq.list_letters(backend, queue=queue, limit=limit, wait=_wait(session), progress=session.progress)
    messages = [letter.as_dict() for letter in listing.letters]
    data = {"counts": listing.counts, "messages": messages}

    def render(out: Console) -> None:
        out.print("  ".join(f"{escape(name)}: {count}" for name, count in listing.counts.items()))
        rows = [(m["queue"], m["sent_at"], m["what"], m["why"], m["redrive_to"] or m["note"]) for m in messages]
        out.print(_table(f"{len(rows)} dead letters", ["queue", "sent", "what", "why", "redrive to"], rows))

    _emit(as_json, data, render)


@dead_letters.command("redrive")
@click.option("--queue", help="Only this queue.")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 100_000), help="Messages per queue.")
@click.option("--dry-run", is_flag=True, help="Show what would be sent where; change nothing.")
@json_option
def dlq_redrive(queue: str | None, limit: int, dry_run: bool, as_json: bool) -> None:
    """Send dead letters back to the queue or function they were going to; the others stay."""
    session = _session()
    backend = session.backend()
    result = dlq.redrive(
        backend, queue=queue, limit=limit, wait=_wait(session), dry_run=dry_run, progress=session.progress
    )

    def render(out: Console) -> None:
        verb = "would send back" if dry_run else "sent back"
        rows = [(m["queue"], m["what"], m["redrive_to"], m.get("outcome", "")) for m in result.sent]
        out.print(_table(f"{verb}: {len(result.sent)}", ["queue", "what", "to", "outcome"], rows))
        if result.kept:
            out.print(
                _table(
                    f"left in place: {len(result.kept)}",
                    ["queue", "what", "why"],
                    [(m["queue"], m["what"], m["note"]) for m in result.kept],
                )
            )

    _emit(as_json, result.as_dict(), render)


# ======================================================================================== plan


@main.command()
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
    session = _session()
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
        out.print(
            _table(
                f"Hires: {len(data['hires'])}",
                ["employee", "site", "profile", "bundle", "mode", "provision on", "$/month", "action"],
                [
                    (
                        h["employee_id"],
                        h["site"],
                        h.get("profile", ""),
                        h.get("bundle", ""),
                        h.get("running_mode", ""),
                        h.get("provision_on", ""),
                        h.get("monthly", ""),
                        h["action"],
                    )
                    for h in data["hires"]
                ],
            )
        )
        out.print(
            _table(
                f"Departures: {len(data['departures'])}",
                ["employee", "workspace", "state", "stop on", "terminate on", "$/month saved", "action"],
                [
                    (
                        d["employee_id"],
                        d.get("workspace_id", ""),
                        d.get("lifecycle", ""),
                        d.get("stop_on", ""),
                        d.get("terminate_on", ""),
                        d.get("monthly_saving", ""),
                        d["action"],
                    )
                    for d in data["departures"]
                ],
            )
        )
        out.print(
            _table(
                f"Transfers: {len(data['transfers'])}",
                ["employee", "workspace", "from", "to", "$/month", "action"],
                [
                    (
                        t["employee_id"],
                        t.get("workspace_id", ""),
                        t.get("from_profile", ""),
                        t.get("to_profile", ""),
                        t.get("monthly_delta", ""),
                        t["action"],
                    )
                    for t in data["transfers"]
                ],
            )
        )
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

    _emit(as_json, data, render)


# ======================================================================================== policy


@main.group("policy")
def policy_group() -> None:
    """The policy document."""


@policy_group.command("check")
@click.argument("policy_file", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE")
@click.option(
    "--sample", "samples", multiple=True, type=click.Path(path_type=Path), help="HR event file or folder (repeatable)."
)
@click.option("--resolve", "resolve", is_flag=True, help="Also resolve sites and bundles against the stack's account.")
@json_option
def policy_check(policy_file: Path, samples: tuple[Path, ...], resolve: bool, as_json: bool) -> None:
    """Validate a policy (errors name the key) and show the profile and site each sample hire maps to."""
    if not policy_file.is_file():
        raise BadInput(f"{policy_file}: no such policy file")
    data = check_policy(policy_file, samples)
    if data["valid"] and resolve:
        policy, _ = read_policy(policy_file)
        assert policy is not None
        workspaces = _session().backend().workspaces
        try:
            resolve_policy(policy, directories_by_name=workspaces.directories(), bundles_by_name=workspaces.bundles())
        except PolicyError as exc:
            data["valid"], data["errors"] = False, list(exc.errors)
    sample_errors = [s for s in data["samples"] if s.get("error")]

    def render(out: Console) -> None:
        if data["valid"]:
            summary = data["summary"]
            out.print(
                f"[green]{escape(str(policy_file))}: valid[/green] ({len(summary['sites'])} sites, "
                f"{len(summary['bundles'])} bundles, {len(summary['profiles'])} profiles, {summary['rules']} rules"
                f"{', dry run' if summary['dry_run'] else ''})"
            )
        mapped = [sample for sample in data["samples"] if "note" not in sample]
        if mapped:
            columns = [
                "file",
                "employee",
                "department",
                "role",
                "site",
                "profile",
                "bundle",
                "mode",
                "directory",
                "problem",
            ]
            keys = [
                "employee_id",
                "department",
                "role",
                "site",
                "profile",
                "bundle",
                "running_mode",
                "directory",
                "error",
            ]
            rows = [(Path(s["file"]).name, *(s.get(key) or "" for key in keys)) for s in mapped]
            out.print(_table("Samples", columns, rows))
        skipped = len(data["samples"]) - len(mapped)
        if skipped:
            out.print(f"{skipped} sample events are neither hires nor transfers: skipped")

    _emit(as_json, data, render)
    if not data["valid"]:
        if not as_json:
            for error in data["errors"]:
                click.echo(f"{PROG}: {policy_file}: {error}", err=True)
        sys.exit(BAD_INPUT)
    if sample_errors:
        if not as_json:
            for sample in sample_errors:
                click.echo(f"{PROG}: {sample['file']}: {sample['error']}", err=True)
        sys.exit(BAD_INPUT)


@policy_group.command("publish")
@click.argument("policy_file", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE")
@click.option("--dry-run", is_flag=True, help="Validate and show what would be written; write nothing.")
@click.option(
    "--tier",
    type=click.Choice(list(SSM_TIER_LIMITS)),
    default="Standard",
    show_default=True,
    help="SSM parameter tier: Standard holds 4 KB; Advanced 8 KB, charged monthly, and cannot go back.",
)
@json_option
def policy_publish(policy_file: Path, dry_run: bool, tier: str, as_json: bool) -> None:
    """Validate a policy (as `check`) and store it, as compact JSON, in the stack's policy parameter."""
    if not policy_file.is_file():
        raise BadInput(f"{policy_file}: no such policy file")
    document = publishable(policy_file, tier=tier)  # refused here (exit 2) before any stack is read
    session = _session()
    backend = session.backend()
    data: dict[str, Any] = {
        "file": str(policy_file),
        "parameter": backend.resources.policy_parameter,
        "bytes": len(document.encode("utf-8")),
        "tier": tier,
        "version": None,
        "dry_run": dry_run,
    }
    if not dry_run:
        session.progress(f"writing {data['parameter']} ({data['bytes']} bytes)")
        data |= backend.publish_policy(document, tier=None if tier == "Standard" else tier)

    def render(out: Console) -> None:
        size = f"{data['bytes']} bytes of JSON, {data['tier']} tier"
        if dry_run:
            out.print(f"[green]{escape(str(policy_file))}: valid[/green]; nothing written (--dry-run)")
            out.print(f"  would write {escape(data['parameter'])}: {size}")
        else:
            out.print(f"[green]Published {escape(str(policy_file))}[/green]")
            out.print(f"  {escape(data['parameter'])} version {data['version']}: {size}")
            out.print("  the functions read it within 5 minutes (they cache the policy)")

    _emit(as_json, data, render)


# ======================================================================================== report


@main.command()
@click.option(
    "--html",
    "html_file",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the report to this file.",
)
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 400), help="Period covered, up to now.")
@click.option("--month", help="Month of the AutoStop usage chart (YYYY-MM; default: this month).")
@json_option
def report(html_file: Path, days: int, month: str | None, as_json: bool) -> None:
    """The fleet report: one self-contained HTML page with charts (readable offline)."""
    if month is not None:
        try:
            dt.datetime.strptime(month, "%Y-%m")
        except ValueError as exc:
            raise BadInput(f"--month {month}: use YYYY-MM") from exc
    session = _session()
    backend = session.backend()
    session.progress("reading the state table")
    snapshot = records.scan(backend.table, progress=session.progress)
    policy = backend.policy()
    data = report_data.build(
        snapshot, now=backend.now(), days=days, unused_days=policy.usage.unused_days, source=backend.label, month=month
    )
    page = report_html.render(data)
    try:
        html_file.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{html_file}: cannot write it: {exc.strerror or exc}") from exc
    session.progress(f"wrote {html_file} ({len(page) // 1024} KiB, {snapshot.items} items read)")
    summary = {"file": str(html_file), **data.as_dict()}
    _emit(as_json, summary, lambda out: out.print(f"Fleet report written to {escape(str(html_file))}"))


@main.group("running-modes", invoke_without_command=True)
@click.option("--month", help="Month of the report (YYYY-MM; default: this month).")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, path_type=Path), help="Write the CSV here.")
@json_option
@click.pass_context
def running_modes(ctx: click.Context, month: str | None, csv_file: Path | None, as_json: bool) -> None:
    """The running-mode optimiser's monthly report: hours against break-even and the decision, per desk."""
    if ctx.invoked_subcommand is not None:
        return
    month = _check_month(month)
    backend = _session().backend()
    month = month or backend.now().strftime("%Y-%m")
    store = UsageStore(backend.table)
    text = monthly_report_csv(store, month)
    _write_csv(csv_file, text)
    rows = list(csv.DictReader(io.StringIO(text)))

    def render(out: Console) -> None:
        columns = list(rows[0]) if rows else ["workspace_id"]
        out.print(_table(f"Running modes {month}", columns, [tuple(row.values()) for row in rows]))

    _emit(as_json, {"month": month, "rows": rows}, render)


def _check_month(month: str | None) -> str | None:
    if month is not None:  # checked before any world is built or stack read
        try:
            dt.datetime.strptime(month, "%Y-%m")
        except ValueError as exc:
            raise BadInput(f"--month {month}: use YYYY-MM") from exc
    return month


def _write_csv(csv_file: Path | None, text: str) -> None:
    if csv_file is not None:
        try:
            csv_file.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise BadInput(f"{csv_file}: cannot write it: {exc.strerror or exc}") from exc


@running_modes.command("verify")
@click.option(
    "--cur",
    "cur_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A cost-and-usage export (CUR 2.0 columns): CSV, CSV.gz, or Parquet (extra [parquet]).",
)
@click.option("--month", help="Month to compare (YYYY-MM; default: last month).")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, path_type=Path), help="Write the CSV here.")
@json_option
def running_modes_verify(cur_file: Path, month: str | None, csv_file: Path | None, as_json: bool) -> None:
    """The optimiser's billable hours and cost per desk against what the export bills, with the total error."""
    month = _check_month(month)
    rows = cur.read_rows(cur_file)  # checked before any stack is read
    backend = _session().backend()
    month = month or (backend.now().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    billed = cur.billed_by_desk(rows, month, cur_file)
    store = UsageStore(backend.table)
    ids = sorted(billed | {row.workspace_id: None for row in store.report_rows(month)})
    records = {ws: record for (ws, _), record in store.load(ids, [month]).items()}
    compared, totals = cur.compare(records, billed, backend.policy().optimizer)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(cur.COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(compared)
    _write_csv(csv_file, buffer.getvalue())

    def render(out: Console) -> None:
        table_rows = [tuple("" if row[c] is None else row[c] for c in cur.COLUMNS) for row in compared]
        out.print(_table(f"Estimated against billed, {month}", list(cur.COLUMNS), table_rows))
        out.print(
            f"total: {totals['estimated_hours']} h estimated, {totals['billed_hours']} h billed; "
            f"{totals['estimated_cost']:.2f} estimated, {totals['billed_cost']:.2f} billed "
            f"(error {totals['cost_error']})"
        )

    _emit(as_json, {"month": month, "rows": compared, "total": totals}, render)


if __name__ == "__main__":
    main()
