"""GetMetricData calls to read a day of UserConnected for N desks: batched (500 series a call) beside one call per
desk (what AWS's Cost Optimizer for WorkSpaces does), in the same run, against moto.

Calls are counted with a botocore event hook on the client, so what is measured is what would reach CloudWatch.
Both ways read the same desks over the same day and must find the same connected hours (checked), so the
comparison is between two correct answers.

    python -m bench.optimizer_bench            # prints the figures as JSON
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from typing import Any

import boto3
from moto import mock_aws

from autopilot.adapters.usage_metrics import MAX_QUERIES, METRIC, NAMESPACE, PERIOD_SECONDS, UsageMetrics

DAY = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)
END = DAY + dt.timedelta(days=1)
USED_DESKS = 20  # desks with metric data (moto scans every datapoint for every query: keep it small)


def _count_calls(client: Any) -> list[int]:
    """Series asked for in each GetMetricData call, recorded by a botocore hook."""
    calls: list[int] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append(len(params["MetricDataQueries"]))

    client.meta.events.register("before-parameter-build.cloudwatch.GetMetricData", record)
    return calls


def _seed(client: Any, desks: list[str]) -> dict[str, list[dt.datetime]]:
    """A working day (09:00-17:00 UTC) for a spread of desks."""
    used = desks[:: max(1, len(desks) // USED_DESKS)][:USED_DESKS]
    hours = [DAY + dt.timedelta(hours=h) for h in range(9, 17)]
    data = [
        {
            "MetricName": METRIC,
            "Dimensions": [{"Name": "WorkspaceId", "Value": workspace_id}],
            "Timestamp": hour + dt.timedelta(minutes=5),
            "Value": 1.0,
        }
        for workspace_id in used
        for hour in hours
    ]
    for start in range(0, len(data), 1000):
        client.put_metric_data(Namespace=NAMESPACE, MetricData=data[start : start + 1000])
    return dict.fromkeys(used, hours)


def _one_call_per_desk(client: Any, desks: list[str]) -> dict[str, list[dt.datetime]]:
    found: dict[str, list[dt.datetime]] = {}
    for workspace_id in desks:
        query = {
            "Id": "u0",
            "MetricStat": {
                "Metric": {
                    "Namespace": NAMESPACE,
                    "MetricName": METRIC,
                    "Dimensions": [{"Name": "WorkspaceId", "Value": workspace_id}],
                },
                "Period": PERIOD_SECONDS,
                "Stat": "Maximum",
            },
        }
        response = client.get_metric_data(MetricDataQueries=[query], StartTime=DAY, EndTime=END)
        result = response["MetricDataResults"][0]
        found[workspace_id] = sorted(
            stamp for stamp, value in zip(result["Timestamps"], result["Values"], strict=True) if value > 0
        )
    return found


def run(desks: int = 10_000) -> dict[str, Any]:
    """GetMetricData calls for `desks` desks: batched (value) against one call per desk (baseline)."""
    saved = {key: os.environ.get(key) for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="eu-west-1")
    try:
        with mock_aws():
            ids = [f"ws-{n:09d}" for n in range(desks)]
            batched_client = boto3.client("cloudwatch")
            baseline_client = boto3.client("cloudwatch")
            expected = _seed(batched_client, ids)
            batched_calls = _count_calls(batched_client)
            baseline_calls = _count_calls(baseline_client)

            batched = UsageMetrics(batched_client).connected_hours(dict.fromkeys(ids, DAY), END)
            baseline = _one_call_per_desk(baseline_client, ids)

            used = {ws: hours for ws, hours in batched.items() if hours}
            if used != expected or {ws: hours for ws, hours in baseline.items() if hours} != expected:
                raise AssertionError("the batched and per-desk readings disagree with the data put")
            if max(batched_calls) > MAX_QUERIES:
                raise AssertionError(f"a call asked for {max(batched_calls)} series (limit {MAX_QUERIES})")
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return {
        "value": len(batched_calls),
        "baseline": len(baseline_calls),
        "ratio": round(len(baseline_calls) / len(batched_calls), 1),
        "target": math.ceil(desks / MAX_QUERIES),
        "unit": "GetMetricData calls",
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
