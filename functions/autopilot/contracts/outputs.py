"""Events Autopilot publishes on its own bus (source `autopilot`). Ids only, never names or e-mails."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from autopilot.contracts.common import EmployeeId, Envelope, StrictModel, WorkspaceId

SOURCE = "autopilot"

IncidentId = str
Severity = Literal["info", "warning", "critical"]


class DomainEvent(StrictModel):
    """Base of every event on the autopilot bus; DETAIL_TYPE is its EventBridge detail-type."""

    DETAIL_TYPE: ClassVar[str]
    schema_version: Literal[1] = 1
    # True when the policy's dry run decided this and nothing was changed on a desk.
    dry_run: bool = False


class WorkSpaceStateChanged(DomainEvent):
    DETAIL_TYPE: ClassVar[str] = "WorkSpace State Changed"
    workspace_id: WorkspaceId
    directory_id: str
    employee_id: EmployeeId | None = None
    from_state: str | None
    to_state: str
    running_mode: str
    connection_state: Literal["CONNECTED", "DISCONNECTED", "UNKNOWN"] | None = None
    last_known_user_connection: dt.datetime | None = None
    observed_at: dt.datetime


class WorkSpaceReady(DomainEvent):
    DETAIL_TYPE: ClassVar[str] = "WorkSpace Ready"
    workspace_id: WorkspaceId
    employee_id: EmployeeId
    directory_id: str
    ready_at: dt.datetime
    provisioning_seconds: int = Field(ge=0)


class ProvisioningFailed(DomainEvent):
    DETAIL_TYPE: ClassVar[str] = "Provisioning Failed"
    employee_id: EmployeeId
    directory_id: str | None = None
    error_code: str
    reason: str
    attempts: int = Field(ge=0)


class OffboardingScheduled(DomainEvent):
    DETAIL_TYPE: ClassVar[str] = "Offboarding Scheduled"
    employee_id: EmployeeId
    workspace_id: WorkspaceId | None = None
    stop_at: dt.datetime | None = None
    terminate_at: dt.datetime | None = None
    cancelled_provisioning: bool = False


IncidentScope = Literal["desk", "directory"]
IncidentCause = Literal["connection_failure", "unhealthy", "error", "failed_start"]
RemediationAction = Literal["reboot", "rebuild", "restore", "start", "none"]
StepOutcome = Literal["requested", "skipped", "failed", "dry_run", "succeeded"]


class StepRecord(StrictModel):
    action: RemediationAction
    outcome: StepOutcome
    at: dt.datetime
    reason: str = ""


class IncidentOpened(DomainEvent):
    DETAIL_TYPE: ClassVar[str] = "Incident Opened"
    incident_id: IncidentId
    scope: IncidentScope
    cause: IncidentCause
    directory_id: str
    workspace_id: WorkspaceId | None = None
    employee_id: EmployeeId | None = None
    failures: int = Field(default=0, ge=0)
    failing_desks: int = Field(default=0, ge=0)
    desks_in_directory: int = Field(default=0, ge=0)
    opened_at: dt.datetime


class RemediationStep(DomainEvent):
    DETAIL_TYPE: ClassVar[str] = "Remediation Step"
    incident_id: IncidentId
    directory_id: str
    workspace_id: WorkspaceId
    employee_id: EmployeeId | None = None
    step: StepRecord
    next_check_at: dt.datetime | None = None


class IncidentEscalated(DomainEvent):
    DETAIL_TYPE: ClassVar[str] = "Incident Escalated"
    incident_id: IncidentId
    scope: IncidentScope
    directory_id: str
    workspace_id: WorkspaceId | None = None
    employee_id: EmployeeId | None = None
    reason: str
    steps: list[StepRecord] = Field(default_factory=list)


class IncidentResolved(DomainEvent):
    DETAIL_TYPE: ClassVar[str] = "Incident Resolved"
    incident_id: IncidentId
    scope: IncidentScope
    directory_id: str
    workspace_id: WorkspaceId | None = None
    employee_id: EmployeeId | None = None
    resolved_by: Literal["alarm_ok", "login", "recheck", "operator"]
    opened_at: dt.datetime
    resolved_at: dt.datetime
    steps: list[StepRecord] = Field(default_factory=list)


class FeedHeld(DomainEvent):
    DETAIL_TYPE: ClassVar[str] = "Feed Held"
    feed_id: str
    departures: int = Field(ge=0)
    threshold: int = Field(ge=0)  # offboarding.max_departures_per_feed
    held_at: dt.datetime
    hires: int = Field(default=0, ge=0)
    max_hires: int | None = Field(default=None, ge=0)  # onboarding.max_hires_per_feed


class FeedRejected(DomainEvent):
    """A roster file refused as a whole (unreadable, bad header): nothing from it was applied."""

    DETAIL_TYPE: ClassVar[str] = "Feed Rejected"
    feed_id: str
    reason: str = Field(min_length=1)  # names the file, the columns and the fix; never a row's content
    rejected_at: dt.datetime


class PolicyRejected(DomainEvent):
    DETAIL_TYPE: ClassVar[str] = "Policy Rejected"
    parameter: str
    errors: list[str] = Field(min_length=1)


class UnusedDesk(StrictModel):
    workspace_id: WorkspaceId
    employee_id: EmployeeId | None = None
    last_login: dt.datetime | None = None
    idle_days: int | None = None


class UnusedDesksFound(DomainEvent):
    DETAIL_TYPE: ClassVar[str] = "Unused Desks Found"
    unused_days: int = Field(ge=1)
    desks: list[UnusedDesk]


class FleetReportPublished(DomainEvent):
    """The weekly fleet report is in the report bucket: its key and a presigned link (valid at most 7 days)."""

    DETAIL_TYPE: ClassVar[str] = "Fleet Report Published"
    report_key: str = Field(min_length=1, max_length=1024)
    url: str = Field(pattern=r"^https://", max_length=8192)
    desks: int = Field(ge=0)
    generated_at: dt.datetime


class RunningModesOptimised(DomainEvent):
    """Summary of an optimiser run that changed (or, in dry run, would change) something, or closed a month."""

    DETAIL_TYPE: ClassVar[str] = "Running Modes Optimised"
    month: str
    closed_month: str | None = None
    dry_run: bool
    desks: int = Field(ge=0)
    to_always_on: int = Field(ge=0)
    to_auto_stop: int = Field(ge=0)
    changed: int = Field(ge=0)
    failed: int = Field(ge=0)
    deferred: int = Field(ge=0)
    skipped: int = Field(ge=0)
    estimated_monthly_saving: float
    changed_workspace_ids: list[WorkspaceId] = Field(default_factory=list, max_length=100)
    failed_workspace_ids: list[WorkspaceId] = Field(default_factory=list, max_length=100)
    ran_at: dt.datetime


OUTPUT_EVENTS: tuple[type[DomainEvent], ...] = (
    WorkSpaceStateChanged,
    WorkSpaceReady,
    ProvisioningFailed,
    OffboardingScheduled,
    IncidentOpened,
    RemediationStep,
    IncidentEscalated,
    IncidentResolved,
    FeedHeld,
    FeedRejected,
    PolicyRejected,
    UnusedDesksFound,
    RunningModesOptimised,
    FleetReportPublished,
)
BY_DETAIL_TYPE: dict[str, type[DomainEvent]] = {model.DETAIL_TYPE: model for model in OUTPUT_EVENTS}


class AutopilotEvent(Envelope):
    """An event on the autopilot bus, as a consumer receives it."""

    source: Literal["autopilot"]
    detail: dict[str, object]

    @field_validator("detail_type")
    @classmethod
    def _known_detail_type(cls, value: str) -> str:
        if value not in BY_DETAIL_TYPE:
            raise ValueError(f"unknown autopilot detail-type {value!r}")
        return value

    def parsed(self) -> DomainEvent:
        model = BY_DETAIL_TYPE.get(self.detail_type)
        if model is None:
            raise ValueError(f"unknown autopilot detail-type {self.detail_type!r}")
        return model.model_validate(self.detail)
