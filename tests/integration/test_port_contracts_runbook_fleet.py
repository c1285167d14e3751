"""Port contract: the runbook's view of WorkSpaces (RunbookFleet over adapters.workspaces.WorkSpaces on the
WorkSpaces emulator, and fakes_remediation.FakeFleet), the same cases for both (see test_port_contracts_desks.py
for why these live in the integration tier).

What the runbook relies on: `act_many` returns the refusals per desk (never an exception for one desk), a desk
it does not know is refused, an accepted reboot shows in the next describe."""

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
        self._bundle = self._emulator.create_bundle("Standard with Windows 10")
        self._users = itertools.count(1)
        self.port = RunbookFleet(WorkSpaces(boto3.client("workspaces")))

    def seed(self) -> str:
        return str(self._emulator.seed_workspace(self._directory, f"user{next(self._users)}", self._bundle))


class _Fake:
    def __init__(self, _: pytest.FixtureRequest) -> None:
        self.port = fakes_remediation.FakeFleet()
        self._ids = itertools.count(1)

    def seed(self) -> str:
        return self.port.add(next(self._ids))


fleet = port_fixture("fleet", {"moto": _Real, "fake-remediation": _Fake})


@pytest.mark.parametrize("action", ["reboot", "rebuild", "restore"])
def test_a_desk_it_does_not_know_is_refused_per_desk(fleet: Any, action: str) -> None:
    refused = fleet.port.act_many(action, ["ws-unknown01"])
    assert list(refused) == ["ws-unknown01"]


def test_an_accepted_reboot_shows_in_the_next_describe(fleet: Any) -> None:
    desks = [fleet.seed() for _ in range(3)]
    assert fleet.port.act_many("reboot", desks) == {}
    assert {d.state for d in fleet.port.describe(desks)} == {"REBOOTING"}
