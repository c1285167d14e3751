"""Running-mode optimisation: for each managed desk, pay by the hour (AUTO_STOP) or by the month (ALWAYS_ON),
whichever is cheaper.

Once a day: month-to-date usage (UserConnected, batched) -> billable hours as AWS bills AUTO_STOP -> a decision
per desk -> (unless dry run) ModifyWorkspaceProperties -> the month's report rows -> a summary event.

- AUTO_STOP -> ALWAYS_ON when the desk's billable hours this month reach its break-even (prorated to the days
  the desk existed this month) and, on the bill, staying hourly for the rest of the month (its hours expected by
  weekday) costs more than the monthly price prorated for the rest of the month that the switch adds, by 10 %
  (AWS bills both: the hours and AutoStop fee already billed stay billed). The saving reported is that
  difference; once the month is over it is restated from the hours the desk would have been billed by the hour
  after the switch.
- ALWAYS_ON -> AUTO_STOP only at the month's end (AWS bills that month in full anyway): on the month's last UTC
  day, or on the first run of the next month for the desks that were not decided then, when the month's hours
  (what the desk would have been billed by the hour) stayed below the break-even.
- Never: a desk with the skip tag, a standby desk, a desk whose running mode changed by hand this month (or that
  we switched this month: no flapping back within a month), a compute type without a price.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from autopilot.contracts.outputs import DomainEvent, RunningModesOptimised
from autopilot.domain.desks import Desk, Lifecycle
from autopilot.domain.errors import AutopilotError, PolicyError
from autopilot.domain.policy import Policy
from autopilot.domain.resolution import Resolution
from autopilot.domain.running_mode_policy import Optimizer, Price
from autopilot.domain.switch_timing import LAG, switch_outlook, usage_profile
from autopilot.domain.usage import (
    HOUR,
    ActivePeriod,
    ConnectedHours,
    autostop_hours,
    billable_hours,
    carried_over,
    expected_hours,
    floor_hour,
    hours_in_month,
    is_last_day,
    month_end,
    month_of,
    month_start,
    previous_month,
    prorated_break_even,
    remaining_share,
    running_hour_set,
)

Action = Literal["to_always_on", "to_auto_stop", "keep", "skip"]
SWITCHES: dict[str, str] = {"to_always_on": "ALWAYS_ON", "to_auto_stop": "AUTO_STOP"}
MODIFIABLE_STATES = frozenset({"AVAILABLE", "STOPPED"})
# Re-read the last hours of each desk every run: the current hour is partial and CloudWatch data can land late.
# Re-reading is harmless, connected hours only ever add up.
OVERLAP = dt.timedelta(hours=3)
# Desk records that can have a WorkSpace (the others never reached CreateWorkspaces or are gone).
LIVE_LIFECYCLES = (Lifecycle.PROVISIONING, Lifecycle.READY, Lifecycle.LEAVING, Lifecycle.STOPPED)
MAX_IDS_IN_EVENT = 100
# The hours ahead are a projection: a switch to ALWAYS_ON must save at least this share of what it adds, so that a
# projection slightly off (a day off sick, a short week) does not make the desk dearer than staying hourly.
SWITCH_MARGIN = 0.10
# Tags provisioning puts on every desk it creates (and adoption reads): who it is for, and which profile.
EMPLOYEE_TAG = "AutopilotEmployeeId"
PROFILE_TAG = "AutopilotProfile"


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


class DeskRecords(Protocol):
    def by_lifecycle(self, lifecycle: Lifecycle) -> Iterable[Desk]: ...


class Publisher(Protocol):
    def publish(self, events: Sequence[DomainEvent]) -> None: ...


@dataclass(frozen=True)
class OptimizerPorts:
    fleet: ManagedFleet
    metrics: UsageMetrics
    usage: UsageStore
    desks: DeskRecords
    bus: Publisher


# --- decisions (pure) ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MonthUsage:
    """A desk's month as the decision sees it."""

    month: str
    hours: int  # billable hours to date (for an ALWAYS_ON desk: what it would have been billed by the hour)
    break_even: float  # prorated to the days the desk existed this month
    period: ActivePeriod
    observed_fraction: float  # share of the month observed so far
    maintenance: int = 0  # hours of the directory's maintenance window in `hours` (a fixed amount, not a pace)
    switch_share: float = 0.0  # share of the monthly price a switch to ALWAYS_ON now adds (0: the month is over)
    expected_more: float | None = None  # hours still to come, by weekday (usage.expected_hours); None: at the pace
    # Two weeks or more of the desk's last four weeks observed (switch_timing): its forecast is evidence enough to
    # switch before the break-even is reached, and a later run expected cheaper is waited for.
    settled: bool = False
    wait_until: dt.datetime | None = None
    wait_saves: float = 0.0

    @property
    def left_fraction(self) -> float:
        """Share of the month the desk still exists after what was observed."""
        month = month_end(self.month) - month_start(self.month)
        observed_until = self.period.start + self.observed_fraction * month
        return max(0.0, (self.period.end - observed_until) / month)

    @property
    def projected_more(self) -> float:
        """Billable hours still to come this month: by weekday when known, else at the pace observed so far
        (maintenance aside)."""
        if self.expected_more is not None:
            return self.expected_more
        left = self.left_fraction
        if self.observed_fraction <= 0 or left <= 0:
            return 0.0
        pace = max(self.hours - self.maintenance, 0) / self.observed_fraction
        return min(pace * left, left * hours_in_month(self.month))

    @property
    def projected_hours(self) -> float:
        """Billable hours over the month at the pace observed so far."""
        return self.hours + self.projected_more


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    estimated_saving: float = 0.0  # per month, at the pace observed, in the policy's currency


def decide(
    *,
    running_mode: str,
    usage: MonthUsage,
    price: Price | None,
    closing: bool,
    hold: str | None,
    previous_month: bool = False,
) -> Decision:
    """What this desk's running mode should be.

    `closing`: the month's end, when ALWAYS_ON desks are reviewed; `previous_month`: the decision is taken after
    the month ended (first run of the next month), when only ALWAYS_ON desks have something left to decide."""
    if hold:
        return Decision("skip", hold)
    if price is None:
        return Decision("skip", "no price for this compute type in optimizer.prices")
    hours, threshold = usage.hours, usage.break_even
    if running_mode == "AUTO_STOP" and previous_month:
        return Decision("keep", f"{usage.month} closed at {hours} h (break-even {threshold:.1f} h)")
    if running_mode == "AUTO_STOP":
        if hours < threshold and not usage.settled:
            return Decision("keep", f"{hours} h, below the break-even of {threshold:.1f} h")
        # On the bill: the hours and the AutoStop fee billed so far stay billed either way; what differs is the
        # rest of the month, by the hour at the pace expected, or the monthly price prorated from now.
        hourly = price.hourly * usage.projected_more
        monthly = price.monthly * usage.switch_share
        costs = f"the rest of the month costs {hourly:.2f} by the hour, {monthly:.2f} prorated monthly"
        if usage.settled:
            so_far = f"{hours} h so far and {usage.projected_more:.0f} h more expected from its last four weeks"
        else:
            so_far = f"{hours} h reached the break-even of {threshold:.1f} h"
        if hourly > monthly * (1 + SWITCH_MARGIN):
            if usage.wait_until is not None:
                day = usage.wait_until
                return Decision(
                    "keep",
                    f"{so_far}; {costs}, but switching on {day.day} {day:%B} is expected to cost "
                    f"{usage.wait_saves:.2f} less (idle days before it)",
                )
            saving = round(hourly - monthly, 2)
            return Decision("to_always_on", f"{so_far}; {costs}", saving)
        if usage.settled:
            return Decision("keep", f"{so_far}: {costs}")
        return Decision("keep", f"{so_far} late: {costs}")
    if running_mode == "ALWAYS_ON":
        if not closing:
            return Decision("keep", f"{hours} h of {threshold:.1f} h so far; ALWAYS_ON desks are reviewed at month end")
        if hours < threshold:
            saving = price.monthly - price.autostop_base - price.hourly * usage.projected_hours
            return Decision(
                "to_auto_stop",
                f"{usage.month} closed at {hours} h, below the break-even of {threshold:.1f} h",
                round(max(saving, 0.0), 2),
            )
        return Decision("keep", f"{usage.month} closed at {hours} h, above the break-even of {threshold:.1f} h")
    return Decision("skip", f"running mode {running_mode} is not optimised")


def exclusion(desk: ManagedDesk, settings: Optimizer) -> str | None:
    """Why a desk is left alone whatever its usage (None: it is not)."""
    if desk.gone:
        return "terminated: its last hours are counted, it is not switched"
    if desk.pair_role == "standby":
        return "standby desk (WorkSpaces standby of another desk)"
    if desk.pair_role == "primary":
        return "primary of a standby pair: its running mode is left to operators"
    if settings.standby_tag in desk.tags:
        return f"standby desk (tag {settings.standby_tag})"
    if settings.skip_tag in desk.tags:
        return f"skip tag {settings.skip_tag}"
    return None


def maintenance_by_directory(policy: Policy, resolution: Resolution) -> dict[str, int]:
    """optimizer.maintenance_hours keyed by directory id; a key that names no directory of the sites is refused."""
    ids_by_name = {site.directory: resolution.directories[name] for name, site in policy.sites.items()}
    unknown = sorted(set(policy.optimizer.maintenance_hours) - set(ids_by_name))
    if unknown:
        raise PolicyError(
            [
                f"optimizer.maintenance_hours.{key}: not a directory of any site (use the sites' names or ids)"
                for key in unknown
            ]
        )
    return {ids_by_name[key]: hours for key, hours in policy.optimizer.maintenance_hours.items()}


def observe_mode(
    desk: ManagedDesk, current: UsageRecord, previous: UsageRecord | None, now: dt.datetime
) -> tuple[UsageRecord, UsageRecord | None, bool]:
    """Compare the desk's running mode with the last one seen: settle an interrupted switch of ours, or note a
    change made by hand. Returns the records updated and whether a change by hand was seen in this run."""
    ours = {r.intent_to for r in (current, previous) if r is not None and r.intent_to == desk.running_mode}
    current = _settle_intent(desk, current)
    previous = _settle_intent(desk, previous) if previous is not None else None
    last_seen = current.mode_seen or (previous.mode_seen if previous is not None else None)
    by_hand = last_seen is not None and desk.running_mode not in {last_seen} | ours
    changes: dict[str, object] = {"mode_seen": desk.running_mode}
    if by_hand:
        changes["manual_change_at"] = now
    return current.model_copy(update=changes), previous, by_hand


def _settle_intent(desk: ManagedDesk, record: UsageRecord) -> UsageRecord:
    """A switch requested in an earlier run that did not get recorded: it happened if the desk has that mode."""
    if record.intent_to is None:
        return record
    changes: dict[str, object] = {"intent_to": None, "intent_at": None}
    if desk.running_mode == record.intent_to:
        changes |= {"switched_to": record.intent_to, "switched_at": record.intent_at}
    return record.model_copy(update=changes)


def _gone(usage: UsageStore, month: str, managed: set[str]) -> list[ManagedDesk]:
    """Desks measured this month that DescribeWorkspaces no longer lists (terminated since the last run): the hours
    between that run and the termination are billed too, so they are read once more (a leaver's last day)."""
    gone = sorted({row.workspace_id for row in usage.report_rows(month)} - managed)
    stored = usage.load(gone, [month]) if gone else {}
    desks = []
    for (workspace_id, _), record in sorted(stored.items()):
        if record.closed or record.running_mode is None or record.fetched_until is None:
            continue
        # Read once after it is gone: later runs find it fetched up to a time after it was last listed.
        if record.decision == "skip" and record.reason.startswith("terminated"):
            continue
        desks.append(ManagedDesk(workspace_id, "", "TERMINATED", record.running_mode, None, record.compute, gone=True))
    return desks


def _billed_hourly(record: UsageRecord) -> bool:
    """Whether the hours a desk ran count for this month: not once we switched it from ALWAYS_ON to AUTO_STOP in
    the month (the month is paid monthly; its hours are what it would have cost by the hour, from sessions)."""
    return record.switched_to != "AUTO_STOP"


def _billed_at(record: UsageRecord, timeout: int) -> set[dt.datetime]:
    """The hours of the record's month the desk was (or, ALWAYS_ON, would have been) billed by the hour."""
    start = month_start(record.month)
    indexes = running_hour_set(record.connected_hours, timeout, carried_in=record.carried_in)
    indexes |= record.running_hours.hours
    return {start + index * HOUR for index in indexes}


def fetch_start(current: UsageRecord | None, previous: UsageRecord | None, month: str) -> dt.datetime:
    """Where a desk's usage must be read from: a little before what was already read, never before last month."""
    earliest = month_start(previous_month(month))
    for record in (current, previous):
        if record is not None and record.fetched_until is not None:
            return max(floor_hour(record.fetched_until - OVERLAP), earliest)
    return month_start(month)


# --- the run -------------------------------------------------------------------------------------------------
@dataclass
class RunOutcome:
    month: str
    enabled: bool = True
    dry_run: bool = True
    closed_month: str | None = None
    desks: int = 0
    to_always_on: int = 0
    to_auto_stop: int = 0
    new_decisions: int = 0
    changed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    deferred: int = 0
    skipped: int = 0
    estimated_monthly_saving: float = 0.0
    published: bool = False

    @property
    def noteworthy(self) -> bool:
        return bool(self.changed or self.failed or self.new_decisions or self.closed_month)

    def event(self, now: dt.datetime) -> RunningModesOptimised:
        return RunningModesOptimised(
            month=self.month,
            closed_month=self.closed_month,
            dry_run=self.dry_run,
            desks=self.desks,
            to_always_on=self.to_always_on,
            to_auto_stop=self.to_auto_stop,
            changed=len(self.changed),
            failed=len(self.failed),
            deferred=self.deferred,
            skipped=self.skipped,
            estimated_monthly_saving=round(self.estimated_monthly_saving, 2),
            changed_workspace_ids=sorted(self.changed)[:MAX_IDS_IN_EVENT],
            failed_workspace_ids=sorted(self.failed)[:MAX_IDS_IN_EVENT],
            ran_at=now,
        )

    def summary(self) -> dict[str, object]:
        """Ids and counts only (the handler's return value)."""
        return {
            "month": self.month,
            "enabled": self.enabled,
            "dry_run": self.dry_run,
            "closed_month": self.closed_month,
            "desks": self.desks,
            "to_always_on": self.to_always_on,
            "to_auto_stop": self.to_auto_stop,
            "changed": sorted(self.changed),
            "failed": sorted(self.failed),
            "deferred": self.deferred,
            "skipped": self.skipped,
            "estimated_monthly_saving": round(self.estimated_monthly_saving, 2),
            "published": self.published,
        }


def optimize_running_modes(
    policy: Policy, resolution: Resolution, ports: OptimizerPorts, *, now: dt.datetime
) -> RunOutcome:
    """The daily run. Raises on any failure of the run itself (AWS errors, a lost conditional write), so the
    invocation fails and is retried, then dead-lettered with an `automation_failure` alert; a desk whose change
    WorkSpaces refuses is reported as failed and retried on the next run."""
    settings = policy.optimizer
    month = month_of(now)
    if not settings.enabled:
        return RunOutcome(month=month, enabled=False)
    run = _Run(policy, ports, now, maintenance_by_directory(policy, resolution))
    tag_key, tag_value = policy.managed_tag
    desks = sorted(
        ports.fleet.managed_desks(resolution.directory_ids, tag_key, tag_value), key=lambda d: d.workspace_id
    )
    records = {desk.workspace_id: desk for lifecycle in LIVE_LIFECYCLES for desk in ports.desks.by_lifecycle(lifecycle)}
    desks += _gone(ports.usage, month, {desk.workspace_id for desk in desks})
    ids = [desk.workspace_id for desk in desks]
    stored = ports.usage.load(ids, [run.previous, month]) if ids else {}
    starts = {ws: fetch_start(stored.get((ws, month)), stored.get((ws, run.previous)), month) for ws in ids}
    # An AUTO_STOP desk is billed for every hour it runs, with or without a user (pre-warm, maintenance): read when
    # it ran (Stopped). Another desk never stops: read when a user was connected (UserConnected), to know what
    # it would cost by the hour.
    first_hour = month_start(month)

    def billed_hourly(ws: str) -> bool:
        current, previous = stored.get((ws, month)), stored.get((ws, run.previous))
        if current is not None and not _billed_hourly(current):
            return False
        return previous is None or starts[ws] >= first_hour or _billed_hourly(previous)

    # A month paid monthly (we switched the desk to AUTO_STOP in it) is still measured by its sessions.
    hourly = {
        desk.workspace_id for desk in desks if desk.running_mode == "AUTO_STOP" and billed_hourly(desk.workspace_id)
    }
    end = floor_hour(now) + HOUR
    ran_starts = {ws: start for ws, start in starts.items() if ws in hourly}
    connected_starts = {ws: start for ws, start in starts.items() if ws not in hourly}
    connected = ports.metrics.connected_hours(connected_starts, end) if connected_starts else {}
    ran = ports.metrics.running_hours(ran_starts, end) if ran_starts else {}
    for desk in desks:
        ws = desk.workspace_id
        run.process(
            desk,
            records.get(ws),
            stored.get((ws, month)),
            stored.get((ws, run.previous)),
            connected.get(ws, []),
            ran.get(ws, []),
        )
    outcome = run.outcome
    if outcome.noteworthy:
        ports.bus.publish([outcome.event(now)])
        outcome.published = True
    return outcome


@dataclass(frozen=True)
class _DeskFacts:
    employee_id: str | None
    profile_autostop_hours: int
    period_created_at: dt.datetime | None
    period_ends_at: dt.datetime | None


class _Run:
    def __init__(self, policy: Policy, ports: OptimizerPorts, now: dt.datetime, maintenance: dict[str, int]) -> None:
        self.policy = policy
        self.settings = policy.optimizer
        self.ports = ports
        self.now = now
        self.month = month_of(now)
        self.previous = previous_month(self.month)
        self.maintenance = maintenance
        self.dry_run = policy.dry_run or self.settings.dry_run
        # The policy's holidays (the pre-warm calendar): days a desk is expected idle.
        self.holidays = frozenset(policy.prewarm.holidays)
        self.switches = 0
        self.outcome = RunOutcome(month=self.month, dry_run=self.dry_run)

    # --- one desk -------------------------------------------------------------------------------------------
    def process(
        self,
        desk: ManagedDesk,
        record: Desk | None,
        current: UsageRecord | None,
        previous: UsageRecord | None,
        stamps: list[dt.datetime],
        ran: Sequence[dt.datetime] = (),
    ) -> None:
        self.outcome.desks += 1
        facts = self._facts(record, desk.tags)
        current = current or UsageRecord(workspace_id=desk.workspace_id, month=self.month)
        current = current.with_connected(stamps, fetched_until=self.now, ran=ran if _billed_hourly(current) else ())
        stored_previous = previous
        if previous is not None:
            previous = previous.with_connected(
                stamps, fetched_until=self.now, ran=ran if _billed_hourly(previous) else ()
            )
        current, previous, by_hand = observe_mode(desk, current, previous, self.now)
        timeout = self._timeout_hours(desk, facts)
        if previous is not None and stored_previous is not None:
            current = current.model_copy(update={"carried_in": carried_over(previous.connected_hours, timeout)})
            # A closed month only changes while its last hours come in, or when a switch of ours is settled.
            if (
                not stored_previous.closed
                or previous.connected != stored_previous.connected
                or previous.running != stored_previous.running
                or stored_previous.intent_to
            ):
                closed = self._close_previous(desk, facts, previous, timeout, by_hand)
                if closed.switched_at == self.now and closed.switched_to:
                    # Switched just now on last month's review: this month starts from the new mode.
                    minutes = 60 * facts.profile_autostop_hours if closed.switched_to == "AUTO_STOP" else None
                    desk = dataclasses.replace(desk, running_mode=closed.switched_to, autostop_minutes=minutes)
                    current = current.model_copy(update={"mode_seen": closed.switched_to})
                    timeout = self._timeout_hours(desk, facts)
        self._decide_current(desk, facts, current, timeout, previous)

    def _close_previous(
        self, desk: ManagedDesk, facts: _DeskFacts, record: UsageRecord, timeout: int, by_hand_now: bool
    ) -> UsageRecord:
        if record.closed:
            # Decided on the month's last day: only its last hours change now.
            return self._store(self._with_usage(record, desk, facts, timeout, closing=True)[0])
        hold = exclusion(desk, self.settings) or self._changed_in(record)
        if hold is None and by_hand_now:
            hold = "running mode changed by hand: left as set until next month's end"
        record, usage = self._with_usage(record, desk, facts, timeout, closing=True)
        decision = decide(
            running_mode=desk.running_mode,
            usage=usage,
            price=self.settings.price_for(desk.compute),
            closing=True,
            hold=hold,
            previous_month=True,
        )
        self.outcome.closed_month = record.month
        return self._settle(desk, facts, record, decision, closes=True)

    def _decide_current(
        self, desk: ManagedDesk, facts: _DeskFacts, record: UsageRecord, timeout: int, previous: UsageRecord | None
    ) -> None:
        closing = is_last_day(self.now)
        record, usage = self._with_usage(record, desk, facts, timeout, closing=False, previous=previous)
        if record.closed:
            self._store(record)
            return
        hold = exclusion(desk, self.settings) or self._changed_in(record)
        decision = decide(
            running_mode=desk.running_mode,
            usage=usage,
            price=self.settings.price_for(desk.compute),
            closing=closing,
            hold=hold,
        )
        if closing:
            self.outcome.closed_month = self.month
        self._settle(desk, facts, record, decision, closes=closing)

    # --- helpers --------------------------------------------------------------------------------------------
    def _facts(self, record: Desk | None, tags: Mapping[str, str]) -> _DeskFacts:
        default = self.settings.default_autostop_hours
        if record is None:
            # Not (yet) adopted: the tags provisioning and the local cloud put on every desk, when present.
            tagged = self.policy.profiles.get(tags.get(PROFILE_TAG, ""))
            return _DeskFacts(tags.get(EMPLOYEE_TAG) or None, tagged.autostop_hours if tagged else default, None, None)
        profile = self.policy.profiles.get(record.profile)
        hours = profile.autostop_hours if profile else (record.autostop_hours or default)
        created = None
        if record.origin != "adopted":
            created = record.provisioning_started_at or record.ready_at or record.created_at
        ends = None
        if record.last_day is not None:
            # Stopped on the last day, billed until terminated after the retention period.
            retention = dt.timedelta(days=self.policy.offboarding.retention_days + 1)
            ends = dt.datetime.combine(record.last_day, dt.time(), tzinfo=dt.UTC) + retention
        return _DeskFacts(record.employee_id, hours, created, ends)

    def _timeout_hours(self, desk: ManagedDesk, facts: _DeskFacts) -> int:
        """The AutoStop timeout billed after each session: the desk's own, or (ALWAYS_ON) the one it would get."""
        if desk.running_mode == "AUTO_STOP":
            return autostop_hours(desk.autostop_minutes, facts.profile_autostop_hours)
        return facts.profile_autostop_hours

    def _changed_in(self, record: UsageRecord) -> str | None:
        if record.manual_change_at is not None:
            return f"running mode changed by hand in {record.month}: left as set until the month after"
        if record.switched_at is not None:
            return f"switched to {record.switched_to} in {record.month}: not switched back within the month"
        return None

    def _with_usage(
        self,
        record: UsageRecord,
        desk: ManagedDesk,
        facts: _DeskFacts,
        timeout: int,
        *,
        closing: bool,
        previous: UsageRecord | None = None,
    ) -> tuple[UsageRecord, MonthUsage]:
        period = ActivePeriod.of(record.month, created_at=facts.period_created_at, ends_at=facts.period_ends_at)
        price = self.settings.price_for(desk.compute)
        maintenance = self.maintenance.get(desk.directory_id, 0)
        hours = billable_hours(
            record.connected_hours,
            timeout,
            carried_in=record.carried_in,
            maintenance_hours=maintenance,
            ran=record.running_hours,
        )
        threshold = prorated_break_even(price.break_even_hours, period) if price else float("inf")
        live = not closing and record.month == self.month
        observed = period.observed_fraction(self.now if live else None)
        share = remaining_share(self.now, record.month) if live else 0.0
        expected = None
        if live:
            billed = running_hour_set(record.connected_hours, timeout, carried_in=record.carried_in)
            billed |= record.running_hours.hours
            expected = expected_hours(billed, record.month, observed_from=period.start, now=self.now, until=period.end)
        usage = MonthUsage(record.month, hours, threshold, period, observed, maintenance, share, expected)
        if live and price and desk.running_mode == "AUTO_STOP":
            usage = self._with_outlook(usage, price, record, previous, timeout, facts)
        changes: dict[str, object] = {
            "hours": hours,
            "break_even": round(threshold, 2) if price else None,
            "employee_id": facts.employee_id or record.employee_id,
            "compute": desk.compute,
            "running_mode": record.running_mode if record.closed else desk.running_mode,
        }
        if price and record.switched_to == "ALWAYS_ON" and record.switch_hours is not None:
            # What the switch saves on the bill: the hours the desk would have been billed by the hour after it
            # (what it is used, plus the timeout it would have), against the monthly price prorated from it.
            after = max(usage.projected_hours - record.switch_hours, 0.0)
            changes["estimated_saving"] = round(price.hourly * after - price.monthly * (record.switch_share or 0), 2)
        return record.model_copy(update=changes), usage

    def _with_outlook(
        self,
        usage: MonthUsage,
        price: Price,
        record: UsageRecord,
        previous: UsageRecord | None,
        timeout: int,
        facts: _DeskFacts,
    ) -> MonthUsage:
        """The forecast of switch_timing from the desk's last four weeks (last month's record and this month's),
        when two weeks of them are observed: hours expected by hour of the week, and the cheapest run to switch."""
        billed = _billed_at(record, timeout)
        observed_from = usage.period.start
        if previous is not None and previous.fetched_until is not None:
            billed |= _billed_at(previous, timeout)
            observed_from = month_start(previous.month)
        if facts.period_created_at is not None:
            observed_from = max(observed_from, facts.period_created_at)
        profile = usage_profile(
            billed, observed_from=observed_from, observed_until=self.now - LAG, holidays=self.holidays
        )
        if profile is None or not profile.settled:
            return usage
        outlook = switch_outlook(
            profile,
            price,
            now=self.now,
            until=usage.period.end,
            month=usage.month,
            margin=SWITCH_MARGIN,
            holidays=self.holidays,
        )
        return dataclasses.replace(
            usage,
            expected_more=outlook.hours_left,
            settled=True,
            wait_until=outlook.wait_until,
            wait_saves=outlook.wait_saves,
        )

    def _settle(
        self, desk: ManagedDesk, facts: _DeskFacts, record: UsageRecord, decision: Decision, *, closes: bool
    ) -> UsageRecord:
        """Count, apply and record one decision; write the record and its report row."""
        if decision.action == "skip":
            self.outcome.skipped += 1
        elif decision.action in SWITCHES:
            if decision.action == "to_always_on":
                self.outcome.to_always_on += 1
            else:
                self.outcome.to_auto_stop += 1
            self.outcome.estimated_monthly_saving += decision.estimated_saving
            if record.decision != decision.action:
                self.outcome.new_decisions += 1
        applied, record = self._apply(desk, facts, record, decision)
        deferred = applied.startswith("deferred")
        if deferred:
            self.outcome.deferred += 1
        keeps_switch = record.switched_at is not None and decision.action not in SWITCHES
        if not keeps_switch:
            record = record.model_copy(
                update={
                    "decision": decision.action,
                    "reason": decision.reason,
                    "estimated_saving": decision.estimated_saving,
                    "applied": applied,
                    "decided_at": self.now,
                }
            )
        if closes and not deferred:
            record = record.model_copy(update={"closed": True})
        return self._store(record)

    def _apply(
        self, desk: ManagedDesk, facts: _DeskFacts, record: UsageRecord, decision: Decision
    ) -> tuple[str, UsageRecord]:
        target = SWITCHES.get(decision.action)
        if target is None:
            return "", record
        if self.dry_run:
            return "dry run", record
        if desk.state not in MODIFIABLE_STATES:
            return f"deferred: desk is {desk.state}", record
        if self.switches >= self.settings.max_switches_per_run:
            return "deferred: optimizer.max_switches_per_run reached", record
        self.switches += 1
        # Going hourly: the AutoStop timeout of the desk's profile (the policy's default without a desk record).
        minutes = 60 * facts.profile_autostop_hours if target == "AUTO_STOP" else None
        # Intent first: a crash after the request must not look like a change made by hand on the next run.
        record = self.ports.usage.save(record.model_copy(update={"intent_to": target, "intent_at": self.now}))
        try:
            self.ports.fleet.set_running_mode(desk.workspace_id, target, minutes)
        except ModeChangeRefused as refused:
            self.outcome.failed.append(desk.workspace_id)
            return f"failed: {refused.code}", record.model_copy(update={"intent_to": None, "intent_at": None})
        self.outcome.changed.append(desk.workspace_id)
        done: dict[str, object] = {
            "intent_to": None,
            "intent_at": None,
            "switched_to": target,
            "switched_at": self.now,
            "mode_seen": target,
        }
        if target == "ALWAYS_ON" and record.month == self.month:
            done |= {"switch_hours": record.hours, "switch_share": remaining_share(self.now, record.month)}
        return "changed", record.model_copy(update=done | {"running_mode": target})

    def _store(self, record: UsageRecord) -> UsageRecord:
        saved = self.ports.usage.save(record)
        if saved.decision is not None:
            self.ports.usage.put_report_row(ReportRow.of(saved))
        return saved


def monthly_report_csv(source: ReportSource, month: str) -> str:
    """The month's running-mode report as CSV (one row per desk, ids only), for the operator CLI."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(ReportRow.COLUMNS)
    for row in sorted(source.report_rows(month), key=lambda r: r.workspace_id):
        values = row.model_dump(include=set(ReportRow.COLUMNS))
        if values["break_even"] is not None:
            values["break_even"] = f"{values['break_even']:.2f}"
        values["estimated_saving"] = f"{values['estimated_saving']:.2f}"
        writer.writerow(["" if values[column] is None else values[column] for column in ReportRow.COLUMNS])
    return buffer.getvalue()
