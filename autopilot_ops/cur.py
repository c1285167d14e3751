"""`autopilot running-modes verify --cur FILE`: the optimiser's estimates against a cost-and-usage export.

Reads what AWS Data Exports writes (CUR 2.0 columns; CSV, gzip-compressed CSV, or Parquet with the optional
`parquet` extra: `pip install 'workspaces-autopilot[parquet]'`, never in the Lambda layer). AWS owns the file:
columns we do not use are ignored, the ones we use must be there (a missing one is named).

Per desk and UTC month: hours billed by the hour (AutoStop lines in hours) and the cost of every WorkSpaces line,
against the optimiser's usage record: its billable hours (until its switch to ALWAYS_ON, if it made one) and the
cost they come to at the policy's prices (docs/optimizer.md, "Billing rules").
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autopilot.domain.cost.ports import UsageRecord
from autopilot.domain.kernel.running_mode_policy import Optimizer
from autopilot_ops.errors import BadInput

REQUIRED = (
    "line_item_product_code",
    "line_item_resource_id",
    "line_item_usage_type",
    "line_item_usage_amount",
    "line_item_unblended_cost",
    "line_item_usage_start_date",
)
PRODUCT_CODE = "AmazonWorkSpaces"
COLUMNS = (
    "workspace_id",
    "estimated_hours",
    "billed_hours",
    "estimated_cost",
    "billed_cost",
    "hours_error",
    "cost_error",
)
HOUR_UNITS = frozenset({"hrs", "hr", "hour", "hours"})


@dataclass
class Billed:
    hours: float = 0.0
    cost: float = 0.0


def read_rows(path: Path) -> list[dict[str, str]]:
    """The export's rows as text, checked for the columns verify needs."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"{path}: cannot read it: {exc.strerror or exc}") from exc
    if path.suffix == ".parquet":
        rows = _parquet_rows(path)
        columns = list(rows[0]) if rows else _parquet_columns(path)
    else:
        try:
            text = (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(f"{path}: not a CSV or gzip-compressed CSV export ({exc})") from exc
        reader = csv.DictReader(io.StringIO(text))
        columns = list(reader.fieldnames or [])
        rows = list(reader)
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise BadInput(f"{path}: not a cost-and-usage export: column {', '.join(missing)} missing")
    return rows


def _pyarrow() -> Any:
    try:
        import pyarrow.parquet as parquet  # the optional extra, only for Parquet exports
    except ImportError as exc:
        raise BadInput("reading Parquet needs pyarrow: pip install 'workspaces-autopilot[parquet]'") from exc
    return parquet


def _parquet_rows(path: Path) -> list[dict[str, str]]:
    table = _pyarrow().read_table(path)
    return [{key: "" if value is None else str(value) for key, value in row.items()} for row in table.to_pylist()]


def _parquet_columns(path: Path) -> list[str]:
    return list(_pyarrow().read_schema(path).names)


def _month(value: str) -> str:
    moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace(" ", "T"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)  # CUR dates are UTC
    return moment.astimezone(dt.UTC).strftime("%Y-%m")


def _number(value: str, column: str, path: Path) -> float:
    try:
        return float(value or 0)
    except ValueError as exc:
        raise BadInput(f"{path}: {column} {value!r} is not a number") from exc


def billed_by_desk(rows: Iterable[Mapping[str, str]], month: str, path: Path) -> dict[str, Billed]:
    billed: dict[str, Billed] = {}
    for row in rows:
        if row["line_item_product_code"] != PRODUCT_CODE or _month(row["line_item_usage_start_date"]) != month:
            continue
        # Resource ids may be the WorkSpace id or its ARN (…:workspace/ws-…).
        desk = billed.setdefault(row["line_item_resource_id"].rsplit("/", 1)[-1], Billed())
        desk.cost += _number(row["line_item_unblended_cost"], "line_item_unblended_cost", path)
        usage_type = row["line_item_usage_type"]
        unit = (row.get("pricing_unit") or "").strip().lower()
        in_hours = unit in HOUR_UNITS if unit else usage_type.endswith("Usage")
        if "AutoStop" in usage_type and in_hours:
            desk.hours += _number(row["line_item_usage_amount"], "line_item_usage_amount", path)
    return billed


def estimate(record: UsageRecord, settings: Optimizer) -> tuple[float, float | None]:
    """Hours the optimiser says the desk is billed by the hour this month, and what its month costs."""
    price = settings.price_for(record.compute)
    if record.switched_to == "ALWAYS_ON" and record.switch_hours is not None:
        hours = float(record.switch_hours)
        share = record.switch_share or 0.0
        return hours, (price.autostop_base + price.hourly * hours + price.monthly * share) if price else None
    if record.switched_to == "AUTO_STOP" or record.running_mode != "AUTO_STOP":
        return 0.0, price.monthly if price else None  # paid monthly (a switch to AUTO_STOP counts next month)
    hours = float(record.hours)
    return hours, (price.autostop_base + price.hourly * hours) if price else None


def compare(
    records: Mapping[str, UsageRecord], billed: Mapping[str, Billed], settings: Optimizer
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for workspace_id in sorted(set(records) | set(billed)):
        record, bill = records.get(workspace_id), billed.get(workspace_id)
        hours, cost = estimate(record, settings) if record is not None else (None, None)
        rows.append(
            {
                "workspace_id": workspace_id,
                "estimated_hours": hours,
                "billed_hours": round(bill.hours, 4) if bill else None,
                "estimated_cost": round(cost, 2) if cost is not None else None,
                "billed_cost": round(bill.cost, 2) if bill else None,
                "hours_error": _error(hours, bill.hours if bill else None),
                "cost_error": _error(cost, bill.cost if bill else None),
            }
        )
    both = [row for row in rows if row["estimated_cost"] is not None and row["billed_cost"] is not None]
    totals = {
        "desks": len(rows),
        "compared": len(both),
        "estimated_hours": sum(row["estimated_hours"] for row in both),
        "billed_hours": round(sum(row["billed_hours"] for row in both), 4),
        "estimated_cost": round(sum(row["estimated_cost"] for row in both), 2),
        "billed_cost": round(sum(row["billed_cost"] for row in both), 2),
    }
    totals["hours_error"] = _error(totals["estimated_hours"], totals["billed_hours"])
    totals["cost_error"] = _error(totals["estimated_cost"], totals["billed_cost"])
    return rows, totals


def _error(estimated: float | None, billed: float | None) -> float | None:
    """Relative error of the estimate (0.01 = 1 %); 0 when both are 0."""
    if estimated is None or billed is None:
        return None
    if billed == 0:
        return 0.0 if estimated == 0 else None
    return round((estimated - billed) / billed, 4)
