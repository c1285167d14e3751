"""The optimiser's decisions, pure: which running mode a desk's month of usage calls for, which desks are left
out and why, the maintenance window of each directory, and where a month's metrics fetch starts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from autopilot.domain.cost.ports import Action, ManagedDesk, UsageRecord, UsageStore
from autopilot.domain.cost.usage import ActivePeriod, floor_hour, hours_in_month, month_end, month_start, previous_month
from autopilot.domain.kernel.errors import PolicyError
from autopilot.domain.kernel.policy import Policy
from autopilot.domain.kernel.resolution import Resolution
from autopilot.domain.kernel.running_mode_policy import Optimizer, Price

# Re-read the last hours of each desk every run: the current hour is partial and CloudWatch data can land late.
# Re-reading is harmless, connected hours only ever add up.
OVERLAP = dt.timedelta(hours=3)
# The hours ahead are a projection: a switch to ALWAYS_ON must save at least this share of what it adds, so that a
# projection slightly off (a day off sick, a short week) does not make the desk dearer than staying hourly.
SWITCH_MARGIN = 0.10


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
        if hours < threshold:
            return Decision("keep", f"{hours} h, below the break-even of {threshold:.1f} h")
        # On the bill: the hours and the AutoStop fee billed so far stay billed either way; what differs is the
        # rest of the month, by the hour at the pace observed, or the monthly price prorated from now.
        hourly = price.hourly * usage.projected_more
        monthly = price.monthly * usage.switch_share
        costs = f"the rest of the month costs {hourly:.2f} by the hour, {monthly:.2f} prorated monthly"
        if hourly > monthly * (1 + SWITCH_MARGIN):
            saving = round(hourly - monthly, 2)
            return Decision("to_always_on", f"{hours} h reached the break-even of {threshold:.1f} h; {costs}", saving)
        return Decision("keep", f"{hours} h reached the break-even of {threshold:.1f} h late: {costs}")
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


def fetch_start(current: UsageRecord | None, previous: UsageRecord | None, month: str) -> dt.datetime:
    """Where a desk's usage must be read from: a little before what was already read, never before last month."""
    earliest = month_start(previous_month(month))
    for record in (current, previous):
        if record is not None and record.fetched_until is not None:
            return max(floor_hour(record.fetched_until - OVERLAP), earliest)
    return month_start(month)
