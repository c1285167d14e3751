"""Port contract: the accepted roster (RosterStore on moto and fakes_onboarding.FakeRoster), the same cases for
both (see test_port_contracts_desks.py for why these live in the integration tier). The feed ingest relies
on: load returns exactly what was applied (upserts replace, deletes of unknown ids are no-ops), and the last
acceptance is remembered."""

from __future__ import annotations

import datetime as dt
from typing import Any

from autopilot.adapters.roster_store import RosterStore
from autopilot.contracts.hr import Shift
from autopilot.domain.hr.roster import RosterEntry
from tests.support.contracts import port_fixture, state_table
from tests.unit.fakes_onboarding import FakeRoster

NOW = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)


roster = port_fixture("roster", {"moto": lambda r: RosterStore(state_table(r)), "fake": lambda _: FakeRoster()})


def _entry(employee_id: str, **changes: Any) -> RosterEntry:
    fields: dict[str, Any] = {"employee_id": employee_id, "department": "finance", "role": "accountant"}
    fields["site"] = "paris-hq"
    return RosterEntry.model_validate(fields | changes)


def test_an_empty_roster_loads_empty_and_was_never_accepted(roster: Any) -> None:
    assert roster.load() == {}
    assert roster.accepted_at() is None


def test_load_returns_exactly_what_was_applied(roster: Any) -> None:
    shift = Shift.model_validate({"timezone": "Europe/Paris", "days": ["mon"], "start": "08:00", "end": "16:00"})
    entries = [_entry(f"E{n:03d}") for n in range(30)] + [_entry("E900", shift=shift, last_day=dt.date(2026, 12, 24))]
    roster.apply(entries, [])
    assert roster.load() == {entry.employee_id: entry for entry in entries}


def test_upserts_replace_and_deletes_of_unknown_ids_are_no_ops(roster: Any) -> None:
    roster.apply([_entry("E1"), _entry("E2")], [])
    roster.apply([_entry("E1", role="analyst")], ["E2", "E-never"])
    assert roster.load() == {"E1": _entry("E1", role="analyst")}


def test_the_last_acceptance_is_remembered(roster: Any) -> None:
    roster.mark_accepted("feed-1", NOW)
    roster.mark_accepted("feed-2", NOW + dt.timedelta(days=1))
    assert roster.accepted_at() == NOW + dt.timedelta(days=1)
    assert roster.load() == {}  # the acceptance is not an employee
