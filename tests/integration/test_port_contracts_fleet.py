"""Port contract: WorkSpaces as onboarding, provisioning and offboarding use it (adapters.workspaces.WorkSpaces
on the local cloud's WorkSpaces emulator over moto, and fakes_onboarding.FakeFleet), the same cases for both
(see test_port_contracts_desks.py for why these live in the integration tier).

What the domain relies on: one live desk per user and directory (`find`, and CreateWorkspaces refusing a
second one per item), results keyed by the request's key, per-desk refusals returned as ItemFailure (never an
exception), unknown ids left out of reads; a migration replaces the desk for the same user on the new bundle;
ModifyWorkspaceProperties and MigrateWorkspace refuse (WorkSpacesError) an unknown desk and one that is not
AVAILABLE or STOPPED (docs/local-cloud.md's state table). Each side is driven through a harness giving a directory and
bundle id and `seed(user, **fields)`. States that the emulator moves on its own schedule (PENDING, STOPPING…)
are compared as "on its way to" sets."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from autopilot.adapters.workspaces import DeskSpec, WorkSpaces
from autopilot.domain.kernel.workspace import WorkSpacesError
from localcloud.workspaces_emulator import Emulator
from tests.support.contracts import port_fixture
from tests.unit.fakes_onboarding import FakeFleet


class _Real:
    def __init__(self, request: pytest.FixtureRequest) -> None:
        request.getfixturevalue("aws")
        self._emulator = Emulator(region="eu-west-1")
        self.directory = self._emulator.create_directory("corp.example.com")
        self.bundle = self._emulator.create_bundle("Standard with Windows 10")
        self.other_bundle = self._emulator.create_bundle("Power with Windows 10", compute="POWER")
        self.port = WorkSpaces(boto3.client("workspaces"))

    def seed(self, user: str, **fields: Any) -> str:
        return str(self._emulator.seed_workspace(self.directory, user, self.bundle, **fields))


class _Fake:
    def __init__(self, _: pytest.FixtureRequest) -> None:
        self.directory, self.bundle, self.other_bundle = "d-1111111111", "wsb-standard01", "wsb-powerbndl1"
        self.port = FakeFleet()

    def seed(self, user: str, **fields: Any) -> str:
        return self.port.seed(self.directory, user, self.bundle, **fields)


fleet = port_fixture("fleet", {"moto": _Real, "fake": _Fake})


def _spec(fleet: Any, key: str, user: str, **changes: Any) -> DeskSpec:
    fields: dict[str, Any] = {
        "key": key,
        "directory_id": fleet.directory,
        "username": user,
        "bundle_id": fleet.bundle,
        "running_mode": "AUTO_STOP",
        "autostop_minutes": 60,
        "tags": {"ManagedBy": "workspaces-autopilot"},
    }
    return DeskSpec(**(fields | changes))


def test_find_returns_the_users_live_desk_only(fleet: Any) -> None:
    desk = fleet.seed("jdoe")
    found = fleet.port.find(fleet.directory, "jdoe")
    assert found is not None
    assert (found.workspace_id, found.username, found.state) == (desk, "jdoe", "AVAILABLE")
    assert fleet.port.find(fleet.directory, "nobody") is None
    assert fleet.port.terminate([desk]) == []
    assert fleet.port.find(fleet.directory, "jdoe") is None


def test_create_keys_results_by_request_and_refuses_a_second_desk_per_user(fleet: Any) -> None:
    fleet.seed("taken")
    result = fleet.port.create([_spec(fleet, "e-1", "jdoe"), _spec(fleet, "e-2", "taken")])
    assert list(result.created) == ["e-1"]
    assert [(f.key, f.code) for f in result.failed] == [("e-2", "ResourceExists.WorkSpace")]
    # Not described here: AWS may leave a new desk out of DescribeWorkspaces for a while (docs/local-cloud.md),
    # so the domain never relies on reading it back at once.


def test_two_requests_for_one_user_in_one_call_create_one_desk_for_the_first(fleet: Any) -> None:
    result = fleet.port.create([_spec(fleet, "e-1", "jdoe"), _spec(fleet, "e-2", "jdoe")])
    assert list(result.created) == ["e-1"]
    assert [(f.key, f.code) for f in result.failed] == [("e-2", "ResourceExists.WorkSpace")]


def test_describe_leaves_unknown_ids_out(fleet: Any) -> None:
    desk = fleet.seed("jdoe")
    assert [info.workspace_id for info in fleet.port.describe([desk, "ws-unknown01"])] == [desk]
    assert fleet.port.describe([]) == []


def test_stop_refuses_per_desk_what_cannot_be_stopped(fleet: Any) -> None:
    """StopWorkspaces: only an AUTO_STOP or MANUAL desk stops (API reference); an unknown id is a failed item."""
    auto = fleet.seed("auto")
    always = fleet.seed("always", running_mode="ALWAYS_ON", autostop_minutes=None)
    failures = fleet.port.stop([auto, always, "ws-unknown01"])
    assert sorted(f.key for f in failures) == sorted([always, "ws-unknown01"])
    states = {info.workspace_id: info.state for info in fleet.port.describe([auto, always])}
    assert states[auto] in ("STOPPING", "STOPPED")
    assert states[always] == "AVAILABLE"


def test_terminating_an_unknown_desk_is_a_failed_item(fleet: Any) -> None:
    assert [f.key for f in fleet.port.terminate(["ws-unknown01"])] == ["ws-unknown01"]


def test_switching_to_always_on_drops_the_autostop_timeout(fleet: Any) -> None:
    desk = fleet.seed("jdoe", autostop_minutes=120)
    fleet.port.modify(desk, running_mode="ALWAYS_ON")
    (info,) = fleet.port.describe([desk])
    assert (info.running_mode, info.autostop_minutes) == ("ALWAYS_ON", None)


def test_a_migration_replaces_the_desk_for_the_same_user_on_the_new_bundle(fleet: Any) -> None:
    desk = fleet.seed("jdoe")
    target = fleet.port.migrate(desk, fleet.other_bundle)
    assert target != desk
    states = {info.workspace_id: info for info in fleet.port.describe([desk, target])}
    assert states[desk].state in ("TERMINATING", "TERMINATED")
    assert (states[target].username, states[target].bundle_id) == ("jdoe", fleet.other_bundle)
    assert states[target].state in ("PENDING", "AVAILABLE")


@pytest.mark.parametrize("state", ["REBOOTING", "PENDING", "ERROR", "TERMINATING"])
def test_a_desk_neither_available_nor_stopped_is_neither_modified_nor_migrated(fleet: Any, state: str) -> None:
    desk = fleet.seed("jdoe", state=state)
    before = fleet.port.describe([desk])
    with pytest.raises(WorkSpacesError) as modify:
        fleet.port.modify(desk, autostop_minutes=120)
    with pytest.raises(WorkSpacesError) as migrate:
        fleet.port.migrate(desk, fleet.other_bundle)
    assert (modify.value.code, migrate.value.code) == (
        "InvalidResourceStateException",
        "OperationNotSupportedException",
    )
    assert fleet.port.describe([desk]) == before


def test_an_unknown_desk_is_neither_modified_nor_migrated(fleet: Any) -> None:
    with pytest.raises(WorkSpacesError) as modify:
        fleet.port.modify("ws-unknown01", autostop_minutes=120)
    with pytest.raises(WorkSpacesError) as migrate:
        fleet.port.migrate("ws-unknown01", fleet.other_bundle)
    assert (modify.value.code, migrate.value.code) == ("ResourceNotFoundException", "ResourceNotFoundException")
