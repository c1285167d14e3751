"""SQS event source mappings in the local cloud: batch size, batching window, partial batch responses,
visibility timeout and redrive to the dead-letter queue, read through moto SQS on the virtual clock."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import SqsModel

from localcloud.world import LocalCloud
from tests.integration.fake_handlers.world import world_from_test_template

pytestmark = pytest.mark.usefixtures("socket_disabled")


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    yield from world_from_test_template()


def _send(cloud: LocalCloud, *bodies: dict[str, Any]) -> None:
    sqs = boto3.client("sqs")
    for body in bodies:
        sqs.send_message(QueueUrl=cloud.queue_url("WorkQueue"), MessageBody=json.dumps(body))
    cloud.settle()


def _batches(cloud: LocalCloud) -> list[tuple[str, int | None]]:
    return [
        (i.time, i.result.get("size") if i.ok else None) for i in cloud.invocations if i.function == "BatchFunction"
    ]


def test_a_full_batch_goes_at_once_and_the_rest_after_the_batching_window(cloud: LocalCloud) -> None:
    _send(cloud, *({"n": n} for n in range(7)))

    # Then: five now (BatchSize), the other two when the 10-second window closes
    assert _batches(cloud) == [("2026-12-01T05:00:00Z", 5)]
    cloud.advance(dt.timedelta(seconds=30))
    assert _batches(cloud) == [("2026-12-01T05:00:00Z", 5), ("2026-12-01T05:00:10Z", 2)]
    assert cloud.invocations[0].trigger == "sqs:WorkQueue"


def test_batch_event_parses_with_the_powertools_sqs_model() -> None:
    received: list[dict[str, Any]] = []

    def capture(event: dict[str, Any], _context: Any) -> None:
        received.append(event)

    for cloud in world_from_test_template(handlers={"BatchFunction": capture}):
        _send(cloud, *({"n": n} for n in range(5)))

    (event,) = received
    batch = SqsModel.model_validate(event)
    assert [json.loads(str(record.body))["n"] for record in batch.Records] == [0, 1, 2, 3, 4]
    assert batch.Records[0].attributes.ApproximateReceiveCount == "1"
    assert batch.Records[0].eventSourceARN == "arn:aws:sqs:eu-west-1:123456789012:world-test-work"


def test_reported_failures_come_back_after_the_visibility_timeout_then_go_to_the_dlq(cloud: LocalCloud) -> None:
    # Given: one good message, one the function reports as failed
    _send(cloud, {"ok": 1}, {"fail": True})
    cloud.advance(dt.timedelta(seconds=10))  # the batching window closes: first delivery

    # When: time passes beyond two visibility timeouts (60 s each; maxReceiveCount 2)
    cloud.advance(dt.timedelta(minutes=5))

    # Then: the good message was deleted at once; the failed one came back after 60 s (and waited for the
    # batching window), was delivered again, then moved to the DLQ on the next receive
    assert _batches(cloud) == [("2026-12-01T05:00:10Z", 2), ("2026-12-01T05:01:20Z", 1)]
    (letter,) = cloud.dead_letters()
    assert letter["queue"] == "WorkDLQ"
    assert letter["reason"] == "redriven after 2 receives (maxReceiveCount exceeded)"


def test_a_function_error_returns_the_whole_batch(cloud: LocalCloud) -> None:
    _send(cloud, {"ok": 1}, {"raise": True})
    cloud.advance(dt.timedelta(seconds=10))
    first = [i for i in cloud.invocations if i.function == "BatchFunction"]
    assert [(i.ok, i.error) for i in first] == [(False, "RuntimeError: the whole batch fails")]

    cloud.advance(dt.timedelta(minutes=5))

    # Both messages came back after the visibility timeout, failed again and went to the DLQ together.
    assert [i.ok for i in cloud.invocations if i.function == "BatchFunction"] == [False, False]
    assert len(cloud.dead_letters()) == 2
