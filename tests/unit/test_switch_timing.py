"""When to switch to ALWAYS_ON (domain/switch_timing.py): the forecast from the last four weeks and the cheapest run."""

from __future__ import annotations

import datetime as dt

import pytest

from autopilot.domain.cost.switch_timing import switch_outlook, usage_profile
from autopilot.domain.kernel.running_mode_policy import Price

pytestmark = pytest.mark.usefixtures("socket_disabled")

UTC = dt.UTC
STANDARD = Price(monthly=36.0, hourly=0.30, autostop_base=9.75)


def weekday_hours(first: dt.date, last: dt.date, *, start: int = 9, hours: int = 11) -> set[dt.datetime]:
    """`hours` billed hours from `start` UTC on every weekday from first to last."""
    billed, day = set(), first
    while day <= last:
        if day.weekday() < 5:
            base = dt.datetime.combine(day, dt.time(start), tzinfo=UTC)
            billed |= {base + dt.timedelta(hours=n) for n in range(hours)}
        day += dt.timedelta(days=1)
    return billed


def test_less_than_a_week_observed_gives_no_forecast() -> None:
    billed = weekday_hours(dt.date(2026, 6, 1), dt.date(2026, 6, 6))
    start = dt.datetime(2026, 6, 1, tzinfo=UTC)
    assert usage_profile(billed, observed_from=start, observed_until=start + dt.timedelta(days=6, hours=23)) is None
    week = usage_profile(billed, observed_from=start, observed_until=start + dt.timedelta(days=7))
    assert week is not None
    assert not week.settled


def test_the_forecast_is_the_share_of_each_hour_of_the_week_over_the_last_four_weeks() -> None:
    # Five weeks of weekday use, then two idle weeks: only the last four (two busy, two idle) count.
    billed = weekday_hours(dt.date(2026, 4, 6), dt.date(2026, 5, 8))
    profile = usage_profile(
        billed, observed_from=dt.datetime(2026, 4, 6, tzinfo=UTC), observed_until=dt.datetime(2026, 5, 25, tzinfo=UTC)
    )
    assert profile is not None
    assert profile.settled
    assert profile.days == 28
    monday_ten = dt.datetime(2026, 5, 25, 10, tzinfo=UTC)
    assert profile.expected(monday_ten, ()) == pytest.approx(0.5)
    assert profile.expected(monday_ten + dt.timedelta(hours=12), ()) == 0
    assert profile.expected(monday_ten, {monday_ten.date()}) == 0  # a policy holiday


def test_policy_holidays_are_left_out_of_what_was_observed() -> None:
    # Easter Monday (6 April 2026) idle: it does not lower the Mondays of the forecast.
    billed = weekday_hours(dt.date(2026, 4, 1), dt.date(2026, 4, 30)) - weekday_hours(
        dt.date(2026, 4, 6), dt.date(2026, 4, 6)
    )
    window = {
        "observed_from": dt.datetime(2026, 4, 1, tzinfo=UTC),
        "observed_until": dt.datetime(2026, 5, 1, tzinfo=UTC),
    }
    profile = usage_profile(billed, holidays={dt.date(2026, 4, 6)}, **window)
    naive = usage_profile(billed, **window)
    assert profile is not None
    assert naive is not None
    monday = dt.datetime(2026, 5, 4, 10, tzinfo=UTC)
    assert (profile.expected(monday, ()), naive.expected(monday, ())) == (1.0, 0.75)


def test_the_switch_waits_for_the_first_working_day_after_idle_days() -> None:
    billed = weekday_hours(dt.date(2026, 4, 1), dt.date(2026, 4, 30))
    profile = usage_profile(
        billed, observed_from=dt.datetime(2026, 4, 1, tzinfo=UTC), observed_until=dt.datetime(2026, 5, 1, tzinfo=UTC)
    )
    assert profile is not None
    friday = dt.datetime(2026, 5, 1, 5, 30, tzinfo=UTC)
    options = {"now": friday, "until": dt.datetime(2026, 6, 1, tzinfo=UTC), "month": "2026-05", "margin": 0.1}
    # 1 May a holiday, then the weekend: Monday's run saves three days of the monthly price (3 x 36 / 31).
    holiday = switch_outlook(profile, STANDARD, holidays={dt.date(2026, 5, 1)}, **options)
    assert holiday.wait_until == dt.datetime(2026, 5, 4, 5, 30, tzinfo=UTC)
    assert holiday.wait_saves == pytest.approx(36.0 * 72 / 744, abs=0.01)
    assert holiday.hours_left == pytest.approx(20 * 11)
    # A working Friday: its 11 h by the hour (3.30) cost less than the three days (3.48): still wait.
    working = switch_outlook(profile, STANDARD, **options)
    assert working.wait_until == dt.datetime(2026, 5, 4, 5, 30, tzinfo=UTC)
    # On the Monday, the day's 11 h (3.30) cost more than a day of the month (1.16): switch now.
    monday = switch_outlook(
        profile, STANDARD, holidays={dt.date(2026, 5, 1)}, **(options | {"now": friday + dt.timedelta(days=3)})
    )
    assert monday.wait_until is None
