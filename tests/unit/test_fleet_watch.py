"""The fleet sweep: diff against the last observations, events only for changes, missing desks, alarms."""

from __future__ import annotations

import datetime as dt

import pytest

from autopilot.domain.fleet.sweep import list_whole_account
from autopilot.domain.incidents.alarms import AlarmSpec, desired_alarms, reconcile
from autopilot.domain.kernel.desks import Lifecycle
from tests.unit.fakes_fleet import (
    DIRECTORY,
    NOW,
    OTHER_DIRECTORY,
    PREFIX,
    FakeDesk,
    FakeFleet,
    World,
    desk_record,
)

pytestmark = pytest.mark.usefixtures("socket_disabled")

MINUTES = dt.timedelta(minutes=5)


def _fleet(count: int, **fields: object) -> list[FakeDesk]:
    return [FakeDesk(workspace_id=f"ws-{n:08d}", username=f"agent{n:04d}", **fields) for n in range(count)]  # type: ignore[arg-type]


def _managed_world(count: int) -> World:
    world = World(fleet=FakeFleet(_fleet(count)))
    for desk in world.fleet.desks.values():
        world.desks.records[f"e-{desk.workspace_id}"] = desk_record(f"e-{desk.workspace_id}", desk.workspace_id)
    return world


def test_the_first_sweep_publishes_and_writes_every_desk() -> None:
    world = _managed_world(3)
    report = world.sweep()
    changes = world.bus.of("WorkSpace State Changed")
    assert [e.workspace_id for e in changes] == ["ws-00000000", "ws-00000001", "ws-00000002"]
    assert all(e.from_state is None and e.to_state == "AVAILABLE" for e in changes)
    assert report.written == 3
    assert {e.employee_id for e in changes} == {"e-ws-00000000", "e-ws-00000001", "e-ws-00000002"}


def test_an_unchanged_fleet_publishes_nothing_and_writes_nothing() -> None:
    world = _managed_world(60)
    world.sweep()
    report = world.sweep(NOW + MINUTES)
    assert world.bus.events == []
    assert report.written == 0
    assert report.changed == []


def test_a_sweep_costs_the_call_floor_for_n_desks_with_one_percent_changed() -> None:
    world = _managed_world(1000)
    world.sweep()
    for n in range(0, 1000, 100):
        world.fleet.desks[f"ws-{n:08d}"].state = "STOPPED"
    report = world.sweep(NOW + MINUTES)
    assert world.fleet.calls["DescribeWorkspaces"] == 40  # ceil(1000 / 25)
    assert world.fleet.calls["DescribeWorkspacesConnectionStatus"] == 40
    assert world.observations.calls["BatchGetItem"] == 10  # ceil(1000 / 100)
    assert world.observations.calls["PutItem"] == 10 == report.written
    assert len(world.bus.of("WorkSpace State Changed")) == 10
    assert world.desks.calls == {}  # known desks: no desk-record reads


def test_a_state_change_is_published_with_from_to_mode_and_connection() -> None:
    world = _managed_world(2)
    world.sweep()
    last_seen = NOW - dt.timedelta(hours=3)
    desk = world.fleet.desks["ws-00000001"]
    desk.state, desk.connection, desk.last_user_connection = "STOPPED", "UNKNOWN", last_seen
    world.sweep(NOW + MINUTES)
    (event,) = world.bus.of("WorkSpace State Changed")
    assert (event.workspace_id, event.from_state, event.to_state) == ("ws-00000001", "AVAILABLE", "STOPPED")
    assert (event.running_mode, event.connection_state) == ("AUTO_STOP", "UNKNOWN")
    assert event.last_known_user_connection == last_seen
    assert event.employee_id == "e-ws-00000001"


def test_a_connection_change_alone_is_written_but_not_published() -> None:
    world = _managed_world(1)
    world.sweep()
    world.fleet.desks["ws-00000000"].connection = "CONNECTED"
    world.fleet.desks["ws-00000000"].last_user_connection = NOW + MINUTES
    report = world.sweep(NOW + MINUTES)
    assert world.bus.events == []
    assert report.written == 1
    assert world.observations.items["ws-00000000"].connection_state == "CONNECTED"


def test_the_last_login_is_kept_to_the_hour_without_a_write_every_sweep() -> None:
    world = _managed_world(1)
    desk = world.fleet.desks["ws-00000000"]
    desk.connection, desk.last_user_connection = "CONNECTED", NOW
    world.sweep()
    desk.last_user_connection = NOW + MINUTES  # still connected: the timestamp ticks
    assert world.sweep(NOW + MINUTES).written == 0
    desk.last_user_connection = NOW + dt.timedelta(hours=1)
    assert world.sweep(NOW + dt.timedelta(hours=1)).written == 1
    assert world.observations.items["ws-00000000"].last_user_connection == NOW + dt.timedelta(hours=1)


def test_the_last_login_never_goes_backwards() -> None:
    world = _managed_world(1)
    world.fleet.desks["ws-00000000"].last_user_connection = NOW
    world.sweep()
    world.fleet.desks["ws-00000000"].last_user_connection = None  # e.g. a rebuilt desk forgets it
    world.sweep(NOW + MINUTES)
    assert world.observations.items["ws-00000000"].last_user_connection == NOW


def test_an_older_observation_never_overwrites_a_newer_one() -> None:
    world = _managed_world(1)
    world.sweep(NOW + dt.timedelta(hours=1))
    world.fleet.desks["ws-00000000"].state = "STOPPED"
    report = world.sweep(NOW)  # a late sweep with an older view
    assert report.stale == 1
    assert world.observations.items["ws-00000000"].state == "AVAILABLE"


def test_a_provisioning_desk_that_becomes_available_is_published_not_marked_ready() -> None:
    world = World(fleet=FakeFleet([FakeDesk("ws-newdesk01", state="PENDING")]))
    world.desks.records["e-1"] = desk_record("e-1", "ws-newdesk01", lifecycle=Lifecycle.PROVISIONING)
    world.sweep()
    world.fleet.desks["ws-newdesk01"].state = "AVAILABLE"
    world.sweep(NOW + MINUTES)
    (event,) = world.bus.of("WorkSpace State Changed")
    assert (event.from_state, event.to_state, event.employee_id) == ("PENDING", "AVAILABLE", "e-1")
    assert world.desks.records["e-1"].lifecycle is Lifecycle.PROVISIONING


def test_a_desk_deleted_outside_the_automation_is_reported_once() -> None:
    world = _managed_world(5)
    world.sweep()
    del world.fleet.desks["ws-00000002"]
    report = world.sweep(NOW + MINUTES)
    assert report.missing == ["ws-00000002"]
    assert report.missing_outside_automation == ["ws-00000002"]
    (event,) = world.bus.of("WorkSpace State Changed")
    assert (event.workspace_id, event.from_state, event.to_state) == ("ws-00000002", "AVAILABLE", "TERMINATED")
    assert event.employee_id == "e-ws-00000002"
    assert world.observations.items["ws-00000002"].gone
    # Told once: the ring no longer leads to it.
    again = world.sweep(NOW + 2 * MINUTES)
    assert again.missing == []
    assert world.bus.events == []


def test_a_run_of_vanished_desks_and_the_last_desk_are_all_found() -> None:
    world = _managed_world(8)
    world.sweep()
    for ws in ("ws-00000002", "ws-00000003", "ws-00000004", "ws-00000007"):
        del world.fleet.desks[ws]
    report = world.sweep(NOW + MINUTES)
    assert report.missing == ["ws-00000002", "ws-00000003", "ws-00000004", "ws-00000007"]
    # The ring is whole again: the survivors link to each other.
    links = {ws: world.observations.items[ws].next_id for ws in world.fleet.desks}
    assert links == {
        "ws-00000000": "ws-00000001",
        "ws-00000001": "ws-00000005",
        "ws-00000005": "ws-00000006",
        "ws-00000006": "ws-00000000",
    }


def test_a_desk_terminated_by_the_automation_is_missing_but_expected() -> None:
    world = _managed_world(3)
    world.sweep()
    world.desks.records["e-ws-00000001"] = desk_record("e-ws-00000001", "ws-00000001", lifecycle=Lifecycle.TERMINATED)
    del world.fleet.desks["ws-00000001"]
    report = world.sweep(NOW + MINUTES)
    assert report.missing == ["ws-00000001"]
    assert report.missing_outside_automation == []


def test_desks_of_a_directory_dropped_from_the_policy_are_not_reported_missing() -> None:
    world = _managed_world(2)
    world.fleet.add(FakeDesk("ws-other0001", directory_id=OTHER_DIRECTORY))
    world.desks.records["e-other"] = desk_record("e-other", "ws-other0001", directory_id=OTHER_DIRECTORY)
    world.sweep(directories=(DIRECTORY, OTHER_DIRECTORY))
    report = world.sweep(NOW + MINUTES, directories=(DIRECTORY,))
    assert report.missing == []
    assert world.bus.events == []


def test_a_desk_that_turns_unhealthy_is_published_for_remediation() -> None:
    world = _managed_world(1)
    world.sweep()
    world.fleet.desks["ws-00000000"].state = "UNHEALTHY"
    world.sweep(NOW + MINUTES)
    (event,) = world.bus.of("WorkSpace State Changed")
    assert event.to_state == "UNHEALTHY"


def test_one_connection_failure_alarm_per_policy_directory() -> None:
    world = _managed_world(1)
    stale = f"{PREFIX}d-9999999999"
    world.alarms.alarms[stale] = AlarmSpec(name=stale, directory_id="d-9999999999")
    report = world.sweep(directories=(DIRECTORY, OTHER_DIRECTORY))
    assert sorted(report.alarms_put) == [f"{PREFIX}{DIRECTORY}", f"{PREFIX}{OTHER_DIRECTORY}"]
    assert report.alarms_deleted == [stale]
    assert world.sweep(NOW + MINUTES, directories=(DIRECTORY, OTHER_DIRECTORY)).alarms_put == []


def test_a_drifted_or_foreign_alarm_under_the_prefix_is_rewritten() -> None:
    wanted = desired_alarms(PREFIX, [DIRECTORY])
    (spec,) = wanted
    drifted = AlarmSpec(name=spec.name, directory_id=DIRECTORY, threshold=5)
    assert reconcile(wanted, {spec.name: drifted}).put == [spec]
    assert reconcile(wanted, {spec.name: None}).put == [spec]
    assert reconcile(wanted, {spec.name: spec}).put == []
    assert spec.metric_name == "ConnectionFailure"
    assert spec.period == 300
    assert spec.comparison.startswith("GreaterThanOrEqual")


def test_autostop_refusals_do_not_stop_the_sweep() -> None:
    world = _managed_world(2)
    world.fleet.desks["ws-00000000"].tags = {"AutopilotAutoStopHours": "3"}
    world.fleet.refuse_modify.add("ws-00000000")
    report = world.sweep()
    assert report.autostop_failed == ["ws-00000000"]
    assert report.written == 2


def test_the_whole_account_is_listed_when_every_registered_directory_is_in_the_policy() -> None:
    assert list_whole_account(["d-1", "d-2"], ["d-1", "d-2"])
    assert list_whole_account(["d-1", "d-2"], ["d-1"])
    assert not list_whole_account(["d-1"], ["d-1", "d-2"])


def test_listing_the_account_keeps_only_the_policy_directories_at_the_describe_floor() -> None:
    world = _managed_world(60)
    world.fleet.add(FakeDesk("ws-other0001", directory_id=OTHER_DIRECTORY))
    report = world.sweep(directories=(DIRECTORY,), whole_account=True)
    assert report.desks == 60
    assert world.fleet.calls["DescribeWorkspaces"] == 3  # ceil(61 / 25)
    world.sweep(NOW + MINUTES, directories=(DIRECTORY, OTHER_DIRECTORY))
    assert world.fleet.calls["DescribeWorkspaces"] == 4  # 3 pages + 1: one listing per directory
