"""Port contract: publishing events (adapters.bus.EventBus on moto's EventBridge, delivered through a rule to an
SQS queue, and the unit tests' one fake publisher, tests/unit/fakes_bus.py, which replaced five copies), the same
cases for every side (see test_port_contracts_desks.py for why these live in the integration tier).

What the domain relies on: every event published is delivered once, as its detail type and its JSON, however
many there are (EventBus chunks PutEvents by 10); publishing nothing is a no-op; `put_raw` (the roster ingest's
HR events) delivers entries as given. Each side says what it delivered: (source, detail type, detail)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from autopilot.adapters.bus import EventBus
from autopilot.contracts.outputs import SOURCE, FeedHeld
from tests.support.contracts import port_fixture
from tests.unit import fakes_bus, fakes_onboarding, fakes_optimizer
from tests.unit.fakes_onboarding import NOW

Delivered = tuple[str, str, dict[str, Any]]


class _Real:
    def __init__(self, request: pytest.FixtureRequest) -> None:
        request.getfixturevalue("aws")
        events, self._sqs = boto3.client("events"), boto3.client("sqs")
        events.create_event_bus(Name="autopilot")
        self._url = self._sqs.create_queue(QueueName="sink")["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])["Attributes"]
        pattern = {"source": [SOURCE, "hr.feed"]}
        events.put_rule(Name="all", EventBusName="autopilot", EventPattern=json.dumps(pattern))
        events.put_targets(Rule="all", EventBusName="autopilot", Targets=[{"Id": "q", "Arn": arn["QueueArn"]}])
        self.port = EventBus(events, "autopilot")

    def delivered(self) -> list[Delivered]:
        found: list[Delivered] = []
        while messages := self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                body = json.loads(message["Body"])
                found.append((body["source"], body["detail-type"], body["detail"]))
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
        return found


class _Fake:
    def __init__(self, port: fakes_bus.FakeBus) -> None:
        self.port = port

    def delivered(self) -> list[Delivered]:
        return [(SOURCE, event.DETAIL_TYPE, json.loads(event.model_dump_json())) for event in self.port.events]


bus = port_fixture(
    "bus",
    {
        "moto": _Real,
        "fake": lambda _: _Fake(fakes_bus.FakeBus()),
        "fake-running-modes": lambda _: _Fake(fakes_optimizer.FakeBus()),
    },
)


class _FakeRaw:
    def __init__(self, _: pytest.FixtureRequest) -> None:
        self.port = fakes_onboarding.FakeRawSink()

    def delivered(self) -> list[Delivered]:
        return [(e["Source"], e["DetailType"], json.loads(e["Detail"])) for e in self.port.entries]


raw_bus = port_fixture("raw_bus", {"moto": _Real, "fake-onboarding": _FakeRaw})


def _held(n: int) -> FeedHeld:
    return FeedHeld(feed_id=f"feed-{n}", departures=30, threshold=25, held_at=NOW)


def _key(delivered: Delivered) -> str:
    return json.dumps(delivered, sort_keys=True)


def test_every_event_published_is_delivered_once_as_its_json(bus: Any) -> None:
    events = [_held(n) for n in range(23)]
    bus.port.publish(events)
    bus.port.publish([])
    expected = [(SOURCE, "Feed Held", json.loads(event.model_dump_json())) for event in events]
    assert sorted(bus.delivered(), key=_key) == sorted(expected, key=_key)


def test_raw_entries_are_delivered_as_given(raw_bus: Any) -> None:
    detail = {"employee_id": "e-1001", "last_day": "2026-12-20"}
    entries = [{"Source": "hr.feed", "DetailType": "Employee Departed", "Detail": json.dumps(detail)}] * 12
    raw_bus.port.put_raw(entries)
    assert raw_bus.delivered() == [("hr.feed", "Employee Departed", detail)] * 12
