"""What happens to an incident between steps: a step recorded, a re-check later, a hold, an escalation to a
person, and the resolution (also reached from a login, incidents/sessions.py). Events are built here and
published through the outbox (incidents/publishing.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from autopilot.contracts.outputs import IncidentEscalated, IncidentOpened, IncidentResolved, RemediationStep, StepRecord
from autopilot.domain.incidents.incidents import Incident, OutboxEntry, ResolvedBy
from autopilot.domain.incidents.ports import (
    ConnectionState,
    Context,
    DeskState,
    Events,
    IncidentStore,
    Ports,
    TimerPort,
)
from autopilot.domain.incidents.publishing import RETRIES, _retrying, flush_outbox
from autopilot.domain.kernel.desks import Lifecycle
from autopilot.domain.kernel.errors import StaleUpdate


# --- steps, holds, escalation, resolution ----------------------------------------------------------------
def _stepped(incident: Incident, step: StepRecord, ctx: Context) -> Incident:
    due = ctx.now + dt.timedelta(minutes=ctx.rules.recheck_minutes)
    return incident.with_step(step).publishing(OutboxEntry.event(_step_event(incident, step, due)))


def _recheck_later(incident: Incident, ctx: Context) -> Incident:
    return incident.awaiting_recheck(ctx.now, ctx.now + dt.timedelta(minutes=ctx.rules.recheck_minutes))


def _held(incident: Incident, reason: str, ctx: Context, *, recheck: bool = True) -> Incident:
    """No action now. The first hold for a reason is a step (and an alert); the same hold again is only noted."""
    last = incident.steps[-1] if incident.steps else None
    if last is not None and last.action == "none" and last.reason == reason:
        held = incident.noted(ctx.now, "held", reason)
    else:
        held = _stepped(incident, StepRecord(action="none", outcome="skipped", at=ctx.now, reason=reason), ctx)
    return _recheck_later(held, ctx) if recheck else held.waiting_for("desk", ctx.now)


def _escalated(incident: Incident, reason: str, ctx: Context) -> Incident:
    """Over to a human: one `Incident Escalated`; escalated again, only noted."""
    if incident.escalated_at is not None:
        return incident.noted(ctx.now, "held", reason).waiting_for("human", ctx.now)
    escalated = incident.escalated(reason, ctx.now)
    event = IncidentEscalated(
        incident_id=incident.incident_id,
        scope=incident.scope,
        directory_id=incident.directory_id,
        workspace_id=incident.workspace_id,
        employee_id=incident.employee_id,
        reason=reason,
        steps=incident.steps,
    )
    return escalated.publishing(OutboxEntry.event(event))


def resolve_incident(
    incident: Incident,
    by: ResolvedBy,
    incidents: IncidentStore,
    events: Events,
    timers: TimerPort | None,
    now: dt.datetime,
    detail: str = "",
) -> Incident:
    """Resolve an open incident. The event is published before the write: a crash can only repeat it (the
    notifier keeps one `incident_resolved` per thread), never lose it. Concurrent writers are re-read."""
    for attempt in range(RETRIES):
        current = incident if attempt == 0 else incidents.get(incident.incident_id)
        if current is None or not current.is_open:
            return current or incident
        # Timers the incident still meant to set are moot now: cancel them in case they were set before a crash.
        moot = [
            OutboxEntry(kind="cancel_timer", timer_name=e.timer_name) if e.kind == "set_timer" else e
            for e in current.outbox
        ]
        current = flush_outbox(current.model_copy(update={"outbox": moot}), incidents, events, timers, "")
        resolved = current.resolved(by, now, detail)
        events.publish(
            [
                IncidentResolved(
                    incident_id=current.incident_id,
                    scope=current.scope,
                    directory_id=current.directory_id,
                    workspace_id=current.workspace_id,
                    employee_id=current.employee_id,
                    resolved_by=by,
                    opened_at=current.opened_at,
                    resolved_at=now,
                    steps=current.steps,
                )
            ]
        )
        try:
            stored = incidents.resolve(resolved)
        except StaleUpdate:
            continue
        return flush_outbox(stored, incidents, events, timers, "")
    raise StaleUpdate(f"incident {incident.incident_id}: changed by others {RETRIES} times while resolving")


# --- helpers ---------------------------------------------------------------------------------------------
def _view(
    desk: DeskState,
    connections: Mapping[str, ConnectionState],
    tags: Mapping[str, Mapping[str, str]],
    ports: Ports,
    ctx: Context,
) -> DeskView:
    """The guard-rails' facts: connection state, the ManagedBy tag, and the employee from the desk record."""
    record = ports.desks.by_workspace(desk.workspace_id)
    connection = connections.get(desk.workspace_id)
    key, value = ctx.policy.managed_tag
    managed = tags.get(desk.workspace_id, {}).get(key) == value
    if record is not None and record.lifecycle in (Lifecycle.TERMINATED, Lifecycle.CANCELLED):
        record = None
    return DeskView(
        workspace_id=desk.workspace_id,
        directory_id=desk.directory_id,
        state=desk.state,
        connected=connection is not None and connection.state == "CONNECTED",
        managed=managed,
        employee_id=record.employee_id if record else None,
    )


@dataclass(frozen=True)
class DeskView:
    """What the guard-rails need to know about a desk, right now."""

    workspace_id: str
    directory_id: str
    state: str
    connected: bool
    managed: bool
    employee_id: str | None


def _opened(incident: Incident) -> IncidentOpened:
    return IncidentOpened(
        incident_id=incident.incident_id,
        scope=incident.scope,
        cause=incident.cause,
        directory_id=incident.directory_id,
        workspace_id=incident.workspace_id,
        employee_id=incident.employee_id,
        failures=incident.failures,
        failing_desks=incident.failing_desks,
        desks_in_directory=incident.desks_in_directory,
        opened_at=incident.opened_at,
    )


def _step_event(incident: Incident, step: StepRecord, next_check_at: dt.datetime | None) -> RemediationStep:
    assert incident.workspace_id is not None
    return RemediationStep(
        incident_id=incident.incident_id,
        directory_id=incident.directory_id,
        workspace_id=incident.workspace_id,
        employee_id=incident.employee_id,
        step=step,
        next_check_at=next_check_at,
    )


def _note(incident: Incident, kind: str, detail: str, ports: Ports, ctx: Context) -> Incident:
    """Add a timeline entry, re-reading the incident if a concurrent writer changed it meanwhile."""

    def write() -> Incident:
        current = ports.incidents.get(incident.incident_id) or incident
        return ports.incidents.save(current.noted(ctx.now, kind, detail))

    return _retrying(write)
