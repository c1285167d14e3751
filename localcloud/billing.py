"""What AWS bills for a WorkSpaces Personal desk, per UTC month, rule by rule (docs/optimizer.md, "Billing rules",
cites each rule). Pure: a desk's timeline in, bill lines out; the local cloud's meter (localcloud/meter.py) records
the timelines, the accuracy benchmark (bench/billing_bench.py) builds them directly.

- B1 Months are UTC calendar months; fees renew at 00:00 UTC on the 1st.
- B2 AlwaysOn: the monthly price, in full for a month the desk starts as AlwaysOn; prorated from the hour it
  was created in (or switched to AlwaysOn in) to the month's end otherwise.
- B3 AutoStop: a fixed monthly fee (prorated the same way when created mid-month), plus the hourly price for
  every UTC clock hour in which the desk ran, partly or wholly (a started hour is billed whole), while billed
  hourly. "Ran" means any state but PENDING, STOPPING, STOPPED, TERMINATING, TERMINATED, SUSPENDED and ERROR:
  billing stops when the AutoStop timeout expires, not when the desk has finished stopping; maintenance is
  billed.
- B4 AutoStop -> AlwaysOn at t: hourly billing ends at t, the monthly price is charged prorated from the hour of
  t to the month's end, on top of the AutoStop fee and the hours already billed.
- B5 AlwaysOn -> AutoStop: takes effect on the 1st of the next month (the month is paid); nothing changes in
  this month's bill.
- B6 A terminated desk: hourly billing ends; fees already charged for the month stay charged.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from autopilot.domain.kernel.running_mode_policy import Price

HOUR = dt.timedelta(hours=1)
PRODUCT_CODE = "AmazonWorkSpaces"
# States in which an AUTO_STOP desk is billed by the hour (B3).
NOT_RUNNING = frozenset({"PENDING", "STOPPING", "STOPPED", "TERMINATING", "TERMINATED", "SUSPENDED", "ERROR"})

# CUR 2.0 columns written (AWS Data Exports table dictionary, "Cost and Usage Report (CUR) 2.0").
CUR_COLUMNS: tuple[str, ...] = (
    "bill_billing_period_start_date",
    "bill_billing_period_end_date",
    "identity_time_interval",
    "line_item_line_item_type",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_operation",
    "line_item_resource_id",
    "line_item_usage_start_date",
    "line_item_usage_end_date",
    "line_item_usage_amount",
    "line_item_unblended_rate",
    "line_item_unblended_cost",
    "line_item_currency_code",
    "line_item_line_item_description",
    "pricing_unit",
)


def month_start(month: str) -> dt.datetime:
    year, number = (int(part) for part in month.split("-"))
    return dt.datetime(year, number, 1, tzinfo=dt.UTC)


def month_end(month: str) -> dt.datetime:
    return (month_start(month) + dt.timedelta(days=32)).replace(day=1)


def month_of(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m")


def floor_hour(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def hours_in(month: str) -> int:
    return int((month_end(month) - month_start(month)) / HOUR)


def remaining_fraction(at: dt.datetime, month: str) -> float:
    """Share of `month` from the start of the UTC hour of `at` to the month's end (B2, B4)."""
    start = max(floor_hour(at), month_start(month))
    return max(0.0, (month_end(month) - start) / HOUR) / hours_in(month)


@dataclass
class DeskTimeline:
    """One desk as billing sees it. Intervals are [start, end); an end of None is still open."""

    workspace_id: str
    created_at: dt.datetime
    modes: list[tuple[dt.datetime, str]]  # (since, running mode), the first at created_at
    computes: list[tuple[dt.datetime, str]]  # (since, compute type)
    running: list[tuple[dt.datetime, dt.datetime | None]] = field(default_factory=list)
    terminated_at: dt.datetime | None = None

    def mode_at(self, at: dt.datetime) -> str:
        return _value_at(self.modes, at)

    def compute_at(self, at: dt.datetime) -> str:
        return _value_at(self.computes, at)


def _value_at(changes: Sequence[tuple[dt.datetime, str]], at: dt.datetime) -> str:
    value = changes[0][1]
    for since, changed in changes:
        if since <= at:
            value = changed
    return value


@dataclass(frozen=True)
class Line:
    """One charge: hourly usage (one clock hour), or a monthly fee (full or prorated)."""

    workspace_id: str
    kind: str  # "hour", "autostop_fee", "alwayson_fee"
    compute: str
    start: dt.datetime
    end: dt.datetime
    amount: float  # hours, or the share of a month
    rate: float
    cost: float


@dataclass
class DeskBill:
    workspace_id: str
    month: str
    lines: list[Line] = field(default_factory=list)

    @property
    def hours(self) -> int:
        return sum(1 for line in self.lines if line.kind == "hour")

    @property
    def cost(self) -> float:
        return sum(line.cost for line in self.lines)


def running_clock_hours(
    intervals: Iterable[tuple[dt.datetime, dt.datetime | None]], start: dt.datetime, end: dt.datetime
) -> list[dt.datetime]:
    """The UTC clock hours in [start, end) that overlap a running interval (a started hour counts whole)."""
    hours: set[dt.datetime] = set()
    for first, last in intervals:
        lo, hi = max(first, start), min(last or end, end)
        if lo >= hi:
            continue
        hour = floor_hour(lo)
        while hour < hi:
            hours.add(hour)
            hour += HOUR
    return sorted(hours)


def bill_month(
    desk: DeskTimeline, month: str, prices: Mapping[str, Price], *, until: dt.datetime | None = None
) -> DeskBill:
    """Desk `desk`'s charges for `month` (to `until`, default the month's end), by rules B1-B6."""
    first, last = month_start(month), month_end(month)
    stop = min(until or last, last)
    bill = DeskBill(desk.workspace_id, month)
    if desk.created_at >= stop or (desk.terminated_at is not None and desk.terminated_at <= first):
        return bill
    begin = max(desk.created_at, first)
    billing = desk.mode_at(begin)  # B5: the billing mode is the mode at the month's start (or creation)

    def fee(kind: str, at: dt.datetime) -> None:
        compute = desk.compute_at(at)
        price = prices[compute]
        rate = price.monthly if kind == "alwayson_fee" else price.autostop_base
        share = 1.0 if at <= first else remaining_fraction(at, month)
        bill.lines.append(
            Line(desk.workspace_id, kind, compute, max(floor_hour(at), first), last, share, rate, rate * share)
        )

    monthly_from: dt.datetime | None = None
    if billing == "ALWAYS_ON":
        fee("alwayson_fee", begin)
        monthly_from = begin
    else:
        fee("autostop_fee", begin)
        # B4: the first switch to AlwaysOn while billed hourly ends hourly billing.
        for since, mode in desk.modes:
            if begin <= since < stop and mode == "ALWAYS_ON":
                fee("alwayson_fee", since)
                monthly_from = since
                break
    hourly_until = min(stop, monthly_from) if monthly_from is not None and billing != "ALWAYS_ON" else stop
    if billing == "ALWAYS_ON":
        return bill
    ends = min(hourly_until, desk.terminated_at) if desk.terminated_at else hourly_until
    for hour in running_clock_hours(desk.running, begin, ends):
        compute = desk.compute_at(hour)
        rate = prices[compute].hourly
        bill.lines.append(Line(desk.workspace_id, "hour", compute, hour, hour + HOUR, 1.0, rate, rate))
    return bill


# --- the cost-and-usage export (CUR 2.0 columns) ------------------------------------------------------------
def usage_type(region_prefix: str, line: Line) -> str:
    """Our usage-type names. AWS's exact WorkSpaces usage-type strings are not documented; what is known (and what
    `autopilot running-modes verify` relies on) is that AutoStop lines carry "AutoStop" and the hourly ones are in
    hours (pricing_unit Hrs)."""
    kind = {"hour": "AutoStop-Usage", "autostop_fee": "AutoStop-Month", "alwayson_fee": "AlwaysOn-Month"}[line.kind]
    return f"{region_prefix}-{line.compute}-{kind}"


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cur_rows(
    bills: Iterable[DeskBill], *, region_prefix: str = "EU", currency: str = "USD"
) -> Iterator[dict[str, str]]:
    for bill in bills:
        first, last = month_start(bill.month), month_end(bill.month)
        for line in bill.lines:
            yield {
                "bill_billing_period_start_date": _iso(first),
                "bill_billing_period_end_date": _iso(last),
                "identity_time_interval": f"{_iso(line.start)}/{_iso(line.end)}",
                "line_item_line_item_type": "Usage",
                "line_item_product_code": PRODUCT_CODE,
                "line_item_usage_type": usage_type(region_prefix, line),
                "line_item_operation": "Hourly" if line.kind == "hour" else "Monthly",
                "line_item_resource_id": line.workspace_id,
                "line_item_usage_start_date": _iso(line.start),
                "line_item_usage_end_date": _iso(line.end),
                "line_item_usage_amount": f"{line.amount:.10g}",
                "line_item_unblended_rate": f"{line.rate:.10g}",
                "line_item_unblended_cost": f"{line.cost:.10f}",
                "line_item_currency_code": currency,
                "line_item_line_item_description": _description(line, currency),
                "pricing_unit": "Hrs" if line.kind == "hour" else "Month",
            }


def _description(line: Line, currency: str) -> str:
    if line.kind == "hour":
        return f"{currency} {line.rate} per AutoStop {line.compute} WorkSpace hour"
    mode = "AutoStop" if line.kind == "autostop_fee" else "AlwaysOn"
    return f"{currency} {line.rate} per {mode} {line.compute} WorkSpace month, prorated {line.amount:.4f}"


def write_cur(path: Path, bills: Iterable[DeskBill], **options: str) -> Path:
    """The export as CSV, gzipped when `path` ends in .gz (Data Exports writes gzip-compressed CSV or Parquet)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CUR_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(cur_rows(bills, **options))
    data = buffer.getvalue().encode("utf-8")
    path.write_bytes(gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)
    return path
