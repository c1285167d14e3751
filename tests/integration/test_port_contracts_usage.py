"""Port contract: month-to-date usage and report rows (UsageStore on moto and the running-modes unit tests'
FakeUsageStore), the same cases for both (see test_port_contracts_desks.py for why these live in the integration
tier). The optimiser relies on: load returns only records that exist, a first save only where none is stored,
later saves only on the version read, a report row rewritten in place."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from autopilot.adapters.usage_store import UsageStore
from autopilot.domain.cost.ports import ReportRow, UsageRecord
from autopilot.domain.kernel.errors import StaleUpdate
from tests.support.contracts import port_fixture, state_table
from tests.unit.fakes_optimizer import FakeUsageStore

NOW = dt.datetime(2026, 3, 5, 5, 30, tzinfo=dt.UTC)


usage = port_fixture("usage", {"moto": lambda r: UsageStore(state_table(r)), "fake": lambda _: FakeUsageStore()})


def _row(workspace_id: str, **changes: Any) -> ReportRow:
    fields: dict[str, Any] = {
        "month": "2026-03",
        "workspace_id": workspace_id,
        "hours": 9,
        "break_even": 87.5,
        "decision": "keep",
        "decided_at": NOW,
    }
    return ReportRow.model_validate(fields | changes)


def test_load_returns_only_the_records_that_exist(usage: Any) -> None:
    march = usage.save(UsageRecord(workspace_id="ws-aaaaaaaa1", month="2026-03", connected="ff", hours=9))
    february = usage.save(UsageRecord(workspace_id="ws-aaaaaaaa1", month="2026-02", closed=True, switch_share=0.25))
    found = usage.load(["ws-aaaaaaaa1", "ws-bbbbbbbb2", "ws-aaaaaaaa1"], ["2026-03", "2026-02", "2026-01"])
    assert found == {("ws-aaaaaaaa1", "2026-03"): march, ("ws-aaaaaaaa1", "2026-02"): february}
    assert usage.load([], ["2026-03"]) == {}


def test_a_first_save_is_refused_where_a_record_already_exists(usage: Any) -> None:
    first = usage.save(UsageRecord(workspace_id="ws-aaaaaaaa1", month="2026-03"))
    assert first.version == 1
    with pytest.raises(StaleUpdate):
        usage.save(UsageRecord(workspace_id="ws-aaaaaaaa1", month="2026-03", hours=3))
    assert usage.load(["ws-aaaaaaaa1"], ["2026-03"]) == {("ws-aaaaaaaa1", "2026-03"): first}


def test_a_save_based_on_a_stale_read_is_refused(usage: Any) -> None:
    first = usage.save(UsageRecord(workspace_id="ws-aaaaaaaa1", month="2026-03"))
    second = usage.save(first.model_copy(update={"hours": 4}))
    assert second.version == 2
    with pytest.raises(StaleUpdate):
        usage.save(first.model_copy(update={"hours": 5}))
    with pytest.raises(StaleUpdate):  # a version that was never stored
        usage.save(UsageRecord(workspace_id="ws-bbbbbbbb2", month="2026-03", version=3))


def test_a_report_row_is_rewritten_in_place_and_read_by_month(usage: Any) -> None:
    usage.put_report_row(_row("ws-bbbbbbbb2"))
    usage.put_report_row(_row("ws-aaaaaaaa1"))
    usage.put_report_row(_row("ws-aaaaaaaa1", decision="to_auto_stop", estimated_saving=12.5))
    usage.put_report_row(_row("ws-aaaaaaaa1", month="2026-02"))
    rows = sorted(usage.report_rows("2026-03"), key=lambda row: row.workspace_id)
    assert rows == [_row("ws-aaaaaaaa1", decision="to_auto_stop", estimated_saving=12.5), _row("ws-bbbbbbbb2")]
    assert usage.report_rows("2026-01") == []
