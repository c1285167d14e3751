"""Departures (domain/hr/offboarding.py): timers on the last day, and the lifecycle queue's stops and terminations."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from autopilot.contracts.timers import TimerFired
from autopilot.domain.hr.offboarding import LifecycleWork, handle_departure, lifecycle_batch
from autopilot.domain.hr.onboarding import handle_hire
from autopilot.domain.kernel.batch import BatchResult
from autopilot.domain.kernel.desks import Departure, Lifecycle
from tests.unit.fakes_onboarding import NOW, World, departure, hire, policy, resolution

pytestmark = pytest.mark.usefixtures("socket_disabled")
LATER = NOW + dt.timedelta(minutes=1)


def _ready_desk(world: World, employee_id: str = "e-1001", **desk: Any) -> str:
    handle_hire(hire(employee_id), event_time=NOW, policy=policy(), resolution=resolution(), ports=world.hr, now=NOW)
    world.timers.pending.pop(f"provision-{employee_id}")  # it fired: the desk was made
    desk = {"tags": dict(policy().tags)} | desk  # made by the automation: the policy's tags, ManagedBy among them
    workspace_id = world.fleet.seed("d-1111111111", f"user{employee_id.replace('-', '')}", **desk)
    stored = world.desks.items[employee_id]
    world.desks.items[employee_id] = stored.model_copy(
        update={"lifecycle": Lifecycle.READY, "workspace_id": workspace_id, "origin": "created", "email": None}
    )
    return workspace_id


def _depart(world: World, last_day: dt.date = dt.date(2026, 12, 20), employee_id: str = "e-1001", **over: Any) -> str:
    return handle_departure(
        departure(employee_id, last_day), event_time=LATER, policy=policy(**over), ports=world.hr, now=LATER
    ).action


def _fire(world: World, *timers: tuple[str, str], now: dt.datetime, **over: Any) -> BatchResult:
    work = [
        LifecycleWork(
            f"m-{kind}-{employee_id}",
            TimerFired(kind=kind, name=f"{kind}-{employee_id}", due=now, employee_id=employee_id),
        )
        for kind, employee_id in timers
    ]
    return lifecycle_batch(work, policy=policy(**over), ports=world.lifecycle, now=now)


def test_a_departure_stops_at_the_end_of_the_last_day_and_terminates_after_retention() -> None:
    world = World()
    workspace_id = _ready_desk(world)

    assert _depart(world) == "offboarding_scheduled"

    desk = world.desks.items["e-1001"]
    assert (desk.lifecycle, desk.last_day) == (Lifecycle.LEAVING, dt.date(2026, 12, 20))
    stop_at = dt.datetime(2026, 12, 20, 22, 0, tzinfo=dt.UTC)  # 23:00 in Paris
    assert world.timers.pending["stop-e-1001"].due == stop_at
    assert world.timers.pending["terminate-e-1001"].due == stop_at + dt.timedelta(days=30)
    [event] = world.bus.of("Offboarding Scheduled")
    assert (event.workspace_id, event.stop_at, event.cancelled_provisioning) == (workspace_id, stop_at, False)


def test_a_departure_before_the_start_date_cancels_provisioning() -> None:
    world = World()
    handle_hire(hire(), event_time=NOW, policy=policy(), resolution=resolution(), ports=world.hr, now=NOW)

    assert _depart(world, last_day=dt.date(2026, 12, 5)) == "cancelled"

    desk = world.desks.items["e-1001"]
    assert (desk.lifecycle, desk.email) == (Lifecycle.CANCELLED, None)
    assert "provision-e-1001" not in world.timers.pending
    [event] = world.bus.of("Offboarding Scheduled")
    assert event.cancelled_provisioning is True


def test_a_departure_after_the_start_date_lets_the_desk_be_made_then_stopped() -> None:
    world = World()
    handle_hire(hire(), event_time=NOW, policy=policy(), resolution=resolution(), ports=world.hr, now=NOW)

    assert _depart(world, last_day=dt.date(2026, 12, 31)) == "offboarding_scheduled"

    desk = world.desks.items["e-1001"]
    assert (desk.lifecycle, desk.last_day) == (Lifecycle.SCHEDULED, dt.date(2026, 12, 31))
    assert {"provision-e-1001", "stop-e-1001", "terminate-e-1001"} == set(world.timers.pending)


def test_a_duplicate_departure_sets_the_same_timers() -> None:
    world = World()
    _ready_desk(world)
    _depart(world)

    assert _depart(world) == "duplicate"

    assert set(world.timers.pending) == {"stop-e-1001", "terminate-e-1001"}
    assert len(world.bus.of("Offboarding Scheduled")) == 1


def test_a_new_last_day_replaces_the_timers() -> None:
    world = World()
    _ready_desk(world)
    _depart(world)

    _depart(world, last_day=dt.date(2026, 12, 24))

    assert world.timers.pending["stop-e-1001"].due == dt.datetime(2026, 12, 24, 22, 0, tzinfo=dt.UTC)


def test_a_departure_of_someone_without_a_desk_is_recorded_for_a_later_hire() -> None:
    world = World()

    assert _depart(world) == "departure_recorded"

    assert world.desks.departures == {"e-1001": Departure("e-1001", dt.date(2026, 12, 20), LATER)}
    assert world.desks.events == [("e-1001", "departure_recorded", {"last_day": "2026-12-20"})]
    assert world.desks.items == {}
    assert (world.bus.events, world.timers.pending, world.timers.fired) == ([], {}, [])  # no alert, no timer


def test_the_stop_timer_stops_the_desk_in_one_call() -> None:
    world = World()
    first = _ready_desk(world, "e-1")
    second = _ready_desk(world, "e-2")
    _depart(world, employee_id="e-1")
    _depart(world, employee_id="e-2")

    result = _fire(world, ("stop", "e-1"), ("stop", "e-2"), now=NOW + dt.timedelta(days=20))

    assert result.failed == []
    assert world.fleet.calls["StopWorkspaces"] == 1
    assert world.fleet.desks[first].state == world.fleet.desks[second].state == "STOPPED"
    assert world.desks.items["e-1"].lifecycle is Lifecycle.STOPPED


def test_an_always_on_desk_is_switched_to_autostop_before_it_is_stopped() -> None:
    world = World()
    workspace_id = _ready_desk(world, running_mode="ALWAYS_ON", autostop_minutes=None)
    _depart(world)

    _fire(world, ("stop", "e-1001"), now=NOW + dt.timedelta(days=20))

    assert world.fleet.desks[workspace_id].running_mode == "AUTO_STOP"
    assert world.fleet.desks[workspace_id].state == "STOPPED"


def test_a_rehired_employee_is_not_stopped_by_a_late_timer() -> None:
    world = World()
    workspace_id = _ready_desk(world)
    _depart(world)
    handle_hire(
        hire(), event_time=NOW + dt.timedelta(days=2), policy=policy(), resolution=resolution(), ports=world.hr, now=NOW
    )

    result = _fire(world, ("stop", "e-1001"), ("terminate", "e-1001"), now=NOW + dt.timedelta(days=50))

    assert world.fleet.desks[workspace_id].state == "AVAILABLE"
    assert "terminate_skipped" in [d.action for d in result.decisions]


def test_the_terminate_timer_terminates_the_stopped_desk() -> None:
    world = World()
    workspace_id = _ready_desk(world)
    _depart(world)
    _fire(world, ("stop", "e-1001"), now=NOW + dt.timedelta(days=20))

    _fire(world, ("terminate", "e-1001"), now=NOW + dt.timedelta(days=50))

    assert world.fleet.desks[workspace_id].state == "TERMINATED"
    assert world.desks.items["e-1001"].lifecycle is Lifecycle.TERMINATED


def test_stop_and_terminate_in_one_batch_only_terminate() -> None:
    world = World()
    _ready_desk(world)
    _depart(world)

    _fire(world, ("stop", "e-1001"), ("terminate", "e-1001"), now=NOW + dt.timedelta(days=50))

    assert "StopWorkspaces" not in world.fleet.calls
    assert world.desks.items["e-1001"].lifecycle is Lifecycle.TERMINATED


def test_a_desk_that_existed_before_the_automation_is_never_terminated() -> None:
    world = World()
    workspace_id = _ready_desk(world)
    world.desks.items["e-1001"] = world.desks.items["e-1001"].model_copy(update={"origin": "found"})
    _depart(world)

    _fire(world, ("stop", "e-1001"), now=NOW + dt.timedelta(days=20))
    _fire(world, ("terminate", "e-1001"), now=NOW + dt.timedelta(days=50))

    assert world.fleet.desks[workspace_id].state == "AVAILABLE"
    assert {alert.error_code for alert in world.bus.of("Provisioning Failed")} == {"UnmanagedDesk"}


def test_a_failed_stop_is_redelivered() -> None:
    world = World()
    workspace_id = _ready_desk(world)
    _depart(world)
    world.fleet.stop_failures[workspace_id] = "InternalError"

    result = _fire(world, ("stop", "e-1001"), now=NOW + dt.timedelta(days=20))

    assert result.failed == ["m-stop-e-1001"]
    assert world.desks.items["e-1001"].lifecycle is Lifecycle.LEAVING


def test_a_busy_desk_is_stopped_a_little_later() -> None:
    world = World()
    _ready_desk(world, state="REBOOTING")
    _depart(world)

    _fire(world, ("stop", "e-1001"), now=NOW + dt.timedelta(days=20))

    assert "StopWorkspaces" not in world.fleet.calls
    assert [t.kind for t in world.timers.pending.values() if t.name.startswith("stop-e-1001-")] == ["stop"]


def test_dry_run_stops_and_terminates_nothing() -> None:
    world = World()
    workspace_id = _ready_desk(world)
    _depart(world)

    _fire(world, ("stop", "e-1001"), now=NOW + dt.timedelta(days=20), dry_run=True)
    result = _fire(world, ("terminate", "e-1001"), now=NOW + dt.timedelta(days=50), dry_run=True)

    assert world.fleet.desks[workspace_id].state == "AVAILABLE"
    assert "StopWorkspaces" not in world.fleet.calls
    assert "TerminateWorkspaces" not in world.fleet.calls
    assert [d.action for d in result.decisions] == ["dry_run_terminate"]
    assert world.desks.kinds("e-1001").count("dry_run") == 2


def test_a_scheduled_desk_whose_last_day_came_is_cancelled() -> None:
    world = World()
    handle_hire(hire(), event_time=NOW, policy=policy(), resolution=resolution(), ports=world.hr, now=NOW)
    _depart(world, last_day=dt.date(2026, 12, 31))

    _fire(world, ("stop", "e-1001"), now=dt.datetime(2026, 12, 31, 22, tzinfo=dt.UTC))

    assert world.desks.items["e-1001"].lifecycle is Lifecycle.CANCELLED


def _migrated_without_record(
    world: World, workspace_id: str, *, source_state: str | None, by_hand: bool = False
) -> str:
    """A MigrateWorkspace whose desk write never happened: the record stays on the source, now gone. The new desk
    keeps the source's tags, as MigrateWorkspace does; `by_hand`: a desk someone made for the user instead."""
    tags = dict(world.fleet.desks[workspace_id].tags)
    if source_state is None:
        del world.fleet.desks[workspace_id]
    else:
        world.fleet.desks[workspace_id].state = source_state
    new = world.fleet.seed("d-1111111111", "usere1001", "wsb-powerbndl1")
    world.fleet.desks[new].tags = {} if by_hand else tags
    return new


def test_a_stop_of_a_recorded_workspace_that_is_gone_stops_the_user_s_desk() -> None:
    world = World()
    old = _ready_desk(world)
    _depart(world)
    new = _migrated_without_record(world, old, source_state="TERMINATING")

    result = _fire(world, ("stop", "e-1001"), now=NOW + dt.timedelta(days=20))

    assert result.failed == []
    assert world.fleet.desks[new].state == "STOPPED"
    desk = world.desks.items["e-1001"]
    assert (desk.lifecycle, desk.workspace_id) == (Lifecycle.STOPPED, new)
    assert ("e-1001", "workspace_followed", {"from": old, "to": new}) in world.desks.events
    assert [d.action for d in result.decisions] == ["workspace_followed", "stopped"]


def test_a_desk_made_by_hand_in_place_of_a_gone_one_is_refused_not_stopped() -> None:
    world = World()
    old = _ready_desk(world)
    _depart(world)
    new = _migrated_without_record(world, old, source_state="TERMINATING", by_hand=True)

    result = _fire(world, ("stop", "e-1001"), now=NOW + dt.timedelta(days=20))

    assert result.failed == []
    assert world.fleet.desks[new].state == "AVAILABLE"
    assert [d.action for d in result.decisions] == ["stop_refused_unmanaged"]
    [refusal] = world.bus.of("Provisioning Failed")
    assert (refusal.error_code, new in refusal.reason) == ("UnmanagedDesk", True)


def test_a_terminate_of_a_recorded_workspace_that_is_gone_terminates_the_user_s_desk() -> None:
    world = World()
    old = _ready_desk(world)
    _depart(world)
    _fire(world, ("stop", "e-1001"), now=NOW + dt.timedelta(days=20))
    new = _migrated_without_record(world, old, source_state=None)

    result = _fire(world, ("terminate", "e-1001"), now=NOW + dt.timedelta(days=50))

    assert world.fleet.live() == []
    assert world.fleet.desks[new].state == "TERMINATED"
    desk = world.desks.items["e-1001"]
    assert (desk.lifecycle, desk.workspace_id) == (Lifecycle.TERMINATED, new)
    assert [d.action for d in result.decisions] == ["workspace_followed", "terminated"]


def test_only_the_desks_gone_from_aws_are_looked_up_by_user() -> None:
    world = World()
    _ready_desk(world, "e-1")
    gone = _ready_desk(world, "e-2")
    _depart(world, employee_id="e-1")
    _depart(world, employee_id="e-2")
    world.fleet.desks[gone].state = "TERMINATED"  # and no other desk of e-2's user

    result = _fire(world, ("terminate", "e-1"), ("terminate", "e-2"), now=NOW + dt.timedelta(days=50))

    assert result.failed == []
    assert world.fleet.calls["DescribeWorkspaces"] == 2  # one describe of both, one lookup of the gone one
    assert world.fleet.calls["TerminateWorkspaces"] == 1
    assert world.desks.items["e-2"].lifecycle is Lifecycle.TERMINATED  # already gone: nothing else to do


def test_a_stop_the_dry_run_reported_is_done_once_dry_run_is_switched_off() -> None:
    world = World()
    workspace_id = _ready_desk(world)
    _depart(world)
    day = NOW + dt.timedelta(days=20)

    _fire(world, ("stop", "e-1001"), now=day, dry_run=True)
    _fire(world, ("stop", "e-1001"), now=day + dt.timedelta(minutes=15), dry_run=True)
    # Reported once; the timer keeps coming back while the dry run lasts.
    assert world.desks.kinds("e-1001").count("dry_run") == 1
    again = [t for t in world.timers.pending.values() if t.name.startswith("stop-e-1001-")]
    assert again
    assert {t.kind for t in again} == {"stop"}

    result = _fire(world, ("stop", "e-1001"), now=day + dt.timedelta(minutes=30))

    assert [d.action for d in result.decisions] == ["stopped"]
    assert world.fleet.desks[workspace_id].state in ("STOPPING", "STOPPED")


# --- AWS refusals for good (AwsRefused) are reported once; throttling is redelivered --------------------------
def test_a_stop_refused_by_iam_is_reported_once_with_its_code_and_what_to_fix_and_not_redelivered() -> None:
    world = World()
    workspace_id = _ready_desk(world)
    _depart(world)
    world.fleet.refuse["StopWorkspaces"] = "AccessDeniedException"

    result = _fire(world, ("stop", "e-1001"), now=NOW + dt.timedelta(days=20))

    assert result.failed == []  # a redelivery would get the same answer
    [alert] = world.bus.of("Provisioning Failed")
    assert alert.error_code == "AccessDeniedException"
    assert workspace_id in alert.reason
    assert "lacks workspaces:StopWorkspaces" in alert.reason
    assert world.desks.items["e-1001"].lifecycle is Lifecycle.LEAVING
    assert [d.action for d in result.decisions] == ["stop_refused"]
    assert "terminate-e-1001" in world.timers.pending  # the desk is still terminated after the retention


def test_a_stop_throttled_past_the_sdk_retries_is_redelivered_without_an_alert() -> None:
    world = World()
    _ready_desk(world)
    _depart(world)
    world.fleet.throttle["StopWorkspaces"] = 1

    result = _fire(world, ("stop", "e-1001"), now=NOW + dt.timedelta(days=20))

    assert result.failed == ["m-stop-e-1001"]
    assert world.bus.of("Provisioning Failed") == []


def test_the_switch_to_autostop_refused_by_iam_is_reported_once_and_a_busy_desk_is_redelivered() -> None:
    world = World()
    workspace_id = _ready_desk(world, running_mode="ALWAYS_ON", autostop_minutes=None)
    _depart(world)
    world.fleet.refuse["ModifyWorkspaceProperties"] = "OperationInProgressException"

    busy = _fire(world, ("stop", "e-1001"), now=NOW + dt.timedelta(days=20))
    world.fleet.refuse["ModifyWorkspaceProperties"] = "AccessDeniedException"
    denied = _fire(world, ("stop", "e-1001"), now=NOW + dt.timedelta(days=20))

    assert busy.failed == ["m-stop-e-1001"]
    assert denied.failed == []
    [alert] = world.bus.of("Provisioning Failed")
    assert (alert.error_code, "workspaces:ModifyWorkspaceProperties" in alert.reason) == ("AccessDeniedException", True)
    assert world.fleet.desks[workspace_id].state == "AVAILABLE"
    assert world.fleet.calls["StopWorkspaces"] == 0


def test_a_terminate_refused_by_iam_is_reported_once_and_the_desk_kept() -> None:
    world = World()
    workspace_id = _ready_desk(world)
    _depart(world)
    _fire(world, ("stop", "e-1001"), now=NOW + dt.timedelta(days=20))
    world.fleet.refuse["TerminateWorkspaces"] = "AccessDeniedException"

    result = _fire(world, ("terminate", "e-1001"), now=NOW + dt.timedelta(days=50))

    assert result.failed == []
    [alert] = world.bus.of("Provisioning Failed")
    assert alert.error_code == "AccessDeniedException"
    assert "lacks workspaces:TerminateWorkspaces" in alert.reason
    assert world.fleet.desks[workspace_id].state == "STOPPED"
    assert world.desks.items["e-1001"].lifecycle is Lifecycle.STOPPED


def test_a_lookup_refused_in_the_terminate_is_reported_once() -> None:
    world = World()
    workspace_id = _ready_desk(world)
    _depart(world)
    world.fleet.desks[workspace_id].state = "TERMINATED"  # gone: the user's desk is looked up
    world.fleet.refuse["DescribeWorkspaces"] = "ValidationException"

    result = _fire(world, ("terminate", "e-1001"), now=NOW + dt.timedelta(days=50))

    assert result.failed == []
    [alert] = world.bus.of("Provisioning Failed")
    assert alert.error_code == "ValidationException"
    assert "workspaces:DescribeWorkspaces" in alert.reason
