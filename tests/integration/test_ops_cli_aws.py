"""The operator CLI against a deployed stack: resources found from CloudFormation (DescribeStacks outputs and
parameters, ListStackResources), here a stack created in moto with the template's state-table key schema and
the outputs the real template declares. Also the pure pieces: dead-letter shapes, prices, stack resolution."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from moto import mock_aws

from autopilot.adapters.aws import reset_caches
from autopilot.adapters.desk_store import DeskStore
from autopilot.adapters.policy_source import load_policy
from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.domain.kernel.policy import parse_policy, policy_document_json
from autopilot_ops import dlq, pricing
from autopilot_ops.backend import aws_backend
from autopilot_ops.cli import main
from autopilot_ops.errors import BadInput
from autopilot_ops.stack import resolve_resources
from localcloud.template import load

STACK = "workspaces-autopilot-dev"
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def stack_template() -> dict[str, Any]:
    table = load()["Resources"]["StateTable"]["Properties"]
    queue = {"Type": "AWS::SQS::Queue"}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {
            "Stage": {"Type": "String", "Default": "dev"},
            "PolicyParameterName": {"Type": "String", "Default": "/workspaces-autopilot/dev/policy"},
        },
        "Resources": {
            "StateTable": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "TableName": "workspaces-autopilot-dev-state",
                    "BillingMode": "PAY_PER_REQUEST",
                    **{key: table[key] for key in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes")},
                },
            },
            "HrEventBus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "workspaces-autopilot-dev-hr"}},
            "AutopilotEventBus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "workspaces-autopilot-dev"}},
            "ProvisioningQueue": queue,
            "LifecycleQueue": queue,
            "ProvisioningDLQ": queue,
            "LifecycleDLQ": queue,
            "EventDeliveryDLQ": queue,
            "AsyncFailureDLQ": queue,
        },
        "Outputs": {
            "StateTableName": {"Value": {"Ref": "StateTable"}},
            "HrEventBusName": {"Value": {"Ref": "HrEventBus"}},
            "AutopilotEventBusName": {"Value": {"Ref": "AutopilotEventBus"}},
            "ProvisioningQueueUrl": {"Value": {"Ref": "ProvisioningQueue"}},
            "LifecycleQueueUrl": {"Value": {"Ref": "LifecycleQueue"}},
            "ProvisioningDLQUrl": {"Value": {"Ref": "ProvisioningDLQ"}},
            "LifecycleDLQUrl": {"Value": {"Ref": "LifecycleDLQ"}},
            "EventDeliveryDLQUrl": {"Value": {"Ref": "EventDeliveryDLQ"}},
            "AsyncFailureDLQUrl": {"Value": {"Ref": "AsyncFailureDLQ"}},
        },
    }


@pytest.fixture
def stack() -> Iterator[dict[str, str]]:
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name="eu-west-1")
        cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(stack_template()))
        outputs = cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]["Outputs"]
        yield {output["OutputKey"]: output["OutputValue"] for output in outputs}


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["--quiet", *args])


def desk(employee_id: str, lifecycle: Lifecycle = Lifecycle.READY, workspace_id: str | None = None) -> Desk:
    return Desk(
        employee_id=employee_id,
        lifecycle=lifecycle,
        site="paris-hq",
        profile="office",
        directory_id="d-1234567890",
        bundle_id="wsb-12345678",
        username=employee_id.lower(),
        running_mode="AUTO_STOP",
        workspace_id=workspace_id,
        email="someone@example.com",
        created_at=NOW,
        updated_at=NOW,
    )


def test_desks_are_read_from_the_stack_the_stage_names(stack: dict[str, str]) -> None:
    store = DeskStore(boto3.resource("dynamodb", region_name="eu-west-1").Table(stack["StateTableName"]))
    store.create(desk("E1"))
    store.create(desk("E2", Lifecycle.SCHEDULED))
    result = run("--stage", "dev", "desks", "--state", "SCHEDULED", "--json")
    assert result.exit_code == 0, result.output
    assert [d["employee_id"] for d in json.loads(result.stdout)] == ["E2"]
    status = run("status", "E1", "--json")
    assert status.exit_code == 0, status.output
    data = json.loads(status.stdout)
    assert data["desk"]["lifecycle"] == "READY"
    assert "email" not in data["desk"]


def test_a_stack_that_does_not_exist_is_bad_input(stack: dict[str, str]) -> None:
    result = run("--stage", "prod", "desks")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "autopilot: no stack workspaces-autopilot-prod in eu-west-1 "
        "(deploy it first, or give --stack, --stage, --region or --profile)"
    )


def test_no_region_anywhere_is_bad_input(stack: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    result = run("desks")
    assert result.exit_code == 2
    assert "no AWS region" in result.stderr


def test_an_unknown_profile_is_bad_input(stack: dict[str, str]) -> None:
    result = run("--profile", "nobody", "desks")
    assert result.exit_code == 2
    assert "nobody" in result.stderr


def test_a_provisioning_dead_letter_is_explained_and_sent_back_to_its_queue(stack: dict[str, str]) -> None:
    store = DeskStore(boto3.resource("dynamodb", region_name="eu-west-1").Table(stack["StateTableName"]))
    store.create(desk("E7", Lifecycle.FAILED).model_copy(update={"last_error": "InvalidResourceState: user not found"}))
    sqs = boto3.client("sqs", region_name="eu-west-1")
    envelope = {
        "detail-type": "Timer Fired",
        "detail": {"kind": "provision", "name": "provision-E7", "employee_id": "E7"},
    }
    sqs.send_message(QueueUrl=stack["ProvisioningDLQUrl"], MessageBody=json.dumps(envelope))

    listed = run("dlq", "list", "--json")
    assert listed.exit_code == 0, listed.output
    (letter,) = json.loads(listed.stdout)["messages"]
    assert letter["what"] == "Timer Fired kind=provision name=provision-E7 employee_id=E7"
    assert letter["why"].endswith("desk FAILED: InvalidResourceState: user not found")
    assert letter["redrive_to"] == "ProvisioningQueue"

    dry = run("dlq", "redrive", "--dry-run", "--json")
    assert json.loads(dry.stdout)["sent"][0]["redrive_to"] == "ProvisioningQueue"
    assert "Messages" not in sqs.receive_message(QueueUrl=stack["ProvisioningQueueUrl"])

    done = run("dlq", "redrive", "--queue", "provisioning", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["sent"][0]["outcome"] == "sent to ProvisioningQueue"
    (back,) = sqs.receive_message(QueueUrl=stack["ProvisioningQueueUrl"])["Messages"]
    assert json.loads(back["Body"]) == envelope
    attributes = sqs.get_queue_attributes(QueueUrl=stack["ProvisioningDLQUrl"], AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


# --- pure pieces ------------------------------------------------------------------------------------------
RESOURCES = resolve_resources(
    stack=STACK,
    region="eu-west-1",
    account="123456789012",
    outputs={
        "StateTableName": "t",
        "AutopilotEventBusName": "b",
        "HrEventBusName": "h",
        "ProvisioningQueueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/workspaces-autopilot-dev-provisioning",
    },
    parameters={"Stage": "dev"},
    resources={"TimerScheduleGroup": "workspaces-autopilot-dev-timers"},
)


def message(body: Any, **attributes: str) -> dict[str, Any]:
    return {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": body if isinstance(body, str) else json.dumps(body),
        "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1764579600000"},
        "MessageAttributes": {k: {"StringValue": v, "DataType": "String"} for k, v in attributes.items()},
    }


def test_a_timer_the_scheduler_could_not_deliver_goes_back_to_its_target_queue() -> None:
    letter = dlq.understand(
        "EventDeliveryDLQ",
        message(
            {"detail-type": "Timer Fired", "detail": {"kind": "provision", "employee_id": "E1"}},
            ERROR_CODE="AWS.SQS.KmsAccessDenied",
            ERROR_MESSAGE="denied",
            SCHEDULE_ARN="arn:aws:scheduler:eu-west-1:123456789012:schedule/timers/provision-E1",
            TARGET_ARN="arn:aws:sqs:eu-west-1:123456789012:workspaces-autopilot-dev-provisioning",
        ),
        RESOURCES,
    )
    assert letter.why == "not delivered (provision-E1): AWS.SQS.KmsAccessDenied: denied"
    assert letter.destination is not None
    assert letter.destination.label == "ProvisioningQueue"


def test_an_event_a_rule_could_not_deliver_goes_back_to_its_function_not_to_the_bus() -> None:
    event = {"detail-type": "Employee Hired", "detail": {"employee_id": "E1"}}
    letter = dlq.understand(
        "EventDeliveryDLQ",
        message(event, ERROR_CODE="Throttling", TARGET_ARN="arn:aws:lambda:eu-west-1:1:function:hr-events"),
        RESOURCES,
    )
    assert letter.destination is not None
    assert (letter.destination.kind, letter.destination.target) == (
        "function",
        "arn:aws:lambda:eu-west-1:1:function:hr-events",
    )
    assert letter.payload == event


def test_a_failed_async_invocation_goes_back_to_the_function_without_its_qualifier() -> None:
    record = {
        "requestContext": {
            "functionArn": "arn:aws:lambda:eu-west-1:1:function:notify:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": {"detail-type": "Incident Opened", "detail": {"incident_id": "inc-1"}},
        "responsePayload": {"errorType": "TransientAwsError", "errorMessage": "SNS throttled"},
    }
    letter = dlq.understand("AsyncFailureDLQ", message(record), RESOURCES)
    assert letter.why == "RetriesExhausted after 3 attempts: TransientAwsError: SNS throttled"
    assert letter.destination is not None
    assert letter.destination.label == "notify"
    assert letter.payload == record["requestPayload"]


def test_rejected_roster_rows_and_undeliverable_alerts_are_listed_but_not_redriven() -> None:
    row = {
        "kind": "roster_row_rejected",
        "feed_id": "feed-1",
        "key": "rosters/x.csv",
        "line": 4,
        "errors": ["email: bad"],
    }
    assert dlq.understand("AsyncFailureDLQ", message(row), RESOURCES).destination is None
    alert = {"Type": "Notification", "Subject": "[CRITICAL] Escalated"}
    listed = dlq.understand("AlertDeliveryDLQ", message(alert), RESOURCES)
    assert listed.destination is None
    assert listed.what == "alert: [CRITICAL] Escalated"


def test_a_rejected_roster_file_is_explained_with_its_reason_and_not_redriven() -> None:
    refused = {
        "kind": "roster_rejected",
        "feed_id": "feed-1",
        "key": "rosters/x.csv",
        "reason": "roster rosters/x.csv: bad header: the delimiter is a semicolon",
    }
    letter = dlq.understand("AsyncFailureDLQ", message(refused), RESOURCES)
    assert letter.destination is None
    assert letter.what == "roster file rejected: rosters/x.csv (feed feed-1)"
    assert letter.why == refused["reason"]


def test_a_stack_without_the_state_table_is_not_an_autopilot_stack() -> None:
    with pytest.raises(BadInput, match="has no StateTable"):
        resolve_resources(stack="x", region="eu-west-1", account="1", outputs={}, parameters={}, resources={})


def test_timer_group_and_policy_parameter_come_from_resources_and_parameters() -> None:
    assert RESOURCES.timer_group == "workspaces-autopilot-dev-timers"
    assert RESOURCES.policy_parameter == "/workspaces-autopilot/dev/policy"


POLICY = """
version: 1
sites: {hq: {directory: corp.example.com}}
bundles:
  standard: {name: "Standard with Windows 10"}
  priced: {name: "Power with Windows 10", monthly_price: 100.0, hourly_price: 1.0}
profiles:
  office: {bundle: standard, running_mode: AUTO_STOP}
  always: {bundle: standard, compute: STANDARD, running_mode: ALWAYS_ON}
  power: {bundle: priced, compute: POWER}
rules: [{profile: office}]
"""


def test_prices_come_from_the_region_table_unless_the_policy_sets_them() -> None:
    policy = parse_policy(POLICY)
    assert pricing.profile_price(policy, "always", "eu-west-1").monthly == 36.0
    assert pricing.profile_price(policy, "always", "us-east-1").monthly == round(36.0 * 0.93, 2)
    office = pricing.profile_price(policy, "office", "eu-west-1", autostop_hours=10)
    assert office.monthly == 9.75 + 0.30 * 10  # compute read from the bundle's name: Standard
    power = pricing.profile_price(policy, "power", "eu-west-1", autostop_hours=10)
    assert power.monthly == 9.75 + 1.0 * 10
    assert power.source.startswith("policy bundles.priced")


def test_a_region_without_list_prices_uses_the_optimizer_defaults() -> None:
    policy = parse_policy(POLICY)
    assert pricing.profile_price(policy, "always", "mars-north-1").source == "default list price"


# --- policy check needs no stack ------------------------------------------------------------------------
def test_policy_check_names_every_bad_key_and_exits_2(tmp_path: Any) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        POLICY.replace("running_mode: ALWAYS_ON", "running_mode: SOMETIMES").replace(
            "{profile: office}", "{profile: ghost}"
        ),
        encoding="utf-8",
    )
    result = run("policy", "check", str(policy))
    assert result.exit_code == 2
    errors = result.stderr.strip().splitlines()
    assert any("profiles.always.running_mode: Input should be 'AUTO_STOP' or 'ALWAYS_ON'" in line for line in errors)
    as_json = run("policy", "check", str(policy), "--json")
    assert as_json.exit_code == 2
    assert json.loads(as_json.stdout)["valid"] is False


def test_policy_check_refuses_a_sample_whose_site_the_policy_does_not_know(tmp_path: Any) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    root = tmp_path.parent
    sample = root / "hire.json"
    sample.write_text(
        json.dumps(
            {
                "DetailType": "Employee Hired",
                "Detail": json.dumps(
                    {
                        "employee_id": "E1",
                        "username": "u1",
                        "email": "u1@example.com",
                        "given_name": "U",
                        "family_name": "One",
                        "department": "finance",
                        "role": "clerk",
                        "site": "lyon",
                        "start_date": "2026-12-01",
                    }
                ),
            }
        ),
        encoding="utf-8",
    )
    result = run("policy", "check", str(policy), "--sample", str(sample), "--json")
    assert result.exit_code == 2
    (mapped,) = json.loads(result.stdout)["samples"]
    assert mapped["profile"] == "office"
    assert mapped["error"].startswith("detail.site: 'lyon' is not in the policy's sites")
    missing = run("policy", "check", str(policy), "--sample", str(root / "nope.json"))
    assert missing.exit_code == 2
    assert "--sample" in missing.stderr


# --- policy publish: validated, compact JSON in the stack's policy parameter -----------------------------
PARAMETER = "/workspaces-autopilot/dev/policy"


def stored_policy() -> dict[str, Any]:
    return dict(boto3.client("ssm").get_parameter(Name=PARAMETER)["Parameter"])


def nothing_stored() -> bool:
    ssm = boto3.client("ssm")
    try:
        ssm.get_parameter(Name=PARAMETER)
    except ssm.exceptions.ParameterNotFound:
        return True
    return False


def big_policy(sites: int) -> str:
    lines = "".join(
        f"  site-{n:03}: {{directory: corp-{n:03}.example.com, timezone: Europe/Paris}}\n" for n in range(sites)
    )
    return POLICY.replace("sites: {hq: {directory: corp.example.com}}\n", f"sites:\n{lines}")


def test_policy_publish_stores_the_compact_json_the_functions_read(stack: dict[str, str], tmp_path: Any) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")

    first = run("policy", "publish", str(policy), "--json")
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    stored = stored_policy()
    assert stored["Value"] == policy_document_json(POLICY)
    assert (stored["Type"], stored["Version"]) == ("String", 1)
    assert data == {
        "file": str(policy),
        "parameter": PARAMETER,
        "bytes": len(stored["Value"].encode("utf-8")),
        "tier": "Standard",
        "version": 1,
        "dry_run": False,
    }
    second = run("policy", "publish", str(policy))  # Overwrite: a new version
    assert second.exit_code == 0, second.output
    assert f"{PARAMETER} version 2: {data['bytes']} bytes of JSON, Standard tier" in second.stdout
    reset_caches()
    assert load_policy(PARAMETER) == parse_policy(POLICY)  # what the functions load
    reset_caches()


def test_policy_publish_dry_run_writes_nothing(stack: dict[str, str], tmp_path: Any) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    result = run("policy", "publish", str(policy), "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["dry_run"], data["version"], data["bytes"]) == (True, None, len(policy_document_json(POLICY)))
    assert nothing_stored()


def test_policy_publish_of_an_invalid_policy_names_the_keys_exits_2_and_writes_nothing(
    stack: dict[str, str], tmp_path: Any
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.replace("{profile: office}", "{profile: ghost}"), encoding="utf-8")
    result = run("policy", "publish", str(policy), "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip() == f"autopilot: {policy}: rules.0.profile: unknown profile 'ghost'"
    assert nothing_stored()


def test_a_time_zone_missing_from_the_zone_database_is_refused_by_check_and_publish(
    stack: dict[str, str], tmp_path: Any
) -> None:
    # Issue 15: `Europe/Pariss` was accepted, then every hire at that site failed with ZoneInfoNotFoundError.
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        POLICY.replace("{directory: corp.example.com}", "{directory: corp.example.com, timezone: Europe/Pariss}"),
        encoding="utf-8",
    )
    assert "Europe/Pariss" in policy.read_text(encoding="utf-8")
    for command in ("check", "publish"):
        result = run("policy", command, str(policy))
        assert result.exit_code == 2, command
        assert "sites.hq.timezone: unknown IANA time zone 'Europe/Pariss'" in result.stderr, command
    assert nothing_stored()


def test_policy_publish_over_the_standard_tier_size_exits_2_unless_advanced(
    stack: dict[str, str], tmp_path: Any
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(big_policy(70), encoding="utf-8")
    size = len(policy_document_json(big_policy(70)))
    assert 4096 < size < 8192

    refused = run("policy", "publish", str(policy))
    assert refused.exit_code == 2
    assert f"the policy is {size} bytes as compact JSON, over the 4096 bytes of an SSM Standard-tier" in refused.stderr
    assert "--tier Advanced" in refused.stderr
    assert nothing_stored()

    advanced = run("policy", "publish", str(policy), "--tier", "Advanced", "--json")
    assert advanced.exit_code == 0, advanced.output
    assert json.loads(advanced.stdout)["tier"] == "Advanced"
    assert stored_policy()["Value"] == policy_document_json(big_policy(70))

    policy.write_text(big_policy(140), encoding="utf-8")
    too_big = run("policy", "publish", str(policy), "--tier", "Advanced")
    assert too_big.exit_code == 2
    assert "no SSM tier holds more" in too_big.stderr


def test_a_yaml_policy_put_by_hand_still_works(stack: dict[str, str]) -> None:
    boto3.client("ssm").put_parameter(Name=PARAMETER, Value=POLICY, Type="String")
    backend = aws_backend(profile=None, region="eu-west-1", stage="dev", stack=None)
    assert backend.policy() == parse_policy(POLICY)
    reset_caches()
    assert load_policy(PARAMETER) == parse_policy(POLICY)
    reset_caches()
