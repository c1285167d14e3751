"""Shift windows: local wall-clock starts across daylight-saving changes, working days, holidays."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autopilot.domain.fleet.shifts import due_shift, is_working_day, local_start, next_shift
from tests.unit.fakes_fleet import shift

pytestmark = pytest.mark.usefixtures("socket_disabled")

UTC = dt.UTC
LEAD = dt.timedelta(minutes=20)
GRACE = dt.timedelta(minutes=30)
EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def test_paris_spring_forward_moves_the_utc_start_one_hour_earlier() -> None:
    # Europe/Paris goes from UTC+1 to UTC+2 on Sunday 2026-03-29 at 02:00 local.
    agent = shift(days=EVERY_DAY, start="08:00")
    assert local_start(agent, dt.date(2026, 3, 28)) == dt.datetime(2026, 3, 28, 7, 0, tzinfo=UTC)
    assert local_start(agent, dt.date(2026, 3, 29)) == dt.datetime(2026, 3, 29, 6, 0, tzinfo=UTC)


def test_paris_fall_back_moves_the_utc_start_one_hour_later() -> None:
    # Europe/Paris goes from UTC+2 back to UTC+1 on Sunday 2026-10-25 at 03:00 local.
    agent = shift(days=EVERY_DAY, start="08:00")
    assert local_start(agent, dt.date(2026, 10, 24)) == dt.datetime(2026, 10, 24, 6, 0, tzinfo=UTC)
    assert local_start(agent, dt.date(2026, 10, 25)) == dt.datetime(2026, 10, 25, 7, 0, tzinfo=UTC)


def test_a_start_in_the_skipped_hour_is_read_with_the_winter_offset() -> None:
    # 02:30 does not exist on 2026-03-29 in Paris: it means 01:30 UTC, i.e. 03:30 summer time.
    night = shift(days=EVERY_DAY, start="02:30")
    assert local_start(night, dt.date(2026, 3, 29)) == dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_a_start_in_the_repeated_hour_means_the_first_of_the_two() -> None:
    # 02:30 happens twice on 2026-10-25 in Paris: the first one is still summer time (UTC+2).
    night = shift(days=EVERY_DAY, start="02:30")
    assert local_start(night, dt.date(2026, 10, 25)) == dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_the_monday_after_spring_forward_is_due_at_the_new_utc_time() -> None:
    agent = shift(start="08:00")  # mon-fri
    monday_start = dt.datetime(2026, 3, 30, 6, 0, tzinfo=UTC)  # 08:00 CEST
    assert due_shift(agent, monday_start - LEAD, lead=LEAD, grace=GRACE) is not None
    assert due_shift(agent, monday_start - LEAD - dt.timedelta(minutes=1), lead=LEAD, grace=GRACE) is None
    # One hour later in UTC (what the winter offset would say) is past the grace: not due any more.
    assert due_shift(agent, monday_start + dt.timedelta(hours=1) - LEAD, lead=LEAD, grace=GRACE) is None


def test_the_monday_after_fall_back_is_due_at_the_new_utc_time() -> None:
    agent = shift(start="08:00")
    monday_start = dt.datetime(2026, 10, 26, 7, 0, tzinfo=UTC)  # 08:00 CET
    occurrence = due_shift(agent, monday_start - LEAD, lead=LEAD, grace=GRACE)
    assert occurrence is not None
    assert occurrence.starts_at == monday_start
    assert due_shift(agent, monday_start - dt.timedelta(hours=1) - LEAD, lead=LEAD, grace=GRACE) is None


def test_weekends_outside_the_shift_days_are_never_due() -> None:
    agent = shift(start="08:00")
    saturday = dt.date(2026, 12, 5)
    assert not is_working_day(agent, saturday)
    saturday_start = dt.datetime(2026, 12, 5, 7, 0, tzinfo=UTC)
    assert due_shift(agent, saturday_start - LEAD, lead=LEAD, grace=GRACE) is None


def test_a_policy_holiday_is_never_due() -> None:
    agent = shift(start="08:00")
    christmas = dt.date(2026, 12, 25)  # a Friday
    start = dt.datetime(2026, 12, 25, 7, 0, tzinfo=UTC)
    assert due_shift(agent, start - LEAD, lead=LEAD, grace=GRACE, holidays={christmas}) is None
    assert due_shift(agent, start - LEAD, lead=LEAD, grace=GRACE) is not None


def test_a_window_that_opens_the_evening_before_belongs_to_the_next_day() -> None:
    night = shift(timezone="Europe/Paris", days=("tue",), start="00:10")
    # Monday 23:55 local (22:55 UTC in winter) is within 20 minutes of Tuesday 00:10.
    occurrence = due_shift(night, dt.datetime(2026, 12, 7, 22, 55, tzinfo=UTC), lead=LEAD, grace=GRACE)
    assert occurrence is not None
    assert occurrence.local_date == dt.date(2026, 12, 8)
    assert occurrence.key == "2026-12-08"


def test_time_zones_far_from_utc_use_their_own_local_date() -> None:
    kolkata = shift(timezone="Asia/Kolkata", days=("mon",), start="04:00")
    # Monday 04:00 in Kolkata is Sunday 22:30 UTC.
    occurrence = due_shift(kolkata, dt.datetime(2026, 12, 6, 22, 15, tzinfo=UTC), lead=LEAD, grace=GRACE)
    assert occurrence is not None
    assert occurrence.local_date == dt.date(2026, 12, 7)


def test_the_next_shift_after_friday_evening_is_monday_skipping_holidays() -> None:
    agent = shift(start="08:00")
    friday_evening = dt.datetime(2026, 12, 4, 18, 0, tzinfo=UTC)
    assert next_shift(agent, friday_evening).local_date == dt.date(2026, 12, 7)  # type: ignore[union-attr]
    following = next_shift(agent, friday_evening, holidays={dt.date(2026, 12, 7)})
    assert following is not None
    assert following.local_date == dt.date(2026, 12, 8)


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31), timezones=st.just(UTC)),
    zone=st.sampled_from(["Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "UTC"]),
    start=st.times(),
)
def test_a_due_shift_always_starts_within_the_window_around_now(moment: dt.datetime, zone: str, start: dt.time) -> None:
    worker = shift(timezone=zone, days=EVERY_DAY, start=start.replace(microsecond=0).isoformat())
    occurrence = due_shift(worker, moment, lead=LEAD, grace=GRACE)
    if occurrence is not None:
        assert moment - GRACE < occurrence.starts_at <= moment + LEAD
