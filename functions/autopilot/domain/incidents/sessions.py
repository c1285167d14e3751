"""A successful login (WorkSpaces Access): the desk's last login moves forward, and the desk's open incident,
if any, is resolved — the employee just proved the desk works. Logins arrive best effort, possibly late and
out of order: the last login never goes backwards, and a login older than the incident resolves nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from autopilot.domain.incidents.escalation import resolve_incident
from autopilot.domain.incidents.ports import Events, IncidentStore, LoginDesks, TimerPort
from autopilot.domain.kernel.errors import StaleUpdate

RETRIES = 3


@dataclass
class SessionPorts:
    desks: LoginDesks
    incidents: IncidentStore
    events: Events
    timers: TimerPort | None = None  # sessions may not touch the scheduler: a stale re-check timer is a no-op


@dataclass(frozen=True)
class Login:
    workspace_id: str
    directory_id: str
    login_time: dt.datetime


@dataclass(frozen=True)
class LoginOutcome:
    last_login_recorded: bool
    resolved_incident: str | None


def record_login(login: Login, ports: SessionPorts, now: dt.datetime) -> LoginOutcome:
    recorded = _record_last_login(login, ports.desks, now)
    incident = ports.incidents.open_for(login.workspace_id)
    if incident is None or incident.scope != "desk" or login.login_time < incident.opened_at:
        return LoginOutcome(last_login_recorded=recorded, resolved_incident=None)
    resolve_incident(
        incident,
        "login",
        ports.incidents,
        ports.events,
        ports.timers,
        now,
        f"successful login at {login.login_time.isoformat()}",
    )
    return LoginOutcome(last_login_recorded=recorded, resolved_incident=incident.incident_id)


def _record_last_login(login: Login, desks: LoginDesks, now: dt.datetime) -> bool:
    """Desk.last_login = the latest login seen (for the unused-desk report); desks without a record are ignored."""
    found = desks.by_workspace(login.workspace_id)
    if found is None:
        return False
    for attempt in range(RETRIES):
        # The index is eventually consistent: re-read the record itself after a lost race.
        desk = found if attempt == 0 else desks.get(found.employee_id)
        if desk is None or desk.workspace_id != login.workspace_id:
            return False
        if desk.last_login is not None and desk.last_login >= login.login_time:
            return False
        try:
            desks.save(desk.with_changes(at=now, last_login=login.login_time))
        except StaleUpdate:
            continue
        return True
    raise StaleUpdate(f"desk of {login.workspace_id}: changed by others {RETRIES} times while recording a login")
