"""Running-mode decisions and the daily run, with in-memory fakes (pure, no network)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest
import yaml

from autopilot.adapters.policy_source import packaged_policy_text
from autopilot.domain.cost.decisions import MonthUsage, decide
from autopilot.domain.cost.ports import OptimizerPorts, ReportRow, UsageRecord
from autopilot.domain.cost.running_modes import (
    RunningModesOptimised,
    RunOutcome,
    monthly_report_csv,
    optimize_running_modes,
)
from autopilot.domain.cost.usage import ActivePeriod, expected_hours
from autopilot.domain.kernel.desks import Lifecycle
from autopilot.domain.kernel.errors import PolicyError
from autopilot.domain.kernel.policy import Policy
from autopilot.domain.kernel.resolution import Resolution
from autopilot.domain.kernel.running_mode_policy import Price
from tests.unit.fakes_optimizer import FakeBus, FakeDesks, FakeFleet, FakeMetrics, FakeUsageStore

pytestmark = pytest.mark.usefixtures("socket_disabled")

UTC = dt.UTC
PARIS_DIR = "d-1111111111"
CC_DIR = "d-2222222222"
RESOLUTION = Resolution(
    directories={"paris-hq": PARIS_DIR, "amiens-cc": CC_DIR, "offshore": PARIS_DIR},
    bundles={"standard": "wsb-standard01", "power": "wsb-power0001"},
)
STANDARD = Price(monthly=36.0, hourly=0.30, autostop_base=9.75)  # break-even 87.5 h


def make_policy(*, policy_dry_run: bool = False, **optimizer: Any) -> Policy:
    """The packaged policy with the optimizer switched on (dry_run off) and `optimizer` overrides."""
    document = yaml.safe_load(packaged_policy_text())
    document["dry_run"] = policy_dry_run
    document["optimizer"] = {"dry_run": False, **optimizer}
    return Policy.model_validate(document)


# --- fakes: tests/unit/fakes_optimizer.py ---------------------------------------------------------------------
@dataclasses.dataclass
class World:
    fleet: FakeFleet = dataclasses.field(default_factory=FakeFleet)
    metrics: FakeMetrics = dataclasses.field(default_factory=FakeMetrics)
    usage: FakeUsageStore = dataclasses.field(default_factory=FakeUsageStore)
    desks: FakeDesks = dataclasses.field(default_factory=FakeDesks)
    bus: FakeBus = dataclasses.field(default_factory=FakeBus)
    policy: Policy = dataclasses.field(default_factory=make_policy)

    def run(self, now: dt.datetime) -> RunOutcome:
        ports = OptimizerPorts(fleet=self.fleet, metrics=self.metrics, usage=self.usage, desks=self.desks, bus=self.bus)
        return optimize_running_modes(self.policy, RESOLUTION, ports, now=now)

    def days(self, first: dt.date, last: dt.date, *, daily: Mapping[str, int] | None = None) -> list[RunOutcome]:
        """Each day from first to last: the users' sessions from 09:00 UTC, then a run at 05:30 the next morning."""
        outcomes, day = [], first
        while day <= last:
            for ws, connected in (daily or {}).items():
                self.metrics.use(ws, dt.datetime.combine(day, dt.time(9), tzinfo=UTC), connected)
            outcomes.append(self.run(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(5, 30), tzinfo=UTC)))
            day += dt.timedelta(days=1)
        return outcomes

    def mode(self, workspace_id: str) -> str:
        return self.fleet.desks[workspace_id].running_mode

    def row(self, month: str, workspace_id: str) -> ReportRow:
        return self.usage.rows[(month, workspace_id)]


def usage(hours: int, *, break_even: float = 87.5, observed: float = 0.5, month: str = "2026-03") -> MonthUsage:
    # A switch now adds the monthly price for the part of the month not observed yet.
    return MonthUsage(month, hours, break_even, ActivePeriod.of(month), observed, switch_share=1 - observed)


# --- decide() ---------------------------------------------------------------------------------------------------
def test_an_hourly_desk_that_reaches_its_break_even_goes_monthly() -> None:
    decision = decide(running_mode="AUTO_STOP", usage=usage(88), price=STANDARD, closing=False, hold=None)
    assert decision.action == "to_always_on"
    # 88 h in half a month: 88 h more by the hour (26.40) against half the monthly price (18.00) on top of what
    # is billed already: 8.40 saved (it used to report 9.75 + 0.30 x 176 - 36 = 26.55, ignoring the proration).
    assert decision.estimated_saving == pytest.approx(8.40)


def test_an_hourly_desk_below_its_break_even_stays_hourly() -> None:
    decision = decide(running_mode="AUTO_STOP", usage=usage(87), price=STANDARD, closing=False, hold=None)
    assert decision.action == "keep"


def test_a_light_monthly_desk_is_not_switched_before_the_month_ends() -> None:
    decision = decide(running_mode="ALWAYS_ON", usage=usage(10), price=STANDARD, closing=False, hold=None)
    assert decision.action == "keep"
    assert "month end" in decision.reason


def test_a_light_monthly_desk_goes_hourly_at_the_month_end() -> None:
    decision = decide(running_mode="ALWAYS_ON", usage=usage(40, observed=1.0), price=STANDARD, closing=True, hold=None)
    assert decision.action == "to_auto_stop"
    assert decision.estimated_saving == pytest.approx(36 - 9.75 - 0.30 * 40)


def test_a_busy_monthly_desk_stays_monthly_at_the_month_end() -> None:
    decision = decide(running_mode="ALWAYS_ON", usage=usage(120, observed=1.0), price=STANDARD, closing=True, hold=None)
    assert decision.action == "keep"


def test_a_held_desk_or_an_unpriced_compute_is_skipped() -> None:
    held = decide(running_mode="AUTO_STOP", usage=usage(200), price=STANDARD, closing=False, hold="skip tag X")
    unpriced = decide(running_mode="AUTO_STOP", usage=usage(200), price=None, closing=False, hold=None)
    manual = decide(running_mode="MANUAL", usage=usage(200), price=STANDARD, closing=False, hold=None)
    assert (held.action, unpriced.action, manual.action) == ("skip", "skip", "skip")


def test_closing_last_month_never_moves_an_hourly_desk() -> None:
    decision = decide(
        running_mode="AUTO_STOP",
        usage=usage(300, observed=1.0),
        price=STANDARD,
        closing=True,
        hold=None,
        previous_month=True,
    )
    assert decision.action == "keep"


# --- the run over a month -------------------------------------------------------------------------------------
def test_a_heavy_user_moves_to_always_on_as_soon_as_the_break_even_is_passed() -> None:
    world = World()
    world.fleet.add("ws-heavy0001")
    world.desks.add("E1", "ws-heavy0001")
    # 10 connected hours a day + the 1 h timeout = 11 billable hours a day: 88 h >= 87.5 h after 8 days.
    outcomes = world.days(dt.date(2026, 3, 1), dt.date(2026, 3, 7), daily={"ws-heavy0001": 10})
    assert world.mode("ws-heavy0001") == "AUTO_STOP"
    assert world.row("2026-03", "ws-heavy0001").hours == 77
    outcomes += world.days(dt.date(2026, 3, 8), dt.date(2026, 3, 8), daily={"ws-heavy0001": 10})
    assert world.mode("ws-heavy0001") == "ALWAYS_ON"
    assert world.fleet.changes == [("ws-heavy0001", "ALWAYS_ON", None)]
    assert outcomes[-1].changed == ["ws-heavy0001"]
    row = world.row("2026-03", "ws-heavy0001")
    assert (row.decision, row.applied, row.hours, row.employee_id) == ("to_always_on", "changed", 88, "E1")
    summary = world.bus.summaries[-1]
    assert (summary.to_always_on, summary.changed, summary.changed_workspace_ids) == (1, 1, ["ws-heavy0001"])
    assert not summary.dry_run


def test_a_desk_switched_this_month_is_never_switched_back_within_the_month() -> None:
    world = World()
    world.fleet.add("ws-heavy0001")
    world.days(dt.date(2026, 3, 1), dt.date(2026, 3, 8), daily={"ws-heavy0001": 10})
    assert world.mode("ws-heavy0001") == "ALWAYS_ON"
    # The user stops working; the month's last day would send a light ALWAYS_ON desk back to AUTO_STOP.
    world.days(dt.date(2026, 3, 9), dt.date(2026, 3, 31))
    assert world.mode("ws-heavy0001") == "ALWAYS_ON"
    assert world.fleet.changes == [("ws-heavy0001", "ALWAYS_ON", None)]
    row = world.row("2026-03", "ws-heavy0001")
    assert (row.decision, row.applied) == ("to_always_on", "changed")  # the month's switch stays its decision


def test_a_light_always_on_user_moves_to_auto_stop_only_on_the_last_day_of_the_month() -> None:
    world = World()
    world.fleet.add("ws-light0001", running_mode="ALWAYS_ON", autostop_minutes=None, compute="POWER")
    world.desks.add("E2", "ws-light0001", profile="office", running_mode="ALWAYS_ON")  # office: 2 h AutoStop
    # One connected hour a day + the 2 h timeout it would get: 90 h by the 31st, below POWER's 104.8 h.
    world.days(dt.date(2026, 3, 1), dt.date(2026, 3, 29), daily={"ws-light0001": 1})
    assert world.fleet.changes == []
    before = world.row("2026-03", "ws-light0001")
    assert before.decision == "keep"
    assert "month end" in before.reason
    world.days(dt.date(2026, 3, 30), dt.date(2026, 3, 30), daily={"ws-light0001": 1})  # the run on 31 March
    assert world.fleet.changes == [("ws-light0001", "AUTO_STOP", 120)]
    row = world.row("2026-03", "ws-light0001")
    assert (row.decision, row.applied, row.hours) == ("to_auto_stop", "changed", 90)  # 30 days x (1 + 2) h
    assert row.estimated_saving > 0
    summary = world.bus.summaries[-1]
    assert (summary.to_auto_stop, summary.closed_month) == (1, "2026-03")
    # The first run of April finds March closed and does nothing more.
    world.days(dt.date(2026, 3, 31), dt.date(2026, 3, 31))
    assert world.fleet.changes == [("ws-light0001", "AUTO_STOP", 120)]


def test_the_first_run_of_a_month_closes_the_previous_month_when_its_last_day_was_missed() -> None:
    world = World()
    world.fleet.add("ws-light0001", running_mode="ALWAYS_ON", autostop_minutes=None)
    world.days(dt.date(2026, 3, 1), dt.date(2026, 3, 29), daily={"ws-light0001": 1})
    # No run on 31 March (the schedule failed); the first April run decides on March.
    world.metrics.use("ws-light0001", dt.datetime(2026, 3, 30, 9, tzinfo=UTC), 1)
    world.metrics.use("ws-light0001", dt.datetime(2026, 3, 31, 9, tzinfo=UTC), 1)
    outcome = world.run(dt.datetime(2026, 4, 1, 5, 30, tzinfo=UTC))
    assert world.fleet.changes == [("ws-light0001", "AUTO_STOP", 60)]  # no desk record: the default 1 h
    assert outcome.closed_month == "2026-03"
    march = world.row("2026-03", "ws-light0001")
    assert (march.decision, march.hours) == ("to_auto_stop", 62)  # all 31 days: 31 x (1 + 1)
    assert world.usage.records[("ws-light0001", "2026-03")].closed
    april = world.row("2026-04", "ws-light0001")
    assert (april.running_mode, april.decision) == ("AUTO_STOP", "keep")
    assert world.usage.records[("ws-light0001", "2026-04")].manual_change_at is None
    # Its switch belongs to March: in April the desk may go monthly again if it gets busy.
    world.days(dt.date(2026, 4, 1), dt.date(2026, 4, 8), daily={"ws-light0001": 10})
    assert world.mode("ws-light0001") == "ALWAYS_ON"


def test_a_busy_always_on_desk_stays_monthly_at_the_month_end() -> None:
    world = World()
    world.fleet.add("ws-busy00001", running_mode="ALWAYS_ON", autostop_minutes=None)
    world.days(dt.date(2026, 3, 1), dt.date(2026, 3, 31), daily={"ws-busy00001": 8})
    assert world.fleet.changes == []
    assert world.row("2026-03", "ws-busy00001").decision == "keep"


def test_the_skip_tag_is_respected() -> None:
    world = World()
    world.fleet.add("ws-skip00001", tags={"ManagedBy": "workspaces-autopilot", "AutopilotSkipOptimizer": ""})
    world.days(dt.date(2026, 3, 1), dt.date(2026, 3, 20), daily={"ws-skip00001": 12})
    assert world.fleet.changes == []
    row = world.row("2026-03", "ws-skip00001")
    assert (row.decision, row.reason) == ("skip", "skip tag AutopilotSkipOptimizer")
    assert row.hours == 20 * 13  # usage is still measured and reported


def test_standby_desks_are_excluded_by_tag_and_by_their_standby_pair() -> None:
    world = World()
    world.fleet.add("ws-stdbytag1", tags={"ManagedBy": "workspaces-autopilot", "AutopilotStandby": "true"})
    world.fleet.add("ws-standby01", pair_role="standby")
    world.fleet.add("ws-primary01", pair_role="primary")
    daily = {"ws-stdbytag1": 12, "ws-standby01": 12, "ws-primary01": 12}
    world.days(dt.date(2026, 3, 1), dt.date(2026, 3, 20), daily=daily)
    assert world.fleet.changes == []
    assert {ws: world.row("2026-03", ws).decision for ws in daily} == dict.fromkeys(daily, "skip")
    assert "standby" in world.row("2026-03", "ws-standby01").reason


def test_dry_run_decides_and_reports_but_changes_nothing() -> None:
    for world in (World(policy=make_policy(dry_run=True)), World(policy=make_policy(policy_dry_run=True))):
        world.fleet.add("ws-heavy0001")
        world.fleet.add("ws-light0001", running_mode="ALWAYS_ON", autostop_minutes=None)
        world.days(dt.date(2026, 3, 1), dt.date(2026, 3, 31), daily={"ws-heavy0001": 10, "ws-light0001": 1})
        assert world.fleet.changes == []
        assert (world.mode("ws-heavy0001"), world.mode("ws-light0001")) == ("AUTO_STOP", "ALWAYS_ON")
        heavy, light = world.row("2026-03", "ws-heavy0001"), world.row("2026-03", "ws-light0001")
        assert (heavy.decision, heavy.applied) == ("to_always_on", "dry run")
        assert (light.decision, light.applied) == ("to_auto_stop", "dry run")
        assert all(summary.dry_run and not summary.changed for summary in world.bus.summaries)
        # One alert when the dry-run decision is first taken (day 8), one when the month closes; not every day.
        assert len(world.bus.summaries) == 2


def test_the_optimizer_is_dry_run_unless_the_policy_opts_in() -> None:
    document = yaml.safe_load(packaged_policy_text())
    world = World(policy=Policy.model_validate(document))
    world.fleet.add("ws-heavy0001")
    world.days(dt.date(2026, 3, 1), dt.date(2026, 3, 10), daily={"ws-heavy0001": 10})
    assert world.fleet.changes == []
    assert world.row("2026-03", "ws-heavy0001").applied == "dry run"


def test_a_disabled_optimizer_reads_nothing_and_changes_nothing() -> None:
    world = World(policy=make_policy(enabled=False))
    world.fleet.add("ws-heavy0001")
    outcome = world.run(dt.datetime(2026, 3, 20, 5, 30, tzinfo=UTC))
    assert not outcome.enabled
    assert (world.fleet.describe_calls, world.metrics.requests, world.usage.saves) == (0, [], 0)


def test_a_desk_changed_by_hand_is_not_flipped_back_within_the_month() -> None:
    world = World()
    world.fleet.add("ws-heavy0001")
    world.days(dt.date(2026, 3, 1), dt.date(2026, 3, 3), daily={"ws-heavy0001": 10})
    # An operator forces ALWAYS_ON, then (having second thoughts) AUTO_STOP again: we leave it as set.
    world.fleet.by_hand("ws-heavy0001", "ALWAYS_ON")
    world.days(dt.date(2026, 3, 4), dt.date(2026, 3, 5), daily={"ws-heavy0001": 10})
    world.fleet.by_hand("ws-heavy0001", "AUTO_STOP")
    world.days(dt.date(2026, 3, 6), dt.date(2026, 3, 31), daily={"ws-heavy0001": 10})
    assert world.fleet.changes == []
    row = world.row("2026-03", "ws-heavy0001")
    assert (row.decision, row.running_mode) == ("skip", "AUTO_STOP")
    assert "by hand" in row.reason
    # The latest change by hand was seen by the run of 7 March.
    record = world.usage.records[("ws-heavy0001", "2026-03")]
    assert record.manual_change_at == dt.datetime(2026, 3, 7, 5, 30, tzinfo=UTC)
    # April is a new month: the busy desk is switched as usual.
    world.days(dt.date(2026, 4, 1), dt.date(2026, 4, 8), daily={"ws-heavy0001": 10})
    assert world.fleet.changes == [("ws-heavy0001", "ALWAYS_ON", None)]


def test_a_desk_changed_by_hand_to_always_on_is_not_reviewed_at_that_months_end() -> None:
    world = World()
    world.fleet.add("ws-light0001")
    world.days(dt.date(2026, 3, 1), dt.date(2026, 3, 10), daily={"ws-light0001": 1})
    world.fleet.by_hand("ws-light0001", "ALWAYS_ON")
    world.days(dt.date(2026, 3, 11), dt.date(2026, 3, 31), daily={"ws-light0001": 1})
    assert world.fleet.changes == []
    assert world.mode("ws-light0001") == "ALWAYS_ON"


def test_a_switch_interrupted_before_it_was_recorded_is_not_taken_for_a_change_by_hand() -> None:
    world = World()
    world.fleet.add("ws-heavy0001")
    world.days(dt.date(2026, 3, 1), dt.date(2026, 3, 7), daily={"ws-heavy0001": 10})

    class CrashAfterRequest(FakeUsageStore):
        armed = False

        def save(self, record: UsageRecord) -> UsageRecord:
            if self.armed and record.intent_to is None and record.switched_to == "ALWAYS_ON":
                raise RuntimeError("Lambda timed out")
            return super().save(record)

    crashing = CrashAfterRequest()
    crashing.records, crashing.rows, crashing.armed = world.usage.records, world.usage.rows, True
    world.usage = crashing
    world.metrics.use("ws-heavy0001", dt.datetime(2026, 3, 8, 9, tzinfo=UTC), 10)
    with pytest.raises(RuntimeError):
        world.run(dt.datetime(2026, 3, 9, 5, 30, tzinfo=UTC))
    assert world.mode("ws-heavy0001") == "ALWAYS_ON"  # the request went through
    crashing.armed = False
    world.run(dt.datetime(2026, 3, 9, 5, 35, tzinfo=UTC))  # Lambda's retry
    record = world.usage.records[("ws-heavy0001", "2026-03")]
    assert (record.switched_to, record.manual_change_at, record.intent_to) == ("ALWAYS_ON", None, None)
    assert world.fleet.changes == [("ws-heavy0001", "ALWAYS_ON", None)]


def test_a_refused_change_is_reported_and_retried_next_run() -> None:
    world = World()
    world.fleet.add("ws-heavy0001")
    world.fleet.refuse["ws-heavy0001"] = "OperationInProgressException"
    world.days(dt.date(2026, 3, 1), dt.date(2026, 3, 8), daily={"ws-heavy0001": 10})
    row = world.row("2026-03", "ws-heavy0001")
    assert (row.decision, row.applied) == ("to_always_on", "failed: OperationInProgressException")
    assert world.bus.summaries[-1].failed_workspace_ids == ["ws-heavy0001"]
    del world.fleet.refuse["ws-heavy0001"]
    world.days(dt.date(2026, 3, 9), dt.date(2026, 3, 9), daily={"ws-heavy0001": 10})
    assert world.mode("ws-heavy0001") == "ALWAYS_ON"


def test_a_desk_that_cannot_be_modified_now_is_deferred() -> None:
    world = World()
    world.fleet.add("ws-heavy0001", state="REBOOTING")
    world.days(dt.date(2026, 3, 1), dt.date(2026, 3, 8), daily={"ws-heavy0001": 10})
    assert world.fleet.changes == []
    assert world.row("2026-03", "ws-heavy0001").applied == "deferred: desk is REBOOTING"


def test_no_more_switches_than_the_policy_allows_in_one_run() -> None:
    world = World(policy=make_policy(max_switches_per_run=2))
    daily = {f"ws-heavy000{n}": 10 for n in range(5)}
    for ws in daily:
        world.fleet.add(ws)
    outcome = world.days(dt.date(2026, 3, 1), dt.date(2026, 3, 8), daily=daily)[-1]
    assert (len(outcome.changed), outcome.deferred) == (2, 3)
    world.days(dt.date(2026, 3, 9), dt.date(2026, 3, 10), daily=daily)
    assert {world.mode(ws) for ws in daily} == {"ALWAYS_ON"}


def test_a_desk_created_mid_month_reaches_a_prorated_break_even_sooner() -> None:
    world = World()
    world.fleet.add("ws-newhire01")
    # Provisioned on 22 March: 10 of 31 days, break-even 87.5 x 10 / 31 = 28.2 h, passed after 3 days of 11 h.
    world.desks.add("E3", "ws-newhire01", provisioning_started_at=dt.datetime(2026, 3, 22, 8, tzinfo=UTC))
    world.days(dt.date(2026, 3, 22), dt.date(2026, 3, 24), daily={"ws-newhire01": 10})
    assert world.mode("ws-newhire01") == "ALWAYS_ON"
    assert world.row("2026-03", "ws-newhire01").break_even == pytest.approx(87.5 * 10 / 31, abs=0.01)


def test_a_leaver_gets_a_break_even_prorated_to_the_termination() -> None:
    world = World(policy=make_policy())
    world.fleet.add("ws-leaver001", running_mode="ALWAYS_ON", autostop_minutes=None)
    # Last day 4 March, terminated after the 30-day retention... in April: March counts whole.
    world.desks.add("E4", "ws-leaver001", lifecycle=Lifecycle.LEAVING, last_day=dt.date(2026, 3, 4))
    world.run(dt.datetime(2026, 3, 10, 5, 30, tzinfo=UTC))
    assert world.row("2026-03", "ws-leaver001").break_even == pytest.approx(87.5)
    # A leaver whose retention ends mid-month: last day 20 February, terminated 22 March (30 days later).
    world.desks.desks[0] = world.desks.desks[0].model_copy(update={"last_day": dt.date(2026, 2, 20)})
    world.run(dt.datetime(2026, 3, 11, 5, 30, tzinfo=UTC))
    assert world.row("2026-03", "ws-leaver001").break_even == pytest.approx(87.5 * 22 / 31, abs=0.01)


def test_maintenance_hours_of_the_directory_count_towards_the_break_even() -> None:
    world = World(policy=make_policy(maintenance_hours={"corp.example.com": 40}))
    world.fleet.add("ws-heavy0001")
    world.fleet.add("ws-ccdesk001", directory_id=CC_DIR)
    # 5 days x 11 h = 55 h; + 40 h of maintenance = 95 h >= 87.5 h for the corp directory only.
    world.days(dt.date(2026, 3, 1), dt.date(2026, 3, 5), daily={"ws-heavy0001": 10, "ws-ccdesk001": 10})
    assert (world.mode("ws-heavy0001"), world.mode("ws-ccdesk001")) == ("ALWAYS_ON", "AUTO_STOP")
    assert world.row("2026-03", "ws-heavy0001").hours == 95


def test_maintenance_hours_for_an_unknown_directory_refuse_the_policy() -> None:
    world = World(policy=make_policy(maintenance_hours={"nowhere.example.com": 4}))
    with pytest.raises(PolicyError, match=r"optimizer.maintenance_hours.nowhere.example.com"):
        world.run(dt.datetime(2026, 3, 10, 5, 30, tzinfo=UTC))


def test_a_compute_without_a_price_is_reported_not_switched() -> None:
    world = World()
    world.fleet.add("ws-gpu000001", compute="GRAPHICS_G4DN")
    world.days(dt.date(2026, 3, 1), dt.date(2026, 3, 20), daily={"ws-gpu000001": 12})
    assert world.fleet.changes == []
    row = world.row("2026-03", "ws-gpu000001")
    assert (row.decision, row.break_even) == ("skip", None)


def test_usage_is_read_incrementally_in_one_batch_per_run() -> None:
    world = World()
    world.fleet.add("ws-heavy0001")
    world.fleet.add("ws-light0001")
    world.days(dt.date(2026, 3, 1), dt.date(2026, 3, 2), daily={"ws-heavy0001": 10})
    first, second = world.metrics.requests
    assert first[0] == dict.fromkeys(("ws-heavy0001", "ws-light0001"), dt.datetime(2026, 3, 1, tzinfo=UTC))
    # The next day re-reads only the last few hours before the previous run (late data), not the whole month.
    assert set(second[0].values()) == {dt.datetime(2026, 3, 2, 2, tzinfo=UTC)}
    assert second[1] == dt.datetime(2026, 3, 3, 6, tzinfo=UTC)


def test_a_run_without_anything_new_publishes_no_summary() -> None:
    world = World()
    world.fleet.add("ws-light0001")
    world.days(dt.date(2026, 3, 1), dt.date(2026, 3, 10), daily={"ws-light0001": 1})
    assert world.bus.summaries == []


def test_the_monthly_report_is_a_csv_of_ids_hours_and_decisions() -> None:
    world = World()
    world.fleet.add("ws-heavy0001")
    world.fleet.add("ws-light0001", running_mode="ALWAYS_ON", autostop_minutes=None)
    world.desks.add("E1", "ws-heavy0001", profile="agent")  # agent: 1 h AutoStop, as the desk has
    world.days(dt.date(2026, 3, 1), dt.date(2026, 3, 30), daily={"ws-heavy0001": 10, "ws-light0001": 1})
    lines = monthly_report_csv(world.usage, "2026-03").splitlines()
    assert lines[0] == (
        "month,workspace_id,employee_id,compute,running_mode,hours,break_even,decision,estimated_saving,applied,reason"
    )
    # Hours keep counting after the switch (what the month would have cost by the hour); the decision stays.
    assert lines[1].startswith("2026-03,ws-heavy0001,E1,STANDARD,ALWAYS_ON,330,87.50,to_always_on,")
    assert lines[2].startswith("2026-03,ws-light0001,,STANDARD,AUTO_STOP,60,87.50,to_auto_stop,")
    assert monthly_report_csv(world.usage, "2026-02").splitlines() == lines[:1]


def test_the_summary_event_carries_ids_and_counts_only() -> None:
    world = World()
    world.fleet.add("ws-heavy0001")
    world.desks.add("E1", "ws-heavy0001")
    world.days(dt.date(2026, 3, 1), dt.date(2026, 3, 8), daily={"ws-heavy0001": 10})
    detail = world.bus.summaries[-1].model_dump(mode="json")
    assert RunningModesOptimised.DETAIL_TYPE == "Running Modes Optimised"
    assert set(detail) == {
        "schema_version", "month", "closed_month", "dry_run", "desks", "to_always_on", "to_auto_stop", "changed",
        "failed", "deferred", "skipped", "estimated_monthly_saving", "changed_workspace_ids",
        "failed_workspace_ids", "ran_at",
    }  # fmt: skip
    assert "E1" not in str(detail)


def test_a_desk_without_a_record_is_known_by_its_provisioning_tags() -> None:
    world = World()
    tags = {"ManagedBy": "workspaces-autopilot", "AutopilotEmployeeId": "E9", "AutopilotProfile": "datasci"}
    world.fleet.add("ws-light0001", running_mode="ALWAYS_ON", autostop_minutes=None, tags=tags)
    world.days(dt.date(2026, 3, 1), dt.date(2026, 3, 30))
    assert world.fleet.changes == [("ws-light0001", "AUTO_STOP", 240)]  # datasci: 4 h AutoStop
    assert world.row("2026-03", "ws-light0001").employee_id == "E9"


def test_a_failure_of_the_run_itself_propagates_and_publishes_nothing() -> None:
    world = World()
    world.fleet.add("ws-heavy0001")

    class Unreadable(FakeMetrics):
        def connected_hours(self, starts: Mapping[str, dt.datetime], end: dt.datetime) -> dict[str, list[dt.datetime]]:
            raise TimeoutError("CloudWatch did not answer")

        def running_hours(self, starts: Mapping[str, dt.datetime], end: dt.datetime) -> dict[str, list[dt.datetime]]:
            raise TimeoutError("CloudWatch did not answer")

    world.metrics = Unreadable()
    with pytest.raises(TimeoutError):
        world.run(dt.datetime(2026, 3, 10, 5, 30, tzinfo=UTC))
    assert (world.bus.events, world.usage.saves, world.fleet.changes) == ([], 0, [])


# --- issue 19: decisions on the bill ------------------------------------------------------------------------
def at_utc(day: int, hour: int = 5, minute: int = 30, month: int = 4) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=UTC)


def test_a_late_break_even_does_not_switch_when_the_prorated_month_costs_more() -> None:
    # Issue 19's case (30-day April, STANDARD): the break-even is reached on the 25th, at ~3.5 h a day over the
    # month. Staying hourly for the 4 days 18.5 h left costs ~16.6 h x 0.30 = 4.99; switching costs the monthly
    # price prorated from 26 April 05:00, 36 x 115 / 720 = 5.75: keep.
    world = World()
    world.fleet.add("ws-late00001")
    for day in range(4, 26):
        # 3 connected hours + the 1 h timeout = 4 billable hours a day from the 4th: 88 h after the 25th.
        world.metrics.use("ws-late00001", at_utc(day, 9, 0), 3)
    world.run(at_utc(26))
    row = world.row("2026-04", "ws-late00001")
    assert row.hours == 88
    assert (world.mode("ws-late00001"), row.decision) == ("AUTO_STOP", "keep")
    assert row.estimated_saving == 0


def test_an_early_break_even_switches_and_reports_what_the_bill_saves() -> None:
    world = World()
    world.fleet.add("ws-early0001")  # no desk record: the policy's default 1 h AutoStop, before and after
    # 10 connected hours + 1 h timeout = 11 h a day, every day of April: 88 h after 8 days, switched on the 9th.
    world.days(dt.date(2026, 4, 1), dt.date(2026, 4, 8), daily={"ws-early0001": 10})
    assert world.mode("ws-early0001") == "ALWAYS_ON"
    switch = world.row("2026-04", "ws-early0001")
    # At the switch (9 April 05:30): 11 h every day of the week so far; 21 days 18.5 h left = 239.5 h more.
    left_days = (dt.datetime(2026, 5, 1, tzinfo=UTC) - at_utc(9)) / dt.timedelta(days=1)
    share = (dt.datetime(2026, 5, 1, tzinfo=UTC) - at_utc(9, 5, 0)).total_seconds() / 3600 / 720
    assert switch.estimated_saving == pytest.approx(0.30 * 11 * left_days - 36.0 * share, abs=0.01)
    # The rest of the month as it happened: the same 11 h a day (counted from UserConnected + the timeout).
    world.days(dt.date(2026, 4, 9), dt.date(2026, 4, 30), daily={"ws-early0001": 10})
    closed = world.row("2026-04", "ws-early0001")
    # What the bill shows: 22 more days x 11 h that are not billed by the hour, against the prorated month.
    assert closed.estimated_saving == pytest.approx(0.30 * 22 * 11 - 36.0 * share, abs=0.01)


def test_hours_a_desk_ran_without_a_user_count_towards_the_bill() -> None:
    # Pre-warmed before each shift and nobody logged in: 2 running hours a day, no UserConnected at all.
    world = World()
    world.fleet.add("ws-prewarm01")
    for day in range(1, 11):
        world.metrics.run("ws-prewarm01", at_utc(day, 6, 0), 2)
    world.run(at_utc(11))
    assert world.row("2026-04", "ws-prewarm01").hours == 20


def test_days_ahead_are_expected_like_the_same_weekday_so_far() -> None:
    # A hybrid worker, in the office on Mondays and Tuesdays only (8 h): April 2026 starts on a Wednesday.
    world = World()
    world.fleet.add("ws-hybrid001")
    for day in (6, 7, 13, 14):
        world.metrics.use("ws-hybrid001", at_utc(day, 9, 0), 7)  # 7 connected + 1 h = 8 h
    world.run(at_utc(16))  # Thursday 16 April: 32 h so far; ahead: 2 more weeks of Mondays and Tuesdays
    usage = expected_hours(
        world.usage.records[("ws-hybrid001", "2026-04")].running_hours.hours,
        "2026-04",
        observed_from=at_utc(1, 0, 0),
        now=at_utc(16),
        until=dt.datetime(2026, 5, 1, tzinfo=UTC),
    )
    assert usage == pytest.approx(4 * 8)  # 20, 21, 27, 28 April; a flat pace would say 32 / 15.2 x 14.8 = 31.1


def test_a_leavers_last_hours_are_counted_after_the_desk_is_gone() -> None:
    # Used 09:00-18:00 on the 16th and terminated that evening: the run of the 17th no longer sees it listed.
    world = World()
    world.fleet.add("ws-leaver001")
    for day in range(13, 17):
        world.metrics.use("ws-leaver001", at_utc(day, 9, 0), 9)
    world.run(at_utc(16))
    assert world.row("2026-04", "ws-leaver001").hours == 30  # 13-15 April: 3 x 10 h
    del world.fleet.desks["ws-leaver001"]
    world.run(at_utc(17))
    row = world.row("2026-04", "ws-leaver001")
    assert (row.hours, row.decision) == (40, "skip")
    assert row.reason.startswith("terminated")
    reads = len(world.metrics.requests)
    world.run(at_utc(18))  # read once only
    assert len(world.metrics.requests) == reads
