"""When to switch an AUTO_STOP desk to ALWAYS_ON (issue 19): a forecast of its billable hours from its last four
weeks, and the daily run at which the switch is expected to cost least.

A switch adds the monthly price prorated from the hour it is made (docs/optimizer.md, rule B4), so each day an
AUTO_STOP desk that will be used all month waits costs the difference between a day by the hour and a day of the
monthly price; and each idle day (a weekend, a policy holiday) it is switched too early costs a day of the monthly
price for nothing. Both sides are known before the month is over: the desk's hours of the week over the last four
weeks (the previous month's usage record and this month's), and the policy's holidays.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from autopilot.domain.cost.usage import DAY, HOUR, floor_hour, month_end, remaining_share
from autopilot.domain.kernel.running_mode_policy import Price

HOURS_A_WEEK = 7 * 24
# The usage the forecast looks at: the last four weeks (shifts, hybrid office days and weekends repeat weekly).
WINDOW = dt.timedelta(days=28)
# The last hours before a run are left out: CloudWatch data can land late (docs/optimizer.md, "Billable hours").
LAG = dt.timedelta(hours=3)
# Evidence enough to switch before the desk's billable hours reach its break-even: two weeks observed.
SETTLED_DAYS = 14.0


@dataclass(frozen=True)
class UsageProfile:
    """How likely each UTC hour of the week (Monday 00:00 first) is billed, from the hours observed."""

    shares: tuple[float, ...]
    days: float  # days observed (policy holidays aside)

    def expected(self, hour: dt.datetime, holidays: Collection[dt.date]) -> float:
        """Expected billed share of the UTC hour starting at `hour` (0 on a policy holiday)."""
        if hour.date() in holidays:
            return 0.0
        return self.shares[hour.weekday() * 24 + hour.hour]

    @property
    def settled(self) -> bool:
        return self.days >= SETTLED_DAYS


def usage_profile(
    billed: Iterable[dt.datetime],
    *,
    observed_from: dt.datetime,
    observed_until: dt.datetime,
    holidays: Collection[dt.date] = (),
) -> UsageProfile | None:
    """The profile of the billed hours (UTC hour starts) over [observed_from, observed_until), policy holidays left
    out; None when some hour of the week was never observed (less than a week: no forecast)."""
    start, end = floor_hour(max(observed_from, observed_until - WINDOW)), floor_hour(observed_until)
    hits = [0] * HOURS_A_WEEK
    seen = [0] * HOURS_A_WEEK
    billed_set = {floor_hour(at) for at in billed}
    hour, observed = start, 0
    while hour < end:
        if hour.date() not in holidays:
            slot = hour.weekday() * 24 + hour.hour
            seen[slot] += 1
            hits[slot] += hour in billed_set
            observed += 1
        hour += HOUR
    if not all(seen):
        return None
    return UsageProfile(tuple(h / s for h, s in zip(hits, seen, strict=True)), observed / 24)


@dataclass(frozen=True)
class SwitchOutlook:
    """What the profile expects of the rest of the month, for a desk billed by the hour."""

    hours_left: float  # billable hours expected from now to the end (the desk's end, or the month's)
    wait_until: dt.datetime | None = None  # a later run at which the switch is expected to cost less
    wait_saves: float = 0.0  # by how much


def switch_outlook(
    profile: UsageProfile,
    price: Price,
    *,
    now: dt.datetime,
    until: dt.datetime,
    month: str,
    margin: float,
    holidays: Collection[dt.date] = (),
    runs: Sequence[dt.datetime] | None = None,
) -> SwitchOutlook:
    """Expected hours left, and the daily run (now, or one of `runs`, default: now + whole days until `until`)
    at which switching costs least: the hours by the hour before it, plus the monthly price prorated from it.
    Only runs at which the switch would still be taken (the hours after it cost more than the prorated month, by
    `margin`) are candidates: waiting for a run that would not switch is not a plan."""
    end = min(until, month_end(month))
    first = floor_hour(now) + HOUR  # the hour under way is paid either way
    expected: list[float] = []
    hour = first
    while hour < end:
        expected.append(profile.expected(hour, holidays))
        hour += HOUR
    after = [0.0] * (len(expected) + 1)  # after[i]: expected hours from hour i to the end
    for index in range(len(expected) - 1, -1, -1):
        after[index] = after[index + 1] + expected[index]
    hours_left = after[0]
    if runs is None:
        runs = []
        moment = now + DAY
        while moment < end:
            runs.append(moment)
            moment += DAY

    def cost_if_switched_at(moment: dt.datetime) -> float | None:
        index = max(0, min(int((floor_hour(moment) - first) / HOUR), len(expected)))
        monthly = price.monthly * remaining_share(moment, month)
        if price.hourly * after[index] <= monthly * (1 + margin):
            return None
        return price.hourly * (hours_left - after[index]) + monthly

    now_cost = cost_if_switched_at(now)
    best: tuple[float, dt.datetime] | None = None
    for moment in runs:
        cost = cost_if_switched_at(moment)
        if cost is not None and (best is None or cost < best[0]):
            best = (cost, moment)
    if now_cost is not None and best is not None and best[0] < now_cost:
        return SwitchOutlook(hours_left, best[1], round(now_cost - best[0], 2))
    return SwitchOutlook(hours_left)
