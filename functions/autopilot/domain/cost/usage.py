"""Billable hours of a desk as AWS bills AUTO_STOP, from the hours a user was connected.

Every period is a UTC clock hour and every month a UTC calendar month, as AWS bills them: a local day with a
daylight-saving change (23 or 25 hours long) is simply 23 or 25 UTC hours here, and never miscounted.

An AUTO_STOP desk runs (and is billed) from the moment a user connects until its AutoStop timeout has passed
after the user disconnects. From hourly `UserConnected` data (1 if anyone was connected during that hour):
every connected hour is billed, plus the timeout after it; two sessions closer than the timeout merge, since
the desk never stopped in between. That is "connected time plus the timeout after each session, rounded up
per hour", counted per clock hour (a session that straddles an hour boundary counts both hours).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


# --- calendar (UTC) ----------------------------------------------------------------------------------------
def as_utc(at: dt.datetime) -> dt.datetime:
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at.isoformat()}: give a timezone-aware time")
    return at.astimezone(dt.UTC)


def floor_hour(at: dt.datetime) -> dt.datetime:
    return as_utc(at).replace(minute=0, second=0, microsecond=0)


def month_of(at: dt.datetime) -> str:
    """`yyyy-mm` of the UTC month `at` falls in."""
    return as_utc(at).strftime("%Y-%m")


def month_start(month: str) -> dt.datetime:
    year, number = (int(part) for part in month.split("-"))
    return dt.datetime(year, number, 1, tzinfo=dt.UTC)


def month_end(month: str) -> dt.datetime:
    """The first instant of the next month (exclusive end)."""
    start = month_start(month)
    return (start + dt.timedelta(days=32)).replace(day=1)


def previous_month(month: str) -> str:
    return month_of(month_start(month) - DAY)


def days_in_month(month: str) -> int:
    return (month_end(month) - month_start(month)).days


def hours_in_month(month: str) -> int:
    return days_in_month(month) * 24


def is_last_day(at: dt.datetime) -> bool:
    """True on the month's last UTC day."""
    return month_of(as_utc(at) + DAY) != month_of(at)


def autostop_hours(minutes: int | None, default_hours: int) -> int:
    """AutoStop timeouts come in 60-minute steps; anything else is rounded up to the hour it is billed as."""
    if not minutes:
        return default_hours
    return max(1, math.ceil(minutes / 60))


# --- connected hours ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConnectedHours:
    """The UTC hours of one month in which a user was connected (index 0 = the month's first hour)."""

    month: str
    hours: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def from_hex(cls, month: str, text: str | None) -> ConnectedHours:
        """From the compact form kept in DynamoDB: a bitmap of the month's hours, in hexadecimal."""
        bits = int(text or "0", 16)
        return cls(month, frozenset(index for index in range(bits.bit_length()) if bits >> index & 1))

    def to_hex(self) -> str:
        return format(sum(1 << index for index in self.hours), "x")

    def add(self, timestamps: Iterable[dt.datetime]) -> ConnectedHours:
        """With the hours of `timestamps` that fall in this month (others are ignored)."""
        start = month_start(self.month)
        limit = hours_in_month(self.month)
        added = {int((floor_hour(at) - start) / HOUR) for at in timestamps}
        return ConnectedHours(self.month, self.hours | {index for index in added if 0 <= index < limit})

    def __len__(self) -> int:
        return len(self.hours)


def running_hour_set(connected: ConnectedHours, timeout_hours: int, *, carried_in: int = 0) -> set[int]:
    """Hours of the month (indexes) the desk ran: connected hours, the timeout after each session, and the first
    `carried_in` hours (the timeout of the previous month's last session running on into this month).

    Hours past the month's end are billed in the next month, so they are not counted here."""
    limit = hours_in_month(connected.month)
    ran = set(range(min(max(carried_in, 0), limit)))
    for hour in connected.hours:
        ran.update(range(hour, min(hour + 1 + timeout_hours, limit)))
    return ran


def running_hours(connected: ConnectedHours, timeout_hours: int, *, carried_in: int = 0) -> int:
    """How many hours of the month the desk ran (see running_hour_set)."""
    return len(running_hour_set(connected, timeout_hours, carried_in=carried_in))


def carried_over(previous: ConnectedHours, timeout_hours: int) -> int:
    """Hours of the next month still covered by the timeout after `previous` month's last session."""
    if not previous.hours:
        return 0
    return max(0, max(previous.hours) + 1 + timeout_hours - hours_in_month(previous.month))


def billable_hours(
    connected: ConnectedHours,
    timeout_hours: int,
    *,
    carried_in: int = 0,
    maintenance_hours: int = 0,
    ran: ConnectedHours | None = None,
) -> int:
    """Hours AWS bills an AUTO_STOP desk for this month (to date): every clock hour in which it ran, known from
    `ran` (hours AWS/WorkSpaces `Stopped` was 0: sessions, their AutoStop timeout, pre-warm starts, maintenance)
    and from the connected hours plus the timeout after each session; plus the directory's maintenance window,
    when the policy says the directory has one."""
    hours = running_hour_set(connected, timeout_hours, carried_in=carried_in)
    if ran is not None:
        hours |= ran.hours
    return len(hours) + maintenance_hours


def remaining_share(at: dt.datetime, month: str) -> float:
    """Share of `month` from the start of `at`'s UTC hour to the month's end: what a switch to ALWAYS_ON at `at` is
    charged of the monthly price (prorated for the remainder of the month, the started hour whole)."""
    start = min(max(floor_hour(at), month_start(month)), month_end(month))
    return (month_end(month) - start) / (month_end(month) - month_start(month))


def expected_hours(
    hours: Iterable[int], month: str, *, observed_from: dt.datetime, now: dt.datetime, until: dt.datetime
) -> float:
    """Billable hours still to come from `now` to `until` (within `month`), by day of the week: each day ahead is
    expected to be like the average of the same weekday so far (shifts, hybrid office days and weekends repeat
    weekly); a weekday not seen yet is expected like the average day. Days are UTC days; only whole days observed
    count. Without a whole day observed: 0 (no evidence, no switch)."""
    start = month_start(month)
    first = max(as_utc(observed_from), start)
    first_day = first.date() if first.time() == dt.time() else first.date() + dt.timedelta(days=1)  # whole days
    today = as_utc(now).date()
    per_date: dict[dt.date, int] = {}
    for index in hours:
        moment = start + index * HOUR
        per_date[moment.date()] = per_date.get(moment.date(), 0) + 1
    totals = [0.0] * 7
    counts = [0] * 7
    day = first_day
    while day < today:
        totals[day.weekday()] += per_date.get(day, 0)
        counts[day.weekday()] += 1
        day += dt.timedelta(days=1)
    if not any(counts):
        return 0.0
    overall = sum(totals) / sum(counts)
    expected = 0.0
    moment, end = as_utc(now), min(as_utc(until), month_end(month))
    while moment < end:
        day_end = min(dt.datetime.combine(moment.date() + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC), end)
        weekday = moment.weekday()
        average = totals[weekday] / counts[weekday] if counts[weekday] else overall
        expected += average * ((day_end - moment) / DAY)
        moment = day_end
    return expected


# --- partial months ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ActivePeriod:
    """The part of a month a desk existed (was billed), and how much of it has been observed."""

    month: str
    start: dt.datetime
    end: dt.datetime

    @classmethod
    def of(
        cls, month: str, *, created_at: dt.datetime | None = None, ends_at: dt.datetime | None = None
    ) -> ActivePeriod:
        first, last = month_start(month), month_end(month)
        start = min(max(as_utc(created_at), first), last) if created_at else first
        end = max(min(as_utc(ends_at), last), start) if ends_at else last
        return cls(month, start, end)

    @property
    def days(self) -> int:
        """UTC calendar days of the month the desk existed on (a started day counts whole, as AWS prorates)."""
        if self.end <= self.start:
            return 0
        last_instant = self.end - dt.timedelta(microseconds=1)
        return (last_instant.date() - self.start.date()).days + 1

    @property
    def fraction(self) -> float:
        """Share of the month the desk existed: monthly prices and the break-even are prorated by it."""
        return self.days / days_in_month(self.month)

    def observed_fraction(self, now: dt.datetime | None) -> float:
        """Share of the month observed so far (the whole active period once the month is over, now=None)."""
        moment = self.end if now is None else min(max(as_utc(now), self.start), self.end)
        return (moment - self.start) / (month_end(self.month) - month_start(self.month))


def prorated_break_even(break_even_hours: float, period: ActivePeriod) -> float:
    """The break-even for the part of the month the desk existed (hires and departures mid-month)."""
    return break_even_hours * period.fraction
