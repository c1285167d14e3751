"""Running-mode optimisation over a simulated month on the local cloud (issue 10's done-when).

The optimizer runs from its own daily schedule in template.yaml (05:30 UTC). Users log in and out through the
emulator; the local cloud publishes AWS/WorkSpaces `UserConnected` and `Stopped` per desk, as WorkSpaces does,
and its billing meter bills every desk (issue 19).

fleet_watch and prewarm (every 5 minutes, 17,856 runs in a month) are replaced by no-ops here: neither takes
part in running-mode decisions, and they would make each simulated month take minutes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from autopilot.adapters.usage_store import UsageStore
from autopilot.domain.cost.running_modes import monthly_report_csv
from autopilot_ops.backend import world_backend
from autopilot_ops.cli import Session, main
from localcloud.world import LocalCloud

UTC = dt.UTC
POLICIES = Path(__file__).resolve().parents[2] / "scenarios" / "policies"
HOUR = dt.timedelta(hours=1)


def _not_in_this_scenario(event: Any, context: Any) -> dict[str, str]:
    return {"skipped": "not part of the optimizer scenarios"}


QUIET = {"FleetWatchFunction": _not_in_this_scenario, "PrewarmFunction": _not_in_this_scenario}

# Sessions: user -> (first UTC hour, last hour + 1, weekdays only)
Sessions = dict[str, tuple[int, int, bool]]


class Month:
    """Drives a world hour by hour: logins and disconnects at the virtual time."""

    def __init__(self, cloud: LocalCloud, sessions: Sessions) -> None:
        self.cloud = cloud
        self.sessions = sessions
        self.connected: set[str] = set()
        self.modes: dict[dt.datetime, dict[str, str]] = {}  # after each 05:30 run: user -> running mode
        self.hooks: dict[dt.datetime, Callable[[], None]] = {}

    def workspace(self, user: str) -> str:
        return self.cloud.desk_of(user).workspace_id

    def mode(self, user: str) -> str:
        return str(self.cloud.emulator.workspace(self.workspace(user))["running_mode"])

    def run_until(self, end: dt.datetime) -> None:
        while self.cloud.now() < end:
            now = self.cloud.now()
            if now in self.hooks:
                self.hooks.pop(now)()
            for user, (first, last, weekdays) in self.sessions.items():
                working = (not weekdays or now.weekday() < 5) and first <= now.hour < last
                if working and user not in self.connected:
                    self.cloud.login(user)
                    self.connected.add(user)
                elif not working and user in self.connected:
                    self.cloud.disconnect(user)
                    self.connected.discard(user)
            self.cloud.advance(HOUR)
            if self.cloud.now().hour == 6:
                self.modes[self.cloud.now()] = {user: self.mode(user) for user in self.sessions}

    def start(self, user: str) -> Callable[[], None]:
        def start() -> None:
            self.cloud.client("workspaces").start_workspaces(
                StartWorkspaceRequests=[{"WorkspaceId": self.workspace(user)}]
            )

        return start

    def tag(self, user: str, key: str, value: str = "") -> None:
        self.cloud.client("workspaces").create_tags(
            ResourceId=self.workspace(user), Tags=[{"Key": key, "Value": value}]
        )

    def by_hand(self, user: str, running_mode: str) -> Callable[[], None]:
        def change() -> None:
            # One property a call, as WorkSpaces requires (docs/local-cloud.md).
            changes: list[dict[str, Any]] = [{"RunningMode": running_mode}]
            if running_mode == "AUTO_STOP":
                changes.append({"RunningModeAutoStopTimeoutInMinutes": 60})
            for properties in changes:
                self.cloud.client("workspaces").modify_workspace_properties(
                    WorkspaceId=self.workspace(user), WorkspaceProperties=properties
                )

        return change

    def optimizer_runs(self) -> list[Any]:
        return [i for i in self.cloud.invocations if i.function == "OptimizerFunction"]

    def run_on(self, day: dt.date) -> dict[str, Any]:
        runs = [i for i in self.optimizer_runs() if i.time.startswith(day.isoformat())]
        assert len(runs) == 1, [i.to_report() for i in runs]
        result: dict[str, Any] = runs[0].result
        return result

    def report_csv(self, month: str) -> list[str]:
        table_name = self.cloud.functions_env("TABLE_NAME")
        assert table_name is not None
        table = boto3.resource("dynamodb", region_name=self.cloud.region).Table(table_name)
        return monthly_report_csv(UsageStore(table), month).splitlines()


def at(day: int, hour: int = 6, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=UTC)


class TestLiveMonth:
    """March 2026 with the optimiser switched on (one simulated month shared by the tests of the class)."""

    @pytest.fixture(scope="class")
    def live_month(self) -> Iterator[Month]:
        policy = POLICIES / "optimizer_live.yaml"
        with LocalCloud(start="2026-03-01T00:00:00Z", policy=policy, handlers=QUIET) as cloud:
            cloud.seed_desks(["heavy", "skipper", "standby", "handy"], site="paris-hq", profile="office")
            cloud.seed_desks(["light"], site="paris-hq", profile="fulltime")
            month = Month(
                cloud,
                {
                    "heavy": (9, 19, False),  # 10 connected hours a day: 11 billable, 88 h >= 87.5 h after 8 days
                    "skipper": (9, 19, False),
                    "standby": (9, 19, False),
                    "handy": (9, 19, False),
                    "light": (10, 11, True),  # 1 hour on weekdays (+ 2 h timeout it would get): 63 h by the 31st
                },
            )
            month.tag("skipper", "AutopilotSkipOptimizer")
            month.tag("standby", "AutopilotStandby", "eu-central-1")
            month.hooks[at(3, 12)] = month.by_hand("handy", "ALWAYS_ON")
            month.hooks[at(4, 12)] = month.by_hand("handy", "AUTO_STOP")
            month.run_until(at(1, 6, month=4))
            yield month

    def test_a_heavy_user_moves_to_always_on_mid_month(self, live_month: Month) -> None:
        assert live_month.modes[at(8)]["heavy"] == "AUTO_STOP"
        assert live_month.modes[at(9)]["heavy"] == "ALWAYS_ON"
        assert live_month.run_on(dt.date(2026, 3, 9))["changed"] == [live_month.workspace("heavy")]
        # Never switched back within the month, even though the month-end review looks at ALWAYS_ON desks.
        assert {modes["heavy"] for day, modes in live_month.modes.items() if day >= at(9)} == {"ALWAYS_ON"}

    def test_a_light_always_on_user_moves_to_auto_stop_only_at_the_month_end(self, live_month: Month) -> None:
        assert {modes["light"] for day, modes in live_month.modes.items() if day <= at(30)} == {"ALWAYS_ON"}
        assert live_month.modes[at(31)]["light"] == "AUTO_STOP"
        desk = live_month.cloud.emulator.workspace(live_month.workspace("light"))
        assert desk["autostop_minutes"] == 120  # the fulltime profile's AutoStop
        last_day = live_month.run_on(dt.date(2026, 3, 31))
        assert (last_day["changed"], last_day["closed_month"], last_day["published"]) == (
            [live_month.workspace("light")],
            "2026-03",
            True,
        )

    def test_skip_tag_standby_and_changes_by_hand_are_respected(self, live_month: Month) -> None:
        for user in ("skipper", "standby"):
            assert {modes[user] for modes in live_month.modes.values()} == {"AUTO_STOP"}, user
        # Set to ALWAYS_ON by hand on the 3rd, back to AUTO_STOP on the 4th: left so, although it is a heavy user.
        assert live_month.modes[at(4)]["handy"] == "ALWAYS_ON"
        assert {modes["handy"] for day, modes in live_month.modes.items() if day >= at(5)} == {"AUTO_STOP"}
        # Only the two decisions of the month changed a desk.
        changes = [ws for run in live_month.optimizer_runs() for ws in run.result["changed"]]
        assert sorted(changes) == sorted([live_month.workspace("heavy"), live_month.workspace("light")])
        assert all(run.ok for run in live_month.optimizer_runs())
        assert len(live_month.optimizer_runs()) == 32  # 1-31 March and 1 April

    def test_the_month_report_lists_every_desk_with_its_decision(self, live_month: Month) -> None:
        lines = live_month.report_csv("2026-03")
        rows = {line.split(",")[1]: line.split(",") for line in lines[1:]}
        decision = {user: rows[live_month.workspace(user)][7] for user in live_month.sessions}
        assert decision == {
            "heavy": "to_always_on",
            "light": "to_auto_stop",
            "skipper": "skip",
            "standby": "skip",
            "handy": "skip",
        }
        # The report keeps counting after the last-day decision: 22 weekdays x (1 h + the 2 h timeout it would get).
        assert rows[live_month.workspace("light")][5] == "66"
        assert "by hand" in rows[live_month.workspace("handy")][10]


class TestDryRun:
    """The last week of March 2026 in dry run."""

    @pytest.fixture(scope="class")
    def dry_run_week(self) -> Iterator[Month]:
        policy = POLICIES / "optimizer_dry_run.yaml"
        with LocalCloud(start="2026-03-25T00:00:00Z", policy=policy, handlers=QUIET) as cloud:
            cloud.seed_desks(["heavy"], site="paris-hq", profile="office")
            cloud.seed_desks(["light"], site="paris-hq", profile="fulltime")
            # 16 h a day from the 25th: 17 billable hours a day, 102 h by the run of the 31st.
            month = Month(cloud, {"heavy": (6, 22, False), "light": (10, 11, True)})
            month.run_until(at(1, 6, month=4))
            yield month

    def test_dry_run_decides_and_reports_but_changes_nothing(self, dry_run_week: Month) -> None:
        assert dry_run_week.mode("heavy") == "AUTO_STOP"
        assert dry_run_week.mode("light") == "ALWAYS_ON"
        assert dry_run_week.cloud.api_calls.get("workspaces:ModifyWorkspaceProperties", 0) == 0
        last_day = dry_run_week.run_on(dt.date(2026, 3, 31))
        assert last_day["dry_run"]
        assert (last_day["to_auto_stop"], last_day["changed"]) == (1, [])
        assert last_day["published"]
        rows = {line.split(",")[1]: line.split(",") for line in dry_run_week.report_csv("2026-03")[1:]}
        heavy, light = rows[dry_run_week.workspace("heavy")], rows[dry_run_week.workspace("light")]
        assert (light[7], light[9]) == ("to_auto_stop", "dry run")
        # Heavy passed its break-even on the last day: switching then adds the monthly price prorated for the last
        # 19 hours (0.92) to save 0.78 of hours at the month's pace: kept hourly, on the bill (issue 19).
        assert int(heavy[5]) >= 87.5
        assert (heavy[7], heavy[9]) == ("keep", "")
        assert "late" in heavy[10]


class TestBillingTruth:
    """April 2026 (30 days) on the bill (issue 19): the switch decision with proration, read from the metrics the
    local cloud publishes, against what its billing meter bills."""

    @pytest.fixture(scope="class")
    def april(self) -> Iterator[Month]:
        policy = POLICIES / "optimizer_live.yaml"
        with LocalCloud(start="2026-04-01T00:00:00Z", policy=policy, handlers=QUIET) as cloud:
            cloud.seed_desks(["early", "twin", "late", "prewarmed"], site="paris-hq", profile="office")
            month = Month(
                cloud,
                {
                    "early": (9, 19, False),  # 11 billable hours a day: the break-even on the 8th
                    "twin": (9, 19, False),  # the same, never switched (skip tag): what "early" would have cost
                    "late": (14, 14, False),  # nothing until the 5th (below)
                    "prewarmed": (0, 0, False),  # never logs in
                },
            )
            # Started every morning at 08:00 as pre-warm does (StartWorkspaces), and nobody logs in.
            for day in range(1, 31):
                month.hooks[at(day, 8, month=4)] = month.start("prewarmed")
            month.tag("twin", "AutopilotSkipOptimizer")
            # 3 connected hours + 1 h = 4 h a day from the 5th: 88 h by the run of the 27th.
            month.hooks[at(5, 0, month=4)] = lambda: month.sessions.__setitem__("late", (14, 17, False))
            month.run_until(at(1, 6, month=5))
            yield month

    def bills(self, month: Month) -> dict[str, Any]:
        bills = month.cloud.meter.bill("2026-04")
        return {user: bills[month.workspace(user)] for user in month.sessions}

    def test_an_early_crossing_switches_and_reports_the_saving_the_bill_shows(self, april: Month) -> None:
        assert april.modes[at(9, month=4)]["early"] == "ALWAYS_ON"
        bills = self.bills(april)
        early = next(r for r in april.report_csv("2026-04")[1:] if r.split(",")[1] == april.workspace("early"))
        reported = float(early.split(",")[8])
        assert early.split(",")[7] == "to_always_on"
        assert reported == pytest.approx(bills["twin"].cost - bills["early"].cost, abs=0.01)
        assert reported > 0

    def test_a_late_crossing_does_not_switch(self, april: Month) -> None:
        assert {modes["late"] for modes in april.modes.values()} == {"AUTO_STOP"}
        late = next(r for r in april.report_csv("2026-04")[1:] if r.split(",")[1] == april.workspace("late"))
        hours = int(late.split(",")[5])
        assert hours >= 87.5
        assert late.split(",")[7] == "keep"

    def test_the_optimizers_hours_are_the_meters_hours(self, april: Month) -> None:
        bills = self.bills(april)
        rows = {r.split(",")[1]: r.split(",") for r in april.report_csv("2026-04")[1:]}
        for user in ("twin", "late", "prewarmed"):
            assert int(rows[april.workspace(user)][5]) == bills[user].hours, user

    def test_hours_a_pre_warmed_desk_ran_without_a_user_are_counted(self, april: Month) -> None:
        bills = self.bills(april)
        rows = {r.split(",")[1]: r.split(",") for r in april.report_csv("2026-04")[1:]}
        # 08:00 start (90 s), then the 1 h AutoStop: it runs 08:00-09:01:30, two clock hours a day, all billed.
        assert bills["prewarmed"].hours == 1 + 30 * 2
        assert int(rows[april.workspace("prewarmed")][5]) == bills["prewarmed"].hours

    def test_verify_reads_the_meters_export_back_with_no_error(self, april: Month, tmp_path: Path) -> None:
        path = april.cloud.meter.write_cur(tmp_path / "cur.csv.gz", "2026-04")
        session = Session(backend=world_backend(april.cloud), quiet=True)
        args = ["running-modes", "verify", "--cur", str(path), "--month", "2026-04", "--json"]
        result = CliRunner().invoke(main, args, obj=session)
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        rows = {row["workspace_id"]: row for row in report["rows"]}
        for user in ("early", "twin", "late", "prewarmed"):
            row = rows[april.workspace(user)]
            assert (row["estimated_hours"], row["estimated_cost"]) == (row["billed_hours"], row["billed_cost"]), user
        assert (report["total"]["hours_error"], report["total"]["cost_error"]) == (0.0, 0.0)
