"""fleet_watch, prewarm and report handlers end to end in moto with the WorkSpaces emulator (the packaged
default policy, the template's table, a real bus whose events are captured through an SQS rule)."""

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
from autopilot.adapters import observation_store
from autopilot.adapters.aws import reset_caches
from autopilot.adapters.desk_store import DeskStore
from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.handlers import fleet_watch, prewarm, report
from localcloud.workspaces_emulator import Emulator
from tests.support.aws import create_table_from_template

ACCOUNT = "123456789012"
REGION = "eu-west-1"
PREFIX = "workspaces-autopilot-test-connection-failure-"
MANAGED = {"ManagedBy": "workspaces-autopilot"}
# Tuesday 2026-12-01; Paris is UTC+1, so an 08:00 shift starts at 07:00 UTC.
TUESDAY = dt.datetime(2026, 12, 1, 5, 0, tzinfo=dt.UTC)


@dataclass
class Context:
    function_name: str = "fleet-watch"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fleet-watch"
    aws_request_id: str = "req-1"


def tick(task: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "tick-1",
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": ACCOUNT,
        "time": "2026-12-01T05:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": {"schema_version": 1, "task": task},
    }


@dataclass
class Cloud:
    emulator: Emulator
    cc: str  # directory of amiens-cc (cc.example.com)
    corp: str  # directory of paris-hq (corp.example.com)
    bundle: str
    desks: DeskStore
    queue_url: str

    def events(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs")
        found: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def of(self, detail_type: str) -> list[dict[str, Any]]:
        return [e["detail"] for e in self.events() if e["detail-type"] == detail_type]

    def state(self, workspace_id: str) -> str:
        return str(self.emulator.workspace(workspace_id)["state"])


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "STAGE": "test",
        "TABLE_NAME": "state",
        "EVENT_BUS_NAME": "autopilot",
        "POLICY_PARAMETER_NAME": "/workspaces-autopilot/test/policy",
        "CONNECTION_FAILURE_ALARM_PREFIX": PREFIX,
        "REPORT_BUCKET_NAME": "reports",
        "POWERTOOLS_SERVICE_NAME": "workspaces-autopilot",
        "POWERTOOLS_METRICS_NAMESPACE": "WorkSpacesAutopilotTest",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    # The shared Metrics object read its namespace at import, before this test's environment existed.
    monkeypatch.setattr(observability.metrics, "namespace", "WorkSpacesAutopilotTest")
    with time_machine.travel(TUESDAY, tick=False), mock_aws():
        reset_caches()
        emulator = Emulator(region=REGION)
        cc = emulator.create_directory("cc.example.com")
        corp = emulator.create_directory("corp.example.com")
        bundle = emulator.create_bundle("Standard with Windows 10")
        emulator.create_bundle("Power with Windows 10", compute="POWER", root_gb=175, user_gb=100)
        table = create_table_from_template(boto3.resource("dynamodb"), "StateTable", "state")
        boto3.client("s3").create_bucket(Bucket="reports", CreateBucketConfiguration={"LocationConstraint": REGION})
        events, sqs = boto3.client("events"), boto3.client("sqs")
        events.create_event_bus(Name="autopilot")
        queue_url = sqs.create_queue(QueueName="captured")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="all", EventBusName="autopilot", EventPattern=json.dumps({"source": ["autopilot"]}))
        events.put_targets(Rule="all", EventBusName="autopilot", Targets=[{"Id": "q", "Arn": queue_arn}])
        yield Cloud(emulator, cc, corp, bundle, DeskStore(table), queue_url)
    reset_caches()


def sweep() -> dict[str, Any]:
    return fleet_watch.lambda_handler(tick("fleet_watch"), Context())


def test_a_fleet_of_existing_desks_is_adopted_and_then_only_changes_are_published(cloud: Cloud) -> None:
    ids = cloud.emulator.seed_workspaces(cloud.cc, [f"agent{n:03d}" for n in range(60)], cloud.bundle, tags=MANAGED)
    stranger = cloud.emulator.seed_workspace(cloud.corp, "contractor", cloud.bundle, tags={})
    first = sweep()
    assert first["desks"] == 61
    assert first["adopted_count"] == 60
    assert first["unmanaged"] == [stranger]
    assert len(cloud.of("WorkSpace State Changed")) == 61
    record = cloud.desks.by_workspace(ids[0])
    assert record is not None
    assert (record.origin, record.lifecycle, record.site) == ("adopted", Lifecycle.READY, "amiens-cc")
    # One desk stops: one event, one write.
    cloud.emulator.set_state(ids[5], "STOPPED")
    with time_machine.travel(TUESDAY + dt.timedelta(minutes=5), tick=False):
        second = sweep()
    assert second["changed"] == [ids[5]]
    assert second["written"] == 1
    (event,) = cloud.of("WorkSpace State Changed")
    assert (event["from_state"], event["to_state"], event["employee_id"]) == ("AVAILABLE", "STOPPED", ids[5])


def test_the_sweep_stays_at_its_call_floor(cloud: Cloud) -> None:
    cloud.emulator.seed_workspaces(cloud.cc, [f"agent{n:03d}" for n in range(120)], cloud.bundle, tags=MANAGED)
    sweep()
    before = dict(cloud.emulator.api_calls)
    dynamodb = observation_store.dynamodb().meta.client  # the resource the handler's stores use
    batch_reads: list[str] = []
    dynamodb.meta.events.register("before-call.dynamodb.BatchGetItem", lambda **_: batch_reads.append("x"))
    with time_machine.travel(TUESDAY + dt.timedelta(minutes=5), tick=False):
        result = sweep()
    calls = {op: n - before.get(op, 0) for op, n in cloud.emulator.api_calls.items()}
    # Both registered directories are the policy's: the account is listed in ceil(120/25) = 5 pages.
    assert calls["DescribeWorkspaces"] == 5
    assert calls["DescribeWorkspacesConnectionStatus"] == 5
    assert len(batch_reads) == 2  # ceil(120/100)
    assert result["written"] == 0


def test_a_desk_deleted_outside_the_automation_is_reported(cloud: Cloud) -> None:
    ids = cloud.emulator.seed_workspaces(cloud.cc, ["agent1", "agent2", "agent3"], cloud.bundle, tags=MANAGED)
    sweep()
    cloud.events()
    boto3.client("workspaces").terminate_workspaces(TerminateWorkspaceRequests=[{"WorkspaceId": ids[1]}])
    with time_machine.travel(TUESDAY + dt.timedelta(minutes=30), tick=False):
        result = sweep()
    assert result["missing"] == [ids[1]]
    assert result["missing_outside_automation"] == [ids[1]]
    (event,) = cloud.of("WorkSpace State Changed")
    assert (event["workspace_id"], event["to_state"]) == (ids[1], "TERMINATED")


def test_a_per_desk_autostop_tag_is_applied(cloud: Cloud) -> None:
    ws = cloud.emulator.seed_workspace(
        cloud.cc, "agent1", cloud.bundle, autostop_minutes=60, tags={**MANAGED, "AutopilotAutoStopHours": "3"}
    )
    result = sweep()
    assert result["autostop_applied"] == [ws]
    assert cloud.emulator.workspace(ws)["autostop_minutes"] == 180


def test_one_connection_failure_alarm_per_policy_directory(cloud: Cloud) -> None:
    cloudwatch = boto3.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=f"{PREFIX}d-0000000000",
        Namespace="AWS/WorkSpaces",
        MetricName="ConnectionFailure",
        Dimensions=[{"Name": "DirectoryId", "Value": "d-0000000000"}],
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    sweep()
    names = sorted(a["AlarmName"] for a in cloudwatch.describe_alarms(AlarmNamePrefix=PREFIX)["MetricAlarms"])
    assert names == sorted([f"{PREFIX}{cloud.cc}", f"{PREFIX}{cloud.corp}"])


def _shift_desk(cloud: Cloud, employee_id: str, workspace_id: str) -> None:
    desk = Desk.model_validate(
        {
            "employee_id": employee_id,
            "lifecycle": "READY",
            "site": "amiens-cc",
            "profile": "agent",
            "directory_id": cloud.cc,
            "bundle_id": cloud.bundle,
            "username": "agent1",
            "running_mode": "AUTO_STOP",
            "autostop_hours": 1,
            "workspace_id": workspace_id,
            "shift": {
                "timezone": "Europe/Paris",
                "days": ["mon", "tue", "wed", "thu", "fri"],
                "start": "08:00",
                "end": "16:00",
            },
            "prewarm": True,
            "created_at": TUESDAY - dt.timedelta(days=60),
            "updated_at": TUESDAY - dt.timedelta(days=60),
        }
    )
    cloud.desks.create(desk)


def run_prewarm(at: dt.datetime) -> dict[str, Any]:
    with time_machine.travel(at, tick=False):
        return prewarm.lambda_handler(tick("prewarm"), Context(function_name="prewarm"))


def test_a_stopped_agent_desk_is_available_before_the_shift_and_started_once(cloud: Cloud) -> None:
    ws = cloud.emulator.seed_workspace(cloud.cc, "agent1", cloud.bundle, state="STOPPED", tags=MANAGED)
    _shift_desk(cloud, "E1", ws)
    assert run_prewarm(dt.datetime(2026, 12, 1, 6, 35, tzinfo=dt.UTC))["started"] == []
    assert run_prewarm(dt.datetime(2026, 12, 1, 6, 40, tzinfo=dt.UTC))["started"] == [ws]
    assert run_prewarm(dt.datetime(2026, 12, 1, 6, 45, tzinfo=dt.UTC))["started"] == []
    with time_machine.travel(dt.datetime(2026, 12, 1, 6, 59, tzinfo=dt.UTC), tick=False):
        assert cloud.state(ws) == "AVAILABLE"
        assert cloud.emulator.workspace(ws)["running_mode"] == "AUTO_STOP"
    assert cloud.emulator.api_calls["StartWorkspaces"] == 1


def test_a_stuck_start_is_rebuilt_and_reported(cloud: Cloud) -> None:
    ws = cloud.emulator.seed_workspace(cloud.cc, "agent1", cloud.bundle, state="STOPPED", tags=MANAGED)
    _shift_desk(cloud, "E1", ws)
    run_prewarm(dt.datetime(2026, 12, 1, 6, 40, tzinfo=dt.UTC))
    with time_machine.travel(dt.datetime(2026, 12, 1, 6, 41, tzinfo=dt.UTC), tick=False):
        cloud.emulator.set_state(ws, "ERROR")
    result = run_prewarm(dt.datetime(2026, 12, 1, 6, 55, tzinfo=dt.UTC))
    assert result["rebuilt"] == [ws]
    (step,) = cloud.of("Remediation Step")
    assert step["incident_id"] == f"inc-start-{ws}-20261201"
    assert (step["step"]["action"], step["step"]["outcome"]) == ("rebuild", "requested")
    with time_machine.travel(dt.datetime(2026, 12, 1, 7, 10, tzinfo=dt.UTC), tick=False):
        assert cloud.state(ws) == "AVAILABLE"
        assert cloud.emulator.workspace(ws)["running_mode"] == "AUTO_STOP"
    assert run_prewarm(dt.datetime(2026, 12, 1, 7, 10, tzinfo=dt.UTC))["resolved"] == [ws]


def test_the_weekly_report_lists_desks_nobody_logged_in_to(cloud: Cloud) -> None:
    ws = cloud.emulator.seed_workspace(cloud.cc, "agent1", cloud.bundle, tags=MANAGED)
    sweep()  # adopted now: ready since today
    cloud.events()
    with time_machine.travel(TUESDAY + dt.timedelta(days=31), tick=False):
        result = report.lambda_handler(tick("unused_desks"), Context(function_name="report"))
    assert result["unused"] == [ws]
    (event,) = cloud.of("Unused Desks Found")
    assert [d["workspace_id"] for d in event["desks"]] == [ws]
    assert cloud.state(ws) != "TERMINATED"
