"""Port contract: the optimiser's view of WorkSpaces (adapters.usage_metrics.ManagedFleet on the WorkSpaces
emulator over moto, and the running-modes unit tests' FakeFleet), the same cases for both (see
test_port_contracts_desks.py for why these live in the integration tier).

What the optimiser relies on: `managed_desks` lists the live desks of the given directories carrying the
managed tag and value (a terminating or terminated desk is no longer managed, though the tagging API may still
list it); a running-mode switch shows in the next listing. Each side is driven through a harness: two
directories, `seed(directory, **fields)` and `terminate(workspace_id)`."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import boto3
import pytest

from autopilot.adapters.tagging import Tagging
from autopilot.adapters.usage_metrics import ManagedFleet
from localcloud.workspaces_emulator import Emulator
from tests.support.contracts import port_fixture
from tests.unit import fakes_optimizer

MANAGED = {"ManagedBy": "workspaces-autopilot"}


class _Real:
    def __init__(self, request: pytest.FixtureRequest) -> None:
        request.getfixturevalue("aws")
        self._emulator = Emulator(region="eu-west-1")
        self.directory = self._emulator.create_directory("corp.example.com")
        self.other_directory = self._emulator.create_directory("cc.example.com")
        self._bundle = self._emulator.create_bundle("Standard with Windows 10")
        self._users = itertools.count(1)
        tagging = Tagging(boto3.client("resourcegroupstaggingapi"), account_id="123456789012")
        self.port = ManagedFleet(boto3.client("workspaces"), tagging)

    def seed(self, directory: str, **fields: Any) -> str:
        user = f"user{next(self._users)}"
        return str(self._emulator.seed_workspace(directory, user, self._bundle, **fields))

    def terminate(self, workspace_id: str) -> None:
        boto3.client("workspaces").terminate_workspaces(TerminateWorkspaceRequests=[{"WorkspaceId": workspace_id}])


class _Fake:
    def __init__(self, _: pytest.FixtureRequest) -> None:
        self.directory, self.other_directory = "d-1111111111", "d-2222222222"
        self.port = fakes_optimizer.FakeFleet()
        self._ids = itertools.count(1)

    def seed(self, directory: str, **fields: Any) -> str:
        workspace_id = f"ws-{next(self._ids):09d}"
        self.port.add(workspace_id, directory_id=directory, **fields)
        return workspace_id

    def terminate(self, workspace_id: str) -> None:
        desk = self.port.desks[workspace_id]
        self.port.desks[workspace_id] = dataclasses.replace(desk, state="TERMINATING")


fleet = port_fixture("fleet", {"moto": _Real, "fake-running-modes": _Fake})


def _listed(fleet: Any, *directories: str) -> list[str]:
    desks = fleet.port.managed_desks(list(directories), "ManagedBy", MANAGED["ManagedBy"])
    return sorted(d.workspace_id for d in desks)


def test_managed_desks_are_the_live_tagged_desks_of_the_directories_asked(fleet: Any) -> None:
    managed = fleet.seed(fleet.directory, tags=MANAGED)
    fleet.seed(fleet.directory, tags={"ManagedBy": "someone-else"})
    fleet.seed(fleet.directory, tags={})
    elsewhere = fleet.seed(fleet.other_directory, tags=MANAGED)
    leaving = fleet.seed(fleet.directory, tags=MANAGED)
    fleet.terminate(leaving)
    assert _listed(fleet, fleet.directory) == [managed]
    assert _listed(fleet, fleet.directory, fleet.other_directory) == sorted([managed, elsewhere])
    assert _listed(fleet) == []


def test_a_running_mode_switch_shows_in_the_next_listing(fleet: Any) -> None:
    desk = fleet.seed(fleet.directory, tags=MANAGED, running_mode="AUTO_STOP", autostop_minutes=60)
    fleet.port.set_running_mode(desk, "ALWAYS_ON", None)
    (listed,) = fleet.port.managed_desks([fleet.directory], "ManagedBy", MANAGED["ManagedBy"])
    assert (listed.running_mode, listed.autostop_minutes) == ("ALWAYS_ON", None)
    fleet.port.set_running_mode(desk, "AUTO_STOP", 120)
    (listed,) = fleet.port.managed_desks([fleet.directory], "ManagedBy", MANAGED["ManagedBy"])
    assert (listed.running_mode, listed.autostop_minutes) == ("AUTO_STOP", 120)
