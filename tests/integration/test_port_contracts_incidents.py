"""Port contract: incidents and desk actions (IncidentStore on moto and fakes_remediation.FakeIncidents).

Same cases for both sides (see test_port_contracts_desks.py for why these live in the integration tier). What the
runbook relies on: one open incident per subject, an open that finds one returns it, every write conditional
on the version read, resolving frees the subject, the desk's action history written with the incident.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from autopilot.adapters.incident_store import IncidentStore
from autopilot.contracts.outputs import StepRecord
from autopilot.domain.incidents.incidents import DeskActions, Incident, open_desk_incident, open_directory_incident
from autopilot.domain.kernel.errors import StaleUpdate
from tests.support.contracts import port_fixture, state_table
from tests.unit.fakes_remediation import FakeIncidents

NOW = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
DIR = "d-0123456789"


incidents = port_fixture(
    "incidents", {"moto": lambda r: IncidentStore(state_table(r)), "fake": lambda _: FakeIncidents()}
)


def _incident(workspace_id: str = "ws-abcdefgh1", at: dt.datetime = NOW) -> Incident:
    return open_desk_incident(
        workspace_id=workspace_id, directory_id=DIR, employee_id="e-1", cause="connection_failure", at=at
    )


def test_nothing_open_reads_as_none_and_empty(incidents: Any) -> None:
    assert incidents.get("inc-unknown") is None
    assert incidents.open_for("ws-abcdefgh1") is None
    assert incidents.open_in_directory(DIR) == []
    assert incidents.actions("ws-abcdefgh1") == DeskActions(workspace_id="ws-abcdefgh1")


def test_a_subject_has_at_most_one_open_incident(incidents: Any) -> None:
    first, created = incidents.open(_incident())
    second, created_again = incidents.open(_incident(at=NOW + dt.timedelta(minutes=5)))
    assert (created, created_again) == (True, False)
    assert first.version == 1
    assert second == first == incidents.open_for("ws-abcdefgh1") == incidents.get(first.incident_id)
    assert incidents.get(_incident(at=NOW + dt.timedelta(minutes=5)).incident_id) is None


def test_opening_the_same_incident_again_returns_the_stored_one(incidents: Any) -> None:
    first, _ = incidents.open(_incident())
    again, created = incidents.open(_incident())
    assert (again, created) == (first, False)


def test_reopening_a_resolved_incident_id_returns_the_stored_one_unchanged(incidents: Any) -> None:
    """A redelivered "open" for an incident that was meanwhile resolved must not bring it back to life."""
    opened, _ = incidents.open(_incident())
    resolved = incidents.resolve(opened.resolved("login", NOW + dt.timedelta(minutes=3)))
    again, created = incidents.open(_incident())
    assert (again, created) == (resolved, False)
    assert incidents.open_for("ws-abcdefgh1") is None


def test_a_directory_incident_stands_beside_its_desks(incidents: Any) -> None:
    desk, _ = incidents.open(_incident())
    outage = open_directory_incident(
        directory_id=DIR, at=NOW, failing_ids=["ws-abcdefgh1"], desks_in_directory=4, failures=9
    )
    directory, created = incidents.open(outage)
    assert created
    assert incidents.open_for(DIR) == directory
    assert sorted(i.incident_id for i in incidents.open_in_directory(DIR)) == sorted(
        [desk.incident_id, directory.incident_id]
    )
    assert incidents.open_in_directory("d-9999999999") == []


def test_a_save_based_on_a_stale_read_is_refused(incidents: Any) -> None:
    opened, _ = incidents.open(_incident())
    saved = incidents.save(opened.noted(NOW, "note", "first writer"))
    assert saved.version == 2
    with pytest.raises(StaleUpdate):
        incidents.save(opened.noted(NOW, "note", "second writer"))
    assert incidents.get(opened.incident_id) == saved


def test_saving_an_incident_that_was_never_opened_is_refused(incidents: Any) -> None:
    with pytest.raises(StaleUpdate):
        incidents.save(_incident().model_copy(update={"version": 1}))
    assert incidents.get(_incident().incident_id) is None


def test_a_stale_resolve_is_refused_and_keeps_the_incident_open(incidents: Any) -> None:
    opened, _ = incidents.open(_incident())
    incidents.save(opened.noted(NOW, "note", "meanwhile"))
    with pytest.raises(StaleUpdate):
        incidents.resolve(opened.resolved("login", NOW))
    assert incidents.open_for("ws-abcdefgh1") is not None


def test_resolving_frees_the_subject_for_a_new_incident(incidents: Any) -> None:
    opened, _ = incidents.open(_incident())
    resolved = incidents.resolve(opened.resolved("login", NOW + dt.timedelta(minutes=3)))
    assert resolved.version == 2
    assert incidents.get(opened.incident_id) == resolved
    assert incidents.open_for("ws-abcdefgh1") is None
    assert incidents.open_in_directory(DIR) == []
    later, created = incidents.open(_incident(at=NOW + dt.timedelta(hours=1)))
    assert created
    assert later.incident_id != opened.incident_id


def test_the_step_and_the_action_history_are_written_together(incidents: Any) -> None:
    opened, _ = incidents.open(_incident())
    actions = incidents.actions("ws-abcdefgh1").recorded("reboot", NOW)
    saved = incidents.save(opened.with_step(StepRecord(action="reboot", outcome="requested", at=NOW)), actions)
    stored_actions = incidents.actions("ws-abcdefgh1")
    assert (stored_actions.reboots, stored_actions.version) == ([NOW], 1)
    # A second writer with the same (now stale) history is refused, its incident write included.
    with pytest.raises(StaleUpdate):
        incidents.save(saved.noted(NOW, "x"), DeskActions(workspace_id="ws-abcdefgh1"))
    assert incidents.get(opened.incident_id) == saved
