"""Port contract: sending JSON bodies to a queue (adapters.queue.Queue on moto's SQS and
fakes_onboarding.FakeQueue), the same cases for both (see test_port_contracts_desks.py for why these live in the
integration tier). What the domain relies on: every body sent arrives once, as the same JSON, however many there
are (Queue chunks SendMessageBatch by 10); sending nothing is a no-op."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from autopilot.adapters.queue import Queue
from tests.support.contracts import port_fixture
from tests.unit.fakes_onboarding import FakeQueue


class _Real:
    def __init__(self, request: pytest.FixtureRequest) -> None:
        request.getfixturevalue("aws")
        self._sqs = boto3.client("sqs")
        self._url = self._sqs.create_queue(QueueName="work")["QueueUrl"]
        self.port = Queue(self._sqs, self._url)

    def received(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while messages := self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                found.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
        return found


class _Fake:
    def __init__(self, _: pytest.FixtureRequest) -> None:
        self.port = FakeQueue()

    def received(self) -> list[dict[str, Any]]:
        return list(self.port.bodies)


queue = port_fixture("queue", {"moto": _Real, "fake": _Fake})


def test_every_body_sent_arrives_once_as_the_same_json(queue: Any) -> None:
    bodies = [{"n": n, "detail": {"employee_id": f"e-{n}", "tags": ["a", "b"]}} for n in range(23)]
    queue.port.send(bodies)
    queue.port.send([])
    assert sorted(queue.received(), key=lambda body: body["n"]) == bodies
