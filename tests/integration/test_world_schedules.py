"""Recurring schedules and one-time timers (EventBridge Scheduler) in the local cloud: moto stores schedules but
never fires them; the world fires them on the virtual clock."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from localcloud.schedules import Expression, ScheduleExpressionError
from localcloud.world import LocalCloud
from tests.integration.fake_handlers.world import START, ran, world_from_test_template

pytestmark = pytest.mark.usefixtures("socket_disabled")


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    yield from world_from_test_template()


# TimersRole of the test template: Scheduler reaches a target as the schedule's role (IAM is enforced).
TIMERS_ROLE = "arn:aws:iam::123456789012:role/world-test-timers"


def _timer(cloud: LocalCloud, name: str, at: dt.datetime, target_arn: str, payload: dict[str, object]) -> None:
    boto3.client("scheduler").create_schedule(
        Name=name,
        GroupName="world-test-timers",
        ScheduleExpression=f"at({at.replace(tzinfo=None).isoformat(timespec='seconds')})",
        ScheduleExpressionTimezone="UTC",
        FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion="DELETE",
        Target={"Arn": target_arn, "RoleArn": TIMERS_ROLE, "Input": json.dumps(payload)},
    )


def _exists(name: str) -> bool:
    names = boto3.client("scheduler").list_schedules(GroupName="world-test-timers")["Schedules"]
    return name in {schedule["Name"] for schedule in names}


def test_recurring_schedule_fires_every_five_minutes_with_its_context_filled_in(cloud: LocalCloud) -> None:
    cloud.advance(dt.timedelta(minutes=21))

    ticks = ran(cloud, "TickFunction")
    assert [tick["time"] for tick in ticks] == [
        "2026-12-01T05:05:00Z",
        "2026-12-01T05:10:00Z",
        "2026-12-01T05:15:00Z",
        "2026-12-01T05:20:00Z",
    ]
    assert ticks[0]["resources"] == ["arn:aws:scheduler:eu-west-1:123456789012:schedule/default/TickFunctionTick"]
    assert ticks[0]["account"] == "123456789012"
    assert len({tick["id"] for tick in ticks}) == 4  # one execution id per run
    assert {i.trigger for i in cloud.invocations} == {"schedule:TickFunctionTick"}


def test_one_time_timer_sends_its_input_to_a_queue_when_due_and_is_deleted(cloud: LocalCloud) -> None:
    _timer(cloud, "provision-e123", START + dt.timedelta(minutes=10), cloud.physical("TargetQueue", "Arn"), {"k": 1})
    sqs = boto3.client("sqs")

    cloud.advance(dt.timedelta(minutes=9))
    assert "Messages" not in sqs.receive_message(QueueUrl=cloud.queue_url("TargetQueue"))
    assert _exists("provision-e123")

    cloud.advance(dt.timedelta(minutes=2))
    (message,) = sqs.receive_message(QueueUrl=cloud.queue_url("TargetQueue"))["Messages"]
    assert json.loads(message["Body"]) == {"k": 1}
    assert not _exists("provision-e123")  # ActionAfterCompletion=DELETE
    assert [entry["name"] for entry in cloud.timeline if entry["kind"] == "timer"] == ["provision-e123"]


def test_one_time_timer_invokes_a_function_target_asynchronously(cloud: LocalCloud) -> None:
    arn = cloud.physical("HappenedFunction", "Arn")
    _timer(cloud, "recheck-inc-1-1", START + dt.timedelta(minutes=15), arn, {"detail": {"kind": "recheck"}})

    cloud.advance(dt.timedelta(minutes=20))

    assert ran(cloud, "HappenedFunction") == [{"detail": {"kind": "recheck"}}]
    (invocation,) = [i for i in cloud.invocations if i.function == "HappenedFunction"]
    assert (invocation.trigger, invocation.time) == ("timer:recheck-inc-1-1", "2026-12-01T05:15:00Z")
    assert not _exists("recheck-inc-1-1")


def test_timer_already_due_when_created_fires_at_once(cloud: LocalCloud) -> None:
    _timer(cloud, "stop-e9", START - dt.timedelta(minutes=1), cloud.physical("TargetQueue", "Arn"), {"k": 2})
    cloud.settle()

    (message,) = boto3.client("sqs").receive_message(QueueUrl=cloud.queue_url("TargetQueue"))["Messages"]
    assert json.loads(message["Body"]) == {"k": 2}


def test_schedule_expression_scheduler_would_refuse_is_refused(cloud: LocalCloud) -> None:
    with pytest.raises(ClientError, match="ValidationException"):
        boto3.client("scheduler").create_schedule(
            Name="bad",
            ScheduleExpression="at(2026-12-01T05:00:00+00:00)",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": cloud.physical("TargetQueue", "Arn"), "RoleArn": "arn:aws:iam::123456789012:role/r"},
        )


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 7 ? * MON *)", "2026-12-01T05:00:00+00:00", "2026-12-07T07:00:00+00:00"),  # 1 Dec 2026 is a Tuesday
        ("cron(*/15 8-9 * * ? *)", "2026-12-01T09:50:00+00:00", "2026-12-02T08:00:00+00:00"),
        ("cron(30 6 ? * MON-FRI *)", "2026-12-04T07:00:00+00:00", "2026-12-07T06:30:00+00:00"),
        ("cron(0 0 1 JAN ? *)", "2026-12-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00"),
    ],
)
def test_cron_expressions_fire_when_aws_would(expression: str, after: str, expected: str) -> None:
    parsed = Expression.parse(expression)
    moment = dt.datetime.fromisoformat(after)
    assert parsed.next_after(moment, moment) == dt.datetime.fromisoformat(expected)


def test_cron_in_a_time_zone_fires_at_local_time() -> None:
    parsed = Expression.parse("cron(0 8 ? * * *)", "Europe/Paris")
    moment = dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)
    assert parsed.next_after(moment, moment) == dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "expression",
    ["rate(1 minutes)", "rate(5 minute)", "cron(0 7 * * MON *)", "cron(0 7 L * ? *)", "every day", "cron(0 7 * *)"],
)
def test_expressions_aws_refuses_are_refused(expression: str) -> None:
    with pytest.raises(ScheduleExpressionError):
        Expression.parse(expression)


def _retrying_timer(cloud: LocalCloud, name: str, target_arn: str, retries: int, max_age_s: int) -> None:
    boto3.client("scheduler").create_schedule(
        Name=name,
        GroupName="world-test-timers",
        ScheduleExpression=f"at({(START + dt.timedelta(minutes=5)).replace(tzinfo=None).isoformat()})",
        ScheduleExpressionTimezone="UTC",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": target_arn,
            "RoleArn": TIMERS_ROLE,
            "Input": json.dumps({"k": "<aws.scheduler.attempt-number>"}),
            "RetryPolicy": {"MaximumRetryAttempts": retries, "MaximumEventAgeInSeconds": max_age_s},
            "DeadLetterConfig": {"Arn": cloud.physical("WorkDLQ", "Arn")},
        },
    )


def test_a_failed_timer_target_is_retried_by_its_retry_policy_before_the_dead_letter_queue(cloud: LocalCloud) -> None:
    # Given a timer whose target queue does not exist yet, with 3 retries allowed (Scheduler's RetryPolicy)
    missing = cloud.physical("TargetQueue", "Arn") + "-later"
    _retrying_timer(cloud, "recheck-retry", missing, retries=3, max_age_s=3600)
    sqs = boto3.client("sqs")

    # When it fires at 05:05 and fails, the dead-letter queue stays empty: Scheduler retries first
    cloud.advance(dt.timedelta(minutes=5, seconds=30))
    assert cloud.dead_letters() == []
    # and once the queue exists, a retry delivers the input with its attempt number
    url = sqs.create_queue(QueueName=missing.rsplit(":", 1)[-1])["QueueUrl"]
    cloud.advance(dt.timedelta(minutes=10))

    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    assert json.loads(message["Body"])["k"] != "1"
    assert cloud.dead_letters() == []


def test_a_timer_target_failing_every_retry_lands_in_the_dead_letter_queue_after_the_last(cloud: LocalCloud) -> None:
    missing = cloud.physical("TargetQueue", "Arn") + "-never"
    _retrying_timer(cloud, "recheck-dead", missing, retries=2, max_age_s=3600)

    cloud.advance(dt.timedelta(minutes=6))
    assert cloud.dead_letters() == []  # the first attempt failed; two retries to go

    cloud.advance(dt.timedelta(hours=1))
    (letter,) = cloud.dead_letters()
    assert letter["queue"] == "WorkDLQ"
    failures = [entry for entry in cloud.timeline if entry["kind"] == "delivery_failed"]
    assert [entry["attempt"] for entry in failures] == [1, 2, 3]
