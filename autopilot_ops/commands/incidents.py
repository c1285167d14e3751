"""`incidents` (the list) and `incident ack|resolve ID` (an operator takes one over, or closes it)."""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape

from autopilot_ops import fleet
from autopilot_ops.commands.output import emit, json_option, table
from autopilot_ops.commands.session import current_session

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


@click.command()
@click.option("--open", "only_open", is_flag=True, help="Only the open ones.")
@json_option
def incidents(only_open: bool, as_json: bool) -> None:
    """Incidents, newest first."""
    session = current_session()
    rows = fleet.incidents(session.backend(), only_open=only_open, progress=session.progress)
    emit(as_json, rows, lambda out: out.print(table(f"{len(rows)} incidents", INCIDENT_COLUMNS, _incident_rows(rows))))


@click.group()
def incident() -> None:
    """Act on one incident."""


@incident.command("ack")
@click.argument("incident_id")
@json_option
def incident_ack(incident_id: str, as_json: bool) -> None:
    """Take the incident over: the runbook stops acting on it; a login, the alarm clearing or `resolve` ends it."""
    backend = current_session().backend()
    data = fleet.acknowledge(backend, incident_id, by=backend.caller)
    emit(
        as_json,
        data,
        lambda out: out.print(f"{escape(data['incident_id'])} acknowledged: the automation leaves it to you"),
    )


@incident.command("resolve")
@click.argument("incident_id")
@json_option
def incident_resolve(incident_id: str, as_json: bool) -> None:
    """Close the incident (on-call gets the resolution in its thread; its timers are cancelled)."""
    backend = current_session().backend()
    data = fleet.resolve(backend, incident_id, by=backend.caller)
    emit(as_json, data, lambda out: out.print(f"{escape(data['incident_id'])} resolved by an operator"))
