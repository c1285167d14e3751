"""The notifier against moto SNS: one publish, the chat JSON for chat/HTTPS/SQS subscribers, plain text for
e-mail subscribers, and message attributes a subscription filter policy can select on."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.sns.models import sns_backends

from autopilot.adapters.alert_threads import AlertThreads
from autopilot.adapters.incident_store import IncidentStore
from autopilot.adapters.notifier import Notifier
from autopilot.contracts.outputs import IncidentEscalated, IncidentOpened, StepRecord
from autopilot.domain.oncall import alerts
from autopilot.domain.oncall.alert import Links
from autopilot.domain.oncall.alerts import EventTrigger
from autopilot.domain.oncall.ports import NotifyPorts
from tests.support.aws import create_table_from_template

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
REGION = "eu-west-1"
ACCOUNT = "123456789012"
WS = "ws-abcdefgh1"
INC = "inc-ws-abcdefgh1-20261201090000"


@pytest.fixture
def sns(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        client = boto3.client("sns")
        sqs = boto3.client("sqs")
        topic = client.create_topic(Name="oncall")["TopicArn"]
        queues = {}
        for name, policy in (
            ("everything", None),
            ("pager", {"severity": ["critical"]}),
        ):
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            attributes = {"FilterPolicy": json.dumps(policy)} if policy else {}
            client.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attributes)
            queues[name] = url
        client.subscribe(TopicArn=topic, Protocol="email", Endpoint="oncall@example.com")
        table = create_table_from_template(boto3.resource("dynamodb"), "StateTable", "state")
        yield {"client": client, "sqs": sqs, "topic": topic, "queues": queues, "table": table}


def _received(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def _notify(env: dict[str, Any], event: Any) -> alerts.Delivery:
    ports = NotifyPorts(
        incidents=IncidentStore(env["table"]),
        threads=AlertThreads(env["table"]),
        notifier=Notifier(env["client"], env["topic"]),
    )
    return alerts.notify(EventTrigger(event=event, time=NOW), ports, Links(region=REGION, account=ACCOUNT), NOW)


OPENED = IncidentOpened(
    incident_id=INC,
    scope="desk",
    cause="connection_failure",
    directory_id="d-0123456789",
    workspace_id=WS,
    employee_id="e-1001",
    failures=6,
    opened_at=NOW,
)
ESCALATED = IncidentEscalated(
    incident_id=INC,
    scope="desk",
    directory_id="d-0123456789",
    workspace_id=WS,
    employee_id="e-1001",
    reason="runbook exhausted",
    steps=[StepRecord(action="reboot", outcome="requested", at=NOW)],
)


def test_subscribers_get_the_chat_json_and_the_attributes(sns: dict[str, Any]) -> None:
    _notify(sns, OPENED)
    (envelope,) = _received(sns["sqs"], sns["queues"]["everything"])
    body = json.loads(envelope["Message"])
    assert (body["version"], body["source"], body["metadata"]["threadId"]) == ("1.0", "custom", INC)
    attributes = {name: value["Value"] for name, value in envelope["MessageAttributes"].items()}
    assert attributes == {
        "kind": "connection_failure",
        "severity": "warning",
        "workspace_id": WS,
        "employee_id": "e-1001",
        "incident_id": INC,
        "directory_id": "d-0123456789",
        "thread": "new",
    }
    assert envelope["Subject"].startswith("[WARNING] Users cannot connect to desk")


def test_email_subscribers_get_plain_text(sns: dict[str, Any]) -> None:
    _notify(sns, OPENED)
    (_, raw, subject, _, _) = sns_backends[ACCOUNT][REGION].topics[sns["topic"]].sent_notifications[0]
    structure = json.loads(raw)
    assert set(structure) == {"default", "email"}
    assert structure["email"].startswith("WARNING - connection_failure")
    assert "**" not in structure["email"]
    assert subject is not None


def test_a_pager_filtering_on_critical_is_paged_once_when_the_incident_escalates(sns: dict[str, Any]) -> None:
    _notify(sns, OPENED)  # warning: for chat and e-mail, not for the pager
    _notify(sns, ESCALATED)
    _notify(sns, ESCALATED)  # redelivered: not again
    (page,) = _received(sns["sqs"], sns["queues"]["pager"])
    assert page["MessageAttributes"]["kind"]["Value"] == "escalation"
    assert page["MessageAttributes"]["thread"]["Value"] == "update"
    assert len(_received(sns["sqs"], sns["queues"]["everything"])) == 2


def test_a_redelivered_event_is_not_published_again(sns: dict[str, Any]) -> None:
    assert _notify(sns, OPENED).thread == "new"
    assert _notify(sns, OPENED).thread == "duplicate"
    assert len(sns_backends[ACCOUNT][REGION].topics[sns["topic"]].sent_notifications) == 1
