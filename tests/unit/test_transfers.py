"""Transfers (domain/hr/transfers.py): the desk takes the new profile; lifecycle applies it under AWS's rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from autopilot.contracts.timers import TimerFired
from autopilot.domain.hr.offboarding import LifecycleWork, lifecycle_batch
from autopilot.domain.hr.onboarding import handle_hire
from autopilot.domain.hr.transfers import TransferPlan, handle_transfer, plan_transfer
from autopilot.domain.kernel.batch import BatchResult
from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.domain.kernel.errors import UnknownSite
from autopilot.domain.kernel.workspace import WorkspaceInfo
from tests.unit.fakes_onboarding import NOW, World, hire, policy, resolution, transfer

pytestmark = pytest.mark.usefixtures("socket_disabled")
CREATED = NOW - dt.timedelta(days=10)


def _ready_desk(world: World, **workspace: Any) -> str:
    handle_hire(hire(), event_time=NOW, policy=policy(), resolution=resolution(), ports=world.hr, now=NOW)
    world.timers.pending.clear()
    fields: dict[str, Any] = {"compute": "STANDARD", "autostop_minutes": 120} | workspace
    workspace_id = world.fleet.seed("d-1111111111", "usere1001", **fields)
    desk = world.desks.items["e-1001"]
    world.desks.items["e-1001"] = desk.model_copy(
        update={
            "lifecycle": Lifecycle.READY,
            "workspace_id": workspace_id,
            "origin": "created",
            "provisioning_started_at": CREATED,
        }
    )
    return workspace_id


def _transfer(world: World, at: dt.datetime = NOW, **changes: Any) -> str:
    return handle_transfer(
        transfer(**changes), event_time=at, policy=policy(), resolution=resolution(), ports=world.hr, now=at
    ).action


def _fire(world: World, now: dt.datetime, **over: Any) -> BatchResult:
    timer = TimerFired(kind="transfer", name="transfer-e-1001-x", due=now, employee_id="e-1001")
    return lifecycle_batch([LifecycleWork("m-1", timer)], policy=policy(**over), ports=world.lifecycle, now=now)


def test_a_transfer_records_the_new_profile_and_sets_a_timer_on_the_effective_date() -> None:
    world = World()
    _ready_desk(world)

    assert _transfer(world, role="analyst", effective_date=dt.date(2026, 12, 15)) == "transfer_scheduled"

    desk = world.desks.items["e-1001"]
    assert (desk.profile, desk.compute, desk.autostop_hours) == ("analyst", "PERFORMANCE", 3)
    [timer] = world.timers.pending.values()
    assert (timer.kind, timer.due) == ("transfer", dt.datetime(2026, 12, 15, 4, 0, tzinfo=dt.UTC))  # 05:00 Paris


def test_a_transfer_to_an_unknown_site_is_refused_with_an_alert() -> None:
    world = World()
    _ready_desk(world)

    with pytest.raises(UnknownSite):
        _transfer(world, site="atlantis")

    assert [a.error_code for a in world.bus.of("Provisioning Failed")] == ["UnknownSite"]


def test_a_transfer_to_a_site_of_another_directory_keeps_the_desk_s_directory() -> None:
    world = World()
    _ready_desk(world)

    _transfer(world, site="amiens-cc", department="call-center")

    desk = world.desks.items["e-1001"]
    assert (desk.directory_id, desk.site, desk.profile) == ("d-1111111111", "paris-hq", "agent")
    assert [a.error_code for a in world.bus.of("Provisioning Failed")] == ["DirectoryChange"]


def test_a_transfer_before_the_desk_exists_only_changes_the_record() -> None:
    world = World()
    handle_hire(hire(), event_time=NOW, policy=policy(), resolution=resolution(), ports=world.hr, now=NOW)

    assert _transfer(world, at=NOW + dt.timedelta(minutes=1), role="data-scientist") == "transfer_recorded"
    assert world.desks.items["e-1001"].bundle_id == "wsb-powerbndl1"


def _info(**changes: Any) -> WorkspaceInfo:
    fields: dict[str, Any] = {
        "workspace_id": "ws-0000000001",
        "directory_id": "d-1111111111",
        "username": "u",
        "bundle_id": "wsb-standard01",
        "state": "AVAILABLE",
        "running_mode": "AUTO_STOP",
        "autostop_minutes": 120,
        "compute": "STANDARD",
    }
    return WorkspaceInfo(**(fields | changes))


def _desk(**changes: Any) -> Desk:
    world = World()
    handle_hire(hire(), event_time=NOW, policy=policy(), resolution=resolution(), ports=world.hr, now=NOW)
    return world.desks.items["e-1001"].model_copy(update=changes)


def _plan(desk: Desk, info: WorkspaceInfo | None = None, **moments: dt.datetime | None) -> TransferPlan:
    times: dict[str, dt.datetime | None] = {"created_at": CREATED, "last_up": None, "last_down": None} | moments
    return plan_transfer(desk, info or _info(), now=NOW, wanted_compute=desk.compute, **times)


def test_a_larger_compute_waits_six_hours_after_the_desk_was_created() -> None:
    plan = _plan(_desk(compute="PERFORMANCE"), created_at=NOW - dt.timedelta(hours=2))

    assert (plan.compute, plan.retry_at) == (None, NOW + dt.timedelta(hours=4))


def test_a_larger_compute_at_most_once_in_six_hours() -> None:
    desk = _desk(compute="PERFORMANCE")

    waiting = _plan(desk, last_up=NOW - dt.timedelta(hours=5))
    allowed = _plan(desk, last_up=NOW - dt.timedelta(hours=6))

    assert waiting.retry_at == NOW + dt.timedelta(hours=1)
    assert (allowed.compute, allowed.compute_direction, allowed.retry_at) == ("PERFORMANCE", "up", None)


def test_a_smaller_compute_at_most_once_in_thirty_days() -> None:
    desk = _desk(compute="VALUE")

    waiting = _plan(desk, last_down=NOW - dt.timedelta(days=29))
    allowed = _plan(desk, created_at=NOW - dt.timedelta(hours=1), last_up=NOW - dt.timedelta(hours=1))

    assert waiting.retry_at == NOW + dt.timedelta(days=1)
    assert (allowed.compute, allowed.compute_direction) == ("VALUE", "down")


def test_only_an_available_or_stopped_desk_is_modified() -> None:
    plan = _plan(_desk(compute="PERFORMANCE"), _info(state="REBOOTING"))

    assert plan.modifies is False
    assert plan.retry_at == NOW + dt.timedelta(minutes=30)


def test_a_new_bundle_is_a_migration() -> None:
    plan = _plan(_desk(bundle_id="wsb-powerbndl1"))

    assert plan.migrate_to == "wsb-powerbndl1"
    assert not plan.modifies


def test_a_profile_without_compute_gets_the_bundle_s_default() -> None:
    world = World()
    workspace_id = _ready_desk(world, compute="VALUE")
    world.desks.items["e-1001"] = world.desks.items["e-1001"].model_copy(update={"compute": None})

    _fire(world, NOW)

    assert world.fleet.desks[workspace_id].compute == "STANDARD"  # the standard bundle's default


def test_lifecycle_applies_compute_and_autostop_in_one_call() -> None:
    world = World()
    workspace_id = _ready_desk(world)
    _transfer(world, role="analyst")

    result = _fire(world, NOW)

    assert world.fleet.calls["ModifyWorkspaceProperties"] == 1
    assert (world.fleet.desks[workspace_id].compute, world.fleet.desks[workspace_id].autostop_minutes) == (
        "PERFORMANCE",
        180,
    )
    assert [d.action for d in result.decisions] == ["modified"]
    assert world.desks.items["e-1001"].last_compute_change_at == NOW


def test_a_transfer_up_then_down_waits_for_what_aws_allows() -> None:
    world = World()
    workspace_id = _ready_desk(world)
    _transfer(world, role="analyst")
    _fire(world, NOW)  # up: STANDARD -> PERFORMANCE
    world.timers.pending.clear()

    later = NOW + dt.timedelta(hours=1)
    _transfer(world, at=later, role="accountant")  # back to office: STANDARD, a smaller compute
    _fire(world, later)

    assert world.fleet.desks[workspace_id].compute == "STANDARD"  # no smaller change in the last 30 days: allowed
    world.timers.pending.clear()

    again = later + dt.timedelta(hours=1)
    _transfer(world, at=again, role="analyst")
    result = _fire(world, again)  # up again within 6 hours of the last increase: scheduled for later
    assert world.fleet.desks[workspace_id].compute == "STANDARD"
    [timer] = world.timers.pending.values()
    assert timer.due == NOW + dt.timedelta(hours=6)
    assert result.decisions[-1].action == "transfer_later"


def test_a_bundle_change_migrates_and_the_desk_follows_the_new_workspace() -> None:
    world = World()
    old = _ready_desk(world)
    _transfer(world, role="data-scientist")

    result = _fire(world, NOW)

    desk = world.desks.items["e-1001"]
    assert desk.workspace_id != old
    assert world.fleet.desks[desk.workspace_id or ""].bundle_id == "wsb-powerbndl1"
    assert [d.action for d in result.decisions] == ["migrated", "transfer_later"]
    assert [t.due for t in world.timers.pending.values()] == [NOW + dt.timedelta(minutes=30)]


def test_a_refused_modification_in_progress_is_tried_again() -> None:
    world = World()
    _ready_desk(world)
    _transfer(world, role="analyst")
    world.fleet.refuse["ModifyWorkspaceProperties"] = "OperationInProgressException"

    result = _fire(world, NOW)

    assert result.decisions[-1].action == "transfer_later"
    assert [t.due for t in world.timers.pending.values()] == [NOW + dt.timedelta(hours=1)]


def test_an_unsupported_change_is_alerted_with_the_aws_code() -> None:
    world = World()
    _ready_desk(world)
    _transfer(world, role="analyst")
    world.fleet.refuse["ModifyWorkspaceProperties"] = "UnsupportedWorkspaceConfigurationException"

    _fire(world, NOW)

    [alert] = world.bus.of("Provisioning Failed")
    assert alert.error_code == "UnsupportedWorkspaceConfigurationException"


def test_dry_run_transfer_changes_nothing() -> None:
    world = World()
    workspace_id = _ready_desk(world)
    _transfer(world, role="analyst")

    result = _fire(world, NOW, dry_run=True)

    assert "ModifyWorkspaceProperties" not in world.fleet.calls
    assert world.fleet.desks[workspace_id].compute == "STANDARD"
    assert result.decisions[-1].action == "dry_run_transfer"


def test_a_leaving_desk_is_not_resized() -> None:
    world = World()
    _ready_desk(world)
    _transfer(world, role="analyst")
    world.desks.items["e-1001"] = world.desks.items["e-1001"].model_copy(update={"last_day": dt.date(2026, 12, 20)})

    result = _fire(world, NOW)

    assert "ModifyWorkspaceProperties" not in world.fleet.calls
    assert result.decisions[-1].action == "transfer_skipped"


def test_a_crash_after_migrate_is_followed_on_the_retry_to_the_new_workspace(monkeypatch: pytest.MonkeyPatch) -> None:
    world = World()
    old = _ready_desk(world)
    _transfer(world, role="data-scientist")

    def crash(desk: Desk) -> Desk:
        raise RuntimeError("the function died after MigrateWorkspace")

    with monkeypatch.context() as patched:
        patched.setattr(world.desks, "save", crash)
        with pytest.raises(RuntimeError):
            _fire(world, NOW)
    assert world.desks.items["e-1001"].workspace_id == old  # the record stayed on the migration's source
    [new] = [desk.workspace_id for desk in world.fleet.live()]

    retry = NOW + dt.timedelta(minutes=5)
    result = _fire(world, retry)

    assert world.fleet.calls["MigrateWorkspace"] == 1
    assert world.desks.items["e-1001"].workspace_id == new
    [(_, _, detail)] = [event for event in world.desks.events if event[1] == "migrated"]
    assert detail == {"from": old, "to": new}
    assert [d.action for d in result.decisions] == ["migrated", "transfer_later"]  # the new desk is still PENDING
    assert [t.due for t in world.timers.pending.values()] == [retry + dt.timedelta(minutes=30)]
    assert world.bus.of("Provisioning Failed") == []


def test_a_transfer_of_a_workspace_gone_without_a_successor_is_skipped_and_alerted() -> None:
    world = World()
    old = _ready_desk(world)
    _transfer(world, role="analyst")
    world.fleet.desks[old].state = "TERMINATED"

    result = _fire(world, NOW)

    assert [d.action for d in result.decisions] == ["transfer_skipped"]
    assert world.desks.items["e-1001"].workspace_id == old
    [alert] = world.bus.of("Provisioning Failed")
    assert alert.error_code == "WorkSpaceGone"
    assert "usere1001" not in alert.reason  # ids only


def test_a_modification_refused_by_iam_is_alerted_once_with_what_to_fix_and_not_redelivered() -> None:
    world = World()
    _ready_desk(world)
    _transfer(world, role="analyst")
    world.fleet.refuse["ModifyWorkspaceProperties"] = "AccessDeniedException"

    result = _fire(world, NOW)

    assert result.failed == []
    [alert] = world.bus.of("Provisioning Failed")
    assert alert.error_code == "AccessDeniedException"
    assert "lacks workspaces:ModifyWorkspaceProperties" in alert.reason


def test_a_lookup_refused_by_iam_in_a_transfer_is_alerted_once_and_not_redelivered() -> None:
    world = World()
    old = _ready_desk(world)
    _transfer(world, role="analyst")
    world.fleet.desks[old].state = "TERMINATED"  # gone: the user's desk is looked up
    world.fleet.refuse["DescribeWorkspaces"] = "AccessDeniedException"

    result = _fire(world, NOW)

    assert result.failed == []
    [alert] = world.bus.of("Provisioning Failed")
    assert alert.error_code == "AccessDeniedException"
    assert "lacks workspaces:DescribeWorkspaces" in alert.reason
    assert [d.action for d in result.decisions] == ["transfer_refused"]
