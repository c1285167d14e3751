"""Port contract: fleet_watch's memory (ObservationStore and StartLogStore on moto, and fakes_fleet's
FakeObservations and FakeStartLog), the same cases for both (see test_port_contracts_desks.py for why these live
in the integration tier). The sweep and pre-warm rely on: get_many returns only what exists, an older
observation never overwrites a newer one, a start record is written at version n only over n-1."""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest

from autopilot.adapters.observation_store import ObservationStore, StartLogStore
from autopilot.contracts.outputs import StepRecord
from autopilot.domain.fleet.ports import Observation, StartRecord
from tests.support.contracts import port_fixture, state_table
from tests.unit.fakes_fleet import FakeObservations, FakeStartLog
from tests.unit.fakes_onboarding import FakeOwners

NOW = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)


def _resource(request: pytest.FixtureRequest) -> Any:
    """These two stores take the DynamoDB resource and the table's name."""
    state_table(request)
    return boto3.resource("dynamodb")


observations = port_fixture(
    "observations",
    {"moto": lambda r: ObservationStore(_resource(r), "state"), "fake": lambda _: FakeObservations()},
)
starts = port_fixture(
    "starts", {"moto": lambda r: StartLogStore(_resource(r), "state"), "fake": lambda _: FakeStartLog()}
)


def _observation(ws: str, at: dt.datetime = NOW, **changes: Any) -> Observation:
    fields: dict[str, Any] = {
        "workspace_id": ws,
        "directory_id": "d-1111111111",
        "state": "AVAILABLE",
        "running_mode": "AUTO_STOP",
        "observed_at": at,
        "autostop_minutes": 60,
        "connection_state": "DISCONNECTED",
        "last_user_connection": at - dt.timedelta(hours=2),
        "employee_id": f"e-{ws}",
        "adoption": "managed",
        "autostop_tag_hours": 3,
        "next_id": "ws-next00001",
    }
    return Observation(**(fields | changes))


# --- observations -----------------------------------------------------------------------------------------------
def test_get_many_returns_only_the_observations_that_exist(observations: Any) -> None:
    assert observations.put(_observation("ws-00000001"))
    assert observations.put(_observation("ws-00000002", compute=None, last_user_connection=None, gone=True))
    found = observations.get_many(["ws-00000001", "ws-missing01", "ws-00000002", "ws-00000001"])
    assert found == {
        "ws-00000001": _observation("ws-00000001"),
        "ws-00000002": _observation("ws-00000002", compute=None, last_user_connection=None, gone=True),
    }
    assert observations.get_many([]) == {}
    assert observations.last_connections(["ws-00000001", "ws-00000002", "ws-missing01"]) == {
        "ws-00000001": NOW - dt.timedelta(hours=2),
        "ws-00000002": None,
    }


def test_an_observation_no_newer_than_the_stored_one_is_not_written(observations: Any) -> None:
    assert observations.put(_observation("ws-00000001", state="STOPPED"))
    assert not observations.put(_observation("ws-00000001", NOW - dt.timedelta(minutes=5), state="ERROR"))
    assert not observations.put(_observation("ws-00000001", NOW, state="ERROR"))  # same instant: the first stands
    assert observations.get_many(["ws-00000001"])["ws-00000001"].state == "STOPPED"
    assert observations.put(_observation("ws-00000001", NOW + dt.timedelta(minutes=5), state="ERROR"))
    assert observations.get_many(["ws-00000001"])["ws-00000001"].state == "ERROR"


# --- pre-warm starts --------------------------------------------------------------------------------------------
def _start(version: int, status: str = "started", **changes: Any) -> StartRecord:
    fields: dict[str, Any] = {
        "employee_id": "E1",
        "workspace_id": "ws-00000001",
        "directory_id": "d-1111111111",
        "shift_date": "2026-12-01",
        "status": status,
        "started_at": NOW,
        "version": version,
    }
    return StartRecord(**(fields | changes))


def test_a_start_is_written_at_version_n_only_over_n_minus_one(starts: Any) -> None:
    assert starts.get_many(["E1"]) == {}
    assert starts.put(_start(1))
    assert not starts.put(_start(1, "dry_run"))  # another tick, same shift: it lost
    step = StepRecord(action="rebuild", outcome="requested", at=NOW)
    rebuilt = _start(2, "rebuilding", rebuild_at=NOW, steps=(step,))
    assert starts.put(rebuilt)
    assert not starts.put(_start(4, "up"))  # skipped a version
    assert starts.get_many(["E1", "E-missing"]) == {"E1": rebuilt}


# --- the desk's owner, renamed when a hire takes over an adopted desk ------------------------------------------
class _RealOwners:
    def __init__(self, request: pytest.FixtureRequest) -> None:
        self.port = ObservationStore(_resource(request), "state")

    def seed(self, workspace_id: str, owner: str) -> None:
        self.port.put(_observation(workspace_id, employee_id=owner))

    def owner_of(self, workspace_id: str) -> str | None:
        observation = self.port.get_many([workspace_id]).get(workspace_id)
        return observation.employee_id if observation else None


class _FakeOwners:
    def __init__(self, _: pytest.FixtureRequest) -> None:
        self.port = FakeOwners()

    def seed(self, workspace_id: str, owner: str) -> None:
        self.port.owner[workspace_id] = owner

    def owner_of(self, workspace_id: str) -> str | None:
        return self.port.owner.get(workspace_id)


owners = port_fixture("owners", {"moto": _RealOwners, "fake-onboarding": _FakeOwners})


def test_the_owner_is_renamed_only_where_it_is_still_the_previous_one(owners: Any) -> None:
    owners.seed("ws-00000001", "ws-00000001")  # adopted before HR named its user: owned by its own id
    owners.seed("ws-00000002", "e-someone")
    owners.port.reassign("ws-00000001", previous="ws-00000001", employee_id="e-1001")
    owners.port.reassign("ws-00000002", previous="ws-00000002", employee_id="e-1002")
    owners.port.reassign("ws-unknown01", previous="ws-unknown01", employee_id="e-1003")
    assert owners.owner_of("ws-00000001") == "e-1001"
    assert owners.owner_of("ws-00000002") == "e-someone"
    assert owners.owner_of("ws-unknown01") is None
