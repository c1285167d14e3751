"""Employee Departed -> stop on the last day, terminate after retention; and the lifecycle work those timers
bring back (StopWorkspaces, TerminateWorkspaces), done only on desks the automation manages.

    departure ─► stop-<id> timer (last day, stop_at_local in the site's zone) ─► LifecycleQueue ─► StopWorkspaces
              └► terminate-<id> timer (stop + retention_days)             ─► LifecycleQueue ─► TerminateWorkspaces

A departure before the desk's start date cancels it; a rehire before termination keeps it (onboarding.handle_hire).
A departure of someone without a desk yet is recorded (the DEPARTED item): a hire that arrives later still ends on
that last day, or gets no WorkSpace when the last day is over (onboarding.handle_hire). How a departure changes a
desk is onboarding.apply_departure, shared with that hire.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from autopilot.contracts.hr import EmployeeDeparted
from autopilot.contracts.outputs import ProvisioningFailed
from autopilot.contracts.timers import TimerFired
from autopilot.domain.hr.onboarding import MANAGED_ORIGINS, HrOutcome, HrPorts, apply_departure, is_stale
from autopilot.domain.hr.ports import LifecyclePorts
from autopilot.domain.hr.schedule import timer_name
from autopilot.domain.hr.transfers import GONE_STATES, RETRYABLE_REFUSALS, apply_transfers
from autopilot.domain.kernel.batch import BatchResult
from autopilot.domain.kernel.desks import Departure, Desk, Lifecycle
from autopilot.domain.kernel.errors import AwsRefused, StaleUpdate
from autopilot.domain.kernel.policy import Policy
from autopilot.domain.kernel.workspace import ItemFailure, WorkspaceInfo

STOPPABLE = frozenset({"AVAILABLE", "IMPAIRED", "UNHEALTHY", "ERROR"})
STOPPED_STATES = frozenset({"STOPPED", "STOPPING"})
RETRY_LATER = dt.timedelta(minutes=15)
PAST = {"stop": "stopped", "terminate": "terminated"}  # the decision once done
# Desks a stop or terminate timer may act on (with a last day recorded); anything else was rehired or is done.
LEAVING_STATES = frozenset(
    {Lifecycle.SCHEDULED, Lifecycle.PROVISIONING, Lifecycle.READY, Lifecycle.LEAVING, Lifecycle.STOPPED}
)


def handle_departure(
    departure: EmployeeDeparted,
    *,
    event_time: dt.datetime,
    policy: Policy,
    ports: HrPorts,
    now: dt.datetime,
) -> HrOutcome:
    desk = ports.desks.get(departure.employee_id)
    if desk is None:
        # Kept, so a hire that arrives later (out of order, or sent after it) still ends on this last day.
        ports.desks.record_departure(Departure(departure.employee_id, departure.last_day, event_time))
        ports.desks.record_event(
            departure.employee_id,
            at=now,
            kind="departure_recorded",
            detail={"last_day": departure.last_day.isoformat()},
        )
        return HrOutcome(departure.employee_id, "departure_recorded")
    if is_stale(desk, event_time):
        return HrOutcome(desk.employee_id, "stale")
    return apply_departure(desk, departure.last_day, event_time=event_time, policy=policy, ports=ports, now=now)


@dataclass(frozen=True)
class LifecycleWork:
    """One parsed message of the lifecycle queue (timer None when the body was not a valid TimerFired)."""

    message_id: str
    timer: TimerFired | None
    error: str | None = None


def stop_desks(
    items: Sequence[tuple[str, Desk]], *, policy: Policy, ports: LifecyclePorts, result: BatchResult, now: dt.datetime
) -> None:
    """Stop the desks whose last day has come (one StopWorkspaces per 25). `items` are (message id, desk)."""
    to_stop = _leaving_workspaces(
        items, "stop", LEAVING_STATES - {Lifecycle.STOPPED}, _to_stopped, ports=ports, result=result, now=now
    )
    if not to_stop:
        return
    resolved = _resolve(to_stop, "stop", policy=policy, ports=ports, result=result, now=now)
    call: list[str] = []
    for workspace_id, (message_id, desk, info) in resolved.items():
        if info is None or info.state in STOPPED_STATES | GONE_STATES:
            _save(_to_stopped(desk, now, workspace_id=workspace_id), ports, result, message_id)
            result.decide(desk.employee_id, "stopped", workspace_id=workspace_id)
        elif info.state not in STOPPABLE:
            # Busy (starting, rebooting, updating...): try again a little later.
            retry = TimerFired(
                kind="stop",
                name=timer_name("stop", desk.employee_id, (now + RETRY_LATER).strftime("%Y%m%d%H%M")),
                due=now + RETRY_LATER,
                employee_id=desk.employee_id,
            )
            ports.timers.schedule(retry, now=now)
            result.decide(desk.employee_id, "stop_later", workspace_id=workspace_id, state=info.state)
        elif policy.dry_run:
            _dry_run(desk, "stop", "StopWorkspaces", workspace_id, ports=ports, result=result, now=now)
        else:
            if info.running_mode == "ALWAYS_ON":
                # StopWorkspaces refuses AlwaysOn desks: switch to AutoStop first (the desk is leaving anyway).
                try:
                    ports.fleet.modify(workspace_id, running_mode="AUTO_STOP", autostop_minutes=60)
                except AwsRefused as refused:
                    if refused.code not in RETRYABLE_REFUSALS:  # busy desk: redelivered; anything else: for good
                        _report_refused([(desk, workspace_id)], "stop", refused, ports=ports, result=result, now=now)
                        continue
                    result.failed.append(message_id)
                    result.decide(desk.employee_id, "stop_failed", workspace_id=workspace_id)
                    continue
                except ports.transient:
                    result.failed.append(message_id)
                    result.decide(desk.employee_id, "stop_failed", workspace_id=workspace_id)
                    continue
            call.append(workspace_id)
    if not call:
        return
    try:
        failures = {failure.key: failure for failure in ports.fleet.stop(call)}
    except ports.transient:
        result.failed += [resolved[workspace_id][0] for workspace_id in call]
        return
    except AwsRefused as refused:
        _report_refused([(resolved[ws][1], ws) for ws in call], "stop", refused, ports=ports, result=result, now=now)
        return
    for workspace_id in call:
        message_id, desk, _ = resolved[workspace_id]
        failure = failures.get(workspace_id)
        if failure is not None:
            result.failed.append(message_id)  # redelivered; after five receives the DLQ alarm pages on-call
            result.decide(desk.employee_id, "stop_failed", workspace_id=workspace_id, error_code=failure.code)
            continue
        _save(_to_stopped(desk, now, workspace_id=workspace_id), ports, result, message_id)
        ports.desks.record_event(desk.employee_id, at=now, kind="stopped", detail={"workspace_id": workspace_id})
        result.decide(desk.employee_id, "stopped", workspace_id=workspace_id)


def terminate_desks(
    items: Sequence[tuple[str, Desk]], *, policy: Policy, ports: LifecyclePorts, result: BatchResult, now: dt.datetime
) -> None:
    """Terminate the desks whose retention is over (one DescribeWorkspaces and one TerminateWorkspaces per 25)."""
    to_terminate = _leaving_workspaces(
        items, "terminate", LEAVING_STATES, _to_terminated, ports=ports, result=result, now=now
    )
    if policy.dry_run:
        for workspace_id, (_, desk) in to_terminate.items():
            _dry_run(desk, "terminate", "TerminateWorkspaces", workspace_id, ports=ports, result=result, now=now)
        return
    if not to_terminate:
        return
    resolved = _resolve(to_terminate, "terminate", policy=policy, ports=ports, result=result, now=now)
    call = [workspace_id for workspace_id, (_, _, info) in resolved.items() if info and info.state not in GONE_STATES]
    failures: dict[str, ItemFailure] = {}
    if call:
        try:
            failures = {failure.key: failure for failure in ports.fleet.terminate(call)}
        except ports.transient:
            result.failed += [resolved[workspace_id][0] for workspace_id in call]
            return
        except AwsRefused as refused:
            refusals = [(resolved[ws][1], ws) for ws in call]
            _report_refused(refusals, "terminate", refused, ports=ports, result=result, now=now)
            return
    for workspace_id, (message_id, desk, _) in resolved.items():
        failure = failures.get(workspace_id)
        if failure is not None and not failure.code.startswith("ResourceNotFound"):
            result.failed.append(message_id)
            result.decide(desk.employee_id, "terminate_failed", workspace_id=workspace_id, error_code=failure.code)
            continue
        _save(_to_terminated(desk, now, workspace_id=workspace_id), ports, result, message_id)
        ports.desks.record_event(desk.employee_id, at=now, kind="terminated", detail={"workspace_id": workspace_id})
        result.decide(desk.employee_id, "terminated", workspace_id=workspace_id)


def _leaving_workspaces(
    items: Sequence[tuple[str, Desk]],
    action: str,
    states: frozenset[Lifecycle],
    ended: Callable[[Desk, dt.datetime], Desk],
    *,
    ports: LifecyclePorts,
    result: BatchResult,
    now: dt.datetime,
) -> dict[str, tuple[str, Desk]]:
    """The WorkSpaces `action` (stop or terminate) must act on, keyed by id, with their message and desk. Settled on
    the way: a desk rehired or done is skipped, a desk never made is cancelled, a desk without a WorkSpace is `ended`
    at once, and a WorkSpace the automation does not manage is refused, visibly."""
    due: dict[str, tuple[str, Desk]] = {}
    for message_id, desk in items:
        if desk.last_day is None or desk.lifecycle not in states:
            result.decide(desk.employee_id, f"{action}_skipped", lifecycle=desk.lifecycle.value)  # rehired or done
            continue
        if desk.lifecycle is Lifecycle.SCHEDULED:
            ports.timers.cancel(timer_name("provision", desk.employee_id))
            _save(desk.moved_to(Lifecycle.CANCELLED, at=now, email=None), ports, result, message_id)
            result.decide(desk.employee_id, "cancelled")
            continue
        workspace_id = _workspace_of(desk, ports)
        if workspace_id is None:
            _save(ended(desk, now), ports, result, message_id)
            result.decide(desk.employee_id, PAST[action], workspace_id=None)
            continue
        if desk.origin not in MANAGED_ORIGINS:
            _refuse_unmanaged(desk, workspace_id, action, ports=ports, result=result, now=now)
            continue
        due[workspace_id] = (message_id, desk)
    return due


def _resolve(
    recorded: dict[str, tuple[str, Desk]],
    action: str,
    *,
    policy: Policy,
    ports: LifecyclePorts,
    result: BatchResult,
    now: dt.datetime,
) -> dict[str, tuple[str, Desk, WorkspaceInfo | None]]:
    """The recorded desks as AWS describes them (one DescribeWorkspaces per 25), keyed by the WorkSpace to act on.
    A recorded WorkSpace that is gone (not found, TERMINATING, TERMINATED) is not taken as stopped or terminated
    before the user's desk is looked up (one call per such desk): a MigrateWorkspace whose desk write never
    happened left the record on its source, and the user's desk is the new one. The desk record is managed (the
    callers checked its origin); the WorkSpace found in its place is acted on only when it carries the ManagedBy
    tag (a desk made by hand for the same user is refused, visibly). Info None: nothing of the user exists.
    Messages that could not be resolved (throttled) are failed for redelivery and left out."""
    try:
        infos = {info.workspace_id: info for info in ports.fleet.describe(list(recorded))}
    except ports.transient:
        result.failed += [message_id for message_id, _ in recorded.values()]
        return {}
    except AwsRefused as refused:
        refusals = [(desk, workspace_id) for workspace_id, (_, desk) in recorded.items()]
        _report_refused(refusals, action, refused, ports=ports, result=result, now=now)
        return {}
    resolved: dict[str, tuple[str, Desk, WorkspaceInfo | None]] = {}
    for workspace_id, (message_id, desk) in recorded.items():
        info = infos.get(workspace_id)
        target = workspace_id
        if info is None or info.state in GONE_STATES:
            try:
                found = ports.fleet.find(desk.directory_id, desk.username)
            except ports.transient:
                result.failed.append(message_id)
                continue
            except AwsRefused as refused:
                _report_refused([(desk, workspace_id)], action, refused, ports=ports, result=result, now=now)
                continue
            if found is not None and found.workspace_id != workspace_id:
                try:
                    ours = _carries_managed_tag(found.workspace_id, policy, ports)
                except ports.transient:
                    result.failed.append(message_id)
                    continue
                except AwsRefused as refused:
                    _report_refused([(desk, workspace_id)], action, refused, ports=ports, result=result, now=now)
                    continue
                if not ours:
                    _refuse_unmanaged(desk, found.workspace_id, action, ports=ports, result=result, now=now)
                    continue
                target, info = found.workspace_id, found
                ports.desks.record_event(
                    desk.employee_id, at=now, kind="workspace_followed", detail={"from": workspace_id, "to": target}
                )
                result.decide(
                    desk.employee_id, "workspace_followed", workspace_id=target, previous_workspace_id=workspace_id
                )
            elif found is not None:
                info = found
        if target in resolved:  # two records on one WorkSpace: the first one acts, the other is looked at again
            result.failed.append(message_id)
            result.decide(desk.employee_id, f"{action}_later", workspace_id=target, reason="WorkSpace shared")
            continue
        resolved[target] = (message_id, desk, info)
    return resolved


def _dry_run(
    desk: Desk,
    kind: Literal["stop", "terminate"],
    action: str,
    workspace_id: str,
    *,
    ports: LifecyclePorts,
    result: BatchResult,
    now: dt.datetime,
) -> None:
    """Dry run: the call is reported (once: not again while it is the desk's latest history entry) and the timer
    comes back in 15 minutes, so that switching dry run off does what the dry run reported, and no more."""
    latest = ports.desks.history(desk.employee_id, limit=1)
    if not latest or latest[0].get("kind") != "dry_run" or latest[0].get("detail", {}).get("action") != action:
        ports.desks.record_event(desk.employee_id, at=now, kind="dry_run", detail={"action": action})
    again = TimerFired(
        kind=kind,
        name=timer_name(kind, desk.employee_id, (now + RETRY_LATER).strftime("%Y%m%d%H%M")),
        due=now + RETRY_LATER,
        employee_id=desk.employee_id,
    )
    ports.timers.schedule(again, now=now)
    result.decide(desk.employee_id, f"dry_run_{kind}", workspace_id=workspace_id)


def _to_stopped(desk: Desk, now: dt.datetime, **changes: Any) -> Desk:
    leaving = desk if desk.lifecycle is Lifecycle.LEAVING else desk.moved_to(Lifecycle.LEAVING, at=now)
    return leaving.moved_to(Lifecycle.STOPPED, at=now, **changes)


def _to_terminated(desk: Desk, now: dt.datetime, **changes: Any) -> Desk:
    if desk.lifecycle in (Lifecycle.READY, Lifecycle.PROVISIONING):
        desk = desk.moved_to(Lifecycle.LEAVING, at=now)
    return desk.moved_to(Lifecycle.TERMINATED, at=now, email=None, **changes)


def _workspace_of(desk: Desk, ports: LifecyclePorts) -> str | None:
    if desk.workspace_id is not None:
        return desk.workspace_id
    found = ports.fleet.find(desk.directory_id, desk.username)  # created, but the id was never recorded
    return found.workspace_id if found is not None else None


def _carries_managed_tag(workspace_id: str, policy: Policy, ports: LifecyclePorts) -> bool:
    key, value = policy.managed_tag
    return ports.tags.tags_of([workspace_id]).get(workspace_id, {}).get(key) == value


def _refuse_unmanaged(
    desk: Desk, workspace_id: str, action: str, *, ports: LifecyclePorts, result: BatchResult, now: dt.datetime
) -> None:
    ports.desks.record_event(
        desk.employee_id, at=now, kind="refused_unmanaged", detail={"action": action, "workspace_id": workspace_id}
    )
    ports.bus.publish(
        [
            ProvisioningFailed(
                employee_id=desk.employee_id,
                directory_id=desk.directory_id,
                error_code="UnmanagedDesk",
                reason=(
                    f"offboarding did not {action} WorkSpace {workspace_id}: it existed before the automation "
                    "recorded this employee and is not managed by it; act on it by hand"
                ),
                attempts=0,
            )
        ]
    )
    result.decide(desk.employee_id, f"{action}_refused_unmanaged", workspace_id=workspace_id)


def _report_refused(
    refusals: Sequence[tuple[Desk, str]],
    action: str,
    refused: AwsRefused,
    *,
    ports: LifecyclePorts,
    result: BatchResult,
    now: dt.datetime,
) -> None:
    """AWS refused a call of the `action` for good (AccessDenied, a validation error): a redelivery would get the
    same answer, so each desk of the call is reported once, with the AWS code and what to fix, and its message
    is done (docs/reliability.md). The desk stays as it was; a refused stop is still followed by its terminate."""
    events = []
    for desk, workspace_id in refusals:
        detail = {"workspace_id": workspace_id, "aws_action": refused.action, "error_code": refused.code}
        ports.desks.record_event(desk.employee_id, at=now, kind="refused", detail=detail | {"action": action})
        reason = f"offboarding could not {action} WorkSpace {workspace_id}: {refused.remedy}"
        events.append(
            ProvisioningFailed(
                employee_id=desk.employee_id,
                directory_id=desk.directory_id,
                error_code=refused.code,
                reason=reason,
                attempts=0,
            )
        )
        result.decide(desk.employee_id, f"{action}_refused", **detail)
    ports.bus.publish(events)


def _save(desk: Desk, ports: LifecyclePorts, result: BatchResult, message_id: str) -> None:
    try:
        ports.desks.save(desk)
    except StaleUpdate:
        result.failed.append(message_id)  # somebody changed the desk meanwhile: redo from a fresh read


def lifecycle_batch(
    work: Sequence[LifecycleWork], *, policy: Policy, ports: LifecyclePorts, now: dt.datetime
) -> BatchResult:
    """A lifecycle queue batch: stops, terminations and transfers, each kind in as few calls as the API allows.
    A desk with both a stop and a termination in the batch is only terminated."""
    result = BatchResult()
    by_kind: dict[str, dict[str, tuple[str, TimerFired]]] = {"stop": {}, "terminate": {}, "transfer": {}}
    for item in work:
        timer = item.timer
        if timer is None or timer.kind not in by_kind or timer.employee_id is None:
            result.failed.append(item.message_id)  # bad input: redelivered, then the DLQ alarm
            result.decide("-", "invalid_message", message_id=item.message_id, error=item.error or "")
            continue
        if timer.employee_id in by_kind[timer.kind]:
            result.decide(timer.employee_id, "duplicate_message", message_id=item.message_id)
            continue
        by_kind[timer.kind][timer.employee_id] = (item.message_id, timer)
    for employee_id in list(by_kind["stop"]):
        if employee_id in by_kind["terminate"]:
            del by_kind["stop"][employee_id]
            result.decide(employee_id, "stop_superseded_by_terminate")
    loaded: dict[str, list[tuple[str, Desk]]] = {}
    for kind, entries in by_kind.items():
        loaded[kind] = []
        for employee_id, (message_id, _) in entries.items():
            desk = ports.desks.get(employee_id)
            if desk is None:
                result.decide(employee_id, f"{kind}_skipped", reason="no desk")
            else:
                loaded[kind].append((message_id, desk))
    stop_desks(loaded["stop"], policy=policy, ports=ports, result=result, now=now)
    terminate_desks(loaded["terminate"], policy=policy, ports=ports, result=result, now=now)
    apply_transfers(loaded["transfer"], policy=policy, ports=ports, result=result, now=now)
    return result
