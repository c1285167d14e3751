"""`autopilot-local`: run scenarios in the local cloud, invoke one function Docker-free, run the demo.

    autopilot-local run scenarios/autostop_night.yaml          # readable timeline
    autopilot-local run scenarios/autostop_night.yaml --json   # the report, one JSON document on stdout
    autopilot-local invoke provision -e events/sqs_provision.json
    autopilot-local demo

Exit status: 0 done (function failures inside a scenario are in the report, not errors), 1 the function given
to `invoke` failed or the world ran away, 2 bad input (the message names the file and the step or field).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from autopilot.domain.kernel.errors import PolicyError
from localcloud.clock import parse_instant
from localcloud.intrinsics import TemplateError
from localcloud.scenario import ScenarioError, load_scenario, read_payload, run_scenario
from localcloud.world import DEFAULT_START, ROOT, LocalCloud, LocalCloudError, RunawayError

DEMO = ROOT / "scenarios" / "demo.yaml"
BAD_INPUT = 2
_STATE_STYLES = {
    "AVAILABLE": "green",
    "STOPPED": "blue",
    "STOPPING": "cyan",
    "STARTING": "cyan",
    "PENDING": "yellow",
    "UNHEALTHY": "red",
    "ERROR": "bold red",
    "TERMINATED": "dim",
}


def _fail(message: str, status: int = BAD_INPUT) -> NoReturn:
    """One line on stderr, no traceback."""
    click.echo(f"autopilot-local: {message}", err=True)
    sys.exit(status)


@click.group(help="The local cloud: WorkSpaces Autopilot's template, functions and a WorkSpaces emulator in moto.")
def main() -> None:
    pass


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON document on stdout.")
@click.option("--verbose", "-v", is_flag=True, help="Timeline: also every event and scheduled tick.")
def run(scenario: Path, as_json: bool, verbose: bool) -> None:
    """Run a scenario file and print its timeline (or its report with --json)."""
    _run(scenario, as_json=as_json, verbose=verbose)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON document on stdout.")
@click.option("--verbose", "-v", is_flag=True, help="Timeline: also every event and scheduled tick.")
def demo(as_json: bool, verbose: bool) -> None:
    """Run the demo scenario (scenarios/demo.yaml)."""
    _run(DEMO, as_json=as_json, verbose=verbose)


@main.command()
@click.argument("function")
@click.option("-e", "--event", "event_file", type=click.Path(path_type=Path, dir_okay=False), help="Event file (JSON).")
@click.option("--policy", type=click.Path(path_type=Path, dir_okay=False), help="Policy file for the SSM parameter.")
@click.option("--at", "at", help="Virtual time of the invocation (ISO 8601); default: the event's time.")
def invoke(function: str, event_file: Path | None, policy: Path | None, at: str | None) -> None:
    """Invoke one function with an event, like `sam local invoke`, without Docker; prints its JSON result."""
    event: Any = {}
    if event_file is not None:
        try:
            event = read_payload("--event", str(event_file), Path.cwd())
        except ScenarioError as exc:
            _fail(str(exc))
    when = at if at is not None else event.get("time") if isinstance(event, dict) else None
    try:
        start = parse_instant(when) if isinstance(when, str) else DEFAULT_START
    except ValueError:
        _fail(f"--at / the event's time: {when!r} is not an ISO 8601 instant")
    try:
        with LocalCloud(start=start, policy=policy) as cloud:
            invocation = cloud.invoke(function, event, settle=False)
    except PolicyError as exc:
        _fail(f"{policy}: {'; '.join(exc.errors)}")
    except FileNotFoundError as exc:
        _fail(f"{exc.filename}: no such file")
    except (LocalCloudError, TemplateError) as exc:
        _fail(str(exc))
    click.echo(invocation.logs, err=True, nl=False)
    click.echo(json.dumps(invocation.result, indent=2))
    if not invocation.ok:
        sys.exit(1)


def _run(path: Path, *, as_json: bool, verbose: bool) -> None:
    progress = Console(stderr=True, highlight=False)
    try:
        scenario = load_scenario(path)
        report = run_scenario(scenario, progress=lambda line: progress.print(escape(line), style="dim"))
    except ScenarioError as exc:
        _fail(str(exc))
    except RunawayError as exc:
        _fail(f"{path}: {exc}", status=1)
    except (LocalCloudError, TemplateError) as exc:
        _fail(f"{path}: {exc}")
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        return
    out = Console(highlight=False, soft_wrap=True)
    end = parse_instant(report["clock"])
    out.print(
        f"[bold]{escape(scenario.name)}[/bold]  {scenario.document.start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC"
    )
    users = {desk["workspace_id"]: desk["user"] for desk in report["workspaces"]}
    _print_timeline(out, report["timeline"], users, verbose=verbose)
    _print_summary(out, report)


def _print_timeline(out: Console, timeline: list[dict[str, Any]], users: dict[str, str], *, verbose: bool) -> None:
    day = None
    for entry in timeline:
        moment = parse_instant(entry["time"])
        line = _describe(entry, users, verbose=verbose)
        if line is None:
            continue
        if moment.date() != day:
            day = moment.date()
            out.print(f"[bold]{day:%A %d %B %Y}[/bold]")
        clock = f"{moment:%H:%M}" + (f":{moment:%S}" if moment.second else "")
        out.print(f"  {clock:<8} {line}")


def _describe(entry: dict[str, Any], users: dict[str, str], *, verbose: bool) -> str | None:
    kind = entry["kind"]
    if kind == "step":
        return f"[bold magenta]▶ {escape(entry['step'])}[/bold magenta]"
    if kind == "transition":
        desk = entry["workspace_id"]
        to_style = _STATE_STYLES.get(entry["to"], "white")
        who = f" [dim]({escape(users[desk])})[/dim]" if desk in users else ""
        return f"{desk}  {entry['from']} -> [{to_style}]{entry['to']}[/{to_style}]{who}"
    if kind == "created":
        desk = entry["workspace_id"]
        who = f" [dim]({escape(users[desk])})[/dim]" if desk in users else ""
        return f"{desk}  created, [yellow]{entry.get('state', 'PENDING')}[/yellow]{who}"
    if kind in {"login", "disconnect"}:
        return f"{entry['workspace_id']}  {escape(entry['user'])} {'logged in' if kind == 'login' else 'disconnected'}"
    if kind == "invocation":
        if entry["ok"] and not verbose and str(entry["trigger"]).startswith("schedule:"):
            return None
        status = "[green]ok[/green]" if entry["ok"] else f"[red]failed: {escape(str(entry['error']))}[/red]"
        attempt = f" (attempt {entry['attempt']})" if entry.get("attempt", 1) > 1 else ""
        return f"λ {entry['function']} ← {escape(entry['trigger'])}{attempt}  {status}"
    if kind == "alert":
        return f"[yellow]🔔 {entry.get('severity') or 'alarm'}[/yellow] {escape(str(entry['subject']))}"
    if kind == "email":
        return f"✉  {escape(', '.join(entry['to']))}: {escape(str(entry['subject']))}"
    if kind == "alarm":
        return f"⏰ {entry['alarm']}  {entry['previous']} -> {entry['state']}"
    if kind == "event":
        if not verbose:
            return None
        targets = ", ".join(entry["targets"]) or "no rule"
        return f"[dim]event {escape(str(entry['detail_type']))} on {entry['bus']} → {escape(targets)}[/dim]"
    if kind in {"step_failed", "login_refused", "login_failed", "delivery_failed"}:
        return f"[red]{kind.replace('_', ' ')}: {escape(str(entry.get('reason') or entry.get('state')))}[/red]"
    if kind == "async_failed":
        return f"[red]{entry['function']} gave up ({entry['condition']})[/red]"
    if kind in {"timer", "schedule"}:
        return f"⏱ {entry['name']} → {entry['target']}" if verbose or kind == "timer" else None
    if kind == "fleet":
        return f"fleet of {entry['desks']} desk(s) seeded"
    return escape(json.dumps(entry)) if verbose else None


def _print_summary(out: Console, report: dict[str, Any]) -> None:
    desks = Table(title="WorkSpaces", title_justify="left")
    for column in ("workspace", "user", "state", "mode", "autostop", "compute"):
        desks.add_column(column)
    for desk in report["workspaces"][:50]:
        style = _STATE_STYLES.get(desk["state"], "white")
        desks.add_row(
            desk["workspace_id"],
            escape(desk["user"]),
            f"[{style}]{desk['state']}[/{style}]",
            desk["running_mode"],
            str(desk["autostop_minutes"] or "-"),
            desk["compute_type"],
        )
    if len(report["workspaces"]) > 50:
        desks.caption = f"… and {len(report['workspaces']) - 50} more"
    out.print(desks)
    calls = Counter({(i["function"], i["ok"]): 0 for i in report["invocations"]})
    for invocation in report["invocations"]:
        calls[(invocation["function"], invocation["ok"])] += 1
    functions = sorted({function for function, _ in calls})
    summary = ", ".join(
        f"{function} {calls[(function, True)]}"
        + (f" ([red]{calls[(function, False)]} failed[/red])" if calls[(function, False)] else "")
        for function in functions
    )
    out.print(f"[bold]Invocations[/bold]: {summary or 'none'}")
    out.print(
        f"[bold]Alerts[/bold]: {len(report['alerts'])}   [bold]E-mails[/bold]: {len(report['emails'])}   "
        f"[bold]Dead letters[/bold]: {len(report['dead_letters'])}"
    )
    for letter in report["dead_letters"]:
        out.print(f"  [red]{letter['queue']}[/red]: {escape(letter['body'])} — {escape(letter['reason'])}")
    top = sorted(report["api_calls"].items(), key=lambda item: -item[1])[:8]
    out.print("[bold]API calls[/bold]: " + ", ".join(f"{name} {count}" for name, count in top))


if __name__ == "__main__":  # pragma: no cover
    main()
