"""Events AWS services send. The top level of each `detail` is strict (a renamed or added field fails
loudly into the dead-letter path with the field's name); nested objects AWS owns tolerate additions."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator

from autopilot.contracts.common import AwsModel, Envelope, StrictModel, WorkspaceId


# --- S3 "Object Created" (EventBridge notifications enabled on the feed bucket) -------------------------
class S3Bucket(AwsModel):
    name: str


class S3Object(AwsModel):
    key: str = Field(min_length=1, max_length=1024)
    size: int | None = None
    etag: str | None = None
    version_id: str | None = Field(default=None, alias="version-id")
    sequencer: str | None = None


class ObjectCreated(StrictModel):
    version: str
    bucket: S3Bucket
    object: S3Object
    request_id: str = Field(alias="request-id")
    requester: str
    source_ip_address: str | None = Field(default=None, alias="source-ip-address")
    reason: str


class ObjectCreatedEvent(Envelope):
    source: Literal["aws.s3"]
    detail_type: Literal["Object Created"] = Field(alias="detail-type")
    detail: ObjectCreated


# --- WorkSpaces "WorkSpaces Access" (a successful login; best-effort delivery) ---------------------------
class WorkSpacesAccess(StrictModel):
    workspace_id: WorkspaceId = Field(alias="workspaceId")
    directory_id: Annotated[str, StringConstraints(pattern=r"^domain/(d|wsd)-[0-9a-z]{8,63}$")] = Field(
        alias="directoryId"
    )
    login_time: dt.datetime = Field(alias="loginTime")
    action_type: Literal["successfulLogin"] = Field(default="successfulLogin", alias="actionType")
    client_platform: str | None = Field(default=None, alias="clientPlatform")
    client_version: str | None = Field(default=None, alias="clientVersion")
    client_product: str | None = Field(default=None, alias="workspacesClientProductName")
    client_ip_address: str | None = Field(default=None, alias="clientIpAddress")

    @property
    def plain_directory_id(self) -> str:
        """`domain/d-…` as sent by WorkSpaces, without its prefix."""
        return self.directory_id.removeprefix("domain/")


class WorkSpacesAccessEvent(Envelope):
    source: Literal["aws.workspaces"]
    detail_type: Literal["WorkSpaces Access"] = Field(alias="detail-type")
    detail: WorkSpacesAccess


# --- CloudWatch "CloudWatch Alarm State Change" (durable delivery) --------------------------------------
class Metric(AwsModel):
    name: str
    namespace: str
    dimensions: dict[str, str] = Field(default_factory=dict)


class MetricStat(AwsModel):
    metric: Metric
    period: int
    stat: str


class AlarmMetric(AwsModel):
    id: str
    metric_stat: MetricStat | None = Field(default=None, alias="metricStat")
    expression: str | None = None
    return_data: bool | None = Field(default=None, alias="returnData")


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
        # CloudWatch sends reasonData as a JSON *string*.
        if isinstance(value, str):
            return json.loads(value) if value else None
        return value


class AlarmStateChange(StrictModel):
    alarm_name: str = Field(alias="alarmName")
    configuration: AlarmConfiguration
    previous_state: AlarmState | None = Field(default=None, alias="previousState")
    state: AlarmState
    operation: str | None = None

    def dimension(self, name: str) -> str | None:
        for metric in self.configuration.metrics:
            if metric.metric_stat and name in metric.metric_stat.metric.dimensions:
                return metric.metric_stat.metric.dimensions[name]
        return None


class AlarmStateChangeEvent(Envelope):
    source: Literal["aws.cloudwatch"]
    detail_type: Literal["CloudWatch Alarm State Change"] = Field(alias="detail-type")
    detail: AlarmStateChange


# --- Recurring ticks (EventBridge Scheduler with an envelope-shaped Input) ------------------------------
Task = Literal["fleet_watch", "prewarm", "unused_desks", "optimize_running_modes"]


class Tick(StrictModel):
    schema_version: Literal[1] = 1
    task: Task


class ScheduledTickEvent(Envelope):
    source: Literal["aws.scheduler", "aws.events"]
    detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")
    detail: Tick
