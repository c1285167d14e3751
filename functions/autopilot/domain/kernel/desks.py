"""A desk: one employee's WorkSpace, from the HR event that asks for it to its termination.

    SCHEDULED ──► PROVISIONING ──► READY ──► LEAVING ──► STOPPED ──► TERMINATED
        │              │             ▲
        ├──► CANCELLED └──► FAILED   └── (rehire before termination: back to READY)

The record holds ids and what the automation needs to act; the e-mail is kept only until the welcome
e-mail is sent. Every change is a conditional write on `version`, so no update is lost or goes backwards.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from autopilot.contracts.hr import Shift


class Lifecycle(StrEnum):
    SCHEDULED = "SCHEDULED"
    PROVISIONING = "PROVISIONING"
    READY = "READY"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    LEAVING = "LEAVING"
    STOPPED = "STOPPED"
    TERMINATED = "TERMINATED"


ALLOWED: dict[Lifecycle, frozenset[Lifecycle]] = {
    Lifecycle.SCHEDULED: frozenset({Lifecycle.PROVISIONING, Lifecycle.FAILED, Lifecycle.CANCELLED, Lifecycle.READY}),
    Lifecycle.PROVISIONING: frozenset({Lifecycle.READY, Lifecycle.FAILED, Lifecycle.LEAVING}),
    Lifecycle.READY: frozenset({Lifecycle.LEAVING, Lifecycle.FAILED}),
    Lifecycle.FAILED: frozenset({Lifecycle.SCHEDULED, Lifecycle.CANCELLED}),
    Lifecycle.CANCELLED: frozenset({Lifecycle.SCHEDULED}),
    Lifecycle.LEAVING: frozenset({Lifecycle.STOPPED, Lifecycle.READY, Lifecycle.TERMINATED}),
    Lifecycle.STOPPED: frozenset({Lifecycle.TERMINATED, Lifecycle.READY}),
    Lifecycle.TERMINATED: frozenset({Lifecycle.SCHEDULED}),
}


class IllegalTransition(ValueError):
    pass


class Desk(BaseModel):
    """The desk record (one DynamoDB item). Ids and policy decisions; no names."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    employee_id: str
    lifecycle: Lifecycle
    site: str
    profile: str
    directory_id: str
    bundle_id: str
    username: str
    running_mode: str
    compute: str | None = None
    autostop_hours: int | None = None
    root_volume_gb: int | None = None
    user_volume_gb: int | None = None
    workspace_id: str | None = None
    email: str | None = None  # erased once the welcome e-mail is sent
    shift: Shift | None = None
    prewarm: bool = False
    start_date: dt.date | None = None
    last_day: dt.date | None = None
    origin: str = "hired"  # hired | adopted
    attempts: int = 0
    last_error: str | None = None
    hr_event_time: dt.datetime | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
    provisioning_started_at: dt.datetime | None = None
    ready_at: dt.datetime | None = None
    last_login: dt.datetime | None = None
    last_compute_change_at: dt.datetime | None = None
    version: int = Field(default=0, ge=0)

    def moved_to(self, lifecycle: Lifecycle, *, at: dt.datetime, **changes: object) -> Desk:
        """A copy in a new lifecycle state; refuses transitions the lifecycle does not allow."""
        if lifecycle != self.lifecycle and lifecycle not in ALLOWED[self.lifecycle]:
            raise IllegalTransition(f"desk {self.employee_id}: {self.lifecycle} -> {lifecycle} is not allowed")
        return self.model_copy(update={"lifecycle": lifecycle, "updated_at": at, **changes})

    def with_changes(self, *, at: dt.datetime, **changes: object) -> Desk:
        return self.model_copy(update={"updated_at": at, **changes})


def is_unnamed_adoption(desk: Desk) -> bool:
    """A desk fleet_watch adopted before HR named its user: its employee id is the workspace id (adoption.py)."""
    return desk.origin == "adopted" and desk.employee_id == desk.workspace_id


@dataclass(frozen=True)
class Departure:
    """A departure received before its employee had a desk (the state table's DEPARTED item): a hire that arrives
    later still ends on this last day (onboarding.handle_hire)."""

    employee_id: str
    last_day: dt.date
    event_time: dt.datetime
