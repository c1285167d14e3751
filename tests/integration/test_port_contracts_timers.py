"""Port contract: one-time timers, the same cases for the real side and the fakes (see
test_port_contracts_desks.py for why these live in the integration tier).

- RawTimers (set/cancel): adapters.timers.Timers on moto's EventBridge Scheduler, and fakes_remediation.FakeTimers.
- TimerScheduler (schedule/cancel): domain.ports.QueueOrTimer over Timers and adapters.queue.Queue on moto, and
  fakes_onboarding.FakeTimers. A due timer goes straight to its queue (Scheduler refuses `at()` in the past);
  each side says what it delivered so the cases can compare.

What the domain relies on: a timer is named, setting a name twice is one timer, cancelling says whether a
pending timer was there."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import boto3
import pytest

from autopilot.adapters.queue import Queue
from autopilot.adapters.timers import Timers, timer_envelope
from autopilot.contracts.timers import TimerFired, TimerFiredEvent
from autopilot.domain.kernel.timers import QueueOrTimer, QueueTarget
from tests.support.contracts import port_fixture
from tests.unit import fakes_onboarding, fakes_remediation

NOW = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)
TARGET = "arn:aws:sqs:eu-west-1:123456789012:provisioning"


def _timers(request: pytest.FixtureRequest) -> Timers:
    request.getfixturevalue("aws")
    client = boto3.client("scheduler")
    client.create_schedule_group(Name="timers")
    return Timers(
        client,
        group="timers",
        role_arn="arn:aws:iam::123456789012:role/timers",
        dlq_arn="arn:aws:sqs:eu-west-1:123456789012:dlq",
        account="123456789012",
        region="eu-west-1",
    )


timers = port_fixture("timers", {"moto": _timers, "fake": lambda _: fakes_remediation.FakeTimers()})


def _timer(name: str = "provision-e-1001", due: dt.datetime = NOW + dt.timedelta(days=2)) -> TimerFired:
    return TimerFired(kind="provision", name=name, due=due, employee_id="e-1001")


def test_a_timer_set_twice_is_one_timer(timers: Any) -> None:
    assert timers.set(_timer(), target_arn=TARGET) is True
    assert timers.set(_timer(due=NOW + dt.timedelta(days=3)), target_arn=TARGET) is False
    assert timers.cancel("provision-e-1001") is True
    assert timers.cancel("provision-e-1001") is False


def test_cancelling_a_timer_never_set_says_so(timers: Any) -> None:
    assert timers.cancel("provision-e-never") is False
    assert timers.set(_timer(), target_arn=TARGET) is True  # and it leaves nothing behind


# --- the scheduler: a timer in the future, or one already due ---------------------------------------------------
class _RealScheduler:
    def __init__(self, request: pytest.FixtureRequest) -> None:
        raw = _timers(request)
        self._sqs = boto3.client("sqs")
        self._url = self._sqs.create_queue(QueueName="provisioning")["QueueUrl"]
        target = QueueTarget(queue=Queue(self._sqs, self._url), arn=TARGET)
        self.port = QueueOrTimer(
            timers=raw,
            targets={"provision": target},
            envelope=lambda timer: timer_envelope(timer, account="123456789012", region="eu-west-1"),
        )

    def delivered(self) -> list[TimerFired]:
        messages = self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10).get("Messages", [])
        return [TimerFiredEvent.model_validate(json.loads(m["Body"])).detail for m in messages]


class _FakeScheduler:
    def __init__(self, _: pytest.FixtureRequest) -> None:
        self.port = fakes_onboarding.FakeTimers()

    def delivered(self) -> list[TimerFired]:
        return list(self.port.fired)


scheduler = port_fixture("scheduler", {"moto": _RealScheduler, "fake": _FakeScheduler})


def test_a_future_timer_waits_and_can_be_cancelled_once(scheduler: Any) -> None:
    scheduler.port.schedule(_timer(), now=NOW)
    scheduler.port.schedule(_timer(), now=NOW)  # a redelivered request: still one timer
    assert scheduler.delivered() == []
    assert scheduler.port.cancel("provision-e-1001") is True
    assert scheduler.port.cancel("provision-e-1001") is False


def test_a_due_timer_is_delivered_now_and_leaves_nothing_to_cancel(scheduler: Any) -> None:
    due = _timer(due=NOW - dt.timedelta(minutes=1))
    scheduler.port.schedule(due, now=NOW)
    assert scheduler.delivered() == [due]
    assert scheduler.port.cancel(due.name) is False
