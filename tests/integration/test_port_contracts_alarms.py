"""Port contract: fleet_watch's directory alarms (adapters.alarms.Alarms on moto's CloudWatch and
fakes_fleet.FakeAlarms), the same cases for both (see test_port_contracts_desks.py for why these live in the
integration tier). The reconciler relies on: `existing(prefix)` returns only the alarms under the prefix, each
read back as the spec it was written from; a put replaces; a delete removes exactly the names given."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from autopilot.adapters.alarms import Alarms
from autopilot.domain.incidents.alarms import AlarmSpec, desired_alarms
from tests.support.contracts import port_fixture
from tests.unit.fakes_fleet import FakeAlarms

PREFIX = "workspaces-autopilot-test-connection-failure-"


def _real(request: pytest.FixtureRequest) -> Alarms:
    request.getfixturevalue("aws")
    return Alarms(boto3.client("cloudwatch"))


alarms = port_fixture("alarms", {"moto": _real, "fake": lambda _: FakeAlarms()})


def test_alarms_read_back_under_their_prefix_as_the_specs_written(alarms: Any) -> None:
    assert alarms.existing(PREFIX) == {}
    wanted = desired_alarms(PREFIX, ["d-1111111111", "d-2222222222"])
    for spec in [*wanted, *desired_alarms("other-stack-", ["d-1111111111"])]:
        alarms.put(spec)
    assert alarms.existing(PREFIX) == {spec.name: spec for spec in wanted}


def test_a_put_replaces_and_a_delete_removes_only_the_names_given(alarms: Any) -> None:
    first, second = desired_alarms(PREFIX, ["d-1111111111", "d-2222222222"])
    alarms.put(first)
    alarms.put(second)
    changed = AlarmSpec(name=first.name, directory_id=first.directory_id, period=60, evaluation_periods=3)
    alarms.put(changed)
    alarms.delete([second.name])
    assert alarms.existing(PREFIX) == {first.name: changed}
    alarms.delete([])
    assert alarms.existing(PREFIX) == {first.name: changed}
