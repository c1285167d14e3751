"""In-memory fakes of the running-mode optimiser's ports (domain/running_modes.py), no network. Each is run
against its adapter by tests/integration/test_port_contracts_*.py (managed fleet, usage, desks, bus)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from autopilot.domain.cost.ports import ManagedDesk, ModeChangeRefused, ReportRow, UsageRecord
from autopilot.domain.cost.running_modes import RunningModesOptimised
from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.domain.kernel.errors import StaleUpdate
from tests.unit import fakes_bus

UTC = dt.UTC
PARIS_DIR = "d-1111111111"


class FakeFleet:
    def __init__(self) -> None:
        self.desks: dict[str, ManagedDesk] = {}
        self.changes: list[tuple[str, str, int | None]] = []
        self.refuse: dict[str, str] = {}
        self.describe_calls = 0

    def add(self, workspace_id: str, **fields: Any) -> None:
        defaults: dict[str, Any] = {
            "directory_id": PARIS_DIR,
            "state": "AVAILABLE",
            "running_mode": "AUTO_STOP",
            "autostop_minutes": 60,
            "compute": "STANDARD",
            "tags": {"ManagedBy": "workspaces-autopilot"},
        }
        self.desks[workspace_id] = ManagedDesk(workspace_id=workspace_id, **(defaults | fields))

    def by_hand(self, workspace_id: str, running_mode: str) -> None:
        desk = self.desks[workspace_id]
        minutes = 60 if running_mode == "AUTO_STOP" else None
        self.desks[workspace_id] = dataclasses.replace(desk, running_mode=running_mode, autostop_minutes=minutes)

    def managed_desks(self, directory_ids: Sequence[str], tag_key: str, tag_value: str) -> list[ManagedDesk]:
        self.describe_calls += 1
        gone = ("TERMINATING", "TERMINATED")  # as ManagedFleet: DescribeWorkspaces has the last word
        return [
            d
            for d in self.desks.values()
            if d.directory_id in directory_ids and d.tags.get(tag_key) == tag_value and d.state not in gone
        ]

    def set_running_mode(self, workspace_id: str, running_mode: str, autostop_minutes: int | None) -> None:
        if workspace_id in self.refuse:
            raise ModeChangeRefused(workspace_id, self.refuse[workspace_id])
        self.changes.append((workspace_id, running_mode, autostop_minutes))
        desk = self.desks[workspace_id]
        self.desks[workspace_id] = dataclasses.replace(
            desk, running_mode=running_mode, autostop_minutes=autostop_minutes
        )


class FakeMetrics:
    def __init__(self) -> None:
        self.connected: dict[str, set[dt.datetime]] = {}
        self.running: dict[str, set[dt.datetime]] = {}
        self.requests: list[tuple[dict[str, dt.datetime], dt.datetime]] = []

    def use(self, workspace_id: str, start: dt.datetime, hours: int) -> None:
        """A session: connected `hours`, and (were the desk AUTO_STOP) running one more, its 1 h AutoStop."""
        for n in range(hours):
            self.connected.setdefault(workspace_id, set()).add(start + dt.timedelta(hours=n))
        self.run(workspace_id, start, hours + 1 if hours else 0)

    def run(self, workspace_id: str, start: dt.datetime, hours: int) -> None:
        """Hours the desk ran (AWS/WorkSpaces Stopped = 0) without anyone connected (pre-warm, maintenance)."""
        for n in range(hours):
            self.running.setdefault(workspace_id, set()).add(start + dt.timedelta(hours=n))

    def connected_hours(self, starts: Mapping[str, dt.datetime], end: dt.datetime) -> dict[str, list[dt.datetime]]:
        self.requests.append((dict(starts), end))
        return {
            ws: sorted(h for h in self.connected.get(ws, set()) if start <= h < end) for ws, start in starts.items()
        }

    def running_hours(self, starts: Mapping[str, dt.datetime], end: dt.datetime) -> dict[str, list[dt.datetime]]:
        self.requests.append((dict(starts), end))
        return {ws: sorted(h for h in self.running.get(ws, set()) if start <= h < end) for ws, start in starts.items()}


class FakeUsageStore:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], UsageRecord] = {}
        self.rows: dict[tuple[str, str], ReportRow] = {}
        self.saves = 0

    def load(self, workspace_ids: Sequence[str], months: Sequence[str]) -> dict[tuple[str, str], UsageRecord]:
        return {(ws, m): self.records[(ws, m)] for ws in workspace_ids for m in months if (ws, m) in self.records}

    def save(self, record: UsageRecord) -> UsageRecord:
        stored = self.records.get((record.workspace_id, record.month))
        if (stored.version if stored else 0) != record.version:
            raise StaleUpdate(record.workspace_id)
        self.saves += 1
        saved = record.model_copy(update={"version": record.version + 1})
        self.records[(record.workspace_id, record.month)] = saved
        return saved

    def put_report_row(self, row: ReportRow) -> None:
        self.rows[(row.month, row.workspace_id)] = row

    def report_rows(self, month: str) -> list[ReportRow]:
        return [row for (m, _), row in self.rows.items() if m == month]


class FakeDesks:
    def __init__(self) -> None:
        self.desks: list[Desk] = []

    def add(self, employee_id: str, workspace_id: str, **fields: Any) -> None:
        defaults: dict[str, Any] = {
            "lifecycle": Lifecycle.READY,
            "site": "paris-hq",
            "profile": "office",
            "directory_id": PARIS_DIR,
            "bundle_id": "wsb-standard01",
            "username": employee_id.lower(),
            "running_mode": "AUTO_STOP",
            "created_at": dt.datetime(2025, 6, 1, tzinfo=UTC),
            "updated_at": dt.datetime(2025, 6, 1, tzinfo=UTC),
        }
        self.desks.append(Desk(employee_id=employee_id, workspace_id=workspace_id, **(defaults | fields)))

    def by_lifecycle(self, lifecycle: Lifecycle) -> Iterable[Desk]:
        return [d for d in self.desks if d.lifecycle == lifecycle]


class FakeBus(fakes_bus.FakeBus):
    @property
    def summaries(self) -> list[RunningModesOptimised]:
        return [e for e in self.events if isinstance(e, RunningModesOptimised)]
