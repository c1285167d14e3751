"""The ports of the cost capability (the running-modes optimiser and the usage meter), and the records they
exchange: a managed desk, a month's usage record, a row of the monthly report. Adapters satisfy them
structurally (adapters.usage_store, adapters.usage_metrics, adapters.workspaces); tests give fakes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from autopilot.contracts.outputs import DomainEvent
from autopilot.domain.cost.usage import ConnectedHours, month_start
from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.domain.kernel.errors import AutopilotError

Action = Literal["to_always_on", "to_auto_stop", "keep", "skip"]


class ModeChangeRefused(AutopilotError):
    """WorkSpaces refused to change this desk's running mode (its state, a change in progress): reported per desk."""

    def __init__(self, workspace_id: str, code: str, message: str = "") -> None:
        super().__init__(f"{workspace_id}: {code}: {message}")
        self.workspace_id = workspace_id
        self.code = code


# --- what the ports exchange ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ManagedDesk:
    """A desk carrying the ManagedBy tag, as DescribeWorkspaces and its tags describe it."""

    workspace_id: str
    directory_id: str
    state: str
    running_mode: str
    autostop_minutes: int | None
    compute: str | None
    tags: Mapping[str, str] = field(default_factory=dict)
    # Multi-Region Resilience pairs (DescribeWorkspaces RelatedWorkspaces / StandbyWorkspacesProperties).
    pair_role: Literal["standby", "primary"] | None = None
    # No longer in DescribeWorkspaces (terminated) but measured this month: its last hours are still read.
    gone: bool = False


class UsageRecord(BaseModel):
    """One desk, one UTC month: its connected hours and what the optimiser decided (pk USAGE#ws, sk yyyy-mm)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workspace_id: str
    month: str
    connected: str = "0"  # hex bitmap of the month's UTC hours with a user connected
    running: str = "0"  # hex bitmap of the month's UTC hours the desk ran (AWS/WorkSpaces Stopped = 0)
    carried_in: int = 0  # first hours of the month still covered by the previous month's last AutoStop timeout
    fetched_until: dt.datetime | None = None
    mode_seen: str | None = None
    manual_change_at: dt.datetime | None = None
    intent_to: str | None = None  # a switch about to be requested (survives a crash between request and record)
    intent_at: dt.datetime | None = None
    switched_to: str | None = None
    switched_at: dt.datetime | None = None
    # A switch of ours to ALWAYS_ON: billable hours at the switch, and the share of the month's price it added.
    switch_hours: int | None = None
    switch_share: float | None = None
    closed: bool = False  # the month-end decision on this month was taken
    # The latest decision for the month (the report row); a switch made in the month stays the month's decision.
    employee_id: str | None = None
    compute: str | None = None
    running_mode: str | None = None
    hours: int = 0
    break_even: float | None = None
    decision: Action | None = None
    reason: str = ""
    estimated_saving: float = 0.0
    applied: str = ""
    decided_at: dt.datetime | None = None
    version: int = Field(default=0, ge=0)

    @property
    def connected_hours(self) -> ConnectedHours:
        return ConnectedHours.from_hex(self.month, self.connected)

    @property
    def running_hours(self) -> ConnectedHours:
        return ConnectedHours.from_hex(self.month, self.running)

    def with_connected(
        self, timestamps: Iterable[dt.datetime], *, fetched_until: dt.datetime, ran: Iterable[dt.datetime] = ()
    ) -> UsageRecord:
        merged = self.connected_hours.add(timestamps)
        running = self.running_hours.add(ran)
        return self.model_copy(
            update={"connected": merged.to_hex(), "running": running.to_hex(), "fetched_until": fetched_until}
        )


class ReportRow(BaseModel):
    """One line of the monthly running-mode report (ids only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "month",
        "workspace_id",
        "employee_id",
        "compute",
        "running_mode",
        "hours",
        "break_even",
        "decision",
        "estimated_saving",
        "applied",
        "reason",
    )

    month: str
    workspace_id: str
    employee_id: str | None = None
    compute: str | None = None
    running_mode: str | None = None
    hours: int
    break_even: float | None = None
    decision: Action
    estimated_saving: float = 0.0
    applied: str = ""
    reason: str = ""
    decided_at: dt.datetime

    @classmethod
    def of(cls, record: UsageRecord) -> ReportRow:
        return cls(
            month=record.month,
            workspace_id=record.workspace_id,
            employee_id=record.employee_id,
            compute=record.compute,
            running_mode=record.running_mode,
            hours=record.hours,
            break_even=record.break_even,
            decision=record.decision or "keep",
            estimated_saving=record.estimated_saving,
            applied=record.applied,
            reason=record.reason,
            decided_at=record.decided_at or month_start(record.month),
        )


# --- ports ----------------------------------------------------------------------------------------------------
class ManagedFleet(Protocol):
    def managed_desks(self, directory_ids: Sequence[str], tag_key: str, tag_value: str) -> list[ManagedDesk]: ...

    def set_running_mode(self, workspace_id: str, running_mode: str, autostop_minutes: int | None) -> None:
        """Raises ModeChangeRefused when WorkSpaces refuses this desk's change."""
        ...


class UsageMetrics(Protocol):
    def connected_hours(self, starts: Mapping[str, dt.datetime], end: dt.datetime) -> dict[str, list[dt.datetime]]:
        """Per desk, the start of every hour in [start, end) in which a user was connected."""
        ...

    def running_hours(self, starts: Mapping[str, dt.datetime], end: dt.datetime) -> dict[str, list[dt.datetime]]:
        """Per desk, the start of every hour in [start, end) in which the desk ran (was not stopped)."""
        ...


class UsageStore(Protocol):
    def load(self, workspace_ids: Sequence[str], months: Sequence[str]) -> dict[tuple[str, str], UsageRecord]: ...

    def save(self, record: UsageRecord) -> UsageRecord:
        """Conditional on the record's version; returns it with the next version. StaleUpdate otherwise."""
        ...

    def put_report_row(self, row: ReportRow) -> None: ...

    def report_rows(self, month: str) -> list[ReportRow]: ...


class ReportSource(Protocol):
    def report_rows(self, month: str) -> list[ReportRow]: ...


class OptimizerDesks(Protocol):
    def by_lifecycle(self, lifecycle: Lifecycle) -> Iterable[Desk]: ...


class OptimizerEvents(Protocol):
    def publish(self, events: Sequence[DomainEvent]) -> None: ...


@dataclass(frozen=True)
class OptimizerPorts:
    fleet: ManagedFleet
    metrics: UsageMetrics
    usage: UsageStore
    desks: OptimizerDesks
    bus: OptimizerEvents
