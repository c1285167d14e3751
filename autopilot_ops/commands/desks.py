"""`status` (one desk, whole) and `desks` (desk records, filtered)."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from autopilot_ops import fleet
from autopilot_ops.commands.output import emit, json_option, styled, table
from autopilot_ops.commands.session import current_session

NO_HR_RECORD = "no HR record (adopted desk)"


def _employee_label(desk: dict[str, Any]) -> str:
    """An adopted desk nobody in HR claimed carries its WorkSpace id as employee id: say so instead."""
    if desk.get("employee_id") == desk.get("workspace_id"):
        return NO_HR_RECORD
    return str(desk["employee_id"])


@click.command()
@click.argument("identifier", metavar="EMPLOYEE_ID|WORKSPACE_ID|USER_NAME")
@json_option
def status(identifier: str, as_json: bool) -> None:
    """A desk: its record, its WorkSpace, its timers, its open incident and its recent history."""
    data = fleet.status(current_session().backend(), identifier)

    def render(out: Console) -> None:
        desk = data["desk"]
        ws = data["workspace"] or {}
        out.print(
            f"[bold]{escape(_employee_label(desk))}[/bold]  user {escape(desk.get('username') or '-')}  "
            f"desk {styled(desk['lifecycle'])}  "
            f"site {escape(desk['site'])}  profile {escape(desk['profile'])}  origin {escape(desk.get('origin', ''))}"
        )
        out.print(
            f"  WorkSpace {escape(str(desk.get('workspace_id', '(none yet)')))}  state {styled(ws.get('state', '-'))}"
            f"  {escape(str(ws.get('running_mode', desk['running_mode'])))}"
            f"  connection {escape(str(ws.get('connection_state', '-')))}"
        )
        moments = ("start_date", "last_day", "ready_at", "last_login", "updated_at")
        out.print("  " + "  ".join(f"{name} {escape(str(desk[name]))}" for name in moments if desk.get(name)))
        if desk.get("last_error"):
            out.print(f"  [red]last error: {escape(desk['last_error'])}[/red]")
        timers = data["timers"]
        out.print(
            table("Timers", ["name", "due", "target"], [(t["name"], t["due"], t["target"]) for t in timers])
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
            table(
                "Recent history",
                ["at", "event", "detail"],
                [(h["at"], h["kind"], json.dumps(h["detail"])) for h in history],
            )
        )

    emit(as_json, data, render)


@click.command()
@click.option(
    "--state", help="Desk state: SCHEDULED, PROVISIONING, READY, FAILED, CANCELLED, LEAVING, STOPPED, TERMINATED."
)
@click.option("--site", help="Site, as the policy names it.")
@click.option("--profile", "profile", help="Profile, as the policy names it.")
@json_option
def desks(state: str | None, site: str | None, profile: str | None, as_json: bool) -> None:
    """Desk records, filtered by state, site and profile."""
    session = current_session()
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
        out.print(table(f"{len(rows)} desks", columns, table_rows))

    emit(as_json, rows, render)
