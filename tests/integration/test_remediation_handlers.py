"""remediate, sessions and notify end to end in moto with the WorkSpaces emulator, driven directly (the
local cloud's scenarios cover the same stories through template.yaml once it runs them).

The harness plays the parts of AWS that moto does not: it hands the alarm state change to remediate, fires
the re-check timers remediate set in EventBridge Scheduler, and hands every event remediate published on the
autopilot bus (tapped by a rule into SQS) to notify; alerts are read from an SQS queue subscribed to the
on-call topic, as an e-mail or chat subscriber would get them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import time_machine
from moto import mock_aws

from autopilot import observability
from autopilot.adapters.aws import reset_caches
from autopilot.adapters.desk_store import DeskStore
from autopilot.adapters.incident_store import IncidentStore
from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.handlers import notify, remediate, sessions
from localcloud.workspaces_emulator import Emulator
from tests.support.aws import create_table_from_template

START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
REGION = "eu-west-1"
ACCOUNT = "123456789012"
STAGE = "dev"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:workspaces-autopilot-dev-remediate"
ALARM_PREFIX = f"workspaces-autopilot-{STAGE}-connection-failure-"
AUTOMATION_PREFIX = f"workspaces-autopilot-{STAGE}-automation-"


@dataclass
class Context:
    function_name: str = "workspaces-autopilot-dev-remediate"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = FUNCTION_ARN + ":live"
    aws_request_id: str = "req-1"


class Cloud:
    def __init__(self, traveller: Any) -> None:
        self.traveller = traveller
        self.emu = Emulator(region=REGION)
        self.directory = self.emu.create_directory("cc.example.com")
        self.bundle = self.emu.create_bundle("Standard with Windows 10")
        self.table = create_table_from_template(boto3.resource("dynamodb"), "StateTable", "state")
        self.desks = DeskStore(self.table)
        self.incidents = IncidentStore(self.table)
        self.cloudwatch = boto3.client("cloudwatch")
        self.sqs = boto3.client("sqs")
        self.scheduler = boto3.client("scheduler")
        self.scheduler.create_schedule_group(Name="timers")
        events = boto3.client("events")
        bus_arn = events.create_event_bus(Name="autopilot")["EventBusArn"]
        del bus_arn
        self.tap = self._queue("bus-tap")
        events.put_rule(Name="tap", EventBusName="autopilot", EventPattern=json.dumps({"source": ["autopilot"]}))
        events.put_targets(Rule="tap", EventBusName="autopilot", Targets=[{"Id": "tap", "Arn": self._arn(self.tap)}])
        sns = boto3.client("sns")
        topic = sns.create_topic(Name="oncall")["TopicArn"]
        self.inbox = self._queue("oncall-inbox")
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=self._arn(self.inbox))
        self.topic = topic
        self.now = START
        self.remediate_results: list[dict[str, Any]] = []

    def _queue(self, name: str) -> str:
        return str(self.sqs.create_queue(QueueName=name)["QueueUrl"])

    def _arn(self, url: str) -> str:
        return str(self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])

    # --- the world -------------------------------------------------------------------------------------
    def seed(self, count: int, *, managed: bool = True, prefix: str = "agent") -> list[str]:
        users = [f"{prefix}{n:03d}" for n in range(count)]
        tags = {"ManagedBy": "workspaces-autopilot"} if managed else {"Owner": "someone-else"}
        ids = self.emu.seed_workspaces(self.directory, users, self.bundle, running_mode="ALWAYS_ON", tags=tags)
        for n, workspace_id in enumerate(ids):
            self.desks.create(
                Desk(
                    employee_id=f"e-{prefix}-{n:03d}",
                    lifecycle=Lifecycle.READY,
                    site="amiens-cc",
                    profile="agent",
                    directory_id=self.directory,
                    bundle_id=self.bundle,
                    username=users[n],
                    running_mode="ALWAYS_ON",
                    workspace_id=workspace_id,
                    created_at=self.now,
                    updated_at=self.now,
                )
            )
        return ids

    def fail(self, workspace_id: str, failures: int = 5, attempts: int | None = None) -> None:
        self.cloudwatch.put_metric_data(
            Namespace="AWS/WorkSpaces",
            MetricData=[
                {
                    "MetricName": name,
                    "Dimensions": [{"Name": "WorkspaceId", "Value": workspace_id}],
                    "Timestamp": self.now - dt.timedelta(seconds=30),
                    "Value": value,
                }
                for name, value in (("ConnectionFailure", failures), ("ConnectionAttempt", attempts or failures))
            ],
        )

    def advance(self, minutes: int) -> None:
        self.now += dt.timedelta(minutes=minutes)
        self.traveller.move_to(self.now)
        self.emu.advance()
        self.fire_timers()

    # --- the parts of AWS moto does not play -----------------------------------------------------------
    def alarm(self, state: str = "ALARM", *, previous: str = "OK", name: str | None = None) -> dict[str, Any]:
        stamp = self.now.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        alarm_name = name or f"{ALARM_PREFIX}{self.directory}"
        event = {
            "version": "0",
            "id": f"alarm-{stamp}",
            "detail-type": "CloudWatch Alarm State Change",
            "source": "aws.cloudwatch",
            "account": ACCOUNT,
            "time": stamp,
            "region": REGION,
            "resources": [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{alarm_name}"],
            "detail": {
                "alarmName": alarm_name,
                "state": {"value": state, "reason": "Threshold Crossed", "timestamp": stamp},
                "previousState": {"value": previous, "reason": "", "timestamp": stamp},
                "configuration": {
                    "description": "test alarm",
                    "metrics": [
                        {
                            "id": "m1",
                            "metricStat": {
                                "metric": {
                                    "namespace": "AWS/WorkSpaces",
                                    "name": "ConnectionFailure",
                                    "dimensions": {"DirectoryId": self.directory},
                                },
                                "period": 300,
                                "stat": "Sum",
                            },
                            "returnData": True,
                        }
                    ],
                },
            },
        }
        if name is not None and name.startswith(AUTOMATION_PREFIX):
            return self.invoke(notify, event)
        result = self.invoke(remediate, event)
        self.deliver_bus()
        return result

    def login(self, workspace_id: str) -> dict[str, Any]:
        self.emu.login(workspace_id)
        event = {
            "version": "0",
            "id": f"login-{workspace_id}-{self.now.timestamp()}",
            "detail-type": "WorkSpaces Access",
            "source": "aws.workspaces",
            "account": ACCOUNT,
            "time": self.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": [],
            "detail": {
                "clientIpAddress": "192.0.2.3",
                "actionType": "successfulLogin",
                "workspacesClientProductName": "WorkSpacesWebClient",
                "loginTime": self.now.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "clientPlatform": "Windows",
                "directoryId": f"domain/{self.directory}",
                "clientVersion": "5.7.0.3472",
                "workspaceId": workspace_id,
            },
        }
        result = self.invoke(sessions, event)
        self.deliver_bus()
        return result

    def invoke(self, module: Any, event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = module.lambda_handler(json.loads(json.dumps(event)), Context())
        if module is remediate:
            self.remediate_results.append(result)
        return result

    def fire_timers(self) -> None:
        """EventBridge Scheduler: every one-time schedule now due invokes its target with its Input."""
        while True:
            due = []
            for summary in self.scheduler.list_schedules(GroupName="timers").get("Schedules", []):
                schedule = self.scheduler.get_schedule(Name=summary["Name"], GroupName="timers")
                at = dt.datetime.fromisoformat(schedule["ScheduleExpression"][3:-1]).replace(tzinfo=dt.UTC)
                if at <= self.now:
                    due.append((at, schedule))
            if not due:
                return
            for _, schedule in sorted(due, key=lambda pair: pair[0]):
                assert schedule["Target"]["Arn"] == FUNCTION_ARN
                self.scheduler.delete_schedule(Name=schedule["Name"], GroupName="timers")
                self.invoke(remediate, json.loads(schedule["Target"]["Input"]))
                self.deliver_bus()

    def deliver_bus(self) -> None:
        """EventBridge: every event on the autopilot bus reaches notify (the DomainEvent rule)."""
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.tap, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return
            for message in messages:
                envelope = json.loads(message["Body"])
                envelope.setdefault("account", ACCOUNT)  # moto's SQS target leaves the account out
                if envelope["detail-type"] in notify_rule_detail_types():
                    self.invoke(notify, envelope)
                self.sqs.delete_message(QueueUrl=self.tap, ReceiptHandle=message["ReceiptHandle"])

    # --- what on-call got ------------------------------------------------------------------------------
    def alerts(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.inbox, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                envelope = json.loads(message["Body"])
                attributes = {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}
                found.append(
                    {**attributes, "subject": envelope.get("Subject"), "body": json.loads(envelope["Message"])}
                )
                self.sqs.delete_message(QueueUrl=self.inbox, ReceiptHandle=message["ReceiptHandle"])

    def reboots(self) -> int:
        return self.emu.api_calls.get("RebootWorkspaces", 0)


def notify_rule_detail_types() -> set[str]:
    from localcloud.template import load

    pattern = load()["Resources"]["NotifyFunction"]["Properties"]["Events"]["DomainEvent"]["Properties"]["Pattern"]
    return set(pattern["detail-type"])


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "STAGE": STAGE,
        "TABLE_NAME": "state",
        "EVENT_BUS_NAME": "autopilot",
        "POLICY_PARAMETER_NAME": "/workspaces-autopilot/dev/policy",
        "TIMER_GROUP_NAME": "timers",
        "TIMER_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/timers",
        "TIMER_DLQ_ARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:event-delivery-dlq",
        "ALERTS_TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:oncall",
        "AUTOMATION_ALARM_PREFIX": AUTOMATION_PREFIX,
        "POWERTOOLS_SERVICE_NAME": "workspaces-autopilot",
        "POWERTOOLS_METRICS_NAMESPACE": "WorkSpacesAutopilot",
        "POWERTOOLS_TRACE_DISABLED": "1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # The shared Metrics object read its namespace when first imported, maybe before this environment.
    monkeypatch.setattr(observability.metrics, "namespace", "WorkSpacesAutopilot")
    reset_caches()
    with time_machine.travel(START, tick=False) as traveller, mock_aws():
        yield Cloud(traveller)
    reset_caches()


def kinds(alerts: list[dict[str, Any]]) -> list[str]:
    return [a["kind"] for a in alerts]


# --- stories ---------------------------------------------------------------------------------------------
def test_a_reboot_fixes_a_desk(cloud: Cloud) -> None:
    (desk,) = cloud.seed(1)
    cloud.fail(desk, 6)
    cloud.alarm()
    assert cloud.emu.workspace(desk)["state"] == "REBOOTING"
    cloud.advance(16)  # reboot done, no new failure, the re-check fires
    alerts = cloud.alerts()
    assert kinds(alerts) == ["connection_failure", "remediation_step", "incident_resolved"]
    assert [a["thread"] for a in alerts] == ["new", "update", "update"]
    assert {a["body"]["metadata"]["threadId"] for a in alerts} == {alerts[0]["incident_id"]}
    first = alerts[0]
    assert (first["workspace_id"], first["employee_id"], first["severity"]) == (desk, "e-agent-000", "warning")
    assert "reboot requested" in first["body"]["content"]["description"]
    assert cloud.reboots() == 1


def test_reboot_fails_then_rebuild_fixes_it(cloud: Cloud) -> None:
    (desk,) = cloud.seed(1)
    cloud.fail(desk, 6)
    cloud.alarm()
    cloud.advance(8)
    cloud.fail(desk, 4)  # still failing after the reboot
    cloud.advance(8)  # re-check: rebuild
    assert cloud.emu.workspace(desk)["state"] == "REBUILDING"
    cloud.advance(16)  # rebuild done, quiet: resolved
    alerts = cloud.alerts()
    steps = [a["body"]["metadata"]["additionalContext"]["action"] for a in alerts if a["kind"] == "remediation_step"]
    assert steps == ["reboot", "rebuild"]
    assert kinds(alerts)[-1] == "incident_resolved"
    assert cloud.emu.api_calls.get("RebuildWorkspaces") == 1


def test_everything_fails_and_it_escalates(cloud: Cloud) -> None:
    (desk,) = cloud.seed(1)
    cloud.emu.fail_requests("RebootWorkspaces", [desk], error_code="InvalidResourceState.Workspace")
    cloud.fail(desk, 6)
    cloud.alarm()  # reboot refused -> rebuild at once
    for _ in range(3):
        cloud.advance(8)
        cloud.fail(desk, 5)
    cloud.advance(8)
    alerts = cloud.alerts()
    assert "escalation" in kinds(alerts)
    escalation = next(a for a in alerts if a["kind"] == "escalation")
    assert escalation["severity"] == "critical"
    assert escalation["thread"] == "update"
    assert "runbook exhausted" in escalation["body"]["content"]["description"]
    incident = cloud.incidents.get(escalation["incident_id"])
    assert incident is not None
    assert incident.is_open
    assert [(s.action, s.outcome) for s in incident.steps] == [("reboot", "failed"), ("rebuild", "requested")]


def test_a_connected_user_means_no_action_and_an_alert(cloud: Cloud) -> None:
    (desk,) = cloud.seed(1)
    cloud.emu.login(desk)
    cloud.fail(desk, 6)
    cloud.alarm()
    alerts = cloud.alerts()
    assert kinds(alerts) == ["connection_failure", "remediation_step"]
    assert "connected" in alerts[1]["body"]["content"]["title"]
    assert cloud.reboots() == 0


def test_thirty_of_a_hundred_desks_failing_pages_once_and_reboots_nothing(cloud: Cloud) -> None:
    desks = cloud.seed(100)
    for desk in desks[:30]:
        cloud.fail(desk, 4)
    cloud.alarm()
    cloud.advance(5)
    cloud.alarm()  # repeated while the outage lasts
    alerts = cloud.alerts()
    assert kinds(alerts) == ["systemic_outage"]
    assert alerts[0]["severity"] == "critical"
    assert "30 of 100 desks" in alerts[0]["body"]["content"]["title"]
    assert cloud.reboots() == 0
    cloud.advance(10)
    cloud.alarm("OK", previous="ALARM")
    cloud.advance(16)  # quiet for recheck_minutes after the OK: the outage is over
    assert kinds(cloud.alerts()) == ["incident_resolved"]


def test_a_login_resolves_an_incident(cloud: Cloud) -> None:
    (desk,) = cloud.seed(1)
    cloud.fail(desk, 6)
    cloud.alarm()
    cloud.advance(6)  # the reboot is over; the employee gets in
    cloud.login(desk)
    cloud.advance(15)  # the re-check timer fires on a resolved incident: nothing
    alerts = cloud.alerts()
    assert kinds(alerts) == ["connection_failure", "remediation_step", "incident_resolved"]
    assert "logged in" in alerts[-1]["body"]["content"]["description"]
    record = cloud.desks.by_workspace(desk)
    assert record is not None
    assert record.last_login == START + dt.timedelta(minutes=6)


def test_a_repeated_alarm_does_not_page_again(cloud: Cloud) -> None:
    (desk,) = cloud.seed(1)
    cloud.fail(desk, 6)
    cloud.alarm()
    cloud.advance(2)
    cloud.fail(desk, 3)
    cloud.alarm()
    cloud.alarm()
    alerts = cloud.alerts()
    assert kinds(alerts).count("connection_failure") == 1
    assert cloud.reboots() == 1


def test_a_message_on_a_dead_letter_queue_pages(cloud: Cloud) -> None:
    cloud.alarm(name=f"{AUTOMATION_PREFIX}provisioning-dlq")
    (alert,) = cloud.alerts()
    assert (alert["kind"], alert["severity"]) == ("automation_failure", "critical")
    assert "provisioning-dlq" in alert["body"]["content"]["title"]


def test_a_desk_without_the_managed_by_tag_is_never_touched(cloud: Cloud) -> None:
    (desk,) = cloud.seed(1, managed=False)
    cloud.fail(desk, 6)
    cloud.alarm()
    assert cloud.reboots() == 0
    assert kinds(cloud.alerts()) == ["connection_failure", "escalation"]


def test_a_desk_gone_unhealthy_is_remediated(cloud: Cloud) -> None:
    (desk,) = cloud.seed(1)
    cloud.emu.set_state(desk, "UNHEALTHY")
    event = {
        "version": "0",
        "id": "state-1",
        "detail-type": "WorkSpace State Changed",
        "source": "autopilot",
        "account": ACCOUNT,
        "time": cloud.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [],
        "detail": {
            "schema_version": 1,
            "workspace_id": desk,
            "directory_id": cloud.directory,
            "employee_id": "e-agent-000",
            "from_state": "AVAILABLE",
            "to_state": "UNHEALTHY",
            "running_mode": "ALWAYS_ON",
            "observed_at": cloud.now.isoformat(),
        },
    }
    cloud.invoke(remediate, event)
    cloud.deliver_bus()
    assert cloud.reboots() == 1
    assert kinds(cloud.alerts())[0] == "connection_failure"


def test_the_user_name_reaches_on_call_only_when_the_policy_allows_it(cloud: Cloud) -> None:
    (desk,) = cloud.seed(1)
    cloud.fail(desk, 6)
    cloud.alarm()
    [withheld] = [a for a in cloud.alerts() if a["kind"] == "connection_failure"]
    assert "agent000" not in json.dumps(withheld)  # the default policy: ids only

    import yaml

    from autopilot.adapters.policy_source import packaged_policy_text
    from autopilot.domain.kernel.policy import policy_document_json

    document = yaml.safe_load(packaged_policy_text())
    document["alerts"] = {"user_names": True}
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/workspaces-autopilot/dev/policy", Value=policy_document_json(yaml.safe_dump(document)), Type="String"
    )
    reset_caches()
    cloud.alarm("OK")
    (other,) = cloud.seed(1, prefix="helpline")
    cloud.fail(other, 6)
    cloud.alarm()

    [shown] = [a for a in cloud.alerts() if a["kind"] == "connection_failure"]
    assert "**User** `helpline000`" in shown["body"]["content"]["description"]
    assert "helpline000" not in shown["subject"]
    assert "helpline000" not in json.dumps({k: v for k, v in shown.items() if k not in ("body", "subject")})
