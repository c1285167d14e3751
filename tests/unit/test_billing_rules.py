"""The billing meter's rules (localcloud/billing.py, docs/optimizer.md "Billing rules"), one desk at a time."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
from pathlib import Path

import pytest

from autopilot.domain.kernel.running_mode_policy import DEFAULT_PRICES
from localcloud import billing

UTC = dt.UTC
MONTH = "2026-04"  # 30 days, 720 hours
STANDARD = DEFAULT_PRICES["STANDARD"]


def at(day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 4, day, hour, minute, tzinfo=UTC)


def desk(mode: str = "AUTO_STOP", *, created: dt.datetime | None = None, **changes: object) -> billing.DeskTimeline:
    start = created or dt.datetime(2026, 1, 1, tzinfo=UTC)
    timeline = billing.DeskTimeline("ws-1", start, modes=[(start, mode)], computes=[(start, "STANDARD")])
    for name, value in changes.items():
        setattr(timeline, name, value)
    return timeline


def bill(timeline: billing.DeskTimeline) -> billing.DeskBill:
    return billing.bill_month(timeline, MONTH, DEFAULT_PRICES)


def test_always_on_all_month_is_the_monthly_price() -> None:
    result = bill(desk("ALWAYS_ON", running=[(at(1), None)]))
    assert (result.hours, result.cost) == (0, pytest.approx(36.0))


def test_autostop_bills_the_fee_and_every_clock_hour_it_ran_a_started_hour_whole() -> None:
    # 09:30-11:30 touches the hours 9, 10 and 11: three hours, not two.
    result = bill(desk(running=[(at(2, 9, 30), at(2, 11, 30))]))
    assert result.hours == 3
    assert result.cost == pytest.approx(9.75 + 3 * 0.30)


def test_hours_of_other_months_are_not_billed_in_this_one() -> None:
    result = bill(desk(running=[(dt.datetime(2026, 3, 31, 23, tzinfo=UTC), at(1, 1))]))
    assert result.hours == 1


def test_switch_to_always_on_mid_month_adds_the_prorated_monthly_price_and_ends_hourly_billing() -> None:
    # Switched on the 26th at 05:30: 4 days and 19 hours left = 115 of 720 hours, prorated from 05:00.
    switched = at(26, 5, 30)
    timeline = desk(
        modes=[(dt.datetime(2026, 1, 1, tzinfo=UTC), "AUTO_STOP"), (switched, "ALWAYS_ON")],
        running=[(at(1, 0), at(26, 5, 30)), (at(27), None)],
    )
    result = bill(timeline)
    assert result.hours == 25 * 24 + 6  # up to and including the hour of the switch
    fee = [line for line in result.lines if line.kind == "alwayson_fee"]
    assert [line.amount for line in fee] == [pytest.approx(115 / 720)]
    assert result.cost == pytest.approx(9.75 + 606 * 0.30 + 36.0 * 115 / 720)


def test_switch_to_auto_stop_takes_effect_next_month() -> None:
    timeline = desk(
        "ALWAYS_ON",
        modes=[(dt.datetime(2026, 1, 1, tzinfo=UTC), "ALWAYS_ON"), (at(10), "AUTO_STOP")],
        running=[(at(1), at(10)), (at(12, 9), at(12, 18))],
    )
    april = bill(timeline)
    may = billing.bill_month(timeline, "2026-05", DEFAULT_PRICES)
    assert (april.hours, april.cost) == (0, pytest.approx(36.0))
    assert (may.hours, may.cost) == (0, pytest.approx(9.75))


def test_created_mid_month_fees_are_prorated_from_the_hour_of_creation() -> None:
    created = at(16, 10, 20)  # 14 days 14 hours left = 350 hours
    always_on = bill(desk("ALWAYS_ON", created=created, running=[(created, None)]))
    assert always_on.cost == pytest.approx(36.0 * 350 / 720)
    auto_stop = bill(desk(created=created))
    assert auto_stop.cost == pytest.approx(9.75 * 350 / 720)


def test_a_terminated_desk_keeps_the_fees_already_charged() -> None:
    result = bill(desk("ALWAYS_ON", terminated_at=at(5), running=[(at(1), at(5))]))
    assert result.cost == pytest.approx(36.0)
    gone = bill(desk(terminated_at=dt.datetime(2026, 3, 20, tzinfo=UTC)))
    assert gone.lines == []


def test_the_export_has_the_cur_columns_and_adds_up_to_the_bill(tmp_path: Path) -> None:
    result = bill(desk(running=[(at(2, 9), at(2, 12))]))
    path = billing.write_cur(tmp_path / "cur.csv.gz", [result])
    rows = list(csv.DictReader(gzip.decompress(path.read_bytes()).decode().splitlines()))
    assert set(billing.CUR_COLUMNS) <= set(rows[0])
    assert sum(float(row["line_item_unblended_cost"]) for row in rows) == pytest.approx(result.cost)
    hours = [row for row in rows if row["pricing_unit"] == "Hrs"]
    assert sum(float(row["line_item_usage_amount"]) for row in hours) == 3
    assert {row["line_item_product_code"] for row in rows} == {"AmazonWorkSpaces"}
    assert rows[0]["bill_billing_period_start_date"] == "2026-04-01T00:00:00Z"


def test_a_desk_started_by_the_switch_itself_bills_no_hour_before_it() -> None:
    # A stopped desk switched to ALWAYS_ON at 05:30 starts at 05:30: nothing of it is billed by the hour.
    switched = at(9, 5, 30)
    timeline = desk(modes=[(dt.datetime(2026, 1, 1, tzinfo=UTC), "AUTO_STOP"), (switched, "ALWAYS_ON")])
    timeline.running = [(switched, None)]
    assert bill(timeline).hours == 0
