"""The remediation runbook, with its guard-rails.

Triggers: a ConnectionFailure alarm of a directory (ALARM: triage, open incidents, act; OK: resolve), a desk
that fleet_watch saw go UNHEALTHY or ERROR, and the re-check timers the runbook sets itself.

For one failing desk the runbook is: reboot → re-check after `recheck_minutes` → rebuild (if the policy
allows it) → re-check → restore (only when opted in) → re-check → escalate to a human. Guard-rails, checked
before every step:

* a directory with an open systemic incident: no desk of it is touched until the outage clears;
* a desk without the policy's ManagedBy tag: escalated to a human, never touched;
* ADMIN_MAINTENANCE: an administrator has it, untouched (the incident waits for the desk);
* a CONNECTED user: no action, an alert; still failing at the re-check with the user connected: escalate;
* at most `max_reboots_per_day` reboots per desk in 24 hours, one rebuild (and one restore) per `cooldown_hours`;
* `dry_run`: every step is decided, recorded and announced as `dry_run`, nothing is called.

One invocation acts and publishes in batches (`_run_runbook`): every desk's next step is decided and stored first
(for an action, the intent — the step, the cap it uses, the re-check timer — before any call, so a crash and a
retry never act twice), then one call per action kind for all the desks that take it (the adapter sends reboots
25 a call), then refusals are recorded per desk and those desks try their next action at once, then one publish
of every event the touched incidents hold in their outbox; each outbox is cleared only after that publish, so a
crash can repeat an event, never lose one. A call that fails as a whole with a transient error (`Ports.transient`:
throttled past the SDK's retries, a 5xx) undoes its desks' intents — each incident put back as it was before the
step, the action out of the desk's history — and, after the rest of the invocation is done and flushed, fails the
invocation, so its retry acts (or, after the retries, the dead letter reports it).

The domain knows no AWS: it gets ports (typing.Protocol) and the time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Literal

from autopilot.contracts.outputs import IncidentCause
from autopilot.domain.incidents.acting import Outcome, _DeskToStep, _open_or_repeat, _run_runbook
from autopilot.domain.incidents.escalation import _note, _opened, _recheck_later, _view, resolve_incident
from autopilot.domain.incidents.incidents import Incident, OutboxEntry, open_directory_incident
from autopilot.domain.incidents.ports import Context, Ports
from autopilot.domain.incidents.publishing import _commit, _flush, _retrying
from autopilot.domain.incidents.triage import GONE, AlarmSubject, Counts, Window, still_failing, triage

BUSY = frozenset({"PENDING", "REBOOTING", "STARTING", "REBUILDING", "RESTORING", "MAINTENANCE", "UPDATING", "STOPPING"})
SICK = frozenset({"UNHEALTHY", "ERROR"})
MAX_BUSY_WAITS = 3  # re-checks that find the desk still rebooting/rebuilding before it counts as failing


# --- triggers --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AlarmTrigger:
    alarm_name: str
    state: Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
    subject: AlarmSubject
    window: Window


@dataclass(frozen=True)
class SickDesk:
    workspace_id: str
    directory_id: str
    to_state: str
    employee_id: str | None = None


@dataclass(frozen=True)
class Recheck:
    incident_id: str
    timer_name: str


Trigger = AlarmTrigger | SickDesk | Recheck


# --- entry point -----------------------------------------------------------------------------------------
def handle(trigger: Trigger, ports: Ports, ctx: Context) -> Outcome:
    outcome = Outcome()
    if isinstance(trigger, AlarmTrigger):
        _on_alarm(trigger, ports, ctx, outcome)
    elif isinstance(trigger, SickDesk):
        _on_sick_desk(trigger, ports, ctx, outcome)
    else:
        _on_recheck(trigger, ports, ctx, outcome)
    return outcome


# --- alarm -----------------------------------------------------------------------------------------------
def _on_alarm(alarm: AlarmTrigger, ports: Ports, ctx: Context, outcome: Outcome) -> None:
    if alarm.state == "OK":
        _alarm_cleared(alarm, ports, ctx, outcome)
        return
    if alarm.state != "ALARM":
        outcome.add("ignored")
        return
    subject = alarm.subject
    if subject.workspace_id:  # a per-desk alarm: that desk only, no systemic judgement
        desks = [d for d in ports.fleet.describe([subject.workspace_id]) if d.state not in GONE]
        if not desks:
            outcome.add("desk_gone")
            return
        directory_id = desks[0].directory_id
    else:
        assert subject.directory_id is not None
        directory_id = subject.directory_id
        desks = [d for d in ports.fleet.in_directory(directory_id) if d.state not in GONE]
    counts = ports.metrics.connection_counts([d.workspace_id for d in desks], alarm.window.start, alarm.window.end)
    result = triage(counts, len(desks), ctx.rules)
    outcome.counts["failing"] = len(result.failing)
    outcome.counts["desks"] = len(desks)

    held_by = _retrying(lambda: _directory_repeat(directory_id, result.failing, len(desks), ports, ctx))
    if held_by is not None:
        outcome.add("held_systemic", held_by.incident_id)
        return
    if result.systemic and not subject.workspace_id:
        _open_systemic(directory_id, result.failing, len(desks), ports, ctx, outcome)
        return
    if not result.failing:
        return
    by_id = {d.workspace_id: d for d in desks}
    ids = list(result.failing)
    connections = ports.fleet.connection_status(ids)
    tags = ports.tags.tags_of(ids)
    failing = []
    for workspace_id, counts_of_desk in result.failing.items():
        view = _view(by_id[workspace_id], connections, tags, ports, ctx)
        opening = partial(
            _open_or_repeat,
            view,
            "connection_failure",
            ports,
            ctx,
            outcome,
            failures=counts_of_desk.failures,
            attempts=counts_of_desk.attempts or 0,
            detail=counts_of_desk.describe(),
        )
        failing.append(_DeskToStep(view, opening))
    _run_runbook(failing, ports, ctx, outcome)


def _directory_repeat(
    directory_id: str, failing: Mapping[str, Counts], desks: int, ports: Ports, ctx: Context
) -> Incident | None:
    """A directory with an open systemic incident: note the repeat (no new page), touch no desk."""
    incident = ports.incidents.open_for(directory_id)
    if incident is None:
        return None
    incident = _flush(incident, ports, ctx)
    noted = (
        incident.fired_again(ctx.now)
        .noted(ctx.now, "alarm_repeated", f"{len(failing)} of {desks} desks failing")
        .model_copy(update={"failing_desks": max(incident.failing_desks, len(failing)), "desks_in_directory": desks})
    )
    return _commit(noted, ports, ctx)


def _open_systemic(
    directory_id: str, failing: Mapping[str, Counts], desks: int, ports: Ports, ctx: Context, outcome: Outcome
) -> None:
    incident = open_directory_incident(
        directory_id=directory_id,
        at=ctx.now,
        failing_ids=list(failing),
        desks_in_directory=desks,
        failures=sum(c.failures for c in failing.values()),
    )
    incident = incident.publishing(OutboxEntry.event(_opened(incident)))
    stored, created = ports.incidents.open(incident)
    _flush(stored, ports, ctx)
    outcome.add("opened_systemic" if created else "held_systemic", stored.incident_id)


def _alarm_cleared(alarm: AlarmTrigger, ports: Ports, ctx: Context, outcome: Outcome) -> None:
    """Alarm back to OK: the directory's outage is over, and so are its desks' connection-failure incidents —
    except those waiting for the re-check of a step just taken: a quiet alarm window while a desk reboots
    proves nothing, so their re-check decides (no new failures: resolved). Sick-desk incidents are not about
    connections: the desk's state decides them."""
    if alarm.subject.workspace_id:
        found = ports.incidents.open_for(alarm.subject.workspace_id)
        candidates = [found] if found else []
    else:
        assert alarm.subject.directory_id is not None
        candidates = ports.incidents.open_in_directory(alarm.subject.directory_id)
    for incident in candidates:
        if incident.scope == "desk" and incident.cause != "connection_failure":
            continue
        if incident.scope == "desk" and incident.waiting == "recheck":
            _note(incident, "alarm_ok", "alarm back to OK: the re-check decides", ports, ctx)
            outcome.add("left_to_recheck", incident.incident_id)
            continue
        if incident.clearing_since is not None:
            continue  # a repeated OK: the clearing timer is already set
        due = ctx.now + dt.timedelta(minutes=ctx.rules.recheck_minutes)
        _retrying(_clear_step(incident, due, ports, ctx))
        outcome.add("clearing", incident.incident_id)


def _clear_step(incident: Incident, due: dt.datetime, ports: Ports, ctx: Context) -> Callable[[], Incident]:
    def clear() -> Incident:
        current = _flush(ports.incidents.get(incident.incident_id) or incident, ports, ctx)
        return _commit(current.clearing(ctx.now, due), ports, ctx)

    return clear


# --- sick desk -------------------------------------------------------------------------------------------
def _on_sick_desk(sick: SickDesk, ports: Ports, ctx: Context, outcome: Outcome) -> None:
    if sick.to_state not in SICK:
        outcome.add("ignored")
        return
    directory_incident = ports.incidents.open_for(sick.directory_id)
    if directory_incident is not None:
        _note(directory_incident, "desk_sick", f"{sick.workspace_id} {sick.to_state}", ports, ctx)
        outcome.add("held_systemic", directory_incident.incident_id)
        return
    described = [d for d in ports.fleet.describe([sick.workspace_id]) if d.state not in GONE]
    if not described:
        outcome.add("desk_gone")
        return
    if described[0].state not in SICK and ports.incidents.open_for(sick.workspace_id) is None:
        outcome.add("recovered")  # healthy again by the time we look: nothing to open
        return
    ids = [sick.workspace_id]
    view = _view(described[0], ports.fleet.connection_status(ids), ports.tags.tags_of(ids), ports, ctx)
    cause: IncidentCause = "error" if sick.to_state == "ERROR" else "unhealthy"
    opening = partial(_open_or_repeat, view, cause, ports, ctx, outcome, detail=f"desk {sick.to_state}")
    _run_runbook([_DeskToStep(view, opening)], ports, ctx, outcome)


# --- re-check --------------------------------------------------------------------------------------------
def _on_recheck(recheck: Recheck, ports: Ports, ctx: Context, outcome: Outcome) -> None:
    incident = ports.incidents.get(recheck.incident_id)
    if incident is None:
        outcome.add("ignored")
        return
    incident = _flush(incident, ports, ctx)
    if not incident.is_open or incident.current_timer != recheck.timer_name:
        outcome.add("stale_timer", incident.incident_id)
        return
    if incident.clearing_since is not None:  # quiet since the alarm returned to OK: over
        resolve_incident(incident, "alarm_ok", ports.incidents, ports.events, ports.timers, ctx.now)
        outcome.add("resolved", incident.incident_id)
        return
    if incident.scope != "desk" or incident.waiting != "recheck":
        outcome.add("stale_timer", incident.incident_id)
        return
    assert incident.workspace_id is not None
    ids = [incident.workspace_id]
    described = [d for d in ports.fleet.describe(ids) if d.state not in GONE]
    if not described:
        resolve_incident(
            incident, "recheck", ports.incidents, ports.events, ports.timers, ctx.now, "desk no longer exists"
        )
        outcome.add("resolved", incident.incident_id)
        return
    desk = described[0]
    busy = desk.state in BUSY and incident.busy_waits < MAX_BUSY_WAITS
    if busy and ports.incidents.open_for(incident.directory_id) is None:
        waited = incident.noted(ctx.now, "recheck", f"desk still {desk.state}: waiting").model_copy(
            update={"busy_waits": incident.busy_waits + 1}
        )
        _commit(_recheck_later(waited, ctx), ports, ctx)
        outcome.add("waiting", incident.incident_id)
        return
    counts = ports.metrics.connection_counts(ids, incident.last_step_at, ctx.now).get(ids[0], Counts())
    if not still_failing(counts, desk.state, ctx.rules) and desk.state not in BUSY:
        detail = f"desk {desk.state}, {counts.describe()} since the last step"
        resolve_incident(incident, "recheck", ports.incidents, ports.events, ports.timers, ctx.now, detail)
        outcome.add("resolved", incident.incident_id)
        return
    stepping = incident.noted(
        ctx.now,
        "recheck",
        f"still failing: desk {desk.state}, {counts.describe()}",
    ).model_copy(update={"busy_waits": 0, "waiting": "nothing", "next_check_at": None})
    view = _view(desk, ports.fleet.connection_status(ids), ports.tags.tags_of(ids), ports, ctx)
    # No re-read on a lost race: it raises, and the timer's invocation is retried from the start.
    _run_runbook([_DeskToStep(view, lambda: stepping, found=incident)], ports, ctx, outcome)
