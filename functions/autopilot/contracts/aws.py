"""Events AWS services send, read tolerantly: each model names only the fields a handler acts on, checks the ids
it uses loosely (AwsWorkspaceId, not botocore's request pattern) and ignores everything else, at every level,
envelope included. AWS adds fields to its events without notice (S3 added `event-version`, WorkSpaces
`clientVersion`); a strict model would turn each addition into failed invocations, retries, dead letters and a
page, and lose the work. An event that still cannot be acted on is dropped by its handler, logged with its
event id and counted (handlers/aws_events.py). The samples AWS documents are in events/aws/.

The recurring tick at the end is ours (the schedule's Input is written by the template), so it stays strict."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from pydantic import Field, field_validator

from autopilot.contracts.common import AwsDetail, AwsEnvelope, AwsModel, AwsWorkspaceId, Envelope, StrictModel


# --- S3 "Object Created" (EventBridge notifications enabled on the feed bucket) -------------------------
class S3Bucket(AwsModel):
    name: str = Field(min_length=1)


class S3Object(AwsModel):
    key: str = Field(min_length=1, max_length=1024)
    # Read to fetch exactly the version that was written; absent on an unversioned bucket.
    etag: str | None = None
    version_id: str | None = Field(default=None, alias="version-id")


class ObjectCreated(AwsDetail):
    bucket: S3Bucket
    object: S3Object


class ObjectCreatedEvent(AwsEnvelope):
    source: Literal["aws.s3"]
    detail_type: Literal["Object Created"] = Field(alias="detail-type")
    detail: ObjectCreated


# --- WorkSpaces "WorkSpaces Access" (a successful login; best-effort delivery) ---------------------------
class WorkSpacesAccess(AwsDetail):
    """The desk and the time of the login. The client's IP address, platform and version are never read: the
    first is personal data, and none of them is acted on."""

    workspace_id: AwsWorkspaceId = Field(alias="workspaceId")
    login_time: dt.datetime = Field(alias="loginTime")
    # `domain/d-…` in AWS's documentation, `d-…` in its earlier samples; informative only (the desk record knows
    # its directory), so anything but a string is ignored rather than a reason to drop the login.
    directory_id: str | None = Field(default=None, alias="directoryId")

    @field_validator("directory_id", mode="before")
    @classmethod
    def _string_or_nothing(cls, value: object) -> object:
        return value if isinstance(value, str) else None

    @property
    def plain_directory_id(self) -> str:
        """`domain/d-…` as sent by WorkSpaces, without its prefix ("" when absent)."""
        return (self.directory_id or "").removeprefix("domain/")


class WorkSpacesAccessEvent(AwsEnvelope):
    source: Literal["aws.workspaces"]
    detail_type: Literal["WorkSpaces Access"] = Field(alias="detail-type")
    detail: WorkSpacesAccess


# --- CloudWatch "CloudWatch Alarm State Change" (durable delivery) --------------------------------------
class Metric(AwsModel):
    dimensions: dict[str, Any] = Field(default_factory=dict)


class MetricStat(AwsModel):
    metric: Metric = Field(default_factory=Metric)
    period: int | None = None


class AlarmMetric(AwsModel):
    metric_stat: MetricStat | None = Field(default=None, alias="metricStat")


class AlarmConfiguration(AwsModel):
    description: str | None = None
    metrics: list[AlarmMetric] = Field(default_factory=list)


class AlarmState(AwsModel):
    value: Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
    reason: str = ""
    reason_data: dict[str, Any] | None = Field(default=None, alias="reasonData")
    timestamp: dt.datetime

    @field_validator("reason_data", mode="before")
    @classmethod
    def _json_string(cls, value: object) -> object:
        # CloudWatch sends reasonData as a JSON *string*; its content is a hint (the evaluated datapoints), so
        # one we cannot read is ignored rather than a reason to drop the alarm.
        if isinstance(value, str):
            try:
                value = json.loads(value) if value else None
            except ValueError:
                return None
        return value if isinstance(value, dict) else None

    @property
    def evaluated_at(self) -> list[dt.datetime]:
        """When the datapoints CloudWatch evaluated were taken (reasonData.evaluatedDatapoints), as far as they are
        written as times with an offset: a hint for the triage window, so the others are left out."""
        points = (self.reason_data or {}).get("evaluatedDatapoints")
        found = []
        for point in points if isinstance(points, list) else []:
            stamp = point.get("timestamp") if isinstance(point, dict) else None
            try:
                moment = dt.datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
            except ValueError:
                continue
            if moment is not None and moment.tzinfo is not None:
                found.append(moment)
        return found


class AlarmStateChange(AwsDetail):
    alarm_name: str = Field(alias="alarmName", min_length=1)
    configuration: AlarmConfiguration = Field(default_factory=AlarmConfiguration)
    previous_state: AlarmState | None = Field(default=None, alias="previousState")
    state: AlarmState

    def dimension(self, name: str) -> str | None:
        """The first metric's `name` dimension, when it is a string."""
        for metric in self.configuration.metrics:
            value = metric.metric_stat.metric.dimensions.get(name) if metric.metric_stat else None
            if isinstance(value, str):
                return value
        return None


class AlarmStateChangeEvent(AwsEnvelope):
    source: Literal["aws.cloudwatch"]
    detail_type: Literal["CloudWatch Alarm State Change"] = Field(alias="detail-type")
    detail: AlarmStateChange


# --- Recurring ticks (EventBridge Scheduler with an envelope-shaped Input) ------------------------------
# Ours: the Input is written in template.yaml, so an unknown field is our own mistake and is refused.
Task = Literal["fleet_watch", "prewarm", "unused_desks", "optimize_running_modes"]


class Tick(StrictModel):
    schema_version: Literal[1] = 1
    task: Task


class ScheduledTickEvent(Envelope):
    source: Literal["aws.scheduler", "aws.events"]
    detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")
    detail: Tick
