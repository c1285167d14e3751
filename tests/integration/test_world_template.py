"""The real template.yaml builds a complete local cloud, and intrinsics resolve as CloudFormation would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from autopilot.domain.kernel.policy import policy_document_json
from autopilot.domain.kernel.resolution import resolve
from localcloud.template import load
from localcloud.world import LocalCloud

pytestmark = pytest.mark.usefixtures("socket_disabled")
POLICY = Path(__file__).resolve().parents[2] / "scenarios" / "policies" / "media_measurement.yaml"


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(policy=POLICY) as world:
        yield world


def _template_resources(kind: str) -> list[str]:
    return [name for name, resource in load()["Resources"].items() if resource["Type"] == kind]


def test_tables_have_the_templates_key_schema_indexes_and_ttl(cloud: LocalCloud) -> None:
    dynamodb = boto3.client("dynamodb")
    for logical_id in _template_resources("AWS::DynamoDB::Table"):
        declared = load()["Resources"][logical_id]["Properties"]
        name = cloud.physical(logical_id)
        table = dynamodb.describe_table(TableName=name)["Table"]
        assert table["KeySchema"] == declared["KeySchema"]
        assert sorted(index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])) == sorted(
            index["IndexName"] for index in declared.get("GlobalSecondaryIndexes", [])
        )
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        assert ttl["AttributeName"] == declared["TimeToLiveSpecification"]["AttributeName"]


def test_queues_have_their_redrive_policies(cloud: LocalCloud) -> None:
    sqs = boto3.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=cloud.queue_url("ProvisioningQueue"), AttributeNames=["All"])
    redrive = json.loads(attributes["Attributes"]["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == cloud.physical("ProvisioningDLQ", "Arn")
    assert int(redrive["maxReceiveCount"]) == 5
    assert attributes["Attributes"]["VisibilityTimeout"] == "360"
    # The dead-letter queues, and the queue the HR bus's catch-all rule parks unrouted HR events on.
    ends = {q for q in _template_resources("AWS::SQS::Queue") if "DLQ" in q} | {"UnroutedHrEventsQueue"}
    assert set(cloud.dead_letter_queues.values()) == ends


def test_every_function_rule_mapping_and_schedule_exists(cloud: LocalCloud) -> None:
    assert set(cloud.functions) == set(_template_resources("AWS::Serverless::Function"))
    rules = {rule.logical_id for rule in cloud.rules}
    assert "HrEventsFunctionHrEvent" in rules
    assert {m.function for m in cloud.mappings} == {"ProvisionFunction", "LifecycleFunction"}
    schedules = boto3.client("scheduler").list_schedules()["Schedules"]
    assert {s["Name"] for s in schedules} >= {
        "workspaces-autopilot-dev-fleet-watch",
        "workspaces-autopilot-dev-prewarm",
    }
    buses = {bus["Name"] for bus in boto3.client("events").list_event_buses()["EventBuses"]}
    assert buses >= {"default", "workspaces-autopilot-dev", "workspaces-autopilot-dev-hr"}


def test_template_alarms_exist_and_start_settled(cloud: LocalCloud) -> None:
    alarms = boto3.client("cloudwatch").describe_alarms()["MetricAlarms"]
    template_alarms = {cloud.physical(a) for a in _template_resources("AWS::CloudWatch::Alarm")}
    assert template_alarms <= {alarm["AlarmName"] for alarm in alarms}
    assert {alarm["StateValue"] for alarm in alarms if alarm["AlarmName"] in template_alarms} == {"OK"}


def test_the_policy_resolves_against_the_emulated_directories_and_bundles(cloud: LocalCloud) -> None:
    workspaces = boto3.client("workspaces")
    directories = {
        d["DirectoryName"]: d["DirectoryId"] for d in workspaces.describe_workspace_directories()["Directories"]
    }
    bundles = {b["Name"]: b["BundleId"] for b in workspaces.describe_workspace_bundles()["Bundles"]}

    resolution = resolve(cloud.policy, directories_by_name=directories, bundles_by_name=bundles)

    assert set(resolution.directories) == set(cloud.policy.sites)
    assert resolution.bundles == cloud.bundles


def test_the_policy_parameter_and_sender_identity_exist(cloud: LocalCloud) -> None:
    name = cloud.functions_env("POLICY_PARAMETER_NAME")
    assert name is not None
    value = boto3.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
    assert value == policy_document_json(POLICY.read_text(encoding="utf-8"))  # as `autopilot policy publish` stores it
    identities = boto3.client("ses").list_identities()["Identities"]
    assert cloud.policy.onboarding.sender in identities
