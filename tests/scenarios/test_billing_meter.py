"""The local cloud's billing meter and the AWS/WorkSpaces metrics it publishes for every desk (issue 19)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from localcloud.world import LocalCloud

UTC = dt.UTC
POLICIES = Path(__file__).resolve().parents[2] / "scenarios" / "policies"
HOUR = dt.timedelta(hours=1)


def _quiet(event: Any, context: Any) -> dict[str, str]:
    return {"skipped": "not part of the billing scenarios"}


QUIET = dict.fromkeys(("FleetWatchFunction", "PrewarmFunction", "OptimizerFunction"), _quiet)


def hourly(cloud: LocalCloud, workspace_id: str, metric: str, stat: str, start: dt.datetime, hours: int) -> list[float]:
    response = cloud.client("cloudwatch").get_metric_data(
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/WorkSpaces",
                        "MetricName": metric,
                        "Dimensions": [{"Name": "WorkspaceId", "Value": workspace_id}],
                    },
                    "Period": 3600,
                    "Stat": stat,
                },
            }
        ],
        StartTime=start,
        EndTime=start + hours * HOUR,
        ScanBy="TimestampAscending",
    )
    result = response["MetricDataResults"][0]
    by_hour = dict(zip(result["Timestamps"], result["Values"], strict=True))
    return [by_hour.get(start + index * HOUR, -1.0) for index in range(hours)]


@pytest.fixture(scope="module")
def day() -> Any:
    with LocalCloud(start="2026-04-01T00:00:00Z", policy=POLICIES / "optimizer_live.yaml", handlers=QUIET) as cloud:
        cloud.seed_desks(["office"], site="paris-hq", profile="office")  # AUTO_STOP, 1 h AutoStop
        cloud.seed_desks(["fulltime"], site="paris-hq", profile="fulltime")  # ALWAYS_ON
        cloud.advance(dt.timedelta(hours=9, minutes=30))
        cloud.login("office")
        cloud.login("fulltime")
        cloud.advance(dt.timedelta(hours=2))  # 11:30
        cloud.disconnect("office")
        cloud.disconnect("fulltime")
        cloud.advance(dt.timedelta(hours=12, minutes=30))  # 2 April 00:00
        yield cloud


def test_an_autostop_desk_is_billed_every_clock_hour_it_ran_until_the_timeout_expired(day: LocalCloud) -> None:
    bills = day.meter.bill("2026-04")
    office = day.desk_of("office").workspace_id
    hours = [line.start.hour for line in bills[office].lines if line.kind == "hour"]
    # Seeded running at 00:00 and stopped by its 1 h AutoStop; then 09:30-11:30 connected, running until 12:30.
    assert hours == [0, 9, 10, 11, 12]
    assert bills[office].cost == pytest.approx(9.75 + 5 * 0.30)
    fulltime = day.desk_of("fulltime").workspace_id
    assert (bills[fulltime].hours, bills[fulltime].cost) == (0, pytest.approx(36.0))


def test_user_connected_and_stopped_are_published_for_every_desk(day: LocalCloud) -> None:
    start = dt.datetime(2026, 4, 1, 8, tzinfo=UTC)
    office = day.desk_of("office").workspace_id
    # -1: no datapoint (the desk did not run that hour).
    assert hourly(day, office, "UserConnected", "Maximum", start, 6) == [-1, 1, 1, 1, 0, -1]
    # Minutes connected: the stopped desk took 90 s to start, so the session began at 09:31:30.
    assert hourly(day, office, "UserConnected", "Sum", start, 6) == [-1, 29, 60, 30, 0, -1]
    assert hourly(day, office, "Stopped", "Minimum", start, 6) == [-1, 0, 0, 0, 0, -1]
    fulltime = day.desk_of("fulltime").workspace_id
    assert hourly(day, fulltime, "UserConnected", "Maximum", start, 6) == [0, 1, 1, 1, 0, 0]
    assert hourly(day, fulltime, "Stopped", "Maximum", start, 6) == [0, 0, 0, 0, 0, 0]


def test_the_meter_writes_the_month_as_a_cost_and_usage_export(day: LocalCloud, tmp_path: Path) -> None:
    path = day.meter.write_cur(tmp_path / "cur.csv", "2026-04")
    lines = path.read_text().splitlines()
    assert lines[0].startswith("bill_billing_period_start_date,")
    assert len(lines) == 1 + 2 + 5  # header, two monthly fees, five hours
