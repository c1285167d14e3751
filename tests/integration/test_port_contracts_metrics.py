"""Port contract: connection counts per desk (adapters.metrics_query.ConnectionMetrics on moto's CloudWatch and
fakes_remediation.FakeMetrics), the same cases for both (see test_port_contracts_desks.py for why these live in
the integration tier).

What triage relies on: every desk asked for has counts (0 without data), only datapoints inside the window count,
and attempts are known only while they fit in the calls failures need (up to 250 desks): above that they are
None and the runbook acts on failures alone."""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest

from autopilot.adapters.metrics_query import ConnectionMetrics
from tests.support.contracts import port_fixture
from tests.unit.fakes_remediation import FakeMetrics, ws

NOW = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
WINDOW = (NOW - dt.timedelta(minutes=15), NOW)


class _Real:
    def __init__(self, request: pytest.FixtureRequest) -> None:
        request.getfixturevalue("aws")
        self._cloudwatch = boto3.client("cloudwatch")
        self.port = ConnectionMetrics(self._cloudwatch)

    def fail(self, workspace_id: str, failures: int, at: dt.datetime, attempts: int) -> None:
        self._cloudwatch.put_metric_data(
            Namespace="AWS/WorkSpaces",
            MetricData=[
                {
                    "MetricName": name,
                    "Dimensions": [{"Name": "WorkspaceId", "Value": workspace_id}],
                    "Timestamp": at,
                    "Value": value,
                    "Unit": "Count",
                }
                for name, value in (("ConnectionFailure", failures), ("ConnectionAttempt", attempts))
            ],
        )


class _Fake:
    def __init__(self, _: pytest.FixtureRequest) -> None:
        self.port = FakeMetrics()

    def fail(self, workspace_id: str, failures: int, at: dt.datetime, attempts: int) -> None:
        self.port.fail(workspace_id, failures, at, attempts)


metrics = port_fixture("metrics", {"moto": _Real, "fake-remediation": _Fake})


def test_counts_sum_the_window_and_every_desk_asked_has_counts(metrics: Any) -> None:
    metrics.fail(ws(1), 2, NOW - dt.timedelta(minutes=4), attempts=5)
    metrics.fail(ws(1), 1, NOW - dt.timedelta(minutes=1), attempts=1)
    metrics.fail(ws(1), 50, NOW - dt.timedelta(hours=2), attempts=50)  # before the window
    counts = metrics.port.connection_counts([ws(1), ws(2)], *WINDOW)
    assert {w: (c.failures, c.attempts) for w, c in counts.items()} == {ws(1): (3, 6), ws(2): (0, 0)}


def test_above_250_desks_attempts_are_unknown(metrics: Any) -> None:
    metrics.fail(ws(7), 2, NOW - dt.timedelta(minutes=4), attempts=5)
    counts = metrics.port.connection_counts([ws(n) for n in range(300)], *WINDOW)
    assert len(counts) == 300
    assert (counts[ws(7)].failures, counts[ws(7)].attempts) == (2, None)
    assert {c.attempts for c in counts.values()} == {None}
