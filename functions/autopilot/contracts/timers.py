"""One-time timers (EventBridge Scheduler `at(...)` schedules). The schedule's Input is this envelope, so a
timer is parsed like any other event. Timers carry ids only."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from autopilot.contracts.common import EmployeeId, Envelope, StrictModel, WorkspaceId

TimerKind = Literal["provision", "stop", "terminate", "transfer", "recheck"]


class TimerFired(StrictModel):
    schema_version: Literal[1] = 1
    kind: TimerKind
    name: str = Field(pattern=r"^[0-9A-Za-z_.-]{1,64}$")
    due: dt.datetime
    employee_id: EmployeeId | None = None
    workspace_id: WorkspaceId | None = None
    incident_id: str | None = Field(default=None, pattern=r"^inc-[0-9a-z-]{1,60}$")


class TimerFiredEvent(Envelope):
    source: Literal["autopilot.timers"]
    detail_type: Literal["Timer Fired"] = Field(alias="detail-type")
    detail: TimerFired
