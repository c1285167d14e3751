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

The domain knows no AWS: it gets ports (typing.Protocol) and the time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar

from autopilot.contracts.outputs import (
    DomainEvent,
    IncidentCause,
    IncidentEscalated,
    IncidentOpened,
    IncidentResolved,
    RemediationStep,
    StepRecord,
)
from autopilot.contracts.timers import TimerFired
from autopilot.domain.desks import Desk, Lifecycle
from autopilot.domain.errors import StaleUpdate
from autopilot.domain.incidents import (
    DeskActions,
    Incident,
    OutboxEntry,
    ResolvedBy,
    open_desk_incident,
    open_directory_incident,
)
from autopilot.domain.policy import Policy, Remediation
from autopilot.domain.triage import GONE, AlarmSubject, Counts, Window, still_failing, triage

Action = Literal["reboot", "rebuild", "restore"]
RUNBOOK: tuple[Action, ...] = ("reboot", "rebuild", "restore")
BUSY = frozenset({"PENDING", "REBOOTING", "STARTING", "REBUILDING", "RESTORING", "MAINTENANCE", "UPDATING", "STOPPING"})
SICK = frozenset({"UNHEALTHY", "ERROR"})
# The states each action accepts (RebootWorkspaces, RebuildWorkspaces, RestoreWorkspace API references), minus
# STOPPED: a stopped desk is started by its user's login (or pre-warm), never rebuilt by this runbook.
ACTION_FROM: dict[str, frozenset[str]] = {
    "reboot": frozenset({"AVAILABLE", "UNHEALTHY", "REBOOTING"}),
    "rebuild": frozenset({"AVAILABLE", "ERROR", "UNHEALTHY", "REBOOTING"}),
    "restore": frozenset({"AVAILABLE", "ERROR", "UNHEALTHY"}),
}
MAX_BUSY_WAITS = 3  # re-checks that find the desk still rebooting/rebuilding before it counts as failing
RETRIES = 3  # re-reads after a concurrent writer changed the incident
T = TypeVar("T")


# --- ports -----------------------------------------------------------------------------------------------
class DeskState(Protocol):
    """A desk as DescribeWorkspaces shows it (the WorkSpaces adapter's WorkspaceInfo fits)."""

    @property
    def workspace_id(self) -> str: ...
    @property
    def directory_id(self) -> str: ...
    @property
    def state(self) -> str: ...


class ConnectionState(Protocol):
    @property
    def state(self) -> str: ...


@dataclass(frozen=True)
class ActionFailure:
    """WorkSpaces refused an action for this desk (FailedRequests, or a refusal of a single-desk call)."""

    code: str
    message: str = ""


class Fleet(Protocol):
    def in_directory(self, directory_id: str) -> Iterable[DeskState]: ...
    def describe(self, workspace_ids: Sequence[str]) -> Sequence[DeskState]: ...
    def connection_status(self, workspace_ids: Sequence[str]) -> Mapping[str, ConnectionState]: ...
    def act(self, action: Action, workspace_id: str) -> ActionFailure | None: ...


class Metrics(Protocol):
    def connection_counts(
        self, workspace_ids: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> Mapping[str, Counts]: ...


class DeskRecords(Protocol):
    def by_workspace(self, workspace_id: str) -> Desk | None: ...


class Tags(Protocol):
    def tags_of(self, workspace_ids: Sequence[str]) -> Mapping[str, Mapping[str, str]]: ...


class IncidentStore(Protocol):
    def open(self, incident: Incident) -> tuple[Incident, bool]: ...
    def get(self, incident_id: str) -> Incident | None: ...
    def open_for(self, subject: str) -> Incident | None: ...
    def open_in_directory(self, directory_id: str) -> list[Incident]: ...
    def save(self, incident: Incident, actions: DeskActions | None = None) -> Incident: ...
    def resolve(self, incident: Incident) -> Incident: ...
    def actions(self, workspace_id: str) -> DeskActions: ...


class TimerPort(Protocol):
    def set(self, timer: TimerFired, *, target_arn: str) -> bool: ...
    def cancel(self, name: str) -> bool: ...


class Events(Protocol):
    def publish(self, events: Sequence[DomainEvent]) -> None: ...


@dataclass
class Ports:
    fleet: Fleet
    metrics: Metrics
    desks: DeskRecords
    tags: Tags
    incidents: IncidentStore
    timers: TimerPort
    events: Events


@dataclass(frozen=True)
class Context:
    policy: Policy
    now: dt.datetime
    recheck_target_arn: str  # the remediate function itself (re-check timers invoke it)

    @property
    def rules(self) -> Remediation:
        return self.policy.remediation


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


@dataclass
class Outcome:
    """What one trigger did (logged and counted by the handler)."""

    counts: dict[str, int] = field(default_factory=dict)
    incidents: list[str] = field(default_factory=list)

    def add(self, what: str, incident_id: str | None = None) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1
        if incident_id and incident_id not in self.incidents:
            self.incidents.append(incident_id)


@dataclass(frozen=True)
class DeskView:
    """What the guard-rails need to know about a desk, right now."""

    workspace_id: str
    directory_id: str
    state: str
    connected: bool
    managed: bool
    employee_id: str | None


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
    for workspace_id, counts_of_desk in result.failing.items():
        view = _view(by_id[workspace_id], connections, tags, ports, ctx)
        _retrying(_failing_desk_step(view, counts_of_desk, ports, ctx, outcome))


def _failing_desk_step(
    view: DeskView, counts: Counts, ports: Ports, ctx: Context, outcome: Outcome
) -> Callable[[], None]:
    def step() -> None:
        detail = counts.describe()
        _desk_failing(
            view,
            "connection_failure",
            ports,
            ctx,
            outcome,
            failures=counts.failures,
            attempts=counts.attempts or 0,
            detail=detail,
        )

    return step


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
    _retrying(lambda: _desk_failing(view, cause, ports, ctx, outcome, detail=f"desk {sick.to_state}"))


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
    incident = incident.noted(
        ctx.now,
        "recheck",
        f"still failing: desk {desk.state}, {counts.describe()}",
    ).model_copy(update={"busy_waits": 0, "waiting": "nothing", "next_check_at": None})
    view = _view(desk, ports.fleet.connection_status(ids), ports.tags.tags_of(ids), ports, ctx)
    _advance(incident, view, ports, ctx, outcome)


# --- one failing desk ------------------------------------------------------------------------------------
def _desk_failing(
    view: DeskView,
    cause: IncidentCause,
    ports: Ports,
    ctx: Context,
    outcome: Outcome,
    *,
    failures: int = 0,
    attempts: int = 0,
    detail: str = "",
) -> None:
    existing = ports.incidents.open_for(view.workspace_id)
    if existing is None:
        fresh = open_desk_incident(
            workspace_id=view.workspace_id,
            directory_id=view.directory_id,
            employee_id=view.employee_id,
            cause=cause,
            at=ctx.now,
            failures=failures,
            attempts=attempts,
            detail=detail,
        )
        stored, created = ports.incidents.open(fresh.publishing(OutboxEntry.event(_opened(fresh))))
        if created:
            outcome.add("opened", stored.incident_id)
            _advance(_flush(stored, ports, ctx), view, ports, ctx, outcome)
            return
        existing = stored
    # An incident is already open for this desk: a repeat updates its timeline and pages nobody.
    incident = _flush(existing, ports, ctx).fired_again(ctx.now).noted(ctx.now, "repeated", detail)
    incident = incident.model_copy(
        update={"failures": max(incident.failures, failures), "attempts": max(incident.attempts, attempts)}
    )
    outcome.add("repeated", incident.incident_id)
    if incident.waiting in ("nothing", "desk"):
        _advance(incident, view, ports, ctx, outcome)  # a step that never happened (crash), or the desk changed
    else:
        _commit(incident, ports, ctx)


def _advance(incident: Incident, view: DeskView, ports: Ports, ctx: Context, outcome: Outcome) -> None:
    """Take the next step of the runbook for an open desk incident that waits for nothing. Saves and flushes."""
    rules, now = ctx.rules, ctx.now
    outage = ports.incidents.open_for(view.directory_id)
    if outage is not None:
        _hold(incident, f"directory outage {outage.incident_id}: no desk is remediated until it clears", ports, ctx)
        outcome.add("held_systemic", incident.incident_id)
        return
    if not view.managed:
        _escalate(incident, "the desk is not tagged ManagedBy for this automation: not touched", ports, ctx)
        outcome.add("escalated", incident.incident_id)
        return
    if view.state == "ADMIN_MAINTENANCE":
        _hold(incident, "desk in ADMIN_MAINTENANCE: left to its administrator", ports, ctx, recheck=False)
        outcome.add("held_maintenance", incident.incident_id)
        return
    if view.connected:
        if incident.held_connected >= 1:
            _escalate(incident, "a user is connected and connection failures continue: not rebooting", ports, ctx)
            outcome.add("escalated", incident.incident_id)
            return
        held = incident.model_copy(update={"held_connected": incident.held_connected + 1})
        _hold(held, "a user is connected: no action, re-checking later", ports, ctx)
        outcome.add("held_connected", incident.incident_id)
        return
    history = ports.incidents.actions(view.workspace_id)
    while True:
        action = next_action(incident, history, rules, now, view.state)
        if action is None and next_action(incident, history, rules, now) is not None:
            # Something is allowed, just not in the desk's current state: wait once, then a human.
            reason = f"desk is {view.state}: no runbook action is possible in this state"
            last = incident.steps[-1] if incident.steps else None
            if last is not None and last.action == "none" and last.reason == reason:
                _escalate(incident, f"the desk stays {view.state}, where no runbook action is possible", ports, ctx)
                outcome.add("escalated", incident.incident_id)
            else:
                _hold(incident, reason, ports, ctx)
                outcome.add("held_state", incident.incident_id)
            return
        if action is None:
            _escalate(incident, exhausted_reason(incident, history, rules, now), ports, ctx)
            outcome.add("escalated", incident.incident_id)
            return
        if ctx.policy.dry_run:
            step = StepRecord(action=action, outcome="dry_run", at=now, reason="dry_run: nothing was called")
            _commit(_recheck_later(_stepped(incident, step, ctx), ctx), ports, ctx)
            outcome.add(f"dry_run_{action}", incident.incident_id)
            return
        # Intent first: the step (and the cap it counts against) is stored before the call, so a crash and a
        # retry never act twice; the outbox already holds the re-check timer so a crash cannot strand it.
        step = StepRecord(action=action, outcome="requested", at=now)
        history = history.recorded(action, now)
        intended = ports.incidents.save(_recheck_later(_stepped(incident, step, ctx), ctx), history)
        history = history.model_copy(update={"version": history.version + 1})
        failure = ports.fleet.act(action, view.workspace_id)
        if failure is None:
            _flush(intended, ports, ctx)
            outcome.add(action, incident.incident_id)
            return
        refused = step.model_copy(update={"outcome": "failed", "reason": f"{failure.code}: {failure.message}"[:300]})
        incident = (
            intended.with_last_step(refused)
            .model_copy(update={"outbox": [OutboxEntry.event(_step_event(intended, refused, None))]})
            .waiting_for("nothing", now)
        )
        incident = _flush(ports.incidents.save(incident), ports, ctx)
        outcome.add(f"{action}_refused", incident.incident_id)


def next_action(
    incident: Incident, history: DeskActions, rules: Remediation, now: dt.datetime, state: str | None = None
) -> Action | None:
    """The first runbook action not yet tried in this incident that the guard-rails allow now (and, given the
    desk's state, that WorkSpaces accepts in that state)."""
    attempted = {s.action for s in incident.steps}
    for action in RUNBOOK:
        if action in attempted or _allowed(action, history, rules, now) is not None:
            continue
        if state is None or state in ACTION_FROM[action]:
            return action
    return None


def _allowed(action: Action, history: DeskActions, rules: Remediation, now: dt.datetime) -> str | None:
    """None when the guard-rails allow `action` now, else why not."""
    cooldown = now - dt.timedelta(hours=rules.cooldown_hours)
    if action == "reboot":
        done = history.count_since("reboot", now - dt.timedelta(days=1))
        return None if done < rules.max_reboots_per_day else f"{done} reboots in 24 h (max {rules.max_reboots_per_day})"
    if action == "rebuild" and not rules.rebuild:
        return "rebuild disabled by policy"
    if action == "restore" and not rules.restore:
        return "restore not opted in"
    if history.count_since(action, cooldown):
        return f"one {action} per {rules.cooldown_hours} h (cooldown)"
    return None


def exhausted_reason(incident: Incident, history: DeskActions, rules: Remediation, now: dt.datetime) -> str:
    parts = []
    attempted = {s.action: s for s in incident.steps if s.action != "none"}
    for action in RUNBOOK:
        if action in attempted:
            step = attempted[action]
            parts.append(f"{action} {step.outcome} at {step.at:%H:%M} UTC")
        else:
            parts.append(f"{action} not allowed ({_allowed(action, history, rules, now)})")
    return "runbook exhausted, the desk still fails: " + "; ".join(parts)


# --- steps, holds, escalation, resolution ----------------------------------------------------------------
def _stepped(incident: Incident, step: StepRecord, ctx: Context) -> Incident:
    due = ctx.now + dt.timedelta(minutes=ctx.rules.recheck_minutes)
    return incident.with_step(step).publishing(OutboxEntry.event(_step_event(incident, step, due)))


def _recheck_later(incident: Incident, ctx: Context) -> Incident:
    return incident.awaiting_recheck(ctx.now, ctx.now + dt.timedelta(minutes=ctx.rules.recheck_minutes))


def _hold(incident: Incident, reason: str, ports: Ports, ctx: Context, *, recheck: bool = True) -> None:
    """No action now. The first hold for a reason is a step (and an alert); the same hold again is only noted."""
    last = incident.steps[-1] if incident.steps else None
    if last is not None and last.action == "none" and last.reason == reason:
        held = incident.noted(ctx.now, "held", reason)
    else:
        held = _stepped(incident, StepRecord(action="none", outcome="skipped", at=ctx.now, reason=reason), ctx)
    held = _recheck_later(held, ctx) if recheck else held.waiting_for("desk", ctx.now)
    _commit(held, ports, ctx)


def _escalate(incident: Incident, reason: str, ports: Ports, ctx: Context) -> None:
    if incident.escalated_at is not None:
        _commit(incident.noted(ctx.now, "held", reason).waiting_for("human", ctx.now), ports, ctx)
        return
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
    _commit(escalated.publishing(OutboxEntry.event(event)), ports, ctx)


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
    pending = [entry.domain_event() for entry in incident.outbox if entry.kind == "event"]
    if pending:
        events.publish(pending)
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


def _retrying(operation: Callable[[], T]) -> T:
    """Run `operation` again (it re-reads what it changes) when a concurrent writer got there first."""
    for _ in range(RETRIES - 1):
        try:
            return operation()
        except StaleUpdate:
            continue
    return operation()
