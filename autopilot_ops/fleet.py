"""Desks and incidents as the operator sees them: `status`, `desks`, `incidents`, `incident ack|resolve`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from autopilot.domain.hr.schedule import timer_name
from autopilot.domain.incidents.escalation import resolve_incident
from autopilot.domain.incidents.incidents import Incident
from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.domain.kernel.errors import StaleUpdate
from autopilot_ops import records
from autopilot_ops.backend import Backend
from autopilot_ops.errors import BadInput, NotFound, OpsError

HISTORY_SHOWN = 10
MIN_PREFIX = 5  # `inc-` and at least one character of the subject
RETRIES = 3
# Never shown: the e-mail is kept only until the welcome e-mail is sent, and is nobody's business here.
PRIVATE_FIELDS = {"email"}


def iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if moment else None


def desk_view(desk: Desk) -> dict[str, Any]:
    return desk.model_dump(mode="json", exclude=PRIVATE_FIELDS, exclude_none=True)


def find_desk(backend: Backend, identifier: str) -> Desk:
    """An employee id, a WorkSpace id (`ws-…`) or a directory user name (what the person types at login)."""
    identifier = identifier.strip()
    if not identifier:
        raise BadInput("give an employee id, a WorkSpace id (ws-…) or a user name")
    desk = backend.desks.by_workspace(identifier) if identifier.startswith("ws-") else backend.desks.get(identifier)
    if desk is None and not identifier.startswith("ws-"):
        desk = backend.desks.by_workspace(identifier) or _by_username(backend, identifier)
    if desk is None:
        raise NotFound(
            f"no desk for {identifier} (neither an employee id, a WorkSpace id nor a user name the automation knows)"
        )
    return desk


def _by_username(backend: Backend, username: str) -> Desk | None:
    """Directory user names are case-insensitive (AD sAMAccountName). One scan of the desk records: the CLI is not
    a hot path, and no index holds user names (they are personal data; only the desk record carries one)."""
    wanted = username.lower()
    found = [desk for desk in backend.desks.all_desks() if desk.username.lower() == wanted]
    live = [desk for desk in found if desk.lifecycle not in (Lifecycle.TERMINATED, Lifecycle.CANCELLED)] or found
    if len(live) > 1:
        candidates = ", ".join(f"{desk.employee_id} ({desk.directory_id})" for desk in live)
        raise BadInput(f"user name {username} has several desks: {candidates}; give the employee id")
    return live[0] if live else None


def timer_prefixes(desk: Desk, incident: Incident | None) -> list[str]:
    """The names the automation gives this desk's timers (see domain/hr/onboarding.py timer_name)."""
    names = [timer_name(kind, desk.employee_id) for kind in ("provision", "stop", "terminate", "transfer")]
    if incident is not None:
        names.append(f"recheck-{incident.incident_id}")
    return names


def status(backend: Backend, identifier: str) -> dict[str, Any]:
    desk = find_desk(backend, identifier)
    workspace: dict[str, Any] | None = None
    incident: Incident | None = None
    if desk.workspace_id:
        described = backend.workspaces.describe([desk.workspace_id])
        if described:
            info = described[0]
            workspace = {
                "workspace_id": info.workspace_id,
                "state": info.state,
                "running_mode": info.running_mode,
                "autostop_minutes": info.autostop_minutes,
                "compute": info.compute,
                "bundle_id": info.bundle_id,
            }
            connection = backend.workspaces.connection_status([info.workspace_id]).get(info.workspace_id)
            if connection is not None:
                workspace["connection_state"] = connection.state
        else:
            workspace = {"workspace_id": desk.workspace_id, "state": "NOT FOUND in WorkSpaces"}
        incident = backend.incidents.open_for(desk.workspace_id)
    prefixes = timer_prefixes(desk, incident)
    timers = [
        timer.as_dict()
        for timer in backend.timers_named(prefixes)
        if any(timer.name == prefix or timer.name.startswith(prefix + "-") for prefix in prefixes)
    ]
    history = backend.desks.history(desk.employee_id, limit=HISTORY_SHOWN)
    return {
        "desk": desk_view(desk),
        "workspace": workspace,
        "timers": timers,
        "incident": incident_view(incident, detailed=True) if incident else None,
        "history": history,
    }


def desks(
    backend: Backend,
    *,
    state: str | None,
    site: str | None,
    profile: str | None,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    if state is not None:
        wanted = state.strip().upper()
        if wanted not in Lifecycle.__members__:
            raise BadInput(f"--state {state}: not a desk state (one of: {', '.join(Lifecycle.__members__)})")
        found = list(backend.desks.by_lifecycle(Lifecycle(wanted)))
    else:
        found = list(backend.desks.all_desks())
    if progress is not None and len(found) > 1000:
        progress(f"{len(found)} desks read")
    chosen = [
        desk for desk in found if (site is None or desk.site == site) and (profile is None or desk.profile == profile)
    ]
    chosen.sort(key=lambda desk: desk.employee_id)
    return [desk_view(desk) for desk in chosen]


def incident_view(incident: Incident, *, detailed: bool = False) -> dict[str, Any]:
    last = incident.steps[-1] if incident.steps else None
    view: dict[str, Any] = {
        "incident_id": incident.incident_id,
        "status": incident.status,
        "scope": incident.scope,
        "cause": incident.cause,
        "subject": incident.subject,
        "directory_id": incident.directory_id,
        "workspace_id": incident.workspace_id,
        "employee_id": incident.employee_id,
        "opened_at": iso(incident.opened_at),
        "escalated_at": iso(incident.escalated_at),
        "resolved_at": iso(incident.resolved_at),
        "resolved_by": incident.resolved_by,
        "waiting": incident.waiting,
        "acknowledged": any(entry.kind == "acknowledged" for entry in incident.timeline),
        "last_step": f"{last.action} {last.outcome}" if last else None,
        "next_check_at": iso(incident.next_check_at),
    }
    if detailed:
        view["steps"] = [step.model_dump(mode="json") for step in incident.steps]
        view["timeline"] = [entry.model_dump(mode="json") for entry in incident.timeline[-HISTORY_SHOWN:]]
        if incident.scope == "directory":
            view["failing_desks"] = incident.failing_desks
            view["desks_in_directory"] = incident.desks_in_directory
    return view


def incidents(
    backend: Backend, *, only_open: bool, progress: Callable[[str], None] | None = None
) -> list[dict[str, Any]]:
    snapshot = records.scan(backend.table, [records.INCIDENT], progress)
    chosen = [incident for incident in snapshot.incidents if incident.is_open or not only_open]
    chosen.sort(key=lambda incident: incident.opened_at, reverse=True)
    return [incident_view(incident) for incident in chosen]


def _incident(backend: Backend, incident_id: str) -> Incident:
    """The incident with this id, or the only one whose id starts with it (a prefix copied from a narrow table)."""
    wanted = incident_id.strip().rstrip("…")
    incident = backend.incidents.get(wanted) if wanted else None
    if incident is not None:
        return incident
    if len(wanted) >= MIN_PREFIX:
        snapshot = records.scan(backend.table, [records.INCIDENT])
        matches = sorted(i.incident_id for i in snapshot.incidents if i.incident_id.startswith(wanted))
        if len(matches) == 1:
            found = backend.incidents.get(matches[0])
            if found is not None:
                return found
        if len(matches) > 1:
            raise BadInput(f"incident {incident_id} is ambiguous: it starts {len(matches)} ids: {', '.join(matches)}")
    raise NotFound(f"no incident {incident_id}")


def acknowledge(backend: Backend, incident_id: str, *, by: str) -> dict[str, Any]:
    """A person takes the incident over: recorded in its timeline, and the runbook stops acting on it (it waits
    for a human). It still resolves on a login, on the alarm clearing, or with `incident resolve`."""
    for _ in range(RETRIES):
        incident = _incident(backend, incident_id)
        if not incident.is_open:
            raise BadInput(f"incident {incident.incident_id} is {incident.status}: nothing to acknowledge")
        now = backend.now()
        pending = incident.current_timer if incident.waiting == "recheck" else None
        acked = incident.noted(now, "acknowledged", f"by {by}").waiting_for("human", now)
        try:
            stored = backend.incidents.save(acked)
        except StaleUpdate:
            continue
        if pending:
            backend.timers.cancel(pending)  # the runbook would ignore it now anyway
        return incident_view(stored, detailed=True)
    raise OpsError(f"incident {incident_id} kept changing while acknowledging it: try again")


def resolve(backend: Backend, incident_id: str, *, by: str) -> dict[str, Any]:
    """Close the incident as the automation would (`Incident Resolved`, resolved_by `operator`, on-call gets the
    resolution in the incident's thread), cancelling its pending timers."""
    incident = _incident(backend, incident_id)
    if not incident.is_open:
        raise BadInput(f"incident {incident.incident_id} is already {incident.status}")
    resolved = resolve_incident(
        incident, "operator", backend.incidents, backend.bus, backend.timers, backend.now(), detail=f"by {by}"
    )
    backend.settle()
    return incident_view(resolved, detailed=True)
