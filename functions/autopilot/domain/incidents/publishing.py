"""An incident's outbox, published before it is cleared: every event a stored incident holds goes out in one
PutEvents batch, then its timers are set and its outbox emptied (docs/remediation.md). A crash between the two
republishes, never loses."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import TypeVar

from autopilot.contracts.timers import TimerFired
from autopilot.domain.incidents.incidents import Incident, OutboxEntry
from autopilot.domain.incidents.ports import Context, Events, IncidentStore, Ports, TimerPort
from autopilot.domain.kernel.errors import StaleUpdate

RETRIES = 3  # re-reads after a concurrent writer changed the incident


# --- outbox ----------------------------------------------------------------------------------------------
def _commit(incident: Incident, ports: Ports, ctx: Context) -> Incident:
    return _flush(ports.incidents.save(incident), ports, ctx)


def _flush(incident: Incident, ports: Ports, ctx: Context) -> Incident:
    return flush_outbox(incident, ports.incidents, ports.events, ports.timers, ctx.recheck_target_arn)


def flush_outbox(
    incident: Incident, incidents: IncidentStore, events: Events, timers: TimerPort | None, target_arn: str
) -> Incident:
    """Publish the incident's pending events and set/cancel its timers, then clear what was done.

    Without timers (a function that may not touch the scheduler), timer entries stay for the next flush."""
    if not incident.outbox:
        return incident
    _publish_outboxes([incident], events)
    return _settled(incident, incidents, timers, target_arn)


def _flush_all(incidents: Iterable[Incident], ports: Ports, ctx: Context) -> None:
    """`flush_outbox` for every incident an invocation touched, with ONE publish of all their events. One that
    another writer changed meanwhile is read again and flushed on its own (its events may go out twice, never
    zero times)."""
    waiting = [incident for incident in incidents if incident.outbox]
    _publish_outboxes(waiting, ports.events)
    for incident in waiting:
        try:
            _settled(incident, ports.incidents, ports.timers, ctx.recheck_target_arn)
        except StaleUpdate:
            _retrying(partial(_flush_stored, incident.incident_id, ports, ctx))


def _flush_stored(incident_id: str, ports: Ports, ctx: Context) -> None:
    current = ports.incidents.get(incident_id)
    if current is not None:
        _flush(current, ports, ctx)


def _publish_outboxes(incidents: Sequence[Incident], events: Events) -> None:
    pending = [entry.domain_event() for incident in incidents for entry in incident.outbox if entry.kind == "event"]
    if pending:
        events.publish(pending)


def _settled(incident: Incident, incidents: IncidentStore, timers: TimerPort | None, target_arn: str) -> Incident:
    """After its events are on the bus: the incident's timers set or cancelled, and its outbox cleared."""
    kept: list[OutboxEntry] = []
    for entry in incident.outbox:
        if entry.kind == "event":
            continue
        if timers is None:
            kept.append(entry)
        elif entry.kind == "set_timer":
            assert entry.due is not None
            timer = TimerFired(
                kind="recheck",
                name=entry.timer_name,
                due=entry.due,
                workspace_id=incident.workspace_id,
                incident_id=incident.incident_id,
            )
            timers.set(timer, target_arn=target_arn)
        else:
            timers.cancel(entry.timer_name)
    return incidents.save(incident.model_copy(update={"outbox": kept}))


def _retrying(operation: Callable[[], T]) -> T:
    """Run `operation` again (it re-reads what it changes) when a concurrent writer got there first."""
    for _ in range(RETRIES - 1):
        try:
            return operation()
        except StaleUpdate:
            continue
    return operation()


T = TypeVar("T")


def _reloading(incident: Incident, ports: Ports) -> Callable[[], Incident | None]:
    """`incident` at first; read again after a lost race, and stepped only while it still waits for nothing."""
    first = [incident]

    def load() -> Incident | None:
        if first:
            return first.pop()
        current = ports.incidents.get(incident.incident_id)
        return current if current is not None and current.is_open and current.waiting == "nothing" else None

    return load
