"""Billable hours as AWS bills AUTO_STOP, months, partial months and daylight-saving days (pure, no network)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from autopilot.domain.cost.usage import (
    ActivePeriod,
    ConnectedHours,
    autostop_hours,
    billable_hours,
    carried_over,
    days_in_month,
    hours_in_month,
    is_last_day,
    month_end,
    month_of,
    previous_month,
    prorated_break_even,
    running_hours,
)

pytestmark = pytest.mark.usefixtures("socket_disabled")

UTC = dt.UTC
PARIS = ZoneInfo("Europe/Paris")


def hours(month: str, *stamps: dt.datetime) -> ConnectedHours:
    return ConnectedHours(month).add(stamps)


def span(start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """Every hour a user was connected between start and end (end exclusive), as hourly Maximum reports them."""
    moments, at = [], start
    while at < end:
        moments.append(at)
        at += dt.timedelta(hours=1)
    return moments


def test_a_session_is_billed_its_connected_hours_plus_the_autostop_timeout() -> None:
    connected = hours("2026-03", *span(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), dt.datetime(2026, 3, 2, 17, tzinfo=UTC)))
    assert len(connected) == 8
    assert billable_hours(connected, 1) == 9
    assert billable_hours(connected, 2) == 10


def test_sessions_closer_than_the_timeout_merge_because_the_desk_never_stopped() -> None:
    morning = span(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), dt.datetime(2026, 3, 2, 12, tzinfo=UTC))
    afternoon = span(dt.datetime(2026, 3, 2, 13, tzinfo=UTC), dt.datetime(2026, 3, 2, 17, tzinfo=UTC))
    connected = hours("2026-03", *morning, *afternoon)
    # 09-12 connected, 12-13 still running (timeout), 13-17 connected, 17-18 timeout: 9 hours, not 3+1+4+1=9 twice
    assert billable_hours(connected, 1) == 9
    # With a 4-hour timeout the lunch break is covered too and the evening timeout runs to 21:00.
    assert billable_hours(connected, 4) == 12


def test_sessions_further_apart_than_the_timeout_each_pay_their_own_timeout() -> None:
    connected = hours("2026-03", dt.datetime(2026, 3, 2, 9, tzinfo=UTC), dt.datetime(2026, 3, 2, 15, tzinfo=UTC))
    assert billable_hours(connected, 1) == 4


def test_a_short_session_is_rounded_up_to_the_whole_hours_it_touched() -> None:
    # 09:50-10:10: UserConnected reports both hours; the timeout runs to 11:10, billed through the 11:00 hour.
    connected = hours(
        "2026-03", dt.datetime(2026, 3, 2, 9, 50, tzinfo=UTC), dt.datetime(2026, 3, 2, 10, 10, tzinfo=UTC)
    )
    assert billable_hours(connected, 1) == 3


def test_maintenance_window_hours_are_added_where_the_directory_has_one() -> None:
    connected = hours("2026-03", dt.datetime(2026, 3, 2, 9, tzinfo=UTC))
    assert billable_hours(connected, 1, maintenance_hours=5) == 2 + 5


def test_an_unused_desk_bills_no_hours() -> None:
    assert billable_hours(ConnectedHours("2026-03"), 1) == 0


def test_the_timeout_after_the_last_session_of_a_month_is_billed_in_the_next_month() -> None:
    last_hour = dt.datetime(2026, 3, 31, 23, tzinfo=UTC)
    march = hours("2026-03", last_hour)
    assert billable_hours(march, 2) == 1
    assert carried_over(march, 2) == 2
    april = ConnectedHours("2026-04")
    assert billable_hours(april, 2, carried_in=carried_over(march, 2)) == 2
    # A session at the start of April overlapping the carried timeout is not billed twice.
    april = hours("2026-04", dt.datetime(2026, 4, 1, 0, tzinfo=UTC))
    assert billable_hours(april, 2, carried_in=2) == 3


def test_timestamps_outside_the_month_are_ignored() -> None:
    connected = hours("2026-03", dt.datetime(2026, 2, 28, 23, tzinfo=UTC), dt.datetime(2026, 4, 1, 0, tzinfo=UTC))
    assert len(connected) == 0


def test_connected_hours_survive_their_compact_form() -> None:
    connected = hours("2026-03", *span(dt.datetime(2026, 3, 1, 0, tzinfo=UTC), dt.datetime(2026, 3, 1, 3, tzinfo=UTC)))
    connected = connected.add([dt.datetime(2026, 3, 31, 23, 30, tzinfo=UTC)])
    restored = ConnectedHours.from_hex("2026-03", connected.to_hex())
    assert restored == connected
    assert restored.hours == frozenset({0, 1, 2, 743})


def test_reading_the_same_hours_twice_counts_them_once() -> None:
    stamps = span(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), dt.datetime(2026, 3, 2, 12, tzinfo=UTC))
    assert hours("2026-03", *stamps).add(stamps) == hours("2026-03", *stamps)


def test_spring_forward_night_counts_the_real_hours_not_the_wall_clock_ones() -> None:
    # Paris, 29 March 2026: clocks jump from 02:00 to 03:00. A session from 01:00 to 05:00 local lasts 3 hours.
    start = dt.datetime(2026, 3, 29, 1, tzinfo=PARIS)
    end = dt.datetime(2026, 3, 29, 5, tzinfo=PARIS)
    assert end - start == dt.timedelta(hours=4)  # wall-clock arithmetic: the trap
    assert end.astimezone(UTC) - start.astimezone(UTC) == dt.timedelta(hours=3)
    connected = hours("2026-03", *span(start.astimezone(UTC), end.astimezone(UTC)))
    assert len(connected) == 3
    assert billable_hours(connected, 1) == 4


def test_fall_back_day_has_25_hours_and_all_are_counted() -> None:
    # Paris, 25 October 2026: 02:00-03:00 happens twice. The whole local day is 25 UTC hours.
    start = dt.datetime(2026, 10, 25, 0, tzinfo=PARIS)
    end = dt.datetime(2026, 10, 26, 0, tzinfo=PARIS)
    day = span(start.astimezone(UTC), end.astimezone(UTC))
    assert len(day) == 25
    # The local day starts on the 24th in UTC: each month keeps its own hours.
    october = hours("2026-10", *day)
    assert len(october) == 25
    assert running_hours(october, 0) == 25


def test_months_are_utc_calendar_months() -> None:
    assert month_of(dt.datetime(2026, 3, 31, 23, 30, tzinfo=UTC)) == "2026-03"
    # 1 April 00:30 in Paris is still 31 March in UTC, where AWS bills.
    assert month_of(dt.datetime(2026, 4, 1, 0, 30, tzinfo=PARIS)) == "2026-03"
    assert previous_month("2026-01") == "2025-12"
    assert month_end("2026-12") == dt.datetime(2027, 1, 1, tzinfo=UTC)
    assert (days_in_month("2026-02"), days_in_month("2028-02"), hours_in_month("2026-03")) == (28, 29, 744)


def test_the_last_day_of_the_month_is_recognised() -> None:
    assert is_last_day(dt.datetime(2026, 2, 28, 5, 30, tzinfo=UTC))
    assert not is_last_day(dt.datetime(2028, 2, 28, 5, 30, tzinfo=UTC))
    assert is_last_day(dt.datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
    assert not is_last_day(dt.datetime(2026, 12, 1, 0, 0, tzinfo=UTC))


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        month_of(dt.datetime(2026, 3, 1))  # naive on purpose


def test_autostop_timeouts_are_billed_in_whole_hours() -> None:
    assert autostop_hours(60, 1) == 1
    assert autostop_hours(120, 1) == 2
    assert autostop_hours(90, 1) == 2
    assert autostop_hours(None, 3) == 3


def test_a_desk_created_mid_month_gets_a_prorated_break_even() -> None:
    # Created on the 21st: 11 of March's 31 days.
    period = ActivePeriod.of("2026-03", created_at=dt.datetime(2026, 3, 21, 14, tzinfo=UTC))
    assert period.days == 11
    assert prorated_break_even(87.5, period) == pytest.approx(87.5 * 11 / 31)


def test_a_desk_terminated_mid_month_gets_a_prorated_break_even() -> None:
    period = ActivePeriod.of("2026-03", ends_at=dt.datetime(2026, 3, 10, 12, tzinfo=UTC))
    assert period.days == 10
    assert prorated_break_even(87.5, period) == pytest.approx(87.5 * 10 / 31)


def test_a_desk_that_existed_all_month_keeps_the_full_break_even() -> None:
    period = ActivePeriod.of(
        "2026-03", created_at=dt.datetime(2026, 1, 5, tzinfo=UTC), ends_at=dt.datetime(2026, 5, 1, tzinfo=UTC)
    )
    assert (period.days, period.fraction) == (31, 1.0)


def test_the_observed_share_of_the_month_grows_with_the_days() -> None:
    period = ActivePeriod.of("2026-03")
    assert period.observed_fraction(dt.datetime(2026, 3, 11, tzinfo=UTC)) == pytest.approx(10 / 31)
    assert period.observed_fraction(None) == 1.0
