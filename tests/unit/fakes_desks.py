"""The one in-memory desk store of the unit tests: every port the desk records serve (hr.DeskRecords,
incidents.IncidentDesks/LoginDesks, fleet.DeskLookup/ShiftDesks/AllDesks, cost.OptimizerDesks) on one dict keyed
by employee id, as adapters.desk_store.DeskStore keeps them in the state table. tests/integration/
test_port_contracts_desks.py runs it and DeskStore (on moto) through the same cases.

Each capability's fakes module keeps only its seeding helper on top (`add` with that feature's defaults) and
the name its tests know (`FakeDesks`); the behaviour is here, once."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from autopilot.domain.kernel.desks import Departure, Desk, Lifecycle
from autopilot.domain.kernel.errors import StaleUpdate
from autopilot.domain.kernel.outbox import AuditEntry


class FakeDeskStore:
    def __init__(self, desks: Iterable[Desk] = ()) -> None:
        self.items: dict[str, Desk] = {d.employee_id: d for d in desks}
        self.departures: dict[str, Departure] = {}  # DEPARTED items: departures received before the desk
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self._history: dict[str, list[tuple[dt.datetime, int, dict[str, Any]]]] = defaultdict(list)
        # What the tests count and inject.
        self.calls: Counter[str] = Counter()  # bulk reads by name (fleet_watch's floor of calls)
        self.writes = 0  # create, save, delete
        self.saves = 0  # successful saves
        self.batch_reads = 0
        self.batch_writes = 0
        self.fail_next_save = 0  # the next saves raise StaleUpdate, the item untouched
        self.lose_next_save = 0  # the next saves lose a race: another writer bumps the version first
        self.lifecycles_read: list[Lifecycle] = []  # by_lifecycle's arguments, in order

    # --- one desk -------------------------------------------------------------------------------------------
    def get(self, employee_id: str) -> Desk | None:
        return self.items.get(employee_id)

    def by_workspace(self, workspace_id: str) -> Desk | None:
        return next((desk for desk in self.items.values() if desk.workspace_id == workspace_id), None)

    def create(self, desk: Desk) -> Desk:
        if desk.employee_id in self.items:
            raise StaleUpdate(f"desk {desk.employee_id} already exists")
        stored = desk.model_copy(update={"version": 1})
        self.items[desk.employee_id] = stored
        self.writes += 1
        return stored

    def save(self, desk: Desk) -> Desk:
        current = self.items.get(desk.employee_id)
        if self.fail_next_save:
            self.fail_next_save -= 1
            raise StaleUpdate("injected")
        if current is None:  # DeskStore's condition on `version` fails on a missing item
            raise StaleUpdate(f"desk {desk.employee_id} does not exist")
        if self.lose_next_save:
            self.lose_next_save -= 1
            self.items[desk.employee_id] = current.model_copy(update={"version": current.version + 1})
            raise StaleUpdate("lost the race")
        if current.version != desk.version:
            raise StaleUpdate(f"desk {desk.employee_id} changed")
        stored = desk.model_copy(update={"version": desk.version + 1})
        self.items[desk.employee_id] = stored
        self.writes += 1
        self.saves += 1
        return stored

    def delete(self, desk: Desk) -> None:
        current = self.items.get(desk.employee_id)
        if current is None or current.version != desk.version:
            raise StaleUpdate(f"desk {desk.employee_id} changed")
        del self.items[desk.employee_id]
        self.writes += 1

    # --- departures before the desk -------------------------------------------------------------------------
    def get_with_departure(self, employee_id: str) -> tuple[Desk | None, Departure | None]:
        return self.items.get(employee_id), self.departures.get(employee_id)

    def record_departure(self, departure: Departure) -> None:
        recorded = self.departures.get(departure.employee_id)
        if recorded is None or recorded.event_time < departure.event_time:  # the newest is kept
            self.departures[departure.employee_id] = departure

    # --- audit trail ----------------------------------------------------------------------------------------
    def record_event(self, employee_id: str, *, at: dt.datetime, kind: str, detail: dict[str, Any]) -> None:
        self.events.append((employee_id, kind, detail))
        entry = {"at": at.isoformat(), "kind": kind, "detail": dict(detail)}
        self._history[employee_id].append((at, len(self._history[employee_id]), entry))

    def record_events(self, entries: Sequence[AuditEntry]) -> None:
        self.batch_writes += 1
        for entry in entries:
            self.record_event(entry.employee_id, at=entry.at, kind=entry.kind, detail=entry.detail)

    def history(self, employee_id: str, limit: int = 50) -> list[dict[str, Any]]:
        # Newest event time first (DeskStore's sort key is the time, then a sequence), not newest recorded first.
        newest_first = sorted(self._history[employee_id], key=lambda kept: kept[:2], reverse=True)
        return [entry for _, _, entry in newest_first[:limit]]

    def kinds(self, employee_id: str) -> list[str]:
        return [kind for who, kind, _ in self.events if who == employee_id]

    # --- bulk reads -----------------------------------------------------------------------------------------
    def get_many(self, employee_ids: Sequence[str]) -> dict[str, Desk]:
        self.batch_reads += 1
        return {employee_id: self.items[employee_id] for employee_id in employee_ids if employee_id in self.items}

    def by_workspace_ids(self, workspace_ids: Sequence[str]) -> dict[str, Desk]:
        self.calls["by_workspace_ids"] += 1
        wanted = set(workspace_ids)
        return {d.workspace_id: d for d in self.items.values() if d.workspace_id in wanted}

    def by_employee_ids(self, employee_ids: Iterable[str]) -> dict[str, Desk]:
        self.calls["by_employee_ids"] += 1
        return {e: self.items[e] for e in employee_ids if e in self.items}

    def awaiting(self) -> list[Desk]:
        self.calls["awaiting"] += 1
        pending = (Lifecycle.SCHEDULED, Lifecycle.PROVISIONING)
        return [d for d in self.items.values() if d.workspace_id is None and d.lifecycle in pending]

    def shift_desks(self) -> list[Desk]:
        # DeskStore's ByShift index is sparse: a terminated or cancelled desk leaves it.
        over = (Lifecycle.TERMINATED, Lifecycle.CANCELLED)
        return [d for d in self.items.values() if d.shift is not None and d.prewarm and d.lifecycle not in over]

    def all_desks(self) -> list[Desk]:
        return list(self.items.values())

    def by_lifecycle(self, lifecycle: Lifecycle) -> list[Desk]:
        self.lifecycles_read.append(lifecycle)
        return [d for d in self.items.values() if d.lifecycle == lifecycle]
