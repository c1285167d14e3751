"""`autopilot-local`: run scenarios in the local cloud, invoke one function Docker-free, run the demo.

    autopilot-local run scenarios/autostop_night.yaml          # readable timeline
    autopilot-local run scenarios/autostop_night.yaml --json   # the report, one JSON document on stdout
    autopilot-local run scenarios/autostop_night.yaml --hostile 7  # hostile mode (docs/local-cloud.md)
    autopilot-local invoke ProvisionFunction -e events/sqs_provisioning_batch.json
    autopilot-local generate-event hr-hire --employee-id E777 | autopilot-local invoke HrEventsFunction -e -
    autopilot-local demo

Exit status of run and demo: 0 done (function failures inside a scenario are in the report, not errors), 1 the
world ran away, 2 bad input (the message names the file and the step or field). `invoke` exits as
`sam local invoke` does: 0 the function ran (its error payload, if it raised, is the result), 1 the invocation
could not be made, 2 a usage error (docs/local-cloud.md).
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

from localcloud.clock import parse_instant
from localcloud.intrinsics import TemplateError
from localcloud.invoking import USER_ERROR, InvokeError, InvokeRequest
from localcloud.invoking import invoke as invoke_once
from localcloud.scenario import ScenarioError, load_scenario, open_world
from localcloud.story import automation_summary, login_waits
from localcloud.world import ROOT, LocalCloudError, RunawayError

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
@click.option(
    "--hostile",
    "hostile",
    type=click.IntRange(min=0),
    metavar="SEED",
    help="Hostile mode: duplicated, unordered, delayed deliveries and WorkSpaces throttling, replayable from SEED.",
)
@click.option(
    "--no-iam",
    is_flag=True,
    help="Debugging only: do not authorise the functions' calls as their roles (IAM is enforced by default).",
)
def run(scenario: Path, as_json: bool, verbose: bool, hostile: int | None, no_iam: bool) -> None:
    """Run a scenario file and print its timeline (or its report with --json)."""
    _run(scenario, as_json=as_json, verbose=verbose, hostile=hostile, iam=not no_iam)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON document on stdout.")
@click.option("--verbose", "-v", is_flag=True, help="Timeline: also every event and scheduled tick.")
def demo(as_json: bool, verbose: bool) -> None:
    """Run the demo scenario (scenarios/demo.yaml): the logins side by side, then what the automation did."""
    _run(DEMO, as_json=as_json, verbose=verbose, story=True)


class _OptionNargs(click.Option):
    """An option that takes every argument up to the next option, as SAM CLI's OptionNargs does for
    `--parameter-overrides Stage=dev OnCallEmail=x` (samcli/commands/_utils/custom_options/option_nargs.py)."""

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        super().add_to_parser(parser, ctx)
        for name in self.opts:
            option = parser._long_opt.get(name) or parser._short_opt.get(name)
            if option is None:
                continue
            previous = option.process

            def process(value: Any, state: Any, previous: Any = previous) -> None:
                values = [value]
                while state.rargs and not state.rargs[0].startswith("-"):
                    values.append(state.rargs.pop(0))
                for item in values:
                    previous(item, state)

            option.process = process
            break


@main.command()
@click.argument("function", required=False)
@click.option("-e", "--event", "event_file", help="Event file (JSON); '-' reads the event from stdin.")
@click.option("--no-event", is_flag=True, help="Invoke with an empty event ({}), as SAM CLI does without -e.")
@click.option(
    "-t",
    "--template",
    "--template-file",
    "template",
    type=click.Path(path_type=Path, dir_okay=False),
    help="SAM template (default: template.yaml of this repository).",
)
@click.option("-n", "--env-vars", type=click.Path(path_type=Path, dir_okay=False), help="SAM's env-vars JSON file.")
@click.option(
    "--parameter-overrides",
    cls=_OptionNargs,
    multiple=True,
    help="Template parameters: 'Key=Value Key2=Value2' or 'ParameterKey=K,ParameterValue=V ...'.",
)
@click.option("-l", "--log-file", type=click.Path(path_type=Path, dir_okay=False), help="Write the logs here.")
@click.option(
    "--scenario",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Run this scenario first (fleet and steps); the function is invoked in the world it leaves.",
)
@click.option(
    "--object",
    "put_object",
    type=click.Path(path_type=Path, dir_okay=False),
    help="For an S3 Object Created event: put this file at the key the event names first.",
)
@click.option("--policy", type=click.Path(path_type=Path, dir_okay=False), help="Policy file for the SSM parameter.")
@click.option("--at", "at", help="Virtual time of the invocation (ISO 8601); default: the event's time.")
@click.option(
    "--no-iam",
    is_flag=True,
    help="Debugging only: do not authorise the function's calls as its role (IAM is enforced by default).",
)
def invoke(
    function: str | None,
    event_file: str | None,
    no_event: bool,
    template: Path | None,
    env_vars: Path | None,
    parameter_overrides: tuple[str, ...],
    log_file: Path | None,
    scenario: Path | None,
    put_object: Path | None,
    policy: Path | None,
    at: str | None,
    no_iam: bool,
) -> None:
    """Invoke one function once, like `sam local invoke`, without Docker.

    The function's JSON result is alone on stdout; its logs (Powertools, EMF) go to stderr or --log-file.
    Exit status as SAM CLI's: 0 the function ran (a function error is its error payload on stdout), 1 the
    invocation could not be made (unknown function, unreadable event, env-vars or template), 2 a usage error.
    """
    try:
        request = InvokeRequest(
            function=function,
            event_file=event_file,
            no_event=no_event,
            template=template,
            env_vars=env_vars,
            parameter_overrides=parameter_overrides,
            scenario=scenario,
            policy=policy,
            at=at,
            put_object=put_object,
            iam=not no_iam,
        )
        invocation = invoke_once(request, stdin=sys.stdin)
    except InvokeError as exc:
        _fail(str(exc), status=USER_ERROR)
    if log_file is not None:
        log_file.write_text(invocation.logs, encoding="utf-8")
    else:
        click.echo(invocation.logs, err=True, nl=False)
    click.echo(json.dumps(invocation.result))


@main.command("generate-event")
@click.argument(
    "kind",
    type=click.Choice(
        ["hr-hire", "hr-departure", "hr-transfer", "roster-created", "login", "alarm", "schedule", "timer", "sqs"]
    ),
)
@click.option("--employee-id", help="HR employee id (E12345).")
@click.option("--username", help="Directory user name (hr-hire).")
@click.option("--email", help="Work e-mail (hr-hire).")
@click.option("--department", help="HR department (hr-hire, hr-transfer).")
@click.option("--role", help="HR role (hr-hire, hr-transfer).")
@click.option("--site", help="Policy site (hr-hire, hr-transfer).")
@click.option("--shift", is_flag=True, help="hr-hire: a shift worker with a shift pattern (the call-centre sample).")
@click.option("--start-date", help="hr-hire: first day (YYYY-MM-DD).")
@click.option("--last-day", help="hr-departure: last day (YYYY-MM-DD).")
@click.option("--effective-date", help="hr-transfer: effective date (YYYY-MM-DD).")
@click.option("--workspace-id", help="WorkSpace id (login, timer, sqs).")
@click.option("--directory-id", help="Directory id d-… (login, alarm).")
@click.option("--state", type=click.Choice(["ALARM", "OK"]), help="alarm: the new state (default ALARM).")
@click.option("--task", type=click.Choice(["fleet_watch", "prewarm", "unused_desks", "optimize_running_modes"]))
@click.option(
    "--timer-kind", type=click.Choice(["provision", "stop", "terminate", "transfer", "recheck"]), help="timer, sqs."
)
@click.option("--incident-id", help="timer --timer-kind recheck: the incident (inc-…).")
@click.option("--bucket", help="roster-created: the feed bucket.")
@click.option("--key", help="roster-created: the object key (rosters/….csv).")
@click.option("--time", "time_", help="The event's time (ISO 8601, Z); a timer's due time; a login's loginTime.")
def generate_event(kind: str, time_: str | None, **options: Any) -> None:
    """Print an event of KIND, valid against its contract, for `invoke -e -` (like `sam local generate-event`).

    \b
    autopilot-local generate-event hr-hire --employee-id E777 --username jdoe --start-date 2026-12-07 \\
      | autopilot-local invoke HrEventsFunction -e -
    """
    from localcloud.generate import GenerateError, function_for, generate

    options["time"] = time_
    try:
        event = generate(kind, options)
    except GenerateError as exc:
        _fail(f"generate-event {kind}: {exc}", status=1)
    click.echo(json.dumps(event, indent=2, ensure_ascii=False))
    click.echo(f"autopilot-local: {kind} is received by {function_for(kind, options)}", err=True)


@main.command()
@click.option("--port", default=4599, show_default=True, help="Loopback port (0: any free port).")
@click.option("--scenario", type=click.Path(path_type=Path, dir_okay=False), help="Run this scenario first.")
@click.option("--clock", type=click.Choice(["virtual", "real"]), default="virtual", show_default=True)
def serve(port: int, scenario: Path | None, clock: str) -> None:
    """Serve the local cloud as an AWS endpoint on 127.0.0.1 (the AWS CLI, boto3, `autopilot --endpoint-url`).

    \b
    aws --endpoint-url http://127.0.0.1:4599 workspaces describe-workspaces
    curl -X POST http://127.0.0.1:4599/_localcloud/advance -d '{"by": "30m"}'
    """
    import signal
    import threading

    from localcloud.serve import serve as run_server

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    def ready(server: Any) -> None:
        click.echo(f"autopilot-local: serving {server.url} (clock {clock}); Ctrl-C stops", err=True)

    try:
        run_server(port=port, scenario=scenario, clock=clock, ready=ready, stop=stop)
    except ScenarioError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"--port {port}: {exc.strerror}", status=1)
    click.echo("autopilot-local: stopped", err=True)


def _run(
    path: Path, *, as_json: bool, verbose: bool, story: bool = False, hostile: int | None = None, iam: bool = True
) -> None:
    progress = Console(stderr=True, highlight=False)
    try:
        scenario = load_scenario(path)
        say = lambda line: progress.print(escape(line), style="dim")  # noqa: E731
        with open_world(scenario, progress=say, hostile=hostile, iam=iam) as cloud:
            report = cloud.report()
            if story:
                report["logins"] = login_waits(report["timeline"])
                report["automation"] = automation_summary(cloud)
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
    if "hostile" in report:
        _print_hostile(out, report["hostile"])
    if story:
        _print_story(out, report)


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


def _print_hostile(out: Console, hostile: dict[str, Any]) -> None:
    """One line per thing hostile mode did (docs/local-cloud.md, "Hostile mode")."""

    def counts(values: dict[str, int]) -> str:
        return ", ".join(f"{kind} {count}" for kind, count in values.items()) or "none"

    delays = ", ".join(
        f"{kind} {value['count']} ({value['total_s'] / value['count']:.1f} s on average)"
        for kind, value in hostile["delays"].items()
    )
    out.print(f"[bold]Hostile mode[/bold] (seed {hostile['seed']})")
    out.print(f"  duplicates: {counts(hostile['duplicates'])}")
    out.print(f"  reorderings: {counts(hostile['reorderings'])}")
    out.print(f"  delays: {delays or 'none'}")
    out.print(f"  WorkSpaces throttles: {counts(hostile['throttles'])}")


def _print_story(out: Console, report: dict[str, Any]) -> None:
    logins = Table(title="Logins: what each user waited for", title_justify="left")
    for column in ("time", "user", "desk when they logged in", "waited"):
        logins.add_column(column)
    for login in report["logins"]:
        waited = login["waited_s"]
        shown = "[red]never connected[/red]" if waited is None else "no wait" if waited == 0 else f"{waited} s"
        style = _STATE_STYLES.get(login["state_before"], "white")
        logins.add_row(
            login["time"][11:16],
            escape(login["user"]),
            f"[{style}]{login['state_before']}[/{style}]" + (" (pre-warmed)" if login["prewarmed"] else ""),
            f"[green]{shown}[/green]" if waited == 0 else shown,
        )
    out.print(logins)
    out.print("[bold]What the automation did[/bold]")
    for line in report["automation"]:
        out.print(f"  • {escape(line)}")
