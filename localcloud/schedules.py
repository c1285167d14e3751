"""EventBridge Scheduler expressions: `at(...)`, `rate(...)` and `cron(...)`, and when each fires next.

Cron follows the six-field AWS syntax (minutes hours day-of-month month day-of-week year), with `*`, `?`,
lists, ranges, steps and names (JAN-DEC, SUN-SAT; day-of-week 1 = Sunday). `L`, `W` and `#` are refused
with a clear error rather than guessed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {
    name: index
    for index, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1
    )
}
_DAYS = {name: index for index, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}
_SPECIAL = re.compile(r"(^|[0-9])(L|W|LW)$|#")
# How far ahead a cron expression is searched before it is declared never to fire again.
_CRON_HORIZON_DAYS = 366 * 5


class ScheduleExpressionError(ValueError):
    """An expression the local cloud cannot (or AWS would not) accept."""


def _zone(name: str | None) -> dt.tzinfo:
    if not name or name == "UTC":
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleExpressionError(f"unknown ScheduleExpressionTimezone {name!r}") from exc


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int] | None:
    """The values a cron field allows; None for `*`/`?` (anything)."""
    if text in {"*", "?"}:
        return None
    values: set[int] = set()
    for part in text.split(","):
        if _SPECIAL.search(part.upper()):
            raise ScheduleExpressionError(f"cron field {text!r}: L, W and # are not supported by the local cloud")
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base in {"*", "?"}:
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = _value(first, names), _value(last, names)
        else:
            start = _value(base, names)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high) or step < 1:
            raise ScheduleExpressionError(f"cron field {text!r} is out of range {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _value(text: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    try:
        return int(text)
    except ValueError as exc:
        raise ScheduleExpressionError(f"cron value {text!r} is not a number or a name") from exc


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int] | None
    hours: frozenset[int] | None
    days_of_month: frozenset[int] | None
    months: frozenset[int] | None
    days_of_week: frozenset[int] | None
    years: frozenset[int] | None

    @classmethod
    def parse(cls, body: str) -> Cron:
        fields = body.split()
        if len(fields) != 6:
            raise ScheduleExpressionError(f"cron({body}) needs 6 fields (minutes hours day month weekday year)")
        minute, hour, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise ScheduleExpressionError(f"cron({body}): exactly one of day-of-month and day-of-week must be '?'")
        return cls(
            minutes=_field(minute, 0, 59),
            hours=_field(hour, 0, 23),
            days_of_month=_field(dom, 1, 31),
            months=_field(month, 1, 12, _MONTHS),
            days_of_week=_field(dow, 1, 7, _DAYS),
            years=_field(year, 1970, 2199),
        )

    def _day_matches(self, day: dt.date) -> bool:
        if self.months is not None and day.month not in self.months:
            return False
        if self.years is not None and day.year not in self.years:
            return False
        if self.days_of_month is not None and day.day not in self.days_of_month:
            return False
        # Python: Monday = 0 … Sunday = 6; AWS: Sunday = 1 … Saturday = 7.
        return self.days_of_week is None or (day.weekday() + 1) % 7 + 1 in self.days_of_week

    def next_after(self, moment: dt.datetime, zone: dt.tzinfo) -> dt.datetime | None:
        local = moment.astimezone(zone)
        hours = sorted(self.hours) if self.hours is not None else list(range(24))
        minutes = sorted(self.minutes) if self.minutes is not None else list(range(60))
        day = local.date()
        for _ in range(_CRON_HORIZON_DAYS):
            if self._day_matches(day):
                for hour in hours:
                    for minute in minutes:
                        candidate = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                        if candidate > local:
                            return candidate.astimezone(dt.UTC)
            day += dt.timedelta(days=1)
        return None


@dataclass(frozen=True)
class Expression:
    """A parsed schedule expression. `kind` is at, rate or cron."""

    kind: str
    zone: dt.tzinfo
    at: dt.datetime | None = None
    every: dt.timedelta | None = None
    cron: Cron | None = None

    @classmethod
    def parse(cls, text: str, timezone: str | None = None) -> Expression:
        zone = _zone(timezone)
        text = text.strip()
        if match := _AT.match(text):
            local = dt.datetime.fromisoformat(match.group(1)).replace(tzinfo=zone)
            return cls("at", zone, at=local.astimezone(dt.UTC))
        if match := _RATE.match(text):
            amount, unit = int(match.group(1)), match.group(2).rstrip("s")
            if amount < 1 or (amount == 1) != (not match.group(2).endswith("s")):
                raise ScheduleExpressionError(f"{text}: use `rate(1 {unit})` for one, `rate(N {unit}s)` for more")
            return cls("rate", zone, every=dt.timedelta(seconds=amount * _UNIT_SECONDS[unit]))
        if match := _CRON.match(text):
            return cls("cron", zone, cron=Cron.parse(match.group(1)))
        raise ScheduleExpressionError(f"{text!r} is not at(...), rate(...) or cron(...)")

    def next_after(self, moment: dt.datetime, anchor: dt.datetime) -> dt.datetime | None:
        """The first fire time strictly after `moment`. Rates count from `anchor` (creation or StartDate)."""
        if self.kind == "at":
            assert self.at is not None
            return self.at if self.at > moment else None
        if self.kind == "rate":
            assert self.every is not None
            if moment < anchor:
                return anchor + self.every
            periods = (moment - anchor) // self.every + 1
            return anchor + periods * self.every
        assert self.cron is not None
        return self.cron.next_after(moment, self.zone)
