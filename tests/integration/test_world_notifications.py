"""What AWS services emit by themselves, modelled by the local cloud: S3 -> EventBridge `Object Created`,
CloudWatch alarm evaluation and `CloudWatch Alarm State Change`, and the capture of SNS and SES messages."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from autopilot.contracts.aws import AlarmStateChangeEvent, ObjectCreatedEvent
from localcloud.world import LocalCloud
from tests.integration.fake_handlers.world import ran, world_from_test_template

pytestmark = pytest.mark.usefixtures("socket_disabled")


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    yield from world_from_test_template()


def test_put_object_delivers_object_created_in_the_aws_shape(cloud: LocalCloud) -> None:
    cloud.put_object("rosters/2026-12-01.csv", "employee_id,username\n", bucket="world-test-drops-123456789012")

    (event,) = ran(cloud, "DropFunction")
    parsed = ObjectCreatedEvent.model_validate(event)
    assert parsed.detail.bucket.name == "world-test-drops-123456789012"
    assert parsed.detail.object.key == "rosters/2026-12-01.csv"
    # The contract reads only what the function acts on (AWS owns this event): the rest is checked on the raw event.
    assert event["detail"]["object"]["size"] == len("employee_id,username\n")
    assert event["detail"]["reason"] == "PutObject"
    assert set(event["detail"]["object"]) >= {"key", "size", "etag", "sequencer"}
    assert event["resources"] == ["arn:aws:s3:::world-test-drops-123456789012"]


def test_upload_through_boto3_is_delivered_too(cloud: LocalCloud) -> None:
    boto3.client("s3").put_object(Bucket="world-test-drops-123456789012", Key="a.json", Body=b"{}")
    cloud.settle()

    assert len(ran(cloud, "DropFunction")) == 1


def _failure_alarm(name: str) -> None:
    boto3.client("cloudwatch").put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/WorkSpaces",
        MetricName="ConnectionFailure",
        Dimensions=[{"Name": "DirectoryId", "Value": "d-1234567890"}],
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=3,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )


def _failures(count: float, dimensions: list[Any]) -> None:
    boto3.client("cloudwatch").put_metric_data(
        Namespace="AWS/WorkSpaces",
        MetricData=[{"MetricName": "ConnectionFailure", "Dimensions": dimensions, "Value": count}],
    )


def _alarm_events(cloud: LocalCloud) -> list[AlarmStateChangeEvent]:
    return [AlarmStateChangeEvent.model_validate(event) for event in ran(cloud, "AlarmFunction")]


def test_metric_data_over_the_threshold_raises_the_alarm_then_it_returns_to_ok(cloud: LocalCloud) -> None:
    # Given: an alarm on the directory's ConnectionFailure sum over 5 minutes
    _failure_alarm("world-test-watch-d-1234567890")
    cloud.advance(dt.timedelta(minutes=1))
    assert [(e.detail.previous_state.value, e.detail.state.value) for e in _alarm_events(cloud)] == [  # type: ignore[union-attr]
        ("INSUFFICIENT_DATA", "OK")
    ]

    # When: four failures are reported for the directory
    _failures(4, [{"Name": "DirectoryId", "Value": "d-1234567890"}])
    cloud.advance(dt.timedelta(minutes=1))

    # Then: ALARM, with the metric and its dimensions in the event; moto's alarm says ALARM too
    events = _alarm_events(cloud)
    assert events[-1].detail.state.value == "ALARM"
    assert events[-1].detail.dimension("DirectoryId") == "d-1234567890"
    assert events[-1].detail.state.reason_data["recentDatapoints"] == [4.0]  # type: ignore[index]
    assert isinstance(ran(cloud, "AlarmFunction")[-1]["detail"]["state"]["reasonData"], str)  # a JSON string
    state = boto3.client("cloudwatch").describe_alarms(AlarmNames=["world-test-watch-d-1234567890"])
    assert state["MetricAlarms"][0]["StateValue"] == "ALARM"

    # When: the failures age out of the 5-minute period
    cloud.advance(dt.timedelta(minutes=6))
    assert [e.detail.state.value for e in _alarm_events(cloud)] == ["OK", "ALARM", "OK"]


def test_alarm_watches_only_its_exact_dimensions(cloud: LocalCloud) -> None:
    _failure_alarm("world-test-watch-d-1234567890")
    _failures(10, [{"Name": "DirectoryId", "Value": "d-1234567890"}, {"Name": "WorkspaceId", "Value": "ws-abc12345"}])
    cloud.advance(dt.timedelta(minutes=2))

    assert [e.detail.state.value for e in _alarm_events(cloud)] == ["OK"]


def test_updating_an_alarm_keeps_its_state(cloud: LocalCloud) -> None:
    _failure_alarm("world-test-watch-d-1234567890")
    _failures(4, [{"Name": "DirectoryId", "Value": "d-1234567890"}])
    cloud.advance(dt.timedelta(minutes=1))

    _failure_alarm("world-test-watch-d-1234567890")  # PutMetricAlarm again, as a sweep does
    cloud.advance(dt.timedelta(minutes=1))

    assert [e.detail.state.value for e in _alarm_events(cloud)] == ["ALARM"]


def test_message_on_a_dead_letter_queue_raises_the_template_alarm_and_its_sns_action(cloud: LocalCloud) -> None:
    boto3.client("sqs").send_message(QueueUrl=cloud.queue_url("WorkDLQ"), MessageBody="{}")

    # The depth published at 05:01 is in the minute 05:01-05:02, complete (and evaluated) at 05:02.
    cloud.advance(dt.timedelta(minutes=1))
    assert cloud.alerts() == []
    cloud.advance(dt.timedelta(minutes=1))

    (alert,) = cloud.alerts()
    assert alert["subject"] == 'ALARM: "world-test-work-dlq" in EU (Ireland)'
    assert json.loads(alert["message"])["NewStateValue"] == "ALARM"
    assert alert["kind"] is None  # CloudWatch's own notification carries no message attributes
    assert [(entry["time"], entry["state"]) for entry in cloud.timeline if entry["kind"] == "alarm"] == [
        ("2026-12-01T05:02:00Z", "ALARM")
    ]


def test_sns_publishes_and_ses_sends_are_captured_for_the_report(cloud: LocalCloud) -> None:
    cloud.publish({"EventBusName": "world-test", "Source": "test.app", "DetailType": "Notify Someone", "Detail": {}})

    assert cloud.alerts() == [
        {
            "kind": "connection_failure",
            "severity": "warning",
            "workspace_id": "ws-abc12345",
            "employee_id": None,
            "incident_id": None,
            "subject": "Desk ws-abc12345 is sick",
            "message": json.dumps({"title": "sick desk"}),
        }
    ]
    assert cloud.emails() == [
        {"from": "it-desk@example.com", "to": ["new.hire@example.com"], "subject": "Your WorkSpace", "body": "Welcome"}
    ]
    assert [entry["kind"] for entry in cloud.timeline if entry["kind"] in {"alert", "email"}] == ["alert", "email"]
