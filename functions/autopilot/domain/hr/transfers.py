"""Employee Transferred -> the desk record takes the new profile at once; a `transfer` timer on the effective
date makes `lifecycle` bring the WorkSpace to it, under AWS's rules:

- ModifyWorkspaceProperties (compute, running mode, AutoStop) only from AVAILABLE or STOPPED;
- a larger compute at most once in 6 hours, and not within 6 hours of the desk's creation;
- a smaller compute at most once in 30 days;
- a new bundle needs MigrateWorkspace, which makes a new WorkSpace (the desk record follows its id; when the
  write after the call never happened, the retry finds the recorded WorkSpace gone and follows the user's desk).

What is not allowed yet is scheduled (another `transfer` timer) for when it becomes allowed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autopilot.contracts.hr import EmployeeTransferred
from autopilot.contracts.outputs import ProvisioningFailed
from autopilot.domain.hr.onboarding import (
    MANAGED_ORIGINS,
    DeskDecision,
    HrOutcome,
    HrPorts,
    decide_desk,
    flag_directory_change,
    is_stale,
)
from autopilot.domain.hr.schedule import local_moment, transfer_timer
from autopilot.domain.kernel.batch import BatchResult
from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.domain.kernel.errors import AwsRefused, StaleUpdate, UnknownSite
from autopilot.domain.kernel.policy import COMPUTE_RANK, Policy
from autopilot.domain.kernel.resolution import Resolution
from autopilot.domain.kernel.workspace import WorkspaceInfo, WorkSpacesError

if TYPE_CHECKING:
    from autopilot.domain.hr.ports import LifecyclePorts

# Resizing reboots the desk: do it early on the effective date, before people start work.
TRANSFER_AT_LOCAL = dt.time(5, 0)
COMPUTE_UP_INTERVAL = dt.timedelta(hours=6)
NEW_DESK_GRACE = dt.timedelta(hours=6)
COMPUTE_DOWN_INTERVAL = dt.timedelta(days=30)
BUSY_RETRY = dt.timedelta(minutes=30)
REFUSED_RETRY = dt.timedelta(hours=1)
GIVE_UP_AFTER = dt.timedelta(days=7)
MODIFIABLE = frozenset({"AVAILABLE", "STOPPED"})
# A recorded WorkSpace in these states (or not found) is gone: MigrateWorkspace leaves its source so.
GONE_STATES = frozenset({"TERMINATING", "TERMINATED"})
RETRYABLE_REFUSALS = frozenset(
    {"InvalidResourceStateException", "OperationInProgressException", "ResourceUnavailableException"}
)


def handle_transfer(
    transfer: EmployeeTransferred,
    *,
    event_time: dt.datetime,
    policy: Policy,
    resolution: Resolution,
    ports: HrPorts,
    now: dt.datetime,
) -> HrOutcome:
    desk = ports.desks.get(transfer.employee_id)
    if desk is None:
        return HrOutcome(transfer.employee_id, "no_desk")
    if is_stale(desk, event_time):
        return HrOutcome(desk.employee_id, "stale")
    try:
        decision = decide_desk(
            policy,
            resolution,
            employee_id=transfer.employee_id,
            department=transfer.department,
            role=transfer.role,
            site=transfer.site,
        )
    except UnknownSite as exc:
        ports.bus.publish(
            [
                ProvisioningFailed(
                    employee_id=desk.employee_id,
                    directory_id=desk.directory_id,
                    error_code="UnknownSite",
                    reason=str(exc),
                    attempts=0,
                )
            ]
        )
        raise
    fields = _fields_for(desk, decision, ports)
    profile_changed = any(getattr(desk, name) != value for name, value in fields.items() if name != "site")
    desk = ports.desks.save(desk.with_changes(at=now, hr_event_time=event_time, shift=transfer.shift, **fields))
    ports.desks.record_event(
        desk.employee_id,
        at=now,
        kind="transferred",
        detail={"profile": desk.profile, "bundle_id": desk.bundle_id, "effective_date": str(transfer.effective_date)},
    )
    if not profile_changed or desk.lifecycle not in (Lifecycle.READY, Lifecycle.PROVISIONING):
        # Not created yet (provision uses the new profile) or leaving: nothing to resize.
        return HrOutcome(desk.employee_id, "transfer_recorded", {"lifecycle": desk.lifecycle.value})
    due = max(local_moment(transfer.effective_date, TRANSFER_AT_LOCAL, decision.timezone), now)
    ports.timers.schedule(transfer_timer(desk.employee_id, due), now=now)
    return HrOutcome(desk.employee_id, "transfer_scheduled", {"due": due.isoformat()})


def _fields_for(desk: Desk, decision: DeskDecision, ports: HrPorts) -> dict[str, Any]:
    fields = decision.desk_fields()
    if decision.directory_id != desk.directory_id:
        flag_directory_change(desk, ports=ports)
        fields = {name: value for name, value in fields.items() if name not in ("site", "directory_id")}
    return fields


# --- lifecycle: bring the WorkSpace to the recorded profile ------------------------------------------------
@dataclass(frozen=True)
class TransferPlan:
    migrate_to: str | None = None
    compute: str | None = None
    compute_direction: str | None = None
    running_mode: str | None = None
    autostop_minutes: int | None = None
    retry_at: dt.datetime | None = None
    waiting_for_state: bool = False

    @property
    def modifies(self) -> bool:
        return bool(self.compute or self.running_mode or self.autostop_minutes)

    @property
    def done(self) -> bool:
        return self.migrate_to is None and not self.modifies and self.retry_at is None


def plan_transfer(
    desk: Desk,
    info: WorkspaceInfo,
    *,
    now: dt.datetime,
    wanted_compute: str | None,
    created_at: dt.datetime | None,
    last_up: dt.datetime | None,
    last_down: dt.datetime | None,
) -> TransferPlan:
    """What can be applied now, and when to look again. Pure. `wanted_compute` is the profile's compute, or
    the bundle's default when the profile names none (None: leave the compute as it is)."""
    if info.state not in MODIFIABLE:
        return TransferPlan(retry_at=now + BUSY_RETRY, waiting_for_state=True)
    if info.bundle_id != desk.bundle_id:
        # A new bundle: migrate, then look again once the new WorkSpace exists to align compute and AutoStop.
        return TransferPlan(migrate_to=desk.bundle_id, retry_at=now + BUSY_RETRY)
    compute = direction = None
    retry_at: dt.datetime | None = None
    if wanted_compute and info.compute and wanted_compute != info.compute:
        growing = COMPUTE_RANK.get(wanted_compute, 0) > COMPUTE_RANK.get(info.compute, 0)
        if growing:
            allowed = max(
                [moment + NEW_DESK_GRACE for moment in (created_at,) if moment is not None]
                + [moment + COMPUTE_UP_INTERVAL for moment in (last_up,) if moment is not None]
                + [now]
            )
        else:
            allowed = now if last_down is None else max(now, last_down + COMPUTE_DOWN_INTERVAL)
        if allowed <= now:
            compute, direction = wanted_compute, "up" if growing else "down"
        else:
            retry_at = allowed
    running_mode = desk.running_mode if desk.running_mode != info.running_mode else None
    wanted_minutes = (desk.autostop_hours or 1) * 60 if desk.running_mode == "AUTO_STOP" else None
    autostop = wanted_minutes if wanted_minutes is not None and wanted_minutes != info.autostop_minutes else None
    return TransferPlan(
        compute=compute,
        compute_direction=direction,
        running_mode=running_mode,
        autostop_minutes=autostop,
        retry_at=retry_at,
    )


def apply_transfers(
    items: Sequence[tuple[str, Desk]], *, policy: Policy, ports: LifecyclePorts, result: BatchResult, now: dt.datetime
) -> None:
    """Transfer timers of a lifecycle batch: one DescribeWorkspaces per 25, then one change per desk (and one
    lookup by user for a recorded WorkSpace that is gone)."""
    ready: dict[str, tuple[str, Desk]] = {}
    for message_id, desk in items:
        if desk.lifecycle is Lifecycle.PROVISIONING:
            _look_again(desk, now + REFUSED_RETRY, ports, now)
            result.decide(desk.employee_id, "transfer_later", reason="not ready yet")
        elif desk.lifecycle is not Lifecycle.READY or desk.workspace_id is None or desk.last_day is not None:
            result.decide(desk.employee_id, "transfer_skipped", lifecycle=desk.lifecycle.value)
        elif desk.origin not in MANAGED_ORIGINS:
            result.decide(desk.employee_id, "transfer_refused_unmanaged", workspace_id=desk.workspace_id)
        else:
            ready[desk.workspace_id] = (message_id, desk)
    if not ready:
        return
    try:
        infos = {info.workspace_id: info for info in ports.fleet.describe(list(ready))}
    except ports.transient:
        result.failed += [message_id for message_id, _ in ready.values()]
        return
    except AwsRefused as refused:  # for good: reported once per desk, not redelivered
        for workspace_id, (_, desk) in ready.items():
            _refused(desk, workspace_id, refused, ports, result)
        return
    for workspace_id, (message_id, desk) in ready.items():
        info = infos.get(workspace_id)
        try:
            if info is None or info.state in GONE_STATES:
                followed = _follow_migration(desk, workspace_id, ports=ports, result=result, now=now)
                if followed is None:
                    continue
                desk, info = followed
            _apply_one(desk, info, policy=policy, ports=ports, result=result, now=now)
        except StaleUpdate:
            result.failed.append(message_id)
        except ports.transient:
            result.failed.append(message_id)
        except AwsRefused as refused:  # a lookup refused for good (the transfer's own calls are handled in it)
            _refused(desk, workspace_id, refused, ports, result)


def _apply_one(
    desk: Desk, info: WorkspaceInfo, *, policy: Policy, ports: LifecyclePorts, result: BatchResult, now: dt.datetime
) -> None:
    history = ports.desks.history(desk.employee_id)
    plan = plan_transfer(
        desk,
        info,
        now=now,
        wanted_compute=desk.compute or ports.bundles.default_compute(desk.bundle_id),
        created_at=_created_at(desk, history),
        last_up=_last(history, "compute_modified", direction="up"),
        last_down=_last(history, "compute_modified", direction="down"),
    )
    employee_id, workspace_id = desk.employee_id, info.workspace_id
    if plan.done:
        result.decide(employee_id, "transfer_done", workspace_id=workspace_id)
        return
    if plan.waiting_for_state:
        requested = _last(history, "transferred")
        if requested is not None and now - requested > GIVE_UP_AFTER:
            _alert(desk, "TransferStuck", f"the WorkSpace stayed {info.state} for a week", ports)
            result.decide(employee_id, "transfer_given_up", workspace_id=workspace_id, state=info.state)
            return
    if policy.dry_run and (plan.migrate_to or plan.modifies):
        ports.desks.record_event(employee_id, at=now, kind="dry_run", detail=_describe(plan, workspace_id))
        result.decide(employee_id, "dry_run_transfer", **_describe(plan, workspace_id))
        return
    try:
        if plan.migrate_to is not None:
            new_id = ports.fleet.migrate(workspace_id, plan.migrate_to)
            ports.desks.save(desk.with_changes(at=now, workspace_id=new_id))
            ports.desks.record_event(employee_id, at=now, kind="migrated", detail={"from": workspace_id, "to": new_id})
            result.decide(employee_id, "migrated", workspace_id=new_id, previous_workspace_id=workspace_id)
        elif plan.modifies:
            ports.fleet.modify(
                workspace_id,
                compute=plan.compute,
                autostop_minutes=plan.autostop_minutes,
                running_mode=plan.running_mode,
            )
            if plan.compute is not None:
                ports.desks.save(desk.with_changes(at=now, last_compute_change_at=now))
                ports.desks.record_event(
                    employee_id,
                    at=now,
                    kind="compute_modified",
                    detail={"direction": plan.compute_direction, "compute": plan.compute, "workspace_id": workspace_id},
                )
            ports.desks.record_event(
                employee_id, at=now, kind="properties_modified", detail=_describe(plan, workspace_id)
            )
            result.decide(employee_id, "modified", **_describe(plan, workspace_id))
    except WorkSpacesError as exc:
        if exc.code in RETRYABLE_REFUSALS:
            _look_again(desk, now + REFUSED_RETRY, ports, now)
            result.decide(employee_id, "transfer_later", workspace_id=workspace_id, error_code=exc.code)
            return
        _refused(desk, workspace_id, exc, ports, result)
        return
    if plan.retry_at is not None:
        _look_again(desk, plan.retry_at, ports, now)
        result.decide(employee_id, "transfer_later", workspace_id=workspace_id, at=plan.retry_at.isoformat())


def _follow_migration(
    desk: Desk, gone_id: str, *, ports: LifecyclePorts, result: BatchResult, now: dt.datetime
) -> tuple[Desk, WorkspaceInfo] | None:
    """The recorded WorkSpace is gone. After a MigrateWorkspace whose desk write never happened (a crash
    between the two), the user's desk is the migration's new WorkSpace: record its id and go on with it.
    None (decided and alerted) when the user has no desk any more."""
    found = ports.fleet.find(desk.directory_id, desk.username)
    if found is None:
        _alert(desk, "WorkSpaceGone", f"WorkSpace {gone_id} is gone and no other desk of the user exists", ports)
        result.decide(desk.employee_id, "transfer_skipped", reason="WorkSpace not found", workspace_id=gone_id)
        return None
    if found.workspace_id == gone_id:  # describe and find disagreed on it (eventual consistency): it is there
        return desk, found
    desk = ports.desks.save(desk.with_changes(at=now, workspace_id=found.workspace_id))
    ports.desks.record_event(
        desk.employee_id, at=now, kind="migrated", detail={"from": gone_id, "to": found.workspace_id}
    )
    result.decide(
        desk.employee_id, "migrated", workspace_id=found.workspace_id, previous_workspace_id=gone_id, found=True
    )
    return desk, found


def _refused(desk: Desk, workspace_id: str, refused: AwsRefused, ports: LifecyclePorts, result: BatchResult) -> None:
    """Refused for good: one alert with the code and what to fix (never AWS's message: it can name the user)."""
    what = f"{refused.operation} was refused for WorkSpace {workspace_id}: {refused.remedy}"
    _alert(desk, refused.code, what, ports)
    result.decide(desk.employee_id, "transfer_refused", workspace_id=workspace_id, error_code=refused.code)


def _look_again(desk: Desk, at: dt.datetime, ports: LifecyclePorts, now: dt.datetime) -> None:
    ports.timers.schedule(transfer_timer(desk.employee_id, at), now=now)


def _alert(desk: Desk, code: str, what: str, ports: LifecyclePorts) -> None:
    ports.bus.publish(
        [
            ProvisioningFailed(
                employee_id=desk.employee_id,
                directory_id=desk.directory_id,
                error_code=code,
                reason=f"transfer to profile {desk.profile}: {what}",
                attempts=0,
            )
        ]
    )


def _describe(plan: TransferPlan, workspace_id: str) -> dict[str, Any]:
    described: dict[str, Any] = {"workspace_id": workspace_id}
    for name in ("migrate_to", "compute", "running_mode", "autostop_minutes"):
        value = getattr(plan, name)
        if value is not None:
            described[name] = value
    return described


def _last(history: list[dict[str, Any]], kind: str, **match: Any) -> dt.datetime | None:
    """The newest history entry of `kind` whose detail matches (history is newest first)."""
    for entry in history:
        if entry["kind"] == kind and all(entry["detail"].get(key) == value for key, value in match.items()):
            return dt.datetime.fromisoformat(entry["at"])
    return None


def _created_at(desk: Desk, history: list[dict[str, Any]]) -> dt.datetime | None:
    """When the current WorkSpace was launched, as far as the automation knows (its creation or migration)."""
    migrated = _last(history, "migrated")
    created = desk.provisioning_started_at if desk.origin == "created" else None
    moments = [moment for moment in (migrated, created) if moment is not None]
    return max(moments) if moments else None
