"""Port contract: the hours the optimiser reads per desk (adapters.usage_metrics.UsageMetrics, GetMetricData on
moto's CloudWatch, and fakes_optimizer.FakeMetrics), the same cases for both (see test_port_contracts_desks.py
for why these live in the integration tier).

What the optimiser relies on (domain/cost/ports.UsageMetrics): per desk asked, the start of every UTC hour in
[its start, end) in which a user was connected (`UserConnected` Maximum > 0) or the desk ran (`Stopped` Minimum
< 1); every desk asked has an entry, empty without data; a desk's own start bounds what is read for it even when
it is read in one call with older desks; more than 500 desks (GetMetricData's limit of queries a call) lose
nothing. The metrics and their meaning: docs/optimizer.md, citing
https://docs.aws.amazon.com/workspaces/latest/adminguide/cloudwatch-metrics.html."""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest

from autopilot.adapters.usage_metrics import UsageMetrics
from tests.support.contracts import port_fixture
from tests.unit.fakes_optimizer import FakeMetrics

HOUR = dt.timedelta(hours=1)
DAY_START = dt.datetime(2026, 11, 30, 0, tzinfo=dt.UTC)
END = DAY_START + dt.timedelta(days=1)


class _Real:
    """Writes what AWS/WorkSpaces would have recorded: UserConnected 1 for each connected hour, Stopped 0 for each
    hour the desk ran (one datapoint a few minutes into the hour, as the 5-minute metrics would be)."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        request.getfixturevalue("aws")
        self._cloudwatch = boto3.client("cloudwatch")
        self.port = UsageMetrics(self._cloudwatch)

    def _put(self, workspace_id: str, name: str, value: float, hours: list[dt.datetime]) -> None:
        data = [
            {
                "MetricName": name,
                "Dimensions": [{"Name": "WorkspaceId", "Value": workspace_id}],
                "Timestamp": hour + dt.timedelta(minutes=5),
                "Value": value,
            }
            for hour in hours
        ]
        for start in range(0, len(data), 500):
            self._cloudwatch.put_metric_data(Namespace="AWS/WorkSpaces", MetricData=data[start : start + 500])

    def use(self, workspace_id: str, start: dt.datetime, hours: int) -> None:
        self._put(workspace_id, "UserConnected", 1, [start + n * HOUR for n in range(hours)])
        self.run(workspace_id, start, hours + 1 if hours else 0)

    def run(self, workspace_id: str, start: dt.datetime, hours: int) -> None:
        self._put(workspace_id, "Stopped", 0, [start + n * HOUR for n in range(hours)])


class _Fake:
    def __init__(self, _: pytest.FixtureRequest) -> None:
        self.port = FakeMetrics()

    def use(self, workspace_id: str, start: dt.datetime, hours: int) -> None:
        self.port.use(workspace_id, start, hours)

    def run(self, workspace_id: str, start: dt.datetime, hours: int) -> None:
        self.port.run(workspace_id, start, hours)


metrics = port_fixture("metrics", {"moto": _Real, "fake-running-modes": _Fake})


def _hours(first: int, count: int) -> list[dt.datetime]:
    return [DAY_START + (first + n) * HOUR for n in range(count)]


def test_connected_and_running_hours_in_the_window_and_every_desk_asked_has_an_entry(metrics: Any) -> None:
    metrics.use("ws-00000001", DAY_START + 8 * HOUR, 3)  # connected 08-11, ran 08-12 (its hour of AutoStop)
    metrics.run("ws-00000002", DAY_START + 6 * HOUR, 1)  # pre-warmed, nobody came
    metrics.use("ws-00000001", DAY_START - 3 * HOUR, 1)  # the day before: outside the window
    starts = dict.fromkeys(["ws-00000001", "ws-00000002", "ws-00000003"], DAY_START)
    assert metrics.port.connected_hours(starts, END) == {
        "ws-00000001": _hours(8, 3),
        "ws-00000002": [],
        "ws-00000003": [],
    }
    assert metrics.port.running_hours(starts, END) == {
        "ws-00000001": _hours(8, 4),
        "ws-00000002": _hours(6, 1),
        "ws-00000003": [],
    }


def test_a_desk_s_own_start_bounds_what_is_read_for_it(metrics: Any) -> None:
    metrics.use("ws-00000001", DAY_START + 2 * HOUR, 2)
    metrics.use("ws-00000002", DAY_START + 2 * HOUR, 2)
    starts = {"ws-00000001": DAY_START, "ws-00000002": DAY_START + 3 * HOUR}  # read in one call
    assert metrics.port.connected_hours(starts, END) == {"ws-00000001": _hours(2, 2), "ws-00000002": _hours(3, 1)}
    assert metrics.port.connected_hours(starts, DAY_START + 3 * HOUR) == {
        "ws-00000001": _hours(2, 1),
        "ws-00000002": [],
    }


def test_a_start_inside_an_hour_counts_that_hour(metrics: Any) -> None:
    metrics.use("ws-00000001", DAY_START + 8 * HOUR, 2)
    starts = {"ws-00000001": DAY_START + 8 * HOUR + dt.timedelta(minutes=30)}
    assert metrics.port.connected_hours(starts, END) == {"ws-00000001": _hours(8, 2)}


def test_more_desks_than_one_call_holds_lose_nothing(metrics: Any) -> None:
    metrics.use("ws-00000007", DAY_START + 9 * HOUR, 1)
    metrics.use("ws-00000555", DAY_START + 10 * HOUR, 1)
    starts = {f"ws-{n:08d}": DAY_START for n in range(600)}
    found = metrics.port.connected_hours(starts, END)
    assert len(found) == 600
    assert {ws: hours for ws, hours in found.items() if hours} == {
        "ws-00000007": _hours(9, 1),
        "ws-00000555": _hours(10, 1),
    }
