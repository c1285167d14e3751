"""Port contract: WorkSpaces as fleet_watch and pre-warm see it (adapters.observation_store.FleetObserver on the
WorkSpaces emulator over moto, and fakes_fleet.FakeFleet), the same cases for both (see
test_port_contracts_desks.py for why these live in the integration tier).

What the sweep and pre-warm rely on: a directory lists its own desks only; reads leave unknown ids out; start
and rebuild refuse per desk (an ItemFailure, never an exception), a desk that is not STOPPED does not start; the
sweep's AutoStop correction (`modify`) shows in the next read, and a desk WorkSpaces will not modify (unknown,
busy, not AVAILABLE or STOPPED, not AUTO_STOP) raises the side's `refused` type, the one the sweep reports and
carries on past (handlers/fleet_watch.py wires WorkSpacesError).
Each side is driven through a harness: two directories and `seed(directory, user, **fields)`."""

from __future__ import annotations

import itertools
from typing import Any

import boto3
import pytest

from autopilot.adapters.observation_store import FleetObserver
from autopilot.domain.kernel.workspace import WorkSpacesError
from localcloud.workspaces_emulator import Emulator
from tests.support.contracts import port_fixture
from tests.unit import fakes_fleet


class _Real:
    def __init__(self, request: pytest.FixtureRequest) -> None:
        request.getfixturevalue("aws")
        self._emulator = Emulator(region="eu-west-1")
        self.directory = self._emulator.create_directory("corp.example.com")
        self.other_directory = self._emulator.create_directory("cc.example.com")
        self._bundle = self._emulator.create_bundle("Standard with Windows 10")
        self.port = FleetObserver(boto3.client("workspaces"))
        self.refused: type[Exception] = WorkSpacesError

    def seed(self, directory: str, user: str, **fields: Any) -> str:
        return str(self._emulator.seed_workspace(directory, user, self._bundle, **fields))


class _Fake:
    def __init__(self, _: pytest.FixtureRequest) -> None:
        self.directory, self.other_directory = fakes_fleet.DIRECTORY, fakes_fleet.OTHER_DIRECTORY
        self.port = fakes_fleet.FakeFleet()
        self.refused: type[Exception] = fakes_fleet.Refused
        self._ids = itertools.count(1)

    def seed(self, directory: str, user: str, **fields: Any) -> str:
        workspace_id = f"ws-{next(self._ids):09d}"
        self.port.add(fakes_fleet.FakeDesk(workspace_id, directory_id=directory, username=user, **fields))
        return workspace_id


fleet = port_fixture("fleet", {"moto": _Real, "fake-fleet": _Fake})


def test_a_directory_lists_its_own_desks_and_reads_leave_unknown_ids_out(fleet: Any) -> None:
    mine = [fleet.seed(fleet.directory, f"agent{n}") for n in range(30)]
    other = fleet.seed(fleet.other_directory, "elsewhere")
    assert sorted(d.workspace_id for d in fleet.port.in_directory(fleet.directory)) == sorted(mine)
    assert sorted(d.workspace_id for d in fleet.port.in_account()) == sorted([*mine, other])
    assert [d.workspace_id for d in fleet.port.describe([other, "ws-unknown01"])] == [other]
    assert set(fleet.port.connection_status([other, "ws-unknown01"])) == {other}


def test_only_a_stopped_desk_starts_and_the_others_are_failed_items(fleet: Any) -> None:
    stopped = fleet.seed(fleet.directory, "stopped", state="STOPPED")
    available = fleet.seed(fleet.directory, "available")
    failures = fleet.port.start([stopped, available, "ws-unknown01"])
    assert sorted(f.key for f in failures) == sorted([available, "ws-unknown01"])
    (info,) = fleet.port.describe([stopped])
    assert info.state in ("STARTING", "AVAILABLE")


def test_rebuilding_an_unknown_desk_is_a_failed_item(fleet: Any) -> None:
    failure = fleet.port.rebuild("ws-unknown01")
    assert failure is not None
    assert failure.key == "ws-unknown01"


def test_an_autostop_correction_shows_in_the_next_read(fleet: Any) -> None:
    desk = fleet.seed(fleet.directory, "agent", autostop_minutes=60)
    fleet.port.modify(desk, autostop_minutes=180)
    (info,) = fleet.port.describe([desk])
    assert info.autostop_minutes == 180
    assert [d.autostop_minutes for d in fleet.port.in_directory(fleet.directory)] == [180]


@pytest.mark.parametrize(
    "fields",
    [
        {"state": "REBOOTING"},
        {"state": "STARTING"},
        {"state": "ERROR"},
        {"running_mode": "ALWAYS_ON", "autostop_minutes": None},
    ],
)
def test_a_desk_workspaces_will_not_modify_is_refused_and_left_as_it_was(fleet: Any, fields: dict[str, Any]) -> None:
    desk = fleet.seed(fleet.directory, "agent", **fields)
    before = fleet.port.describe([desk])
    with pytest.raises(fleet.refused):
        fleet.port.modify(desk, autostop_minutes=180)
    assert fleet.port.describe([desk]) == before


def test_modifying_an_unknown_desk_is_refused(fleet: Any) -> None:
    with pytest.raises(fleet.refused):
        fleet.port.modify("ws-unknown01", autostop_minutes=180)
