"""CloudWatch alarms fleet_watch owns: read back under a name prefix, put, delete (100 names a call)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autopilot.domain.incidents.alarms import AlarmSpec

DELETE_BATCH = 100


def _spec_of(alarm: dict[str, Any]) -> AlarmSpec | None:
    """The spec an alarm was written from, or None when it is not one this module writes."""
    dimensions = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
    if set(dimensions) != {"DirectoryId"} or alarm.get("Metrics"):
        return None
    return AlarmSpec(
        name=alarm["AlarmName"],
        directory_id=dimensions["DirectoryId"],
        namespace=alarm.get("Namespace", ""),
        metric_name=alarm.get("MetricName", ""),
        statistic=alarm.get("Statistic", ""),
        period=int(alarm.get("Period", 0)),
        evaluation_periods=int(alarm.get("EvaluationPeriods", 0)),
        threshold=float(alarm.get("Threshold", 0)),
        comparison=alarm.get("ComparisonOperator", ""),
        treat_missing_data=alarm.get("TreatMissingData", "missing"),
    )


class Alarms:
    def __init__(self, client: Any) -> None:
        self._client = client

    def existing(self, prefix: str) -> dict[str, AlarmSpec | None]:
        found: dict[str, AlarmSpec | None] = {}
        # botocore's paginator (cloudwatch paginators-1.json: NextToken until none comes back)
        pages = self._client.get_paginator("describe_alarms").paginate(
            AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm"]
        )
        for page in pages:
            for alarm in page.get("MetricAlarms", []):
                found[alarm["AlarmName"]] = _spec_of(alarm)
        return found

    def put(self, spec: AlarmSpec) -> None:
        self._client.put_metric_alarm(
            AlarmName=spec.name,
            AlarmDescription=spec.description,
            Namespace=spec.namespace,
            MetricName=spec.metric_name,
            Dimensions=[{"Name": "DirectoryId", "Value": spec.directory_id}],
            Statistic=spec.statistic,
            Period=spec.period,
            EvaluationPeriods=spec.evaluation_periods,
            Threshold=spec.threshold,
            ComparisonOperator=spec.comparison,
            TreatMissingData=spec.treat_missing_data,
            ActionsEnabled=True,  # no actions: CloudWatch sends each state change to EventBridge, remediate acts
        )

    def delete(self, names: Sequence[str]) -> None:
        for start in range(0, len(names), DELETE_BATCH):
            self._client.delete_alarms(AlarmNames=list(names[start : start + DELETE_BATCH]))
