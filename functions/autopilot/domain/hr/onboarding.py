"""Employee Hired -> a desk decided by the policy, recorded SCHEDULED, and a provisioning timer.

Also the decisions shared by departures and transfers: which desk the policy gives an employee, when a
timer is due in the site's time zone, deterministic timer names, whether an HR event is stale, and how a
departure is applied to a desk (apply_departure: offboarding.handle_departure uses it, and so does a hire
whose departure arrived first). Nothing here calls AWS: the ports do (domain/hr/ports.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from autopilot.contracts.hr import EmployeeDeparted, EmployeeHired, EmployeeTransferred
from autopilot.contracts.outputs import OffboardingScheduled, ProvisioningFailed
from autopilot.domain.hr.ports import DeskRecords
from autopilot.domain.hr.schedule import (
    offboarding_times,
    provision_due,
    provision_timer,
    stop_moment,
    stop_timer,
    terminate_timer,
    timer_name,
    transfer_timer,
)
from autopilot.domain.kernel.desks import Departure, Desk, Lifecycle
from autopilot.domain.kernel.errors import InvalidInput, StaleUpdate, UnknownSite
from autopilot.domain.kernel.outbox import DomainEventPublisher
from autopilot.domain.kernel.policy import Policy
from autopilot.domain.kernel.resolution import Resolution
from autopilot.domain.kernel.timers import TimerScheduler

# Origins of desks the automation may stop, terminate or resize: created by it ("created": CreateWorkspaces was
# requested for it), or adopted by fleet_watch because they carry the ManagedBy tag ("adopted"). A desk found
# already existing when provisioning ("found") is recorded and followed, never changed (IAM backs this up).
MANAGED_ORIGINS = frozenset({"created", "adopted"})


@dataclass(frozen=True)
class HrPorts:
    desks: DeskRecords
    bus: DomainEventPublisher
    timers: TimerScheduler


@dataclass(frozen=True)
class HrOutcome:
    """What an HR event did, with ids only (it is the idempotency record's data and the log line)."""

    employee_id: str
    action: str
    detail: dict[str, str] = field(default_factory=dict)

    def as_response(self) -> dict[str, Any]:
        return {"employee_id": self.employee_id, "action": self.action, **self.detail}


@dataclass(frozen=True)
class DeskDecision:
    """What the policy gives an employee: ids and settings, never taken from the event."""

    site: str
    timezone: str
    profile: str
    directory_id: str
    bundle_id: str
    running_mode: str
    compute: str | None
    autostop_hours: int | None
    root_volume_gb: int | None
    user_volume_gb: int | None
    prewarm: bool

    def desk_fields(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "profile": self.profile,
            "directory_id": self.directory_id,
            "bundle_id": self.bundle_id,
            "running_mode": self.running_mode,
            "compute": self.compute,
            "autostop_hours": self.autostop_hours,
            "root_volume_gb": self.root_volume_gb,
            "user_volume_gb": self.user_volume_gb,
            "prewarm": self.prewarm,
        }


def decide_desk(
    policy: Policy, resolution: Resolution, *, employee_id: str, department: str, role: str, site: str
) -> DeskDecision:
    """Site -> directory, first matching rule -> profile -> bundle and settings. UnknownSite (InvalidInput)
    when the site is not in the policy."""
    site_config = policy.sites.get(site)
    if site_config is None or site not in resolution.directories:
        known = ", ".join(sorted(policy.sites))
        raise UnknownSite(f"employee {employee_id}: site {site!r} is not in the policy (known sites: {known})")
    profile_name, profile = policy.profile_for(department=department, role=role, site=site)
    return DeskDecision(
        site=site,
        timezone=site_config.timezone,
        profile=profile_name,
        directory_id=resolution.directories[site],
        bundle_id=resolution.bundles[profile.bundle],
        running_mode=profile.running_mode,
        compute=profile.compute,
        autostop_hours=profile.autostop_hours if profile.running_mode == "AUTO_STOP" else None,
        root_volume_gb=profile.root_volume_gb,
        user_volume_gb=profile.user_volume_gb,
        prewarm=profile.prewarm,
    )


def is_stale(desk: Desk, event_time: dt.datetime) -> bool:
    """An HR event older than the last one applied to the desk (EventBridge does not keep order; a retried
    delivery keeps its original time)."""
    return desk.hr_event_time is not None and event_time < desk.hr_event_time


# --- idempotency (Powertools) -----------------------------------------------------------------------------
HIRE_VALIDATED_FIELDS = ("site", "department", "role", "username", "start_date")


def idempotency_request(
    detail_type: str, detail: EmployeeHired | EmployeeDeparted | EmployeeTransferred
) -> dict[str, Any]:
    """What Powertools hashes (adapters/idempotency.py): `key` is the business key, `fields` is validated.

    Employee Hired: key = (detail-type, employee id); the fields that decide the desk are validated, so a changed
    hire raises IdempotencyValidationError instead of being answered from the cache. Departed / Transferred:
    their fields are part of the key, so only exact duplicates are short-circuited. Ids, dates and labels only.
    """
    if isinstance(detail, EmployeeHired):
        fields = {name: str(getattr(detail, name)) for name in HIRE_VALIDATED_FIELDS}
        return {"key": [detail_type, detail.employee_id], "fields": fields}
    fields = json.loads(detail.model_dump_json(exclude={"schema_version"}))
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:32]
    return {"key": [detail_type, detail.employee_id, digest], "fields": {}}


# --- Employee Hired -------------------------------------------------------------------------------------
DECISION_FIELDS = ("site", "profile", "directory_id", "bundle_id", "username", "start_date")
RESCHEDULABLE = (Lifecycle.CANCELLED, Lifecycle.TERMINATED, Lifecycle.FAILED)
REHIRABLE = (Lifecycle.LEAVING, Lifecycle.STOPPED)


def handle_hire(
    hire: EmployeeHired,
    *,
    event_time: dt.datetime,
    policy: Policy,
    resolution: Resolution,
    ports: HrPorts,
    now: dt.datetime,
) -> HrOutcome:
    """Record the desk SCHEDULED and set its provisioning timer; converge on duplicates and replays."""
    try:
        decision = decide_desk(
            policy,
            resolution,
            employee_id=hire.employee_id,
            department=hire.department,
            role=hire.role,
            site=hire.site,
        )
    except UnknownSite as exc:
        ports.bus.publish(
            [ProvisioningFailed(employee_id=hire.employee_id, error_code="UnknownSite", reason=str(exc), attempts=0)]
        )
        raise
    # One read for both: the desk, and a departure that arrived before it (no extra request per hire).
    existing, departed = ports.desks.get_with_departure(hire.employee_id)
    if existing is None:
        if departed is not None and hire.start_date > departed.last_day:
            departed = None  # a rehire after an earlier departure
        desk = _new_desk(hire, decision, event_time=event_time, now=now)
        already_left = departed is not None and now >= stop_moment(departed.last_day, policy, decision.site)
        if departed is not None and already_left:
            desk = desk.moved_to(Lifecycle.CANCELLED, at=now, last_day=departed.last_day, email=None)
        try:
            desk = ports.desks.create(desk)
        except StaleUpdate:
            existing = ports.desks.get(hire.employee_id)  # a concurrent delivery created it: converge below
            if existing is None:
                raise
        else:
            if departed is not None and already_left:
                return _gone_before_the_hire(desk, departed, ports=ports, now=now)
            ports.desks.record_event(desk.employee_id, at=now, kind="scheduled", detail=_ids(desk))
            due = _schedule_provisioning(desk, policy, decision.timezone, ports, now)
            if departed is None:
                return HrOutcome(desk.employee_id, "scheduled", {"due": due.isoformat()})
            # The person works from the start date to the recorded last day: the departure is applied now.
            departure = apply_departure(
                desk, departed.last_day, event_time=departed.event_time, policy=policy, ports=ports, now=now
            )
            return HrOutcome(
                desk.employee_id,
                "scheduled",
                {"due": due.isoformat(), "last_day": departed.last_day.isoformat(), **departure.detail},
            )
    return _hire_existing(existing, hire, decision, event_time=event_time, policy=policy, ports=ports, now=now)


def _gone_before_the_hire(desk: Desk, departed: Departure, *, ports: HrPorts, now: dt.datetime) -> HrOutcome:
    """The hire arrived after the recorded last day ended: no WorkSpace; the desk is recorded CANCELLED, so a
    duplicate of this hire converges (RESCHEDULABLE and not newer)."""
    ports.desks.record_event(
        desk.employee_id, at=now, kind="cancelled", detail={"reason": "departed before the hire arrived"}
    )
    ports.bus.publish([OffboardingScheduled(employee_id=desk.employee_id, cancelled_provisioning=True)])
    return HrOutcome(desk.employee_id, "cancelled", {"last_day": departed.last_day.isoformat()})


def _hire_existing(
    desk: Desk,
    hire: EmployeeHired,
    decision: DeskDecision,
    *,
    event_time: dt.datetime,
    policy: Policy,
    ports: HrPorts,
    now: dt.datetime,
) -> HrOutcome:
    if is_stale(desk, event_time):
        return HrOutcome(desk.employee_id, "stale")
    changed = changed_fields(desk, hire, decision)
    if desk.lifecycle in RESCHEDULABLE and desk.hr_event_time is not None and event_time <= desk.hr_event_time:
        # The very event that led here, delivered again (EventBridge keeps its time): not a new hire.
        return HrOutcome(desk.employee_id, "duplicate", {"lifecycle": desk.lifecycle.value})
    if desk.lifecycle in RESCHEDULABLE:
        # Hired again (or an operator retrying a failed hire): a fresh desk, decided by today's policy. After a
        # failure the WorkSpace we may have created is still ours (provision adopts it back).
        fresh = _new_desk(hire, decision, event_time=event_time, now=now)
        origin = desk.origin if desk.lifecycle is Lifecycle.FAILED else fresh.origin
        kept = {"employee_id", "lifecycle", "created_at", "updated_at", "version", "origin"}
        desk = ports.desks.save(
            desk.moved_to(
                Lifecycle.SCHEDULED,
                at=now,
                origin=origin,
                **{name: getattr(fresh, name) for name in Desk.model_fields if name not in kept},
            )
        )
        ports.desks.record_event(desk.employee_id, at=now, kind="rescheduled", detail=_ids(desk))
        due = _schedule_provisioning(desk, policy, decision.timezone, ports, now)
        return HrOutcome(desk.employee_id, "scheduled", {"due": due.isoformat()})
    if desk.lifecycle in REHIRABLE or (desk.lifecycle is Lifecycle.READY and desk.last_day is not None):
        return _rehire(desk, hire, decision, event_time=event_time, policy=policy, ports=ports, now=now)
    newer = desk.hr_event_time is None or event_time > desk.hr_event_time
    if desk.last_day is not None and desk.lifecycle in (Lifecycle.SCHEDULED, Lifecycle.PROVISIONING) and newer:
        # A departure was recorded before the desk was ready: a newer hire cancels it (the very hire that made the
        # desk, delivered again, does not: its departure may have been recorded before it, see handle_hire).
        _cancel_offboarding(desk, ports)
        desk = ports.desks.save(desk.with_changes(at=now, last_day=None, hr_event_time=event_time))
    if changed:
        return flag_changed_payload(
            hire.employee_id, fields=changed, directory_id=desk.directory_id, ports=ports, now=now
        )
    if desk.lifecycle is Lifecycle.SCHEDULED:
        # A duplicate, or a replay after a crash between the record and the timer: the timer is set again
        # (same name: a no-op when it exists).
        due = _schedule_provisioning(desk, policy, decision.timezone, ports, now)
        return HrOutcome(desk.employee_id, "duplicate", {"due": due.isoformat()})
    return HrOutcome(desk.employee_id, "duplicate", {"lifecycle": desk.lifecycle.value})


def _rehire(
    desk: Desk,
    hire: EmployeeHired,
    decision: DeskDecision,
    *,
    event_time: dt.datetime,
    policy: Policy,
    ports: HrPorts,
    now: dt.datetime,
) -> HrOutcome:
    """Rehired before termination: the desk is kept, its stop/terminate timers are cancelled."""
    _cancel_offboarding(desk, ports)
    fields = decision.desk_fields()
    if decision.directory_id != desk.directory_id:
        # The kept WorkSpace lives in its directory: a move to another directory needs Departed, then Hired.
        flag_directory_change(desk, ports=ports)
        fields = {name: value for name, value in fields.items() if name not in ("site", "directory_id")}
    profile_changed = any(getattr(desk, name) != value for name, value in fields.items() if name != "site")
    ready = desk.moved_to(
        Lifecycle.READY,
        at=now,
        last_day=None,
        hr_event_time=event_time,
        shift=hire.shift,
        **fields,
    )
    desk = ports.desks.save(ready)
    ports.desks.record_event(desk.employee_id, at=now, kind="rehired", detail=_ids(desk))
    if profile_changed and desk.workspace_id is not None:
        ports.timers.schedule(transfer_timer(desk.employee_id, now), now=now)  # the new profile, applied now
    return HrOutcome(desk.employee_id, "rehired", {"workspace_id": desk.workspace_id or ""})


def flag_changed_payload(
    employee_id: str, *, fields: list[str] | None, directory_id: str | None, ports: HrPorts, now: dt.datetime
) -> HrOutcome:
    """A hire for an employee already decided with other values: alert, keep the first decision."""
    which = f" (changed: {', '.join(fields)})" if fields else ""
    reason = (
        f"Employee Hired was received again with different values{which}; the first decision stands. "
        "Send Employee Transferred to change the profile or site, or Departed then Hired to start over."
    )
    ports.bus.publish(
        [
            ProvisioningFailed(
                employee_id=employee_id,
                directory_id=directory_id,
                error_code="ChangedPayload",
                reason=reason,
                attempts=0,
            )
        ]
    )
    if ports.desks.get(employee_id) is not None:
        ports.desks.record_event(employee_id, at=now, kind="changed_payload", detail={"fields": fields or []})
    return HrOutcome(employee_id, "changed_payload")


def flag_directory_change(desk: Desk, *, ports: HrPorts) -> None:
    ports.bus.publish(
        [
            ProvisioningFailed(
                employee_id=desk.employee_id,
                directory_id=desk.directory_id,
                error_code="DirectoryChange",
                reason=(
                    "the new site is served by another directory; the desk stays in its directory. "
                    "Send Employee Departed, then Employee Hired, to move the employee to a new desk."
                ),
                attempts=0,
            )
        ]
    )


def changed_fields(desk: Desk, hire: EmployeeHired, decision: DeskDecision) -> list[str]:
    """Names (never values) of the decision fields that differ from the recorded desk."""
    wanted: dict[str, Any] = {
        "site": decision.site,
        "profile": decision.profile,
        "directory_id": decision.directory_id,
        "bundle_id": decision.bundle_id,
        "username": hire.username,
        "start_date": hire.start_date,
    }
    return [name for name in DECISION_FIELDS if getattr(desk, name) != wanted[name]]


def _new_desk(hire: EmployeeHired, decision: DeskDecision, *, event_time: dt.datetime, now: dt.datetime) -> Desk:
    return Desk(
        employee_id=hire.employee_id,
        lifecycle=Lifecycle.SCHEDULED,
        username=hire.username,
        email=hire.email,
        shift=hire.shift,
        start_date=hire.start_date,
        hr_event_time=event_time,
        origin="hired",
        created_at=now,
        updated_at=now,
        **decision.desk_fields(),
    )


def _schedule_provisioning(desk: Desk, policy: Policy, timezone: str, ports: HrPorts, now: dt.datetime) -> dt.datetime:
    if desk.start_date is None:
        raise InvalidInput(f"desk {desk.employee_id} has no start date")
    due = max(provision_due(desk.start_date, policy.onboarding.lead_days, timezone), now)
    ports.timers.schedule(provision_timer(desk.employee_id, due), now=now)
    return due


def _cancel_offboarding(desk: Desk, ports: HrPorts) -> None:
    ports.timers.cancel(timer_name("stop", desk.employee_id))
    ports.timers.cancel(timer_name("terminate", desk.employee_id))


def _ids(desk: Desk) -> dict[str, Any]:
    return {
        "profile": desk.profile,
        "site": desk.site,
        "directory_id": desk.directory_id,
        "bundle_id": desk.bundle_id,
        "workspace_id": desk.workspace_id,
    }


# --- Employee Departed, applied to a desk ------------------------------------------------------------------
# Here rather than in offboarding.py (which imports this module) because a hire whose departure arrived first
# applies it too (handle_hire).
def apply_departure(
    desk: Desk,
    last_day: dt.date,
    *,
    event_time: dt.datetime,
    policy: Policy,
    ports: HrPorts,
    now: dt.datetime,
) -> HrOutcome:
    """A departure on an existing desk (not stale): cancel it before its start, or set the stop and terminate
    timers on the last day. `hr_event_time` never goes back (a departure HR sent before the hire it follows)."""
    if desk.lifecycle in (Lifecycle.CANCELLED, Lifecycle.TERMINATED):
        return HrOutcome(desk.employee_id, "nothing_to_do", {"lifecycle": desk.lifecycle.value})
    newest = max(event_time, desk.hr_event_time) if desk.hr_event_time is not None else event_time
    never_starts = desk.start_date is not None and last_day < desk.start_date
    if desk.lifecycle is Lifecycle.FAILED or (desk.lifecycle is Lifecycle.SCHEDULED and never_starts):
        return _cancel_before_start(desk, last_day, event_time=newest, ports=ports, now=now)
    if desk.last_day == last_day:
        # A duplicate: the timers are set again (same names, so a no-op when they exist).
        stop_at, terminate_at = offboarding_times(desk, last_day, policy)
        _set_offboarding_timers(desk, stop_at, terminate_at, ports=ports, now=now)
        return HrOutcome(desk.employee_id, "duplicate", {"stop_at": stop_at.isoformat()})
    if desk.last_day is not None:
        _cancel_offboarding(desk, ports)
    stop_at, terminate_at = offboarding_times(desk, last_day, policy)
    if desk.lifecycle is Lifecycle.PROVISIONING and never_starts:
        stop_at = terminate_at = now  # never used: nothing to retain
    changes: dict[str, Any] = {"last_day": last_day, "hr_event_time": newest}
    if desk.lifecycle is Lifecycle.READY or (desk.lifecycle is Lifecycle.PROVISIONING and never_starts):
        desk = ports.desks.save(desk.moved_to(Lifecycle.LEAVING, at=now, **changes))
    else:
        # SCHEDULED or PROVISIONING for someone who will still start: the desk is made, then stopped.
        desk = ports.desks.save(desk.with_changes(at=now, **changes))
    _set_offboarding_timers(desk, stop_at, terminate_at, ports=ports, now=now)
    ports.desks.record_event(
        desk.employee_id,
        at=now,
        kind="offboarding_scheduled",
        detail={"stop_at": stop_at.isoformat(), "terminate_at": terminate_at.isoformat()},
    )
    ports.bus.publish(
        [
            OffboardingScheduled(
                employee_id=desk.employee_id,
                workspace_id=desk.workspace_id,
                stop_at=stop_at,
                terminate_at=terminate_at,
            )
        ]
    )
    return HrOutcome(desk.employee_id, "offboarding_scheduled", {"stop_at": stop_at.isoformat()})


def _cancel_before_start(
    desk: Desk, last_day: dt.date, *, event_time: dt.datetime, ports: HrPorts, now: dt.datetime
) -> HrOutcome:
    ports.timers.cancel(timer_name("provision", desk.employee_id))
    desk = ports.desks.save(
        desk.moved_to(Lifecycle.CANCELLED, at=now, last_day=last_day, hr_event_time=event_time, email=None)
    )
    ports.desks.record_event(desk.employee_id, at=now, kind="cancelled", detail={"reason": "departed before start"})
    ports.bus.publish([OffboardingScheduled(employee_id=desk.employee_id, cancelled_provisioning=True)])
    return HrOutcome(desk.employee_id, "cancelled")


def _set_offboarding_timers(
    desk: Desk, stop_at: dt.datetime, terminate_at: dt.datetime, *, ports: HrPorts, now: dt.datetime
) -> None:
    ports.timers.schedule(stop_timer(desk.employee_id, max(stop_at, now)), now=now)
    ports.timers.schedule(terminate_timer(desk.employee_id, max(terminate_at, now)), now=now)
