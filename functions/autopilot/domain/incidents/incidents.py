"""An incident: one desk (or one directory) that users cannot connect to, from detection to resolution.

    OPEN ──(runbook steps, re-checks, holds)──► OPEN, escalated ──► RESOLVED
      └──────────────────────────────────────────────────────────► RESOLVED

At most one incident is open per desk and per directory (the store enforces it with a conditional write on an
`OPEN#<id>` marker). Every step is written to the incident's timeline. Events the incident still has to
publish sit in its `outbox` until they are on the bus, so a crash between the write and the publish loses
nothing: whoever touches the incident next publishes them. Ids and decisions only, never names.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from autopilot.contracts.outputs import BY_DETAIL_TYPE, DomainEvent, IncidentCause, IncidentScope, StepRecord

Status = Literal["OPEN", "RESOLVED"]
ResolvedBy = Literal["alarm_ok", "login", "recheck", "operator"]
# What the incident waits for: nothing (a new incident), a re-check timer, a human, or a change of the desk.
Waiting = Literal["nothing", "recheck", "human", "desk"]

TIMELINE_LIMIT = 200  # an incident's item stays far below DynamoDB's 400 KB
FAILING_IDS_LIMIT = 50


class TimelineEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    at: dt.datetime
    kind: str
    detail: str = ""


class OutboxEntry(BaseModel):
    """Something decided but not yet done outside the table: an event to publish, a timer to set or cancel."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["event", "set_timer", "cancel_timer"]
    detail_type: str = ""
    detail: dict[str, Any] = Field(default_factory=dict)
    timer_name: str = ""
    due: dt.datetime | None = None

    @classmethod
    def event(cls, event: DomainEvent) -> OutboxEntry:
        return cls(kind="event", detail_type=event.DETAIL_TYPE, detail=event.model_dump(mode="json"))

    def domain_event(self) -> DomainEvent:
        return BY_DETAIL_TYPE[self.detail_type].model_validate(self.detail)


class Incident(BaseModel):
    model_config = ConfigDict(extra="forbid")

    incident_id: str = Field(pattern=r"^inc-[0-9a-z-]{1,53}$")
    scope: IncidentScope
    cause: IncidentCause
    directory_id: str
    workspace_id: str | None = None
    employee_id: str | None = None
    status: Status = "OPEN"
    opened_at: dt.datetime
    updated_at: dt.datetime
    resolved_at: dt.datetime | None = None
    resolved_by: ResolvedBy | None = None
    escalated_at: dt.datetime | None = None
    escalation_reason: str | None = None
    failures: int = 0
    attempts: int = 0
    failing_desks: int = 0
    desks_in_directory: int = 0
    failing_ids: list[str] = Field(default_factory=list)  # directory incidents: the failing desks (first 50)
    steps: list[StepRecord] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    waiting: Waiting = "nothing"
    rechecks: int = 0  # re-check timers set so far; the current one is recheck-<incident_id>-<rechecks>
    next_check_at: dt.datetime | None = None
    busy_waits: int = 0  # consecutive re-checks that found the desk still busy (rebooting, rebuilding…)
    held_connected: int = 0  # times the runbook held because the user was connected
    clearing_since: dt.datetime | None = None  # the alarm returned to OK: resolved unless it fires again soon
    outbox: list[OutboxEntry] = Field(default_factory=list)
    version: int = Field(default=0, ge=0)

    # --- reading ---------------------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self.status == "OPEN"

    @property
    def subject(self) -> str:
        """What the incident is about: the desk, or the directory of a systemic outage."""
        return self.workspace_id if self.scope == "desk" and self.workspace_id else self.directory_id

    @property
    def tried(self) -> set[str]:
        """Remediation actions this incident has already asked for (or would have, in dry run)."""
        return {s.action for s in self.steps if s.outcome in ("requested", "dry_run", "succeeded")}

    @property
    def last_step_at(self) -> dt.datetime:
        """When the desk was last acted on or held: failures after it count against the last step."""
        moments = [s.at for s in self.steps]
        return max(moments) if moments else self.opened_at

    @property
    def current_timer(self) -> str | None:
        return recheck_timer_name(self.incident_id, self.rechecks) if self.rechecks else None

    # --- changing (each returns a copy) ----------------------------------------------------------------
    def noted(self, at: dt.datetime, kind: str, detail: str = "") -> Incident:
        timeline = [*self.timeline, TimelineEntry(at=at, kind=kind, detail=detail)][-TIMELINE_LIMIT:]
        return self.model_copy(update={"timeline": timeline, "updated_at": at})

    def with_step(self, step: StepRecord) -> Incident:
        detail = f"{step.action} {step.outcome}" + (f": {step.reason}" if step.reason else "")
        return self.model_copy(update={"steps": [*self.steps, step]}).noted(step.at, "step", detail)

    def with_last_step(self, step: StepRecord) -> Incident:
        """Replace the last step (a requested action the API then refused)."""
        detail = f"{step.action} {step.outcome}" + (f": {step.reason}" if step.reason else "")
        return self.model_copy(update={"steps": [*self.steps[:-1], step]}).noted(step.at, "step", detail)

    def publishing(self, *entries: OutboxEntry) -> Incident:
        return self.model_copy(update={"outbox": [*self.outbox, *entries]})

    def published(self) -> Incident:
        return self.model_copy(update={"outbox": []})

    def awaiting_recheck(self, at: dt.datetime, due: dt.datetime) -> Incident:
        """Ask for the next re-check: a new timer name, so a late timer of an older step is ignored."""
        rechecks = self.rechecks + 1
        timer = OutboxEntry(kind="set_timer", timer_name=recheck_timer_name(self.incident_id, rechecks), due=due)
        return (
            self.model_copy(update={"rechecks": rechecks, "next_check_at": due, "waiting": "recheck"})
            .publishing(timer)
            .noted(at, "recheck_scheduled", f"re-check at {due.isoformat()}")
        )

    def clearing(self, at: dt.datetime, due: dt.datetime) -> Incident:
        """The alarm is back to OK: resolve at `due` unless it fires again before (a flapping alarm must not
        resolve and re-open, and page, every few minutes). Uses a re-check timer; `waiting` is unchanged."""
        rechecks = self.rechecks + 1
        timer = OutboxEntry(kind="set_timer", timer_name=recheck_timer_name(self.incident_id, rechecks), due=due)
        return (
            self.model_copy(update={"rechecks": rechecks, "clearing_since": at})
            .publishing(timer)
            .noted(at, "alarm_ok", f"alarm back to OK: resolving at {due.isoformat()} unless it fires again")
        )

    def fired_again(self, at: dt.datetime) -> Incident:
        """The alarm fired again while clearing: the same incident goes on, its clearing timer is cancelled."""
        if self.clearing_since is None:
            return self
        cancel = OutboxEntry(kind="cancel_timer", timer_name=self.current_timer or "")
        return (
            self.model_copy(update={"clearing_since": None})
            .publishing(cancel)
            .noted(at, "alarm_again", "the alarm fired again before the incident cleared")
        )

    def waiting_for(self, waiting: Waiting, at: dt.datetime) -> Incident:
        return self.model_copy(update={"waiting": waiting, "next_check_at": None, "updated_at": at})

    def escalated(self, reason: str, at: dt.datetime) -> Incident:
        return (
            self.model_copy(update={"escalated_at": at, "escalation_reason": reason})
            .waiting_for("human", at)
            .noted(at, "escalated", reason)
        )

    def resolved(self, by: ResolvedBy, at: dt.datetime, detail: str = "") -> Incident:
        cancel = [OutboxEntry(kind="cancel_timer", timer_name=self.current_timer)] if self.current_timer else []
        return (
            self.model_copy(update={"status": "RESOLVED", "resolved_at": at, "resolved_by": by})
            .waiting_for("nothing", at)
            .publishing(*cancel)
            .noted(at, "resolved", f"by {by}" + (f": {detail}" if detail else ""))
        )


class DeskActions(BaseModel):
    """What the automation did to one desk, across incidents: the guard-rails' memory (caps, cooldowns)."""

    model_config = ConfigDict(extra="forbid")

    workspace_id: str
    reboots: list[dt.datetime] = Field(default_factory=list)
    rebuilds: list[dt.datetime] = Field(default_factory=list)
    restores: list[dt.datetime] = Field(default_factory=list)
    version: int = Field(default=0, ge=0)

    KEEP: ClassVar[dt.timedelta] = dt.timedelta(days=14)

    def recorded(self, action: str, at: dt.datetime) -> DeskActions:
        field = {"reboot": "reboots", "rebuild": "rebuilds", "restore": "restores"}.get(action)
        if field is None:
            return self
        kept = [moment for moment in getattr(self, field) if at - moment < self.KEEP]
        return self.model_copy(update={field: [*kept, at]})

    def count_since(self, action: str, since: dt.datetime) -> int:
        moments: list[dt.datetime] = getattr(self, f"{action}s", [])
        return sum(1 for moment in moments if moment > since)


def recheck_timer_name(incident_id: str, n: int) -> str:
    return f"recheck-{incident_id}-{n}"


def new_incident_id(subject: str, at: dt.datetime) -> str:
    """`inc-<desk or directory id>-<yyyymmddhhmmss>`: readable, and short enough for a timer name (≤ 64)."""
    subject = subject.lower()
    if len(subject) > 29 or not all(c.isalnum() or c == "-" for c in subject):
        digest = hashlib.sha256(subject.encode()).hexdigest()[:8]
        subject = "".join(c for c in subject if c.isalnum() or c == "-")[:20] + "-" + digest
    return f"inc-{subject}-{at.astimezone(dt.UTC):%Y%m%d%H%M%S}"


def open_desk_incident(
    *,
    workspace_id: str,
    directory_id: str,
    employee_id: str | None,
    cause: IncidentCause,
    at: dt.datetime,
    failures: int = 0,
    attempts: int = 0,
    detail: str = "",
) -> Incident:
    return Incident(
        incident_id=new_incident_id(workspace_id, at),
        scope="desk",
        cause=cause,
        directory_id=directory_id,
        workspace_id=workspace_id,
        employee_id=employee_id,
        opened_at=at,
        updated_at=at,
        failures=failures,
        attempts=attempts,
        timeline=[TimelineEntry(at=at, kind="opened", detail=detail or cause)],
    )


def open_directory_incident(
    *, directory_id: str, at: dt.datetime, failing_ids: list[str], desks_in_directory: int, failures: int
) -> Incident:
    return Incident(
        incident_id=new_incident_id(directory_id, at),
        scope="directory",
        cause="connection_failure",
        directory_id=directory_id,
        opened_at=at,
        updated_at=at,
        failures=failures,
        failing_desks=len(failing_ids),
        desks_in_directory=desks_in_directory,
        failing_ids=sorted(failing_ids)[:FAILING_IDS_LIMIT],
        waiting="desk",
        timeline=[
            TimelineEntry(
                at=at,
                kind="opened",
                detail=f"systemic: {len(failing_ids)} of {desks_in_directory} desks failing",
            )
        ],
    )
