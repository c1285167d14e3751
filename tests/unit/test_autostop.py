"""AutoStop per desk: the AutopilotAutoStopHours tag overrides the profile's hours, applied by fleet_watch."""

from __future__ import annotations

import datetime as dt

import pytest

from autopilot.domain.fleet import autostop
from tests.unit.fakes_fleet import NOW, FakeDesk, FakeFleet, World, desk_record, policy

pytestmark = pytest.mark.usefixtures("socket_disabled")

LATER = NOW + dt.timedelta(minutes=5)


def _world(*desks: FakeDesk) -> World:
    world = World(fleet=FakeFleet(desks))
    for desk in desks:
        world.desks.records[f"e-{desk.workspace_id}"] = desk_record(f"e-{desk.workspace_id}", desk.workspace_id)
    return world


@pytest.mark.parametrize(
    ("value", "hours"), [("3", 3), (" 12 ", 12), ("0", None), ("49", None), ("1.5", None), ("two", None), (None, None)]
)
def test_the_tag_is_whole_hours_from_1_to_48(value: str | None, hours: int | None) -> None:
    assert autostop.parse_hours(value) == hours


def test_a_per_desk_tag_is_applied_when_the_timeout_differs() -> None:
    world = _world(FakeDesk("ws-tagged001", autostop_minutes=60, tags={"AutopilotAutoStopHours": "4"}))
    report = world.sweep()
    assert world.fleet.modified == [("ws-tagged001", 240)]
    assert report.autostop_applied == ["ws-tagged001"]
    # Applied: the next sweep sees 240 minutes and does nothing.
    world.sweep(LATER)
    assert world.fleet.modified == [("ws-tagged001", 240)]


def test_a_tag_equal_to_the_timeout_changes_nothing() -> None:
    world = _world(FakeDesk("ws-same00001", autostop_minutes=120, tags={"AutopilotAutoStopHours": "2"}))
    world.sweep()
    assert world.fleet.calls["ModifyWorkspaceProperties"] == 0


@pytest.mark.parametrize(
    ("state", "mode"), [("STARTING", "AUTO_STOP"), ("UNHEALTHY", "AUTO_STOP"), ("AVAILABLE", "ALWAYS_ON")]
)
def test_only_available_or_stopped_autostop_desks_are_modified(state: str, mode: str) -> None:
    world = _world(FakeDesk("ws-busy00001", state=state, running_mode=mode, tags={"AutopilotAutoStopHours": "4"}))
    world.sweep()
    assert world.fleet.modified == []


def test_a_stopped_desk_is_modified_too() -> None:
    world = _world(FakeDesk("ws-stopped01", state="STOPPED", tags={"AutopilotAutoStopHours": "6"}))
    world.sweep()
    assert world.fleet.modified == [("ws-stopped01", 360)]


def test_a_removed_tag_puts_the_profile_hours_back() -> None:
    world = _world(FakeDesk("ws-revert001", autostop_minutes=60, tags={"AutopilotAutoStopHours": "5"}))
    world.sweep()
    world.fleet.desks["ws-revert001"].tags = {}
    world.sweep(LATER)
    assert world.fleet.modified == [("ws-revert001", 300), ("ws-revert001", 60)]  # the record's 1 hour
    assert world.observations.items["ws-revert001"].autostop_tag_hours is None


def test_a_removed_tag_on_a_busy_desk_is_reverted_when_it_can_be() -> None:
    world = _world(FakeDesk("ws-revert002", autostop_minutes=60, tags={"AutopilotAutoStopHours": "5"}))
    world.sweep()
    desk = world.fleet.desks["ws-revert002"]
    desk.tags, desk.state = {}, "STARTING"
    world.sweep(LATER)
    assert world.observations.items["ws-revert002"].autostop_tag_hours == 5  # still remembered
    desk.state = "AVAILABLE"
    world.sweep(LATER + dt.timedelta(minutes=5))
    assert world.fleet.modified[-1] == ("ws-revert002", 60)


def test_an_unmanaged_desk_is_never_modified() -> None:
    world = World(fleet=FakeFleet([FakeDesk("ws-foreign01", tags={"AutopilotAutoStopHours": "4"})]))
    world.sweep()
    assert world.fleet.modified == []


def test_dry_run_decides_without_modifying() -> None:
    world = _world(FakeDesk("ws-dryrun001", tags={"AutopilotAutoStopHours": "4"}))
    report = world.sweep(rules=policy(dry_run=True))
    assert report.autostop_applied == ["ws-dryrun001"]
    assert world.fleet.modified == []


def test_an_unreadable_tag_is_reported_and_ignored() -> None:
    world = _world(FakeDesk("ws-badtag001", tags={"AutopilotAutoStopHours": "forever"}))
    report = world.sweep()
    assert report.invalid_autostop_tags == ["ws-badtag001"]
    assert world.fleet.modified == []


def test_a_refused_change_is_retried_by_the_next_sweep() -> None:
    world = _world(FakeDesk("ws-retry0001", tags={"AutopilotAutoStopHours": "4"}))
    world.fleet.refuse_modify.add("ws-retry0001")
    assert world.sweep().autostop_failed == ["ws-retry0001"]
    world.fleet.refuse_modify.clear()
    assert world.sweep(LATER).autostop_applied == ["ws-retry0001"]


def test_changes_of_one_sweep_are_bounded() -> None:
    views = [autostop.AutoStopView(f"ws-{n:08d}", "AVAILABLE", "AUTO_STOP", 60, "2", None, 1) for n in range(130)]
    changes, deferred = autostop.plan(views)
    assert len(changes) == autostop.MAX_CHANGES_PER_SWEEP
    assert deferred == 30
