"""Port contract: desk records (DeskStore on moto and the unit tests' desk fakes, through the same cases).

Why here: a contract case runs the real adapter on moto, so it needs the integration tier's `aws` fixture and
its permission to open loopback sockets; the fake side costs nothing extra. One module per port, one
parametrised fixture per port, the cases written once: a case that passes on one side only is a finding (the
fake promised something the adapter does not do, or the reverse), fixed on the side that was wrong.

The desk port has several fakes, one per feature's view of it, so there is one fixture per view, each run on
DeskStore and on every fake of that view:
- `desks` (get, by_workspace, create, save): the onboarding and the remediation fakes;
- `records` (the whole record store: get_many, delete, departures, audit trail): the onboarding fake;
- `lookup` (fleet_watch's bulk reads, DeskLookup over DeskStore): fakes_fleet.FakeDesks;
- `index` (by_lifecycle, the optimiser's and the report's read): the running-modes fake.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from autopilot.adapters.desk_store import DeskStore
from autopilot.adapters.observation_store import DeskLookup
from autopilot.domain.kernel.desks import Departure, Desk, Lifecycle
from autopilot.domain.kernel.errors import StaleUpdate
from autopilot.domain.kernel.outbox import AuditEntry
from tests.support.contracts import port_fixture, state_table
from tests.unit import fakes_fleet, fakes_onboarding, fakes_remediation
from tests.unit.fakes_optimizer import FakeDesks as RunningModesDesks

NOW = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)


class _RemediationDesks(fakes_remediation.FakeDesks):
    """The remediation fake has no create of its own: its tests seed it with `add`; the contract seeds it so."""

    def create(self, desk: Desk) -> Desk:
        if desk.employee_id in self.desks:
            raise StaleUpdate(f"desk {desk.employee_id} already exists")
        stored = desk.model_copy(update={"version": 1})
        self.desks[desk.employee_id] = stored
        return stored


def _real(request: pytest.FixtureRequest) -> DeskStore:
    return DeskStore(state_table(request))


def _real_index(request: pytest.FixtureRequest) -> tuple[Any, Callable[[Desk], Any]]:
    store = _real(request)
    return store, store.create


def _fake_index(_: pytest.FixtureRequest) -> tuple[Any, Callable[[Desk], Any]]:
    index = RunningModesDesks()
    return index, index.desks.append


desks = port_fixture(
    "desks",
    {
        "moto": _real,
        "fake-onboarding": lambda _: fakes_onboarding.FakeDesks(),
        "fake-remediation": lambda _: _RemediationDesks(),
    },
)
records = port_fixture("records", {"moto": _real, "fake-onboarding": lambda _: fakes_onboarding.FakeDesks()})
lookup = port_fixture(
    "lookup", {"moto": lambda r: DeskLookup(_real(r)), "fake-fleet": lambda _: fakes_fleet.FakeDesks()}
)
index = port_fixture("index", {"moto": _real_index, "fake-running-modes": _fake_index})  # (reader, how to add a desk)


def _desk(employee_id: str = "e-1001", **changes: Any) -> Desk:
    fields: dict[str, Any] = {
        "employee_id": employee_id,
        "lifecycle": Lifecycle.SCHEDULED,
        "site": "amiens-cc",
        "profile": "agent",
        "directory_id": "d-0123456789",
        "bundle_id": "wsb-standard01",
        "username": f"user{employee_id}",
        "running_mode": "AUTO_STOP",
        "autostop_hours": 1,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Desk.model_validate(fields | changes)


# --- reads ------------------------------------------------------------------------------------------------------
def test_a_missing_desk_reads_as_none(desks: Any) -> None:
    assert desks.get("e-nobody") is None
    assert desks.by_workspace("ws-nobody001") is None


def test_a_created_desk_reads_back_equal_at_version_one(desks: Any) -> None:
    stored = desks.create(_desk(workspace_id="ws-abcdefgh1"))
    assert stored.version == 1
    assert desks.get("e-1001") == stored
    assert desks.by_workspace("ws-abcdefgh1") == stored


def test_get_many_returns_only_the_desks_that_exist(records: Any) -> None:
    records.create(_desk("e-1"))
    records.create(_desk("e-2"))
    found = records.get_many(["e-1", "e-missing", "e-2", "e-1"])
    assert sorted(found) == ["e-1", "e-2"]
    assert records.get_many([]) == {}


# --- conditional writes ---------------------------------------------------------------------------------------
def test_a_second_create_for_the_same_employee_is_refused(desks: Any) -> None:
    desks.create(_desk())
    with pytest.raises(StaleUpdate):
        desks.create(_desk(profile="office"))
    assert desks.get("e-1001").profile == "agent"


def test_a_save_bumps_the_version_by_one(desks: Any) -> None:
    first = desks.create(_desk())
    saved = desks.save(first.moved_to(Lifecycle.PROVISIONING, at=NOW, workspace_id="ws-abcdefgh1"))
    assert saved.version == 2
    assert desks.get("e-1001") == saved


def test_a_save_based_on_a_stale_read_is_refused_and_changes_nothing(desks: Any) -> None:
    first = desks.create(_desk())
    winner = desks.save(first.moved_to(Lifecycle.PROVISIONING, at=NOW, workspace_id="ws-abcdefgh1"))
    with pytest.raises(StaleUpdate):
        desks.save(first.moved_to(Lifecycle.CANCELLED, at=NOW))
    assert desks.get("e-1001") == winner


def test_saving_a_desk_that_was_never_created_is_refused(desks: Any) -> None:
    with pytest.raises(StaleUpdate):
        desks.save(_desk(version=1))
    assert desks.get("e-1001") is None


def test_a_delete_based_on_a_stale_read_is_refused(records: Any) -> None:
    first = records.create(_desk())
    records.save(first.moved_to(Lifecycle.CANCELLED, at=NOW))
    with pytest.raises(StaleUpdate):
        records.delete(first)
    records.delete(records.get("e-1001"))
    assert records.get("e-1001") is None
    with pytest.raises(StaleUpdate):  # already gone: nothing to delete at that version
        records.delete(first)


# --- departures before the desk ---------------------------------------------------------------------------------
def test_the_newest_departure_is_kept_and_read_with_the_desk(records: Any) -> None:
    older = Departure(employee_id="e-1001", last_day=dt.date(2026, 12, 20), event_time=NOW)
    newer = Departure(employee_id="e-1001", last_day=dt.date(2026, 12, 24), event_time=NOW + dt.timedelta(hours=1))
    assert records.get_with_departure("e-1001") == (None, None)
    records.record_departure(newer)
    records.record_departure(older)  # late and older: ignored
    desk, departure = records.get_with_departure("e-1001")
    assert (desk, departure) == (None, newer)
    stored = records.create(_desk())
    assert records.get_with_departure("e-1001") == (stored, newer)


# --- audit trail ------------------------------------------------------------------------------------------------
def test_history_is_newest_first_by_event_time_and_limited(records: Any) -> None:
    records.record_event("e-1001", at=NOW + dt.timedelta(minutes=5), kind="provisioning", detail={"n": 2})
    records.record_event("e-1001", at=NOW, kind="hired", detail={"n": 1})  # recorded late, happened first
    records.record_events([AuditEntry("e-1001", NOW + dt.timedelta(minutes=9), "ready", {"n": 3})])
    records.record_events([])
    assert [entry["kind"] for entry in records.history("e-1001")] == ["ready", "provisioning", "hired"]
    assert [entry["kind"] for entry in records.history("e-1001", limit=2)] == ["ready", "provisioning"]
    assert records.history("e-1001")[-1] == {"at": NOW.isoformat(), "kind": "hired", "detail": {"n": 1}}
    assert records.history("e-nobody") == []


# --- fleet_watch's bulk reads (DeskLookup) ----------------------------------------------------------------------
SHIFT = {"timezone": "Europe/Paris", "days": ["mon"], "start": "08:00", "end": "16:00"}


@pytest.mark.parametrize("count", [3, 60])  # DeskLookup reads a few desk by desk, many in one scan
def test_bulk_reads_return_only_the_desks_that_exist(lookup: Any, count: int) -> None:
    for n in range(count):
        lookup.create(_desk(f"e-{n:03d}", workspace_id=f"ws-{n:09d}", lifecycle=Lifecycle.READY))
    wanted = [f"{n:03d}" for n in range(0, count + 5, 2)]
    by_ws = lookup.by_workspace_ids([f"ws-000000{n}" for n in wanted])
    by_employee = lookup.by_employee_ids([f"e-{n}" for n in wanted])
    existing = [n for n in wanted if int(n) < count]
    assert {ws: d.employee_id for ws, d in by_ws.items()} == {f"ws-000000{n}": f"e-{n}" for n in existing}
    assert {e: d.workspace_id for e, d in by_employee.items()} == {f"e-{n}": f"ws-000000{n}" for n in existing}
    assert lookup.by_workspace_ids([]) == {}
    assert lookup.by_employee_ids([]) == {}


def test_a_second_desk_for_an_employee_is_refused_through_the_lookup(lookup: Any) -> None:
    lookup.create(_desk())
    with pytest.raises(StaleUpdate):
        lookup.create(_desk(profile="office"))


def test_awaiting_lists_hires_without_a_workspace_yet(lookup: Any) -> None:
    lookup.create(_desk("e-scheduled"))
    lookup.create(_desk("e-provisioning", lifecycle=Lifecycle.PROVISIONING))
    lookup.create(_desk("e-placed", lifecycle=Lifecycle.PROVISIONING, workspace_id="ws-abcdefgh1"))
    lookup.create(_desk("e-ready", lifecycle=Lifecycle.READY, workspace_id="ws-abcdefgh2"))
    lookup.create(_desk("e-cancelled", lifecycle=Lifecycle.CANCELLED))
    assert sorted(d.employee_id for d in lookup.awaiting()) == ["e-provisioning", "e-scheduled"]


def test_shift_desks_are_the_live_prewarmed_desks_of_shift_workers(lookup: Any) -> None:
    lookup.create(_desk("e-shift", lifecycle=Lifecycle.READY, shift=SHIFT, prewarm=True))
    lookup.create(_desk("e-no-prewarm", lifecycle=Lifecycle.READY, shift=SHIFT, prewarm=False))
    lookup.create(_desk("e-office", lifecycle=Lifecycle.READY, prewarm=True))
    lookup.create(_desk("e-gone", lifecycle=Lifecycle.TERMINATED, shift=SHIFT, prewarm=True))
    lookup.create(_desk("e-cancelled", lifecycle=Lifecycle.CANCELLED, shift=SHIFT, prewarm=True))
    assert [d.employee_id for d in lookup.shift_desks()] == ["e-shift"]
    assert sorted(d.employee_id for d in lookup.all_desks()) == [
        "e-cancelled",
        "e-gone",
        "e-no-prewarm",
        "e-office",
        "e-shift",
    ]


# --- by lifecycle (the optimiser, the fleet report's gauges) ----------------------------------------------------
def test_by_lifecycle_lists_the_desks_in_that_lifecycle_only(index: tuple[Any, Callable[[Desk], Any]]) -> None:
    reader, put = index
    put(_desk("e-1", lifecycle=Lifecycle.READY, workspace_id="ws-abcdefgh1"))
    put(_desk("e-2", lifecycle=Lifecycle.READY, workspace_id="ws-abcdefgh2"))
    put(_desk("e-3", lifecycle=Lifecycle.TERMINATED, workspace_id="ws-abcdefgh3"))
    assert sorted(d.employee_id for d in reader.by_lifecycle(Lifecycle.READY)) == ["e-1", "e-2"]
    assert list(reader.by_lifecycle(Lifecycle.SCHEDULED)) == []
