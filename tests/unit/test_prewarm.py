"""Pre-warmed shifts (who is started, when, once) and desks that fail to come back (rebuild, tell on-call)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

from autopilot.domain.fleet.prewarm import GRACE, REBUILD_TIMEOUT, PrewarmPorts, PrewarmReport, tick
from autopilot.domain.kernel.desks import Lifecycle
from autopilot.domain.kernel.policy import Policy
from tests.unit.fakes_fleet import FakeBus, FakeDesk, FakeDesks, FakeFleet, FakeStartLog, desk_record, policy, shift

pytestmark = pytest.mark.usefixtures("socket_disabled")

UTC = dt.UTC
# Tuesday 2026-12-01, Paris is UTC+1: an 08:00 shift starts at 07:00 UTC; pre-warm opens at 06:40.
SHIFT_START = dt.datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
OPENS = SHIFT_START - dt.timedelta(minutes=20)
TIMEOUT = dt.timedelta(minutes=15)  # policy.prewarm.start_timeout_minutes (default)


@dataclass
class Shifts:
    fleet: FakeFleet = field(default_factory=FakeFleet)
    desks: FakeDesks = field(default_factory=FakeDesks)
    log: FakeStartLog = field(default_factory=FakeStartLog)
    bus: FakeBus = field(default_factory=FakeBus)

    def add(self, employee_id: str, workspace_id: str, *, state: str = "STOPPED", **record: object) -> None:
        self.fleet.add(FakeDesk(workspace_id, state=state))
        fields: dict[str, object] = {"shift": shift(), "prewarm": True} | record
        self.desks.records[employee_id] = desk_record(employee_id, workspace_id, **fields)

    def tick(self, now: dt.datetime, rules: Policy | None = None) -> PrewarmReport:
        self.bus.events.clear()
        return tick(
            rules or policy(), PrewarmPorts(desks=self.desks, fleet=self.fleet, log=self.log, bus=self.bus), now
        )


def test_a_stopped_agent_desk_is_started_twenty_minutes_before_the_shift() -> None:
    world = Shifts()
    world.add("E1", "ws-agent0001")
    assert world.tick(OPENS - dt.timedelta(minutes=5)).started == []
    report = world.tick(OPENS)
    assert report.started == ["ws-agent0001"]
    assert world.fleet.started == ["ws-agent0001"]
    assert world.log.records["E1"].shift_date == "2026-12-01"


def test_each_shift_is_started_once_across_ticks() -> None:
    world = Shifts()
    world.add("E1", "ws-agent0001")
    world.tick(OPENS)
    world.fleet.desks["ws-agent0001"].state = "STOPPED"  # stopped again (say, by someone) within the window
    world.tick(OPENS + dt.timedelta(minutes=5))
    world.tick(OPENS + dt.timedelta(minutes=10))
    assert world.fleet.started == ["ws-agent0001"]
    # Still STOPPED after the timeout: not a failed start (nothing to rebuild), no longer watched.
    assert world.tick(OPENS + TIMEOUT).stopped_watching == ["ws-agent0001"]
    assert world.fleet.rebuilt == []
    # The next working day is a new shift.
    world.tick(OPENS + dt.timedelta(days=1))
    assert world.fleet.started == ["ws-agent0001", "ws-agent0001"]


def test_a_tick_missed_before_the_start_still_starts_the_desk_early_in_the_shift() -> None:
    world = Shifts()
    world.add("E1", "ws-agent0001")
    assert world.tick(SHIFT_START + GRACE - dt.timedelta(minutes=1)).started == ["ws-agent0001"]
    other = Shifts()
    other.add("E1", "ws-agent0001")
    assert other.tick(SHIFT_START + GRACE).started == []


def test_no_start_on_saturday_or_on_a_policy_holiday() -> None:
    world = Shifts()
    world.add("E1", "ws-agent0001")
    saturday = OPENS + dt.timedelta(days=4)  # 2026-12-05
    assert world.tick(saturday).due == 0
    holiday = policy(prewarm={"minutes_before_shift": 20, "holidays": ["2026-12-01"]})
    assert world.tick(OPENS, holiday).due == 0
    assert world.fleet.started == []


def test_the_right_utc_time_after_a_daylight_saving_change() -> None:
    world = Shifts()
    world.add("E1", "ws-agent0001")
    # Monday 2026-03-30, the day after Paris moved to UTC+2: 08:00 local is 06:00 UTC.
    assert world.tick(dt.datetime(2026, 3, 30, 5, 35, tzinfo=UTC)).started == []
    assert world.tick(dt.datetime(2026, 3, 30, 5, 40, tzinfo=UTC)).started == ["ws-agent0001"]


@pytest.mark.parametrize("state", ["AVAILABLE", "STARTING", "ADMIN_MAINTENANCE"])
def test_desks_already_up_or_in_admin_maintenance_are_left_alone(state: str) -> None:
    world = Shifts()
    world.add("E1", "ws-agent0001", state=state)
    report = world.tick(OPENS)
    assert report.left_alone == ["ws-agent0001"]
    assert world.fleet.calls["StartWorkspaces"] == 0


def test_only_ready_pre_warming_shift_desks_are_considered() -> None:
    world = Shifts()
    world.add("E1", "ws-leaving01", lifecycle=Lifecycle.LEAVING)
    world.add("E2", "ws-office001", prewarm=False)
    world.add("E3", "ws-noshift01", shift=None)
    assert world.tick(OPENS).started == []


def test_a_new_agent_is_not_pre_warmed_before_the_start_date() -> None:
    # Issue 15: a desk made 2 days ahead (lead_days) for an agent starting on 2 December was started on 1 December.
    world = Shifts()
    world.add("E1", "ws-agent0001", start_date=dt.date(2026, 12, 2))

    assert world.tick(OPENS).due == 0
    assert world.tick(OPENS + dt.timedelta(days=1)).started == ["ws-agent0001"]


def test_a_leaver_is_pre_warmed_on_the_last_day_and_not_after() -> None:
    world = Shifts()
    world.add("E1", "ws-agent0001", last_day=dt.date(2026, 12, 1))

    assert world.tick(OPENS).started == ["ws-agent0001"]
    world.fleet.desks["ws-agent0001"].state = "STOPPED"
    assert world.tick(OPENS + dt.timedelta(days=1)).due == 0


def test_thirty_desks_are_started_in_two_calls() -> None:
    world = Shifts()
    for n in range(30):
        world.add(f"E{n}", f"ws-agent{n:04d}")
    report = world.tick(OPENS)
    assert len(report.started) == 30
    assert world.fleet.calls["StartWorkspaces"] == 2


def test_a_refused_start_is_tried_again_at_the_next_tick() -> None:
    world = Shifts()
    world.add("E1", "ws-agent0001")
    world.fleet.fail_start.add("ws-agent0001")
    assert world.tick(OPENS).start_failed == ["ws-agent0001"]
    world.fleet.fail_start.clear()
    assert world.tick(OPENS + dt.timedelta(minutes=5)).started == ["ws-agent0001"]


def test_a_start_refused_at_every_tick_of_the_window_is_reported_once_after_the_shift_starts() -> None:
    world = Shifts()
    world.add("E1", "ws-agent0001")
    world.fleet.fail_start.add("ws-agent0001")
    for minutes in range(0, 20, 5):  # 06:40 .. 06:55: refused, retried, nobody told yet
        assert world.tick(OPENS + dt.timedelta(minutes=minutes)).start_failed == ["ws-agent0001"]
        assert world.bus.of("Incident Escalated") == []
    assert world.log.records["E1"].status == "start_refused"
    report = world.tick(SHIFT_START)
    assert report.escalated == ["ws-agent0001"]
    (escalation,) = world.bus.of("Incident Escalated")
    assert escalation.incident_id == "inc-start-ws-agent0001-20261201"
    assert (escalation.workspace_id, escalation.employee_id) == ("ws-agent0001", "E1")
    assert "2026-12-01" in escalation.reason
    assert "InvalidResourceState" in escalation.reason
    assert "cannot start" not in escalation.reason  # the code, never the message
    assert [(s.action, s.outcome, s.reason) for s in escalation.steps] == [
        ("start", "failed", "InvalidResourceState")
    ] * 5
    assert world.log.records["E1"].status == "start_failed"
    # Once per desk per shift: the rest of the window and later ticks neither retry nor report again.
    calls = world.fleet.calls["StartWorkspaces"]
    for minutes in range(5, 60, 5):
        assert world.tick(SHIFT_START + dt.timedelta(minutes=minutes)).escalated == []
    assert world.bus.of("Incident Escalated") == []
    assert world.fleet.calls["StartWorkspaces"] == calls == 5
    # The next working day is a new shift: started as usual when WorkSpaces accepts.
    world.fleet.fail_start.clear()
    assert world.tick(OPENS + dt.timedelta(days=1)).started == ["ws-agent0001"]
    assert world.log.records["E1"].steps == ()


def test_a_start_refused_once_then_accepted_reports_nothing() -> None:
    world = Shifts()
    world.add("E1", "ws-agent0001")
    world.fleet.fail_start.add("ws-agent0001")
    world.tick(SHIFT_START - dt.timedelta(minutes=5))
    world.fleet.fail_start.clear()
    assert world.tick(SHIFT_START).started == ["ws-agent0001"]
    world.fleet.desks["ws-agent0001"].state = "AVAILABLE"
    for minutes in range(5, 60, 5):
        assert world.tick(SHIFT_START + dt.timedelta(minutes=minutes)).escalated == []
        assert world.bus.events == []
    assert world.fleet.started == ["ws-agent0001"]
    assert world.log.records["E1"].status == "up"


def test_dry_run_starts_nothing_and_reports_once() -> None:
    world = Shifts()
    world.add("E1", "ws-agent0001")
    rules = policy(dry_run=True)
    assert world.tick(OPENS, rules).started == ["ws-agent0001"]
    assert world.tick(OPENS + dt.timedelta(minutes=5), rules).started == []
    assert world.fleet.started == []
    assert world.log.records["E1"].status == "dry_run"


def test_a_desk_that_came_up_needs_nothing_more() -> None:
    world = Shifts()
    world.add("E1", "ws-agent0001")
    world.tick(OPENS)
    world.fleet.desks["ws-agent0001"].state = "AVAILABLE"
    assert world.tick(OPENS + dt.timedelta(minutes=5)).came_up == ["ws-agent0001"]
    assert world.tick(OPENS + TIMEOUT + dt.timedelta(minutes=5)).rebuilt == []


@pytest.mark.parametrize("stuck", ["ERROR", "UNHEALTHY"])
def test_a_stuck_start_is_rebuilt_and_on_call_is_told(stuck: str) -> None:
    world = Shifts()
    world.add("E1", "ws-agent0001")
    world.tick(OPENS)
    world.fleet.desks["ws-agent0001"].state = stuck
    assert world.tick(OPENS + TIMEOUT - dt.timedelta(minutes=1)).rebuilt == []
    report = world.tick(OPENS + TIMEOUT)
    assert report.rebuilt == ["ws-agent0001"]
    assert world.fleet.rebuilt == ["ws-agent0001"]
    (step,) = world.bus.of("Remediation Step")
    assert step.incident_id == "inc-start-ws-agent0001-20261201"
    assert (step.step.action, step.step.outcome) == ("rebuild", "requested")
    assert (step.employee_id, step.directory_id) == ("E1", "d-1111111111")
    # Once: the next tick does not rebuild again.
    world.tick(OPENS + TIMEOUT + dt.timedelta(minutes=5))
    assert world.fleet.rebuilt == ["ws-agent0001"]


def test_a_rebuilt_desk_that_comes_back_resolves_the_incident() -> None:
    world = Shifts()
    world.add("E1", "ws-agent0001")
    world.tick(OPENS)
    world.fleet.desks["ws-agent0001"].state = "ERROR"
    world.tick(OPENS + TIMEOUT)
    world.fleet.desks["ws-agent0001"].state = "AVAILABLE"
    report = world.tick(OPENS + TIMEOUT + dt.timedelta(minutes=15))
    assert report.resolved == ["ws-agent0001"]
    (resolved,) = world.bus.of("Incident Resolved")
    assert (resolved.incident_id, resolved.resolved_by) == ("inc-start-ws-agent0001-20261201", "recheck")


@pytest.mark.parametrize("stuck", ["STARTING", "IMPAIRED"])
def test_a_start_stuck_where_aws_cannot_rebuild_is_escalated_without_a_rebuild(stuck: str) -> None:
    world = Shifts()
    world.add("E1", "ws-agent0001")
    world.tick(OPENS)
    world.fleet.desks["ws-agent0001"].state = stuck
    report = world.tick(OPENS + TIMEOUT)
    # RebuildWorkspaces accepts only AVAILABLE, ERROR, UNHEALTHY, STOPPED or REBOOTING: no call AWS would refuse.
    assert world.fleet.calls["RebuildWorkspaces"] == 0
    assert report.rebuilt == []
    assert report.escalated == ["ws-agent0001"]
    (step,) = world.bus.of("Remediation Step")
    assert (step.step.action, step.step.outcome) == ("rebuild", "skipped")
    assert stuck in step.step.reason
    (escalation,) = world.bus.of("Incident Escalated")
    assert escalation.incident_id == "inc-start-ws-agent0001-20261201"
    assert [s.outcome for s in escalation.steps] == ["skipped"]


def test_a_refused_rebuild_is_escalated_with_the_aws_code_never_its_message() -> None:
    world = Shifts()
    world.add("E1", "ws-agent0001")
    world.tick(OPENS)
    world.fleet.desks["ws-agent0001"].state = "ERROR"
    world.fleet.fail_rebuild.add("ws-agent0001")
    report = world.tick(OPENS + TIMEOUT)
    assert report.escalated == ["ws-agent0001"]
    (step,) = world.bus.of("Remediation Step")
    assert step.step.outcome == "failed"
    assert "InvalidResourceState" in step.step.reason
    assert "cannot rebuild" not in step.step.reason  # AWS's message (it can name the user) is never copied
    (escalation,) = world.bus.of("Incident Escalated")
    assert escalation.incident_id == "inc-start-ws-agent0001-20261201"
    assert [s.outcome for s in escalation.steps] == ["failed"]
    assert "cannot rebuild" not in escalation.reason


def test_a_rebuild_that_does_not_bring_the_desk_back_is_escalated() -> None:
    world = Shifts()
    world.add("E1", "ws-agent0001")
    world.tick(OPENS)
    world.fleet.desks["ws-agent0001"].state = "ERROR"
    world.tick(OPENS + TIMEOUT)
    world.fleet.desks["ws-agent0001"].state = "ERROR"
    assert world.tick(OPENS + TIMEOUT + REBUILD_TIMEOUT - dt.timedelta(minutes=5)).escalated == []
    assert world.tick(OPENS + TIMEOUT + REBUILD_TIMEOUT).escalated == ["ws-agent0001"]
    assert world.tick(OPENS + TIMEOUT + REBUILD_TIMEOUT + dt.timedelta(minutes=5)).escalated == []


def test_a_desk_with_an_open_incident_is_left_to_the_remediation_runbook() -> None:
    class OneOpenIncident:
        def open_for(self, subject: str) -> object | None:
            return "inc-1" if subject == "ws-agent0001" else None

    world = Shifts()
    world.add("E1", "ws-agent0001")
    world.tick(OPENS)
    world.fleet.desks["ws-agent0001"].state = "ERROR"
    report = tick(
        policy(),
        PrewarmPorts(desks=world.desks, fleet=world.fleet, log=world.log, bus=world.bus, incidents=OneOpenIncident()),
        OPENS + TIMEOUT,
    )
    assert report.skipped_incident == ["ws-agent0001"]
    assert world.fleet.rebuilt == []


def test_no_rebuild_under_a_connected_user() -> None:
    world = Shifts()
    world.add("E1", "ws-agent0001")
    world.tick(OPENS)
    desk = world.fleet.desks["ws-agent0001"]
    desk.state, desk.connection = "UNHEALTHY", "CONNECTED"
    report = world.tick(OPENS + TIMEOUT)
    assert report.skipped_connected == ["ws-agent0001"]
    assert world.fleet.rebuilt == []
    assert world.bus.of("Incident Escalated") == []


@pytest.mark.parametrize(
    "rules",
    [
        policy(remediation={"rebuild": False}),
        policy(prewarm={"minutes_before_shift": 20, "rebuild_failed_starts": False}),
    ],
)
def test_when_the_policy_forbids_rebuilds_on_call_gets_an_escalation(rules: Policy) -> None:
    world = Shifts()
    world.add("E1", "ws-agent0001")
    world.tick(OPENS, rules)
    world.fleet.desks["ws-agent0001"].state = "ERROR"
    report = world.tick(OPENS + TIMEOUT, rules)
    assert world.fleet.rebuilt == []
    assert report.escalated == ["ws-agent0001"]
    assert world.bus.of("Remediation Step")[0].step.outcome == "skipped"


def test_dry_run_never_rebuilds() -> None:
    world = Shifts()
    world.add("E1", "ws-agent0001")
    world.tick(OPENS)
    world.fleet.desks["ws-agent0001"].state = "ERROR"
    world.tick(OPENS + TIMEOUT, policy(dry_run=True))
    assert world.fleet.rebuilt == []
    assert world.bus.of("Remediation Step")[0].step.outcome == "dry_run"
