"""The shared adapters against moto: desk store conditional writes, event bus batching, timers, queue."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Attr, Key

from autopilot.adapters.bus import EventBus
from autopilot.adapters.desk_store import DeskStore
from autopilot.adapters.dynamodb import pages
from autopilot.adapters.queue import Queue
from autopilot.adapters.timers import Timers
from autopilot.contracts.outputs import FeedHeld
from autopilot.contracts.timers import TimerFired, TimerFiredEvent
from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.domain.kernel.errors import StaleUpdate
from autopilot.domain.kernel.outbox import AuditEntry
from tests.support.aws import create_table_from_template

NOW = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)


@pytest.fixture
def store(aws: None) -> DeskStore:
    table = create_table_from_template(boto3.resource("dynamodb"), "StateTable", "state")
    return DeskStore(table)


def _desk(**changes: Any) -> Desk:
    fields: dict[str, Any] = {
        "employee_id": "e-1001",
        "lifecycle": Lifecycle.SCHEDULED,
        "site": "amiens-cc",
        "profile": "agent",
        "directory_id": "d-0123456789",
        "bundle_id": "wsb-standard01",
        "username": "agent001",
        "running_mode": "AUTO_STOP",
        "autostop_hours": 1,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Desk.model_validate(fields | changes)


def test_a_second_desk_for_the_same_employee_is_refused(store: DeskStore) -> None:
    store.create(_desk())
    with pytest.raises(StaleUpdate):
        store.create(_desk(profile="office"))
    assert store.get("e-1001").profile == "agent"  # type: ignore[union-attr]


def test_a_write_based_on_a_stale_read_is_refused(store: DeskStore) -> None:
    first_read = store.create(_desk())
    second_read = store.get("e-1001")
    assert second_read is not None
    store.save(first_read.moved_to(Lifecycle.PROVISIONING, at=NOW, workspace_id="ws-abcdefgh1"))
    with pytest.raises(StaleUpdate):
        store.save(second_read.moved_to(Lifecycle.CANCELLED, at=NOW))
    assert store.get("e-1001").lifecycle is Lifecycle.PROVISIONING  # type: ignore[union-attr]


def test_desks_are_found_by_workspace_lifecycle_and_shift(store: DeskStore) -> None:
    shift = {"timezone": "Europe/Paris", "days": ["mon"], "start": "08:00", "end": "16:00"}
    store.create(_desk(workspace_id="ws-abcdefgh1", lifecycle=Lifecycle.READY, shift=shift, prewarm=True))
    store.create(_desk(employee_id="e-1002", username="jdoe"))
    assert store.by_workspace("ws-abcdefgh1").employee_id == "e-1001"  # type: ignore[union-attr]
    assert [d.employee_id for d in store.by_lifecycle(Lifecycle.SCHEDULED)] == ["e-1002"]
    assert [d.employee_id for d in store.shift_desks()] == ["e-1001"]
    assert store.by_workspace("ws-unknown01") is None


def test_history_is_kept_newest_first(store: DeskStore) -> None:
    store.record_event("e-1001", at=NOW, kind="hired", detail={"profile": "agent"})
    store.record_event("e-1001", at=NOW + dt.timedelta(minutes=5), kind="provisioning", detail={})
    assert [entry["kind"] for entry in store.history("e-1001")] == ["provisioning", "hired"]


def _count_calls(store: DeskStore) -> Counter[str]:
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    store._table.meta.client.meta.events.register("before-call.dynamodb", count)
    return calls


def test_many_desks_are_read_a_hundred_keys_a_request(store: DeskStore) -> None:
    for n in range(120):
        store.create(_desk(employee_id=f"e-{n:04d}", username=f"user{n}"))
    calls = _count_calls(store)

    found = store.get_many([f"e-{n:04d}" for n in range(150)] + ["e-0001"])

    assert sorted(found) == [f"e-{n:04d}" for n in range(120)]
    assert found["e-0007"].username == "user7"
    assert dict(calls) == {"BatchGetItem": 2}


def test_a_query_past_one_megabyte_is_read_page_by_page_as_python_values(store: DeskStore) -> None:
    # pages() runs botocore's paginator on the Table's own client: boto3's conditions and types still apply.
    for n in range(30):
        store._table.put_item(Item={"pk": "BIG", "sk": f"{n:03d}", "n": n, "pad": "x" * 50_000})  # 1.5 MB in all
    calls = _count_calls(store)

    read = list(
        pages(store._table, "query", KeyConditionExpression=Key("pk").eq("BIG"), FilterExpression=Attr("n").gte(2))
    )

    assert len(read) == 2  # DynamoDB stops a page at 1 MB
    assert [item["n"] for page in read for item in page["Items"]] == list(range(2, 30))
    assert dict(calls) == {"Query": 2}


def test_audit_entries_are_written_twenty_five_a_request(store: DeskStore) -> None:
    calls = _count_calls(store)

    store.record_events([AuditEntry("e-1001", NOW + dt.timedelta(seconds=n), "step", {"n": n}) for n in range(30)])
    store.record_events([])

    assert dict(calls) == {"BatchWriteItem": 2}
    history = store.history("e-1001", limit=100)
    assert [entry["detail"]["n"] for entry in history] == list(range(29, -1, -1))


def test_events_are_published_ten_per_call(aws: None) -> None:
    client = boto3.client("events")
    client.create_event_bus(Name="autopilot")
    queue_url = boto3.client("sqs").create_queue(QueueName="sink")["QueueUrl"]
    queue_arn = boto3.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    client.put_rule(Name="all", EventBusName="autopilot", EventPattern=json.dumps({"source": ["autopilot"]}))
    client.put_targets(
        Rule="all", EventBusName="autopilot", Targets=[{"Id": "q", "Arn": queue_arn["Attributes"]["QueueArn"]}]
    )
    calls: list[int] = []
    client.meta.events.register(
        "before-parameter-build.events.PutEvents", lambda params, **_: calls.append(len(params["Entries"]))
    )

    EventBus(client, "autopilot").publish(
        [FeedHeld(feed_id=f"feed-{n}", departures=30, threshold=25, held_at=NOW) for n in range(23)]
    )

    assert calls == [10, 10, 3]
    received = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1)["Messages"]
    assert json.loads(received[0]["Body"])["detail-type"] == "Feed Held"


def test_a_timer_set_twice_is_one_schedule_and_its_input_is_a_valid_envelope(aws: None) -> None:
    client = boto3.client("scheduler")
    client.create_schedule_group(Name="timers")
    timers = Timers(
        client,
        group="timers",
        role_arn="arn:aws:iam::123456789012:role/timers",
        dlq_arn="arn:aws:sqs:eu-west-1:123456789012:dlq",
        account="123456789012",
        region="eu-west-1",
    )
    timer = TimerFired(kind="provision", name="provision-e-1001", due=NOW, employee_id="e-1001")

    assert timers.set(timer, target_arn="arn:aws:sqs:eu-west-1:123456789012:provisioning") is True
    assert timers.set(timer, target_arn="arn:aws:sqs:eu-west-1:123456789012:provisioning") is False

    schedule = client.get_schedule(Name="provision-e-1001", GroupName="timers")
    assert schedule["ScheduleExpression"] == "at(2026-12-01T08:00:00)"
    assert TimerFiredEvent.model_validate_json(schedule["Target"]["Input"]).detail == timer
    assert timers.cancel("provision-e-1001") is True
    assert timers.cancel("provision-e-1001") is False


def test_queue_sends_in_batches_of_ten(aws: None) -> None:
    client = boto3.client("sqs")
    url = client.create_queue(QueueName="work")["QueueUrl"]
    Queue(client, url).send([{"n": n} for n in range(12)])
    attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "12"
