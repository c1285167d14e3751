"""Port contract: desk tags in bulk (adapters.tagging.Tagging on moto's Resource Groups Tagging API over the
WorkSpaces emulator, and the fakes that stand in for it: fakes_fleet.FakeTags, fakes_remediation.FakeTags and
fakes_onboarding.FakeFleet's tags_of), the same cases for every side (see test_port_contracts_desks.py for why
these live in the integration tier).

What adoption, the runbook and provisioning rely on: `tags_of` gives each given desk's tags (a desk without
tags absent or empty) and leaves out an id it does not know; `tagged_with(key)` gives every desk carrying the key,
with all its tags. Each side is driven through a small harness: `seed(user, tags)` makes a desk and returns its id."""

from __future__ import annotations

import itertools
from typing import Any

import boto3
import pytest

from autopilot.adapters.tagging import Tagging
from localcloud.workspaces_emulator import Emulator
from tests.support.contracts import port_fixture
from tests.unit import fakes_fleet, fakes_onboarding, fakes_remediation

ACCOUNT = "123456789012"


class _Real:
    def __init__(self, request: pytest.FixtureRequest) -> None:
        request.getfixturevalue("aws")
        self._emulator = Emulator(region="eu-west-1")
        self._directory = self._emulator.create_directory("corp.example.com")
        self._bundle = self._emulator.create_bundle("Standard with Windows 10")
        self.port = Tagging(boto3.client("resourcegroupstaggingapi"), account_id=ACCOUNT)

    def seed(self, user: str, tags: dict[str, str]) -> str:
        return str(self._emulator.seed_workspace(self._directory, user, self._bundle, tags=tags))


class _FleetFake:
    def __init__(self, _: pytest.FixtureRequest) -> None:
        self._fleet = fakes_fleet.FakeFleet()
        self._ids = itertools.count(1)
        self.port = fakes_fleet.FakeTags(self._fleet)

    def seed(self, user: str, tags: dict[str, str]) -> str:
        workspace_id = f"ws-{next(self._ids):09d}"
        self._fleet.add(fakes_fleet.FakeDesk(workspace_id, username=user, tags=dict(tags)))
        return workspace_id


class _RemediationFake:
    def __init__(self, _: pytest.FixtureRequest) -> None:
        self._ids = itertools.count(1)
        self.port = fakes_remediation.FakeTags()

    def seed(self, user: str, tags: dict[str, str]) -> str:
        workspace_id = f"ws-{next(self._ids):09d}"
        self.port.tags[workspace_id] = dict(tags)
        return workspace_id


class _OnboardingFake:
    def __init__(self, _: pytest.FixtureRequest) -> None:
        self.port = fakes_onboarding.FakeFleet()

    def seed(self, user: str, tags: dict[str, str]) -> str:
        return self.port.seed("d-1111111111", user, tags=dict(tags))


tags = port_fixture(
    "tags",
    {"moto": _Real, "fake-fleet": _FleetFake, "fake-remediation": _RemediationFake, "fake-onboarding": _OnboardingFake},
)
tag_index = port_fixture("tag_index", {"moto": _Real, "fake-fleet": _FleetFake})


def test_tags_of_gives_each_desks_tags_and_skips_unknown_ids(tags: Any) -> None:
    """GetResources "does not return untagged resources" but returns "tagged or previously tagged" ones, and an ARN
    that does not exist "doesn't generate an error; it simply isn't returned" (botocore resourcegroupstaggingapi
    service-2.json, GetResources and ResourceARNList): a desk without tags may be absent or map to no tags (a
    caller reads `.get(ws, {})`); an unknown id is absent, never an error."""
    managed = tags.seed("jdoe", {"ManagedBy": "workspaces-autopilot", "CostCenter": "it"})
    bare = tags.seed("asmith", {})
    found = tags.port.tags_of([managed, bare, "ws-unknown01"])
    assert found[managed] == {"ManagedBy": "workspaces-autopilot", "CostCenter": "it"}
    assert found.get(bare, {}) == {}
    assert set(found) <= {managed, bare}
    assert tags.port.tags_of([]) == {}


def test_tagged_with_lists_every_desk_carrying_the_key_with_all_its_tags(tag_index: Any) -> None:
    tagged = tag_index.seed("jdoe", {"AutopilotAutoStopHours": "4", "ManagedBy": "x"})
    tag_index.seed("asmith", {"ManagedBy": "x"})
    tag_index.seed("bare", {})
    found = tag_index.port.tagged_with("AutopilotAutoStopHours")
    assert found == {tagged: {"AutopilotAutoStopHours": "4", "ManagedBy": "x"}}
    assert tag_index.port.tagged_with("NoSuchKey") == {}
