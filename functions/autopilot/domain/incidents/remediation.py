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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

from autopilot.contracts.outputs import IncidentCause, StepRecord
from autopilot.domain.incidents.escalation import (
    DeskView,
    _escalated,
    _held,
    _note,
    _opened,
    _recheck_later,
    _step_event,
    _stepped,
    _view,
    resolve_incident,
)
from autopilot.domain.incidents.incidents import (
    DeskActions,
    Incident,
    OutboxEntry,
    open_desk_incident,
    open_directory_incident,
)
from autopilot.domain.incidents.ports import Action, ActionFailure, Context, Ports
from autopilot.domain.incidents.publishing import _commit, _flush, _flush_all, _reloading, _retrying
from autopilot.domain.incidents.runbook import RUNBOOK, _without, exhausted_reason, next_action
from autopilot.domain.incidents.triage import GONE, AlarmSubject, Counts, Window, still_failing, triage
from autopilot.domain.kernel.errors import StaleUpdate

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


@dataclass
class Outcome:
    """What one trigger did (logged and counted by the handler)."""

    counts: dict[str, int] = field(default_factory=dict)
    incidents: list[str] = field(default_factory=list)

    def add(self, what: str, incident_id: str | None = None) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1
        if incident_id and incident_id not in self.incidents:
            self.incidents.append(incident_id)


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


# --- the runbook, for a batch of desks -------------------------------------------------------------------
@dataclass(frozen=True)
class _DeskToStep:
    """A desk whose incident may take its next runbook step in this invocation."""

    view: DeskView
    # The incident now (read again when called again after a lost race); None when there is nothing to step.
    load: Callable[[], Incident | None]
    # The incident as the trigger found it, when load() returns it already changed (a re-check): what a failed
    # call puts back, so the retried timer re-checks again. None: what load() returned.
    found: Incident | None = None


@dataclass(frozen=True)
class _Intent:
    """A runbook action stored as requested, not yet called."""

    view: DeskView
    action: Action
    before: Incident  # without the step: its outbox is what stays if WorkSpaces refuses the action
    intended: Incident  # as stored, with the requested step, its cap and its re-check timer
    found: Incident | None = None  # the desk's `_DeskToStep.found`


@dataclass(frozen=True)
class _Decision:
    incident: Incident  # the incident with the step taken (not yet stored)
    what: str  # the outcome counter (an action is counted after its call: done or refused)
    action: Action | None = None  # a WorkSpaces call to make


def _run_runbook(desks: Sequence[_DeskToStep], ports: Ports, ctx: Context, outcome: Outcome) -> None:
    """Take the next runbook step of every desk, calling WorkSpaces once per action kind and publishing once.

    Round by round: each desk's step is decided and stored (an action as an intent, before the call), then one
    `act_many` per action for the desks that take it; a desk WorkSpaces refused records the refusal and goes
    into the next round for its next action. A call that fails as a whole (`ports.transient`) undoes its intents
    (`_undo`); the other calls and the flush go on, then the first such error is raised. Then one publish of all
    the events the touched incidents hold in their outbox, and only after it their timers and the clearing of
    their outbox."""
    touched: dict[str, Incident] = {}  # incident id -> as last stored by this invocation
    failed: Exception | None = None  # the first call that failed as a whole
    pending = list(desks)
    while pending:
        directories = sorted({desk.view.directory_id for desk in pending})
        outages = {directory_id: ports.incidents.open_for(directory_id) for directory_id in directories}
        intents: list[_Intent] = []
        for desk in pending:
            outage = outages[desk.view.directory_id]
            intent = _retrying(partial(_store_step, desk, outage, ports, ctx, outcome, touched))
            if intent is not None:
                intents.append(intent)
        pending = []
        for action in RUNBOOK:
            batch = [intent for intent in intents if intent.action == action]
            if not batch:
                continue
            try:
                refused = ports.fleet.act_many(action, [intent.view.workspace_id for intent in batch])
            except ports.transient as exc:
                failed = failed or exc
                for intent in batch:
                    outcome.add(f"{action}_call_failed", intent.intended.incident_id)
                    _undo(intent, ports, touched)
                continue
            for intent in batch:
                failure = refused.get(intent.view.workspace_id)
                if failure is None:
                    outcome.add(action, intent.intended.incident_id)
                    continue
                outcome.add(f"{action}_refused", intent.intended.incident_id)
                again = _record_refusal(intent, failure, ports, ctx, touched)
                if again is not None:
                    pending.append(again)
    _flush_all(touched.values(), ports, ctx)
    if failed is not None:
        raise failed  # Lambda's retry (or the timer's redelivery) acts; after the retries, the dead letter reports


def _open_or_repeat(
    view: DeskView,
    cause: IncidentCause,
    ports: Ports,
    ctx: Context,
    outcome: Outcome,
    *,
    failures: int = 0,
    attempts: int = 0,
    detail: str = "",
) -> Incident:
    """The desk's open incident: a new one (opened with a transaction, one per desk), or the open one, repeated."""
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
            return stored
        existing = stored
    # A repeat updates the open incident's timeline and pages nobody.
    incident = existing.fired_again(ctx.now).noted(ctx.now, "repeated", detail)
    outcome.add("repeated", incident.incident_id)
    return incident.model_copy(
        update={"failures": max(incident.failures, failures), "attempts": max(incident.attempts, attempts)}
    )


def _store_step(
    desk: _DeskToStep,
    outage: Incident | None,
    ports: Ports,
    ctx: Context,
    outcome: Outcome,
    touched: dict[str, Incident],
) -> _Intent | None:
    """Decide the desk's next step and store it; for an action, the intent (returned) before the call."""
    incident = desk.load()
    if incident is None:
        return None
    if incident.waiting not in ("nothing", "desk"):  # waits for its re-check or a human: only the repeat is stored
        touched[incident.incident_id] = ports.incidents.save(incident)
        return None
    history = ports.incidents.actions(desk.view.workspace_id)
    decision = _next_step(incident, desk.view, outage, history, ctx)
    if decision.action is None:
        touched[incident.incident_id] = ports.incidents.save(decision.incident)
        outcome.add(decision.what, incident.incident_id)
        return None
    # Intent first: the step (and the cap it counts against) is stored before the call, so a crash and a retry
    # never act twice; the outbox already holds the re-check timer so a crash cannot strand it.
    intended = ports.incidents.save(decision.incident, history.recorded(decision.action, ctx.now))
    touched[incident.incident_id] = intended
    return _Intent(view=desk.view, action=decision.action, before=incident, intended=intended, found=desk.found)


def _next_step(
    incident: Incident, view: DeskView, outage: Incident | None, history: DeskActions, ctx: Context
) -> _Decision:
    """The guard-rails, then the next runbook step, for an open desk incident that waits for nothing (pure)."""
    rules, now = ctx.rules, ctx.now
    if outage is not None:
        reason = f"directory outage {outage.incident_id}: no desk is remediated until it clears"
        return _Decision(_held(incident, reason, ctx), "held_systemic")
    if not view.managed:
        reason = "the desk is not tagged ManagedBy for this automation: not touched"
        return _Decision(_escalated(incident, reason, ctx), "escalated")
    if view.state == "ADMIN_MAINTENANCE":
        reason = "desk in ADMIN_MAINTENANCE: left to its administrator"
        return _Decision(_held(incident, reason, ctx, recheck=False), "held_maintenance")
    if view.connected:
        if incident.held_connected >= 1:
            reason = "a user is connected and connection failures continue: not rebooting"
            return _Decision(_escalated(incident, reason, ctx), "escalated")
        held = incident.model_copy(update={"held_connected": incident.held_connected + 1})
        return _Decision(_held(held, "a user is connected: no action, re-checking later", ctx), "held_connected")
    action = next_action(incident, history, rules, now, view.state)
    if action is None and next_action(incident, history, rules, now) is not None:
        # Something is allowed, just not in the desk's current state: wait once, then a human.
        reason = f"desk is {view.state}: no runbook action is possible in this state"
        last = incident.steps[-1] if incident.steps else None
        if last is not None and last.action == "none" and last.reason == reason:
            reason = f"the desk stays {view.state}, where no runbook action is possible"
            return _Decision(_escalated(incident, reason, ctx), "escalated")
        return _Decision(_held(incident, reason, ctx), "held_state")
    if action is None:
        return _Decision(_escalated(incident, exhausted_reason(incident, history, rules, now), ctx), "escalated")
    if ctx.policy.dry_run:
        step = StepRecord(action=action, outcome="dry_run", at=now, reason="dry_run: nothing was called")
        return _Decision(_recheck_later(_stepped(incident, step, ctx), ctx), f"dry_run_{action}")
    step = StepRecord(action=action, outcome="requested", at=now)
    return _Decision(_recheck_later(_stepped(incident, step, ctx), ctx), action, action)


def _record_refusal(
    intent: _Intent, failure: ActionFailure, ports: Ports, ctx: Context, touched: dict[str, Incident]
) -> _DeskToStep | None:
    """WorkSpaces refused the action for this desk: the step is `failed` (its re-check timer dropped) and the desk
    tries its next action at once, in the next round."""
    intended = intent.intended
    refused = intended.steps[-1].model_copy(update={"outcome": "failed", "reason": failure.code[:300]})
    event = OutboxEntry.event(_step_event(intended, refused, None))
    incident = (
        intended.with_last_step(refused)
        .model_copy(update={"outbox": [*intent.before.outbox, event]})
        .waiting_for("nothing", ctx.now)
    )
    try:
        stored = ports.incidents.save(incident)
    except StaleUpdate:
        # Changed meanwhile: it keeps its requested step and re-check, which finds the desk still failing.
        current = ports.incidents.get(intended.incident_id)
        if current is not None:
            touched[current.incident_id] = current
        return None
    touched[stored.incident_id] = stored
    # A re-check's desk keeps the incident as its timer found it (see _DeskToStep.found).
    return _DeskToStep(intent.view, _reloading(stored, ports), intent.found)


def _undo(intent: _Intent, ports: Ports, touched: dict[str, Incident]) -> None:
    """The action's call failed as a whole: the incident as it was before the step (its outbox, timers and
    waiting state; nothing of the step is published) and the action out of the desk's history, in one write
    conditional on the stored intent. Lost to another writer: the incident stays as that writer left it."""
    intended = intent.intended
    history = ports.incidents.actions(intent.view.workspace_id)
    put_back = (intent.found or intent.before).model_copy(update={"version": intended.version})
    try:
        touched[intended.incident_id] = ports.incidents.save(
            put_back, _without(history, intent.action, intended.steps[-1].at)
        )
    except StaleUpdate:
        current = ports.incidents.get(intended.incident_id)
        if current is not None:
            touched[current.incident_id] = current
