"""The weekly report run in moto: the unused-desk summary, then the fleet report stored in the report bucket
(SSE-KMS, under reports/) and announced with a presigned link that notify turns into an `info` alert."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
import time_machine
from moto import mock_aws

from autopilot import observability
from autopilot.adapters.aws import reset_caches
from autopilot.adapters.desk_store import DeskStore
from autopilot.adapters.incident_store import IncidentStore
from autopilot.domain.incidents.incidents import open_desk_incident
from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.handlers import notify, report
from tests.support.aws import create_table_from_template

ACCOUNT = "123456789012"
REGION = "eu-west-1"
BUCKET = "workspaces-autopilot-test-reports-123456789012"
MONDAY = dt.datetime(2026, 12, 7, 7, 0, 30, tzinfo=dt.UTC)


@dataclass
class Context:
    function_name: str = "report"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:report"
    aws_request_id: str = "req-1"


@dataclass
class World:
    desks: DeskStore
    incidents: IncidentStore
    queue_url: str
    alerts_url: str
    key_arn: str

    def events(self) -> list[dict[str, Any]]:
        # moto's EventBridge -> SQS delivery leaves out envelope fields EventBridge always sends: put them back.
        envelope = {"version": "0", "account": ACCOUNT, "region": REGION, "resources": []}
        return [envelope | json.loads(body) for body in _drain(self.queue_url)]

    def alerts(self) -> list[dict[str, Any]]:
        return [json.loads(body) for body in _drain(self.alerts_url)]


def _drain(url: str) -> list[str]:
    sqs = boto3.client("sqs")
    bodies: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def tick() -> dict[str, Any]:
    return {
        "version": "0",
        "id": "tick-1",
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": ACCOUNT,
        "time": "2026-12-07T07:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": {"schema_version": 1, "task": "unused_desks"},
    }


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "STAGE": "test",
        "TABLE_NAME": "state",
        "EVENT_BUS_NAME": "autopilot",
        "POLICY_PARAMETER_NAME": "/workspaces-autopilot/test/policy",
        "REPORT_BUCKET_NAME": BUCKET,
        "AUTOMATION_ALARM_PREFIX": "workspaces-autopilot-test-automation-",
        "POWERTOOLS_SERVICE_NAME": "workspaces-autopilot",
        "POWERTOOLS_METRICS_NAMESPACE": "WorkSpacesAutopilotTest",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(observability.metrics, "namespace", "WorkSpacesAutopilotTest")
    with time_machine.travel(MONDAY, tick=False), mock_aws():
        reset_caches()
        key_arn = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
        monkeypatch.setenv("REPORT_KMS_KEY_ID", key_arn)
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        table = create_table_from_template(boto3.resource("dynamodb"), "StateTable", "state")
        events, sqs, sns = boto3.client("events"), boto3.client("sqs"), boto3.client("sns")
        events.create_event_bus(Name="autopilot")
        queue_url = sqs.create_queue(QueueName="captured")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="all", EventBusName="autopilot", EventPattern=json.dumps({"source": ["autopilot"]}))
        events.put_targets(Rule="all", EventBusName="autopilot", Targets=[{"Id": "q", "Arn": queue_arn}])
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        monkeypatch.setenv("ALERTS_TOPIC_ARN", topic)
        alerts_url = sqs.create_queue(QueueName="on-call")["QueueUrl"]
        alerts_arn = sqs.get_queue_attributes(QueueUrl=alerts_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=alerts_arn, Attributes={"RawMessageDelivery": "true"})
        yield World(DeskStore(table), IncidentStore(table), queue_url, alerts_url, key_arn)
    reset_caches()


def _desk(employee_id: str, workspace_id: str, profile: str) -> Desk:
    created = MONDAY - dt.timedelta(days=10)
    return Desk(
        employee_id=employee_id,
        username=f"user-{employee_id}",
        site="amiens-cc",
        profile=profile,
        directory_id="d-1234567890",
        bundle_id="wsb-12345678",
        lifecycle=Lifecycle.READY,
        running_mode="AUTO_STOP",
        workspace_id=workspace_id,
        created_at=created,
        updated_at=created + dt.timedelta(minutes=25),
        provisioning_started_at=created,
        ready_at=created + dt.timedelta(minutes=25),
    )


def run_report() -> dict[str, Any]:
    return report.lambda_handler(tick(), Context())


def test_the_weekly_run_stores_the_report_under_reports_encrypted_with_the_stack_key(world: World) -> None:
    world.desks.create(_desk("E1001", "ws-aaaa0001", "agent"))
    world.desks.create(_desk("E1002", "ws-aaaa0002", "office"))

    result = run_report()

    assert result["fleet_report"] == {"report_key": "reports/2026-12-07.html", "desks": 2}
    stored = boto3.client("s3").get_object(Bucket=BUCKET, Key="reports/2026-12-07.html")
    assert stored["ContentType"] == "text/html; charset=utf-8"
    assert stored["ServerSideEncryption"] == "aws:kms"
    assert stored["SSEKMSKeyId"] == world.key_arn
    page = stored["Body"].read().decode("utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert 'id="chart-states"' in page
    assert "user-E1001" not in page  # ids only: never a user name


def test_the_event_carries_the_key_and_a_presigned_link_valid_seven_days(world: World) -> None:
    world.desks.create(_desk("E1001", "ws-aaaa0001", "agent"))

    run_report()

    (event,) = [e for e in world.events() if e["detail-type"] == "Fleet Report Published"]
    detail = event["detail"]
    assert (detail["report_key"], detail["desks"]) == ("reports/2026-12-07.html", 1)
    assert dt.datetime.fromisoformat(detail["generated_at"]) == MONDAY
    url = urlparse(detail["url"])
    assert url.scheme == "https"
    assert url.path.endswith("/reports/2026-12-07.html")
    query = parse_qs(url.query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]  # SigV4: required for an SSE-KMS object
    assert query["X-Amz-Expires"] == [str(7 * 24 * 3600)]


def test_an_empty_fleet_still_gets_its_weekly_report(world: World) -> None:
    result = run_report()

    assert result["unused"] == []
    assert [e["detail-type"] for e in world.events()] == ["Fleet Report Published"]
    assert boto3.client("s3").head_object(Bucket=BUCKET, Key="reports/2026-12-07.html")["ContentLength"] > 0


def test_notify_turns_the_event_into_an_info_alert_with_the_link(world: World) -> None:
    world.desks.create(_desk("E1001", "ws-aaaa0001", "agent"))
    run_report()
    (event,) = [e for e in world.events() if e["detail-type"] == "Fleet Report Published"]

    result = notify.lambda_handler(event, Context(function_name="notify"))

    assert (result["kind"], result["thread_state"]) == ("fleet_report", "new")
    (body,) = world.alerts()  # the chat-notification JSON (raw delivery)
    assert body["metadata"]["additionalContext"]["severity"] == "info"
    assert body["metadata"]["additionalContext"]["report_key"] == "reports/2026-12-07.html"
    assert event["detail"]["url"] in body["content"]["description"]
    assert "docs/runbook.md#fleet_report" in " ".join(body["content"]["nextSteps"])


def test_a_rerun_the_same_day_replaces_the_page_and_alerts_once(world: World) -> None:
    run_report()
    run_report()
    published = [e for e in world.events() if e["detail-type"] == "Fleet Report Published"]
    assert len(published) == 2
    versions = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="reports/")["Contents"]
    assert [v["Key"] for v in versions] == ["reports/2026-12-07.html"]

    states = [notify.lambda_handler(e, Context(function_name="notify"))["thread_state"] for e in published]

    assert states == ["new", "duplicate"]
    assert len(world.alerts()) == 1


def test_open_incidents_are_counted_from_the_open_index_without_a_scan(world: World) -> None:
    first = open_desk_incident(
        workspace_id="ws-aaaa0001",
        directory_id="d-1234567890",
        employee_id="E1001",
        cause="connection_failure",
        at=MONDAY,
    )
    second = open_desk_incident(
        workspace_id="ws-aaaa0002",
        directory_id="d-1234567890",
        employee_id="E1002",
        cause="connection_failure",
        at=MONDAY,
    )
    stored, _ = world.incidents.open(first)
    world.incidents.open(second)
    world.incidents.open(first)  # a duplicate opening adds nothing
    assert world.incidents.count_open() == 2

    world.incidents.resolve(stored.resolved("login", MONDAY))

    assert world.incidents.count_open() == 1
