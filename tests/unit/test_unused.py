"""The weekly unused-desk summary: last login from two sources, READY desks only, one event."""

from __future__ import annotations

import datetime as dt

import pytest

from autopilot.domain.fleet.unused import UnusedPorts, find_unused, weekly_report
from autopilot.domain.kernel.desks import Lifecycle
from tests.unit.fakes_fleet import NOW, FakeBus, FakeDesks, FakeObservations, desk_record, policy

pytestmark = pytest.mark.usefixtures("socket_disabled")

DAY = dt.timedelta(days=1)


def test_a_desk_without_a_login_for_unused_days_is_listed() -> None:
    idle = desk_record("E1", "ws-idle00001", last_login=NOW - 40 * DAY)
    busy = desk_record("E2", "ws-busy00001", last_login=NOW - 2 * DAY)
    (found,) = find_unused([idle, busy], {}, unused_days=30, now=NOW)
    assert (found.workspace_id, found.employee_id, found.idle_days) == ("ws-idle00001", "E1", 40)
    assert found.last_login == NOW - 40 * DAY


def test_the_sweeps_last_known_connection_counts_as_a_login() -> None:
    # WorkSpaces Access is best-effort: the connection status still saw the user yesterday.
    desk = desk_record("E1", "ws-idle00001", last_login=NOW - 40 * DAY)
    assert find_unused([desk], {"ws-idle00001": NOW - DAY}, unused_days=30, now=NOW) == []


def test_a_desk_never_used_counts_from_when_it_was_ready() -> None:
    fresh = desk_record("E1", "ws-fresh0001", ready_at=NOW - 5 * DAY)
    forgotten = desk_record("E2", "ws-forgot001", ready_at=NOW - 31 * DAY)
    (found,) = find_unused([fresh, forgotten], {}, unused_days=30, now=NOW)
    assert (found.workspace_id, found.last_login, found.idle_days) == ("ws-forgot001", None, 31)


def test_only_ready_desks_are_listed_longest_idle_first() -> None:
    desks = [
        desk_record("E1", "ws-aaaaaaaa1", last_login=NOW - 35 * DAY),
        desk_record("E2", "ws-bbbbbbbb1", last_login=NOW - 90 * DAY),
        desk_record("E3", "ws-leaving01", lifecycle=Lifecycle.LEAVING, last_login=NOW - 90 * DAY),
    ]
    found = find_unused(desks, {}, unused_days=30, now=NOW)
    assert [d.workspace_id for d in found] == ["ws-bbbbbbbb1", "ws-aaaaaaaa1"]


def test_the_weekly_report_publishes_one_event_and_terminates_nothing() -> None:
    desks = FakeDesks([desk_record("E1", "ws-idle00001", last_login=NOW - 40 * DAY)])
    observations = FakeObservations()
    bus = FakeBus()
    report = weekly_report(policy(usage={"unused_days": 30}), UnusedPorts(desks, observations, bus), NOW)
    (event,) = bus.of("Unused Desks Found")
    assert event.unused_days == 30
    assert [d.workspace_id for d in event.desks] == ["ws-idle00001"]
    assert report.unused == ["ws-idle00001"]
    assert desks.records["E1"].lifecycle is Lifecycle.READY


def test_a_week_without_unused_desks_publishes_nothing() -> None:
    desks = FakeDesks([desk_record("E1", "ws-busy00001", last_login=NOW - DAY)])
    bus = FakeBus()
    report = weekly_report(policy(), UnusedPorts(desks, FakeObservations(), bus), NOW)
    assert bus.events == []
    assert (report.ready_desks, report.unused) == (1, [])
