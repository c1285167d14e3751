"""Port contract: putting provisioning work back on its queue after a delay (domain.kernel.timers.QueueRequeue
over adapters.queue.Queue on moto's SQS, as handlers/provision.py composes it, and fakes_onboarding.FakeRequeue),
the same cases for both (see test_port_contracts_desks.py for why these live in the integration tier).

What provisioning relies on: every timer requeued comes back once, as the same TimerFired, after the delay asked
but never more than SQS's maximum DelaySeconds of 900 seconds (botocore sqs service-2.json, SendMessageBatchRequestEntry
DelaySeconds: "0 to 900"; QueueRequeue clamps to it); requeueing nothing sends nothing."""

from __future__ import annotations

import functools
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sqs.models import sqs_backends

from autopilot.adapters.queue import Queue
from autopilot.adapters.timers import timer_envelope
from autopilot.contracts.timers import TimerFired, TimerFiredEvent
from autopilot.domain.kernel.timers import QueueRequeue
from tests.support.contracts import port_fixture
from tests.unit.fakes_onboarding import NOW, FakeRequeue


class _Real:
    def __init__(self, request: pytest.FixtureRequest) -> None:
        request.getfixturevalue("aws")
        sqs = boto3.client("sqs")
        url = sqs.create_queue(QueueName="provisioning")["QueueUrl"]
        envelope = functools.partial(timer_envelope, account=DEFAULT_ACCOUNT_ID, region="eu-west-1")
        self.port = QueueRequeue(Queue(sqs, url), envelope=envelope)

    def sent(self) -> list[tuple[int, TimerFired]]:
        """(delay in seconds, the timer) of every message on the queue, read from moto's store: a receive would
        hide the delayed ones, which is the point."""
        queue = sqs_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].queues["provisioning"]
        return [
            (
                round((message.delayed_until - int(message.sent_timestamp)) / 1000) if message.delayed_until else 0,
                TimerFiredEvent.model_validate_json(message.body).detail,
            )
            for message in queue._messages
        ]


class _Fake:
    def __init__(self, _: pytest.FixtureRequest) -> None:
        self.port = FakeRequeue()

    def sent(self) -> list[tuple[int, TimerFired]]:
        return list(self.port.sent)


requeue = port_fixture("requeue", {"moto": _Real, "fake-onboarding": _Fake})


def _timer(n: int) -> TimerFired:
    return TimerFired(kind="provision", name=f"provision-e-{n}", due=NOW, employee_id=f"e-{n}")


def test_every_timer_requeued_comes_back_once_as_the_same_timer_with_its_delay(requeue: Any) -> None:
    timers = [_timer(n) for n in range(12)]  # more than one SendMessageBatch of 10
    requeue.port.requeue(timers, delay_seconds=300)
    requeue.port.requeue([], delay_seconds=300)
    assert sorted(requeue.sent(), key=lambda sent: sent[1].name) == sorted(
        [(300, timer) for timer in timers], key=lambda sent: sent[1].name
    )


@pytest.mark.parametrize(("asked", "delay"), [(3600, 900), (900, 900), (0, 0), (-5, 0)])
def test_a_delay_is_kept_within_what_sqs_allows(requeue: Any, asked: int, delay: int) -> None:
    requeue.port.requeue([_timer(1)], delay_seconds=asked)
    assert requeue.sent() == [(delay, _timer(1))]
