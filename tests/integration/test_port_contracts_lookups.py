"""Port contract: the two WorkSpaces look-ups onboarding needs (adapters.mailer.WorkSpacesLookups on the
WorkSpaces emulator over moto, and fakes_onboarding's FakeCodes and FakeCatalog), the same cases for both (see
test_port_contracts_desks.py for why these live in the integration tier).

What the welcome e-mail and transfers rely on: a registered directory has a registration code, an unregistered
one is refused with InvalidInput (never a made-up code); a bundle's default compute is known, an unknown bundle
has none."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from autopilot.adapters.mailer import WorkSpacesLookups
from autopilot.domain.kernel.errors import InvalidInput
from localcloud.workspaces_emulator import Emulator
from tests.support.contracts import port_fixture
from tests.unit import fakes_onboarding


class _Real:
    def __init__(self, request: pytest.FixtureRequest) -> None:
        request.getfixturevalue("aws")
        emulator = Emulator(region="eu-west-1")
        self.directory = emulator.create_directory("corp.example.com")
        self.bundle = emulator.create_bundle("Power with Windows 10", compute="POWER")
        self.codes = self.catalog = WorkSpacesLookups(boto3.client("workspaces"))


class _Fake:
    def __init__(self, _: pytest.FixtureRequest) -> None:
        self.directory = fakes_onboarding.DIRECTORIES["corp.example.com"]
        self.bundle = fakes_onboarding.BUNDLES["Power with Windows 10"]
        self.codes, self.catalog = fakes_onboarding.FakeCodes(), fakes_onboarding.FakeCatalog()


lookups = port_fixture("lookups", {"moto": _Real, "fake-onboarding": _Fake})


def test_a_registered_directory_has_a_code_and_an_unknown_one_is_refused(lookups: Any) -> None:
    assert lookups.codes.registration_code(lookups.directory)
    with pytest.raises(InvalidInput):
        lookups.codes.registration_code("d-9999999999")


def test_a_bundles_default_compute_is_known_and_an_unknown_bundle_has_none(lookups: Any) -> None:
    assert lookups.catalog.default_compute(lookups.bundle) == "POWER"
    assert lookups.catalog.default_compute("wsb-unknown99") is None
