"""Port contract: the on-call notifier (adapters.notifier.Notifier on moto's SNS and
fakes_remediation.FakeNotifier), the same cases for both (see test_port_contracts_desks.py for why these live in
the integration tier). What alerting relies on: each publish returns its own message id (it is recorded on the
alert thread)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from autopilot.adapters.notifier import Notifier
from tests.support.contracts import port_fixture
from tests.unit.fakes_remediation import FakeNotifier


def _real(request: pytest.FixtureRequest) -> Notifier:
    request.getfixturevalue("aws")
    return Notifier(boto3.client("sns"), boto3.client("sns").create_topic(Name="oncall")["TopicArn"])


notifier = port_fixture("notifier", {"moto": _real, "fake": lambda _: FakeNotifier()})


def test_each_publish_returns_its_own_message_id(notifier: Any) -> None:
    message = {"subject": "Desk ws-abcdefgh1", "default": "{}", "email": "text", "attributes": {"kind": "incident"}}
    ids = [notifier.publish(**message) for _ in range(3)]
    assert all(ids)
    assert len(set(ids)) == 3
