"""Port contract: the runbook's view of WorkSpaces (RunbookFleet over adapters.workspaces.WorkSpaces on the
WorkSpaces emulator, and fakes_remediation.FakeFleet), the same cases for both (see test_port_contracts_desks.py
for why these live in the integration tier).

What the runbook relies on: `act_many` returns the refusals per desk (never an exception for one desk), a desk
it does not know is refused, an accepted reboot shows in the next describe; a directory lists its own desks only
(directory-wide triage), connection reads leave unknown ids out and say DISCONNECTED for a desk nobody uses."""

from __future__ import annotations

import itertools
from typing import Any

import boto3
import pytest

from autopilot.adapters.workspaces import WorkSpaces
from autopilot.handlers.remediate import RunbookFleet
from localcloud.workspaces_emulator import Emulator
from tests.support.contracts import port_fixture
from tests.unit import fakes_remediation


class _Real:
    def __init__(self, request: pytest.FixtureRequest) -> None:
        request.getfixturevalue("aws")
        self._emulator = Emulator(region="eu-west-1")
        self._directory = self._emulator.create_directory("corp.example.com")
        self.directory, self.other_directory = self._directory, self._emulator.create_directory("cc.example.com")
        self._bundle = self._emulator.create_bundle("Standard with Windows 10")
        self._users = itertools.count(1)
        self.port = RunbookFleet(WorkSpaces(boto3.client("workspaces")))

    def seed(self, directory: str | None = None) -> str:
        user = f"user{next(self._users)}"
        return str(self._emulator.seed_workspace(directory or self._directory, user, self._bundle))


class _Fake:
    def __init__(self, _: pytest.FixtureRequest) -> None:
        self.port = fakes_remediation.FakeFleet()
        self.directory, self.other_directory = fakes_remediation.DIRECTORY, "d-otherdir01"
        self._ids = itertools.count(1)

    def seed(self, directory: str | None = None) -> str:
        return self.port.add(next(self._ids), directory=directory or self.directory)


fleet = port_fixture("fleet", {"moto": _Real, "fake-remediation": _Fake})


@pytest.mark.parametrize("action", ["reboot", "rebuild", "restore"])
def test_a_desk_it_does_not_know_is_refused_per_desk(fleet: Any, action: str) -> None:
    refused = fleet.port.act_many(action, ["ws-unknown01"])
    assert list(refused) == ["ws-unknown01"]


def test_an_accepted_reboot_shows_in_the_next_describe(fleet: Any) -> None:
    desks = [fleet.seed() for _ in range(3)]
    assert fleet.port.act_many("reboot", desks) == {}
    assert {d.state for d in fleet.port.describe(desks)} == {"REBOOTING"}


def test_a_directory_lists_its_own_desks_and_connection_reads_leave_unknown_ids_out(fleet: Any) -> None:
    mine = [fleet.seed() for _ in range(3)]
    other = fleet.seed(fleet.other_directory)
    assert sorted(d.workspace_id for d in fleet.port.in_directory(fleet.directory)) == sorted(mine)
    assert [d.directory_id for d in fleet.port.describe([other, "ws-unknown01"])] == [fleet.other_directory]
    status = fleet.port.connection_status([*mine, "ws-unknown01"])
    assert {w: c.state for w, c in status.items()} == dict.fromkeys(mine, "DISCONNECTED")
