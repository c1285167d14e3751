"""`autopilot running-modes verify`: reading a cost-and-usage export and comparing it with the usage records."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import pytest
from click.testing import CliRunner

from autopilot.domain.cost.ports import UsageRecord
from autopilot.domain.kernel.running_mode_policy import Optimizer
from autopilot_ops import cur
from autopilot_ops.cli import Session, main
from autopilot_ops.errors import BadInput
from localcloud import billing

pytestmark = pytest.mark.usefixtures("socket_disabled")

UTC = dt.UTC
START = dt.datetime(2026, 1, 1, tzinfo=UTC)


def export(tmp_path: Path, name: str = "cur.csv.gz") -> Path:
    """The meter's export of April 2026 for two desks: one hourly all month, one switched on the 9th."""
    hourly = billing.DeskTimeline(
        "ws-hourly001",
        START,
        modes=[(START, "AUTO_STOP")],
        computes=[(START, "STANDARD")],
        running=[
            (dt.datetime(2026, 4, d, 9, tzinfo=UTC), dt.datetime(2026, 4, d, 19, 30, tzinfo=UTC)) for d in range(1, 31)
        ],
    )
    switch = dt.datetime(2026, 4, 9, 5, 30, tzinfo=UTC)
    switched = billing.DeskTimeline(
        "ws-switch001",
        START,
        modes=[(START, "AUTO_STOP"), (switch, "ALWAYS_ON")],
        computes=[(START, "STANDARD")],
        running=[
            (dt.datetime(2026, 4, d, 9, tzinfo=UTC), dt.datetime(2026, 4, d, 20, tzinfo=UTC)) for d in range(1, 9)
        ],
    )
    prices = Optimizer().prices
    bills = [billing.bill_month(desk, "2026-04", prices) for desk in (hourly, switched)]
    return billing.write_cur(tmp_path / name, bills)


def records() -> dict[str, UsageRecord]:
    share = (dt.datetime(2026, 5, 1, tzinfo=UTC) - dt.datetime(2026, 4, 9, 5, tzinfo=UTC)) / dt.timedelta(days=30)
    return {
        "ws-hourly001": UsageRecord(
            workspace_id="ws-hourly001", month="2026-04", compute="STANDARD", running_mode="AUTO_STOP", hours=330
        ),
        "ws-switch001": UsageRecord(
            workspace_id="ws-switch001",
            month="2026-04",
            compute="STANDARD",
            running_mode="ALWAYS_ON",
            hours=300,
            switched_to="ALWAYS_ON",
            switch_hours=88,
            switch_share=share,
        ),
    }


def test_the_meters_export_read_back_has_no_error(tmp_path: Path) -> None:
    rows = cur.read_rows(export(tmp_path))
    billed = cur.billed_by_desk(rows, "2026-04", Path("cur"))
    compared, total = cur.compare(records(), billed, Optimizer())
    assert [(r["estimated_hours"], r["billed_hours"]) for r in compared] == [(330.0, 330.0), (88.0, 88.0)]
    assert [r["cost_error"] for r in compared] == [0.0, 0.0]
    assert (total["hours_error"], total["cost_error"]) == (0.0, 0.0)


def test_an_export_without_a_column_names_it(tmp_path: Path) -> None:
    path = export(tmp_path, "cur.csv")
    lines = path.read_text().splitlines()
    columns = lines[0].split(",")
    drop = columns.index("line_item_usage_amount")
    path.write_text("\n".join(",".join(v for i, v in enumerate(line.split(",")) if i != drop) for line in lines))
    with pytest.raises(BadInput, match="column line_item_usage_amount missing"):
        cur.read_rows(path)


def test_verify_on_a_malformed_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "cur.csv.gz"
    path.write_bytes(gzip.compress(b"line_item_resource_id,line_item_usage_type\nws-1,x\n"))
    result = CliRunner().invoke(main, ["running-modes", "verify", "--cur", str(path)], obj=Session(quiet=True))
    assert result.exit_code == 2
    assert "column line_item_product_code, line_item_usage_amount" in result.output


def test_parquet_without_pyarrow_says_which_extra_to_install(tmp_path: Path) -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        path = tmp_path / "cur.parquet"
        path.write_bytes(b"PAR1")
        with pytest.raises(BadInput, match=r"\[parquet\]"):
            cur.read_rows(path)
    else:
        pytest.skip("pyarrow is installed: Parquet is read")
