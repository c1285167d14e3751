"""The fleet report's facts, computed from one read of the state table (records.Snapshot). Pure: no AWS here;
the operator CLI (`autopilot report --html`) and the weekly ReportFunction both use it."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from autopilot.adapters.state_snapshot import HistoryEntry, Snapshot
from autopilot.domain.cost.usage import month_of
from autopilot.domain.fleet.unused import find_unused
from autopilot.domain.incidents.incidents import Incident
from autopilot.domain.kernel.desks import Desk, Lifecycle

SAMPLES = 40
DRAWN_STATES = ("SCHEDULED", "PROVISIONING", "READY", "LEAVING", "STOPPED", "FAILED")
# What each audit-trail entry (DeskStore.record_event kinds) leaves the desk in.
STATE_AFTER: dict[str, str] = {
    "scheduled": "SCHEDULED",
    "rescheduled": "SCHEDULED",
    "create_requested": "PROVISIONING",
    "adopted": "READY",
    "ready": "READY",
    "rehired": "READY",
    "failed": "FAILED",
    "cancelled": "CANCELLED",
    "offboarding_scheduled": "LEAVING",
    "stopped": "STOPPED",
    "terminated": "TERMINATED",
}
OUTCOMES = ("login", "recheck", "alarm_ok", "operator", "escalated", "open")
LEAD_BINS_MINUTES = (15, 20, 25, 30, 45, 60, 120, 240)


@dataclass(frozen=True)
class StatePoint:
    at: dt.datetime
    counts: dict[str, int]


@dataclass(frozen=True)
class IncidentDay:
    day: dt.date
    outcomes: dict[str, int]


@dataclass(frozen=True)
class UsageBar:
    workspace_id: str
    employee_id: str | None
    hours: int
    break_even: float | None
    running_mode: str | None
    decision: str | None


@dataclass(frozen=True)
class UnusedRow:
    workspace_id: str
    employee_id: str | None
    idle_days: int
    last_login: dt.datetime | None


@dataclass
class ReportData:
    title: str
    source: str
    generated_at: dt.datetime
    period_start: dt.datetime
    period_end: dt.datetime
    desks_total: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    by_profile: dict[str, int] = field(default_factory=dict)
    states_over_time: list[StatePoint] = field(default_factory=list)
    incidents_by_day: list[IncidentDay] = field(default_factory=list)
    incident_outcomes: dict[str, int] = field(default_factory=dict)
    remediation_actions: dict[str, int] = field(default_factory=dict)
    lead_minutes: list[float] = field(default_factory=list)  # CreateWorkspaces -> READY, per desk built
    ready_before_start: int = 0
    ready_late: int = 0
    unused_days: int = 30
    unused: list[UnusedRow] = field(default_factory=list)
    usage_month: str = ""
    usage: list[UsageBar] = field(default_factory=list)

    @property
    def lead_summary(self) -> dict[str, float | int | None]:
        minutes = sorted(self.lead_minutes)
        if not minutes:
            return {"desks": 0, "median_minutes": None, "p90_minutes": None, "max_minutes": None}
        p90 = minutes[min(len(minutes) - 1, round(0.9 * (len(minutes) - 1)))]
        return {
            "desks": len(minutes),
            "median_minutes": round(statistics.median(minutes), 1),
            "p90_minutes": round(p90, 1),
            "max_minutes": round(minutes[-1], 1),
        }

    @property
    def lead_histogram(self) -> list[tuple[str, int]]:
        labels = [f"≤{edge}m" for edge in LEAD_BINS_MINUTES] + [f">{LEAD_BINS_MINUTES[-1]}m"]
        counts = [0] * len(labels)
        for minutes in self.lead_minutes:
            index = next((i for i, edge in enumerate(LEAD_BINS_MINUTES) if minutes <= edge), len(labels) - 1)
            counts[index] += 1
        return list(zip(labels, counts, strict=True))

    def as_dict(self) -> dict[str, object]:
        return {
            "title": self.title,
            "source": self.source,
            "generated_at": self.generated_at.isoformat(),
            "period": [self.period_start.isoformat(), self.period_end.isoformat()],
            "desks_total": self.desks_total,
            "by_state": self.by_state,
            "by_profile": self.by_profile,
            "states_over_time": [{"at": p.at.isoformat(), **p.counts} for p in self.states_over_time],
            "incident_outcomes": self.incident_outcomes,
            "incidents_by_day": [{"day": str(d.day), **d.outcomes} for d in self.incidents_by_day],
            "remediation_actions": self.remediation_actions,
            "provisioning_lead_time": {
                **self.lead_summary,
                "ready_before_start": self.ready_before_start,
                "ready_after_start": self.ready_late,
            },
            "unused_days": self.unused_days,
            "unused": [
                {
                    "workspace_id": u.workspace_id,
                    "employee_id": u.employee_id,
                    "idle_days": u.idle_days,
                    "last_login": u.last_login.isoformat() if u.last_login else None,
                }
                for u in self.unused
            ],
            "usage_month": self.usage_month,
            "autostop_usage": [u.__dict__ for u in self.usage],
        }


def desk_timeline(desk: Desk, history: Iterable[HistoryEntry]) -> list[tuple[dt.datetime, str]]:
    """(moment, state) changes of one desk, from its audit trail, its creation and its current record."""
    changes = [(entry.at, STATE_AFTER[entry.kind]) for entry in history if entry.kind in STATE_AFTER]
    changes.sort(key=lambda change: change[0])
    if not changes or changes[0][0] > desk.created_at:
        first = changes[0][1] if changes else desk.lifecycle.value
        changes.insert(0, (desk.created_at, first))
    if changes[-1][1] != desk.lifecycle.value:
        changes.append((max(desk.updated_at, changes[-1][0]), desk.lifecycle.value))
    return changes


def state_at(timeline: list[tuple[dt.datetime, str]], moment: dt.datetime) -> str | None:
    state = None
    for at, value in timeline:
        if at > moment:
            break
        state = value
    return state


def _outcome(incident: Incident) -> str:
    if incident.is_open:
        return "escalated" if incident.escalated_at else "open"
    return incident.resolved_by or "open"


def build(
    snapshot: Snapshot,
    *,
    now: dt.datetime,
    days: int,
    unused_days: int,
    source: str,
    title: str = "WorkSpaces Autopilot — fleet report",
    month: str | None = None,
) -> ReportData:
    desks = snapshot.desks
    timelines = {desk.employee_id: desk_timeline(desk, snapshot.history.get(desk.employee_id, [])) for desk in desks}
    earliest = min((timeline[0][0] for timeline in timelines.values()), default=now)
    earliest = min([earliest, *(incident.opened_at for incident in snapshot.incidents)])
    start = max(now - dt.timedelta(days=days), earliest)
    data = ReportData(title=title, source=source, generated_at=now, period_start=start, period_end=now)
    data.desks_total = len(desks)
    data.by_state = dict(sorted(Counter(desk.lifecycle.value for desk in desks).items()))
    live = [d for d in desks if d.lifecycle not in (Lifecycle.TERMINATED, Lifecycle.CANCELLED)]
    data.by_profile = dict(sorted(Counter(desk.profile for desk in live).items()))
    data.states_over_time = _series(timelines.values(), start, now)
    _incidents(data, [i for i in snapshot.incidents if i.opened_at >= start or i.is_open])
    _lead_times(data, desks, start)
    observed = {ws: obs.last_user_connection for ws, obs in snapshot.observations.items()}
    data.unused_days = unused_days
    data.unused = [
        UnusedRow(u.workspace_id, u.employee_id, u.idle_days or 0, u.last_login)
        for u in find_unused(desks, observed, unused_days=unused_days, now=now)
    ]
    data.usage_month = month or month_of(now)
    data.usage = _usage(snapshot, data.usage_month)
    return data


def _series(
    timelines: Iterable[list[tuple[dt.datetime, str]]], start: dt.datetime, end: dt.datetime
) -> list[StatePoint]:
    span = max(end - start, dt.timedelta(minutes=1))
    moments = [start + span * (i / (SAMPLES - 1)) for i in range(SAMPLES)]
    points = []
    all_timelines = list(timelines)
    for moment in moments:
        counts = Counter(state_at(timeline, moment) for timeline in all_timelines)
        points.append(StatePoint(moment, {state: counts.get(state, 0) for state in DRAWN_STATES}))
    return points


def _incidents(data: ReportData, incidents: list[Incident]) -> None:
    by_day: dict[dt.date, Counter[str]] = {}
    actions: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    for incident in incidents:
        outcome = _outcome(incident)
        outcomes[outcome] += 1
        by_day.setdefault(incident.opened_at.date(), Counter())[outcome] += 1
        for step in incident.steps:
            if step.action != "none":
                actions[f"{step.action} {step.outcome}"] += 1
    data.incident_outcomes = {outcome: outcomes.get(outcome, 0) for outcome in OUTCOMES}
    data.incidents_by_day = [
        IncidentDay(day, {outcome: counts.get(outcome, 0) for outcome in OUTCOMES})
        for day, counts in sorted(by_day.items())
    ]
    data.remediation_actions = dict(sorted(actions.items()))


def _lead_times(data: ReportData, desks: Iterable[Desk], start: dt.datetime) -> None:
    for desk in desks:
        if desk.ready_at is None or desk.provisioning_started_at is None or desk.ready_at < start:
            continue
        data.lead_minutes.append((desk.ready_at - desk.provisioning_started_at).total_seconds() / 60)
        if desk.start_date is not None:
            if desk.ready_at.date() <= desk.start_date:
                data.ready_before_start += 1
            else:
                data.ready_late += 1


def _usage(snapshot: Snapshot, month: str) -> list[UsageBar]:
    rows: Mapping[str, UsageBar] = {
        row.workspace_id: UsageBar(
            row.workspace_id, row.employee_id, row.hours, row.break_even, row.running_mode, row.decision
        )
        for row in snapshot.report_rows
        if row.month == month
    }
    return sorted(rows.values(), key=lambda bar: (-bar.hours, bar.workspace_id))
