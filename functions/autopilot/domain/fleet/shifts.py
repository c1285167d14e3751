"""When a shift starts, in UTC: local wall-clock times in the worker's time zone, daylight-saving changes,
working days and the policy's holiday calendar.

A shift is `days` + `start` (+ `end`) in an IANA time zone. Its occurrence on a local date starts at the
local `start` on that date. Wall-clock times that do not exist (the hour skipped when clocks go forward) are
read with the offset in force *before* the change, so 02:30 on the spring-forward night is 03:30 summer time;
times that happen twice (clocks go back) mean the first of the two. Both follow Python's `zoneinfo` with
`fold=0`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from autopilot.contracts.hr import Shift

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class ShiftOccurrence:
    """One shift of one worker: its local date (the date the shift starts) and its start in UTC."""

    local_date: dt.date
    starts_at: dt.datetime  # UTC

    @property
    def key(self) -> str:
        """What makes a start once-per-shift: the local date of the shift."""
        return self.local_date.isoformat()


def is_working_day(shift: Shift, local_date: dt.date, holidays: Collection[dt.date] = ()) -> bool:
    """A day of the shift's week that is not a holiday of the policy."""
    return WEEKDAYS[local_date.weekday()] in shift.days and local_date not in holidays


def local_start(shift: Shift, local_date: dt.date) -> dt.datetime:
    """The shift's start on `local_date`, in UTC (see the module note on skipped and repeated hours)."""
    zone = ZoneInfo(shift.timezone)
    wall = dt.datetime.combine(local_date, shift.start).replace(tzinfo=zone, fold=0)
    return wall.astimezone(dt.UTC)


def occurrence_on(shift: Shift, local_date: dt.date, holidays: Collection[dt.date] = ()) -> ShiftOccurrence | None:
    if not is_working_day(shift, local_date, holidays):
        return None
    return ShiftOccurrence(local_date=local_date, starts_at=local_start(shift, local_date))


def due_shift(
    shift: Shift,
    now: dt.datetime,
    *,
    lead: dt.timedelta,
    grace: dt.timedelta,
    holidays: Collection[dt.date] = (),
) -> ShiftOccurrence | None:
    """The shift whose start window contains `now`, if any.

    The window opens `lead` before the shift starts and closes `grace` after it (a tick missed just before
    the start still starts the desk early in the shift). Yesterday and tomorrow (local) are looked at too, so
    windows that straddle midnight, or a date line, are found."""
    today = now.astimezone(ZoneInfo(shift.timezone)).date()
    for local_date in (today - dt.timedelta(days=1), today, today + dt.timedelta(days=1)):
        occurrence = occurrence_on(shift, local_date, holidays)
        if occurrence is not None and occurrence.starts_at - lead <= now < occurrence.starts_at + grace:
            return occurrence
    return None


def next_shift(
    shift: Shift, after: dt.datetime, *, holidays: Collection[dt.date] = (), horizon_days: int = 400
) -> ShiftOccurrence | None:
    """The first shift starting at or after `after` (None when no working day falls within the horizon)."""
    day = after.astimezone(ZoneInfo(shift.timezone)).date() - dt.timedelta(days=1)
    for offset in range(horizon_days + 2):
        occurrence = occurrence_on(shift, day + dt.timedelta(days=offset), holidays)
        if occurrence is not None and occurrence.starts_at >= after:
            return occurrence
    return None
