"""Acting on a batch of failing desks (the runbook for many desks at once): every desk's next step is decided and
stored as an intent first, then one WorkSpaces call per action kind, then one publish of the touched incidents'
outboxes; a desk WorkSpaces refused is undone from its intent (docs/remediation.md). Also the Outcome every
trigger returns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from autopilot.contracts.outputs import IncidentCause, StepRecord
from autopilot.domain.incidents.escalation import (
    DeskView,
    _escalated,
    _held,
    _opened,
    _recheck_later,
    _step_event,
    _stepped,
)
from autopilot.domain.incidents.incidents import DeskActions, Incident, OutboxEntry, open_desk_incident
from autopilot.domain.incidents.ports import Action, ActionFailure, Context, Ports
from autopilot.domain.incidents.publishing import _flush_all, _reloading, _retrying
from autopilot.domain.incidents.runbook import RUNBOOK, _without, exhausted_reason, next_action
from autopilot.domain.kernel.errors import AwsRefused, StaleUpdate


@dataclass
class Outcome:
    """What one trigger did (logged and counted by the handler)."""

    counts: dict[str, int] = field(default_factory=dict)
    incidents: list[str] = field(default_factory=list)

    def add(self, what: str, incident_id: str | None = None) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1
        if incident_id and incident_id not in self.incidents:
            self.incidents.append(incident_id)


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
            except AwsRefused as exc:  # for good (AccessDenied...): every desk of the call refused, reported once
                refused = {intent.view.workspace_id: ActionFailure(exc.code, exc.remedy) for intent in batch}
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
    reason = f"{failure.code}: {failure.remedy}" if failure.remedy else failure.code
    refused = intended.steps[-1].model_copy(update={"outcome": "failed", "reason": reason[:300]})
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
