"""Connection metrics per desk from CloudWatch GetMetricData, at the API's limit of 500 series a call.

ConnectionFailure per desk (AWS/WorkSpaces, dimension WorkspaceId, Sum), one period covering the whole window:
a 1,000-desk directory costs ceil(1,000 / 500) = 2 calls where asking desk by desk would cost 1,000.
ConnectionAttempt rides along only when it fits in the same calls (up to 250 desks a call, e.g. a re-check of
one desk); the runbook acts on failures alone, so triaging a large directory never pays a call for attempts."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Sequence
from typing import Any

from autopilot.domain.incidents.triage import Counts

NAMESPACE = "AWS/WorkSpaces"
MAX_SERIES = 500
FAILURES = ("f", "ConnectionFailure")
ATTEMPTS = ("a", "ConnectionAttempt")


def _period(start: dt.datetime, end: dt.datetime) -> int:
    """One datapoint per series: the whole window, in whole minutes (CloudWatch wants multiples of 60 s)."""
    return max(60, math.ceil((end - start).total_seconds() / 60) * 60)


class ConnectionMetrics:
    def __init__(self, client: Any, namespace: str = NAMESPACE) -> None:
        self._client = client
        self._namespace = namespace
        self.calls = 0  # GetMetricData calls answered (the benchmark and the tests read it)

    def connection_counts(
        self, workspace_ids: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> dict[str, Counts]:
        """ConnectionFailure sums per desk over [start, end) (and ConnectionAttempt when it costs no extra
        call); desks without data get 0."""
        ids = list(dict.fromkeys(workspace_ids))
        with_attempts = math.ceil(2 * len(ids) / MAX_SERIES) == math.ceil(len(ids) / MAX_SERIES)
        metrics = (FAILURES, ATTEMPTS) if with_attempts else (FAILURES,)
        desks_per_call = MAX_SERIES // len(metrics)
        totals: dict[str, dict[str, float]] = {ws: {"f": 0.0, "a": 0.0} for ws in ids}
        period = _period(start, end)
        for offset in range(0, len(ids), desks_per_call):
            chunk = ids[offset : offset + desks_per_call]
            queries = [
                {
                    "Id": f"{prefix}{index}",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": self._namespace,
                            "MetricName": metric,
                            "Dimensions": [{"Name": "WorkspaceId", "Value": workspace_id}],
                        },
                        "Period": period,
                        "Stat": "Sum",
                    },
                    "ReturnData": True,
                }
                for index, workspace_id in enumerate(chunk)
                for prefix, metric in metrics
            ]
            for result in self._results(queries, start, end):
                prefix, index = result["Id"][0], int(result["Id"][1:])
                totals[chunk[index]][prefix] += sum(result.get("Values", []))
        return {
            ws: Counts(failures=int(t["f"]), attempts=int(t["a"]) if with_attempts else None)
            for ws, t in totals.items()
        }

    def _results(self, queries: list[dict[str, Any]], start: dt.datetime, end: dt.datetime) -> Iterator[dict[str, Any]]:
        # botocore's paginator (cloudwatch paginators-1.json: NextToken until none comes back), one call a page
        pages = self._client.get_paginator("get_metric_data").paginate(
            MetricDataQueries=queries, StartTime=start, EndTime=end
        )
        for page in pages:
            self.calls += 1
            yield from page.get("MetricDataResults", [])
