"""localcloud.fast_json answers exactly what moto's own serializer answers.

Every response moto serializes while the block runs is serialized twice, by moto's JSONSerializer and by the
compiled plan, on the same result; both bodies must be the same JSON document, and botocore's parser for the
operation's output shape must read the same response from both. The calls cover what the local cloud's functions
use (DynamoDB items of every attribute type, sets, blobs, nested maps and lists; SSM, SQS, EventBridge) plus the
shapes that carry timestamps and member aliases (DescribeTable, GetParameter's LastModifiedDate).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, ClassVar

import boto3
import pytest
from botocore.model import OperationModel
from botocore.parsers import create_parser
from moto import mock_aws
from moto.core import responses as moto_responses
from moto.core.serialize import JSONSerializer, XFormedAttributePicker
from moto.core.utils import get_service_model

from localcloud import fast_json
from tests.support.aws import create_keyed_table

Seen = list[tuple[str, Any, Any, bool]]


@contextlib.contextmanager
def both_serializers() -> Iterator[Seen]:
    """Record (operation, moto's body, the plan's body, whether the plan covered it) for every JSON answer."""
    seen: Seen = []
    original = moto_responses.ActionResult.execute_result

    def execute_result(self: Any, context: Any) -> Any:
        operation: OperationModel = context.operation_model
        if context.serializer_class in (JSONSerializer, fast_json.FastJSONSerializer) and not isinstance(
            self.result, Exception
        ):
            slow = JSONSerializer(operation_model=operation, value_picker=XFormedAttributePicker()).serialize(
                self.result
            )
            try:
                fast: Any = fast_json.serialize_with_plan(operation, self.result)
                covered = True
            except LookupError:
                fast, covered = None, False
            seen.append((f"{operation.service_model.service_name}:{operation.name}", slow, fast, covered))
        return original(self, context)

    moto_responses.ActionResult.execute_result = execute_result  # type: ignore[method-assign]
    try:
        with fast_json.installed():
            yield seen
    finally:
        moto_responses.ActionResult.execute_result = original  # type: ignore[method-assign]


def parsed(operation: OperationModel, body: str) -> Any:
    """What a botocore client reads from this JSON body (HTTP 200): moto's JSON serializer wrote it, also for a
    service whose first protocol is another (CloudWatch lists smithy-rpc-v2-cbor, then json)."""
    parser = create_parser("json")
    response = {"status_code": 200, "headers": {}, "body": body.encode()}
    result = parser.parse(response, operation.output_shape)
    result.pop("ResponseMetadata", None)
    return result


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        yield


def _operation(name: str) -> OperationModel:
    service, _, operation = name.partition(":")
    return get_service_model(service).operation_model(operation)


ITEM = {
    "pk": {"S": "OBS#ws-1"},
    "sk": {"S": "OBS"},
    "n": {"N": "12.50"},
    "blob": {"B": b"\x00\x01binary\xff"},
    "strings": {"SS": ["b", "a"]},
    "numbers": {"NS": ["1", "2.5"]},
    "blobs": {"BS": [b"x", b"\xfe"]},
    "flag": {"BOOL": False},
    "nothing": {"NULL": True},
    "empty": {"S": ""},
    "nested": {
        "M": {
            "list": {"L": [{"S": "one"}, {"N": "2"}, {"M": {"deep": {"BOOL": True}}}, {"L": []}]},
            "map": {"M": {}},
            "bytes": {"B": b"\x10"},
        }
    },
}


def _dynamodb_calls() -> None:
    client = boto3.client("dynamodb")
    create_keyed_table(client, "state", range_key="sk")
    client.describe_table(TableName="state")
    client.put_item(TableName="state", Item=ITEM)
    client.put_item(TableName="state", Item={**ITEM, "pk": {"S": "OBS#ws-2"}}, ReturnValues="NONE")
    client.put_item(TableName="state", Item={**ITEM, "n": {"N": "13"}}, ReturnValues="ALL_OLD")
    client.get_item(TableName="state", Key={"pk": ITEM["pk"], "sk": ITEM["sk"]})
    client.get_item(TableName="state", Key={"pk": {"S": "absent"}, "sk": {"S": "OBS"}})
    client.batch_get_item(
        RequestItems={
            "state": {
                "Keys": [
                    {"pk": {"S": "OBS#ws-1"}, "sk": {"S": "OBS"}},
                    {"pk": {"S": "OBS#ws-2"}, "sk": {"S": "OBS"}},
                    {"pk": {"S": "absent"}, "sk": {"S": "OBS"}},
                ]
            }
        },
        ReturnConsumedCapacity="TOTAL",
    )
    client.query(
        TableName="state",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "OBS#ws-1"}},
        ReturnConsumedCapacity="INDEXES",
    )
    client.query(TableName="state", KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "x"}})
    client.scan(TableName="state", Limit=1)
    client.update_item(
        TableName="state",
        Key={"pk": ITEM["pk"], "sk": ITEM["sk"]},
        UpdateExpression="SET n = n + :one, added = :b",
        ExpressionAttributeValues={":one": {"N": "1"}, ":b": {"B": b"\x02"}},
        ReturnValues="ALL_NEW",
    )
    client.batch_write_item(
        RequestItems={"state": [{"PutRequest": {"Item": {**ITEM, "pk": {"S": f"OBS#ws-{i}"}}}} for i in range(3, 6)]}
    )
    client.transact_get_items(
        TransactItems=[{"Get": {"TableName": "state", "Key": {"pk": ITEM["pk"], "sk": ITEM["sk"]}}}]
    )
    client.delete_item(TableName="state", Key={"pk": ITEM["pk"], "sk": ITEM["sk"]}, ReturnValues="ALL_OLD")
    client.list_tables()


def _other_json_services() -> None:
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/autopilot/policy", Value="version: 1", Type="String")
    ssm.get_parameter(Name="/autopilot/policy")
    ssm.get_parameters(Names=["/autopilot/policy", "/absent"])
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="work")["QueueUrl"]
    sqs.send_message(
        QueueUrl=url, MessageBody="{}", MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}}
    )
    sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"])
    sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    events = boto3.client("events")
    events.put_events(Entries=[{"Source": "hr.feed", "DetailType": "Employee Hired", "Detail": "{}"}])
    events.put_rule(Name="rule", EventPattern=json.dumps({"source": ["hr.feed"]}))
    events.list_rules()


def _cloudwatch_alarms() -> None:
    """Alarms are moto model objects (FakeAlarm), with dimensions, actions, thresholds and timestamps."""
    cloudwatch = boto3.client("cloudwatch")
    for index, (statistic, actions) in enumerate((("Sum", True), ("Average", False), ("Maximum", True))):
        cloudwatch.put_metric_alarm(
            AlarmName=f"autopilot-connection-failures-ws-{index}",
            Namespace="Autopilot",
            MetricName="ConnectionFailures",
            Dimensions=[{"Name": "WorkspaceId", "Value": f"ws-{index}"}, {"Name": "Site", "Value": "paris"}],
            Statistic=statistic,
            Period=300,
            EvaluationPeriods=index + 1,
            DatapointsToAlarm=1,
            Threshold=5.0 + index,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching",
            ActionsEnabled=actions,
            AlarmActions=["arn:aws:sns:eu-west-1:123456789012:on-call"] if actions else [],
            AlarmDescription="six failures in five minutes" if index else "",
            Tags=[{"Key": "autopilot:managed", "Value": "true"}],
        )
    cloudwatch.set_alarm_state(
        AlarmName="autopilot-connection-failures-ws-1", StateValue="ALARM", StateReason="threshold crossed"
    )
    cloudwatch.describe_alarms()
    cloudwatch.describe_alarms(AlarmNamePrefix="autopilot-connection-failures-ws-")
    cloudwatch.describe_alarms(StateValue="ALARM")
    cloudwatch.describe_alarms(AlarmNames=["autopilot-connection-failures-ws-2", "absent"])
    cloudwatch.describe_alarms_for_metric(MetricName="ConnectionFailures", Namespace="Autopilot")


def test_the_plan_answers_what_moto_answers(cloud: None) -> None:
    with both_serializers() as seen:
        _dynamodb_calls()
        _other_json_services()
        _cloudwatch_alarms()
    assert seen, "no JSON answer was recorded"
    for name, slow, fast, covered in seen:
        if not covered:
            continue
        operation = _operation(name)
        assert json.loads(slow["body"]) == json.loads(json.dumps(fast)), name
        assert parsed(operation, slow["body"]) == parsed(operation, json.dumps(fast)), name
    covered_names = {name for name, _, _, covered in seen if covered}
    # The calls the sweep makes most: the plan, not moto's walk, answers them.
    assert {
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:Scan",
        "dynamodb:DescribeTable",
        "sqs:ReceiveMessage",
        "ssm:GetParameter",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:DescribeAlarmsForMetric",
    } <= covered_names


def test_blobs_and_numbers_reach_the_client_as_moto_sends_them(cloud: None) -> None:
    # Given an item with every attribute type, read back through a client while the plan answers
    with fast_json.installed() as on:
        assert on
        _dynamodb_calls_for_read()
        item = boto3.client("dynamodb").get_item(TableName="t", Key={"pk": {"S": "k"}})["Item"]
    # Then blobs arrive as bytes and numbers as the strings they were written as
    assert item["blob"] == {"B": b"\x00\x01binary\xff"}
    assert sorted(item["blobs"]["BS"]) == [b"x", b"\xfe"]
    assert item["n"] == {"N": "12.50"}
    assert item["nested"]["M"]["bytes"] == {"B": b"\x10"}
    table = boto3.resource("dynamodb").Table("t")
    assert table.get_item(Key={"pk": "k"})["Item"]["n"] == Decimal("12.50")


def _dynamodb_calls_for_read() -> None:
    client = boto3.client("dynamodb")
    create_keyed_table(client, "t")
    client.put_item(TableName="t", Item={**{k: v for k, v in ITEM.items() if k not in ("pk", "sk")}, "pk": {"S": "k"}})


class Data:
    """A model object: read through its class's aliases (its Meta; its name as a prefix: DataType as `type`)."""

    class Meta:
        serialization_aliases: ClassVar[dict[str, str]] = {"Value": "secret_value"}

    name = "p"
    secret_value = "v"
    type = "text"
    version = None


def test_a_model_object_is_read_through_its_class_s_aliases_as_moto_reads_it() -> None:
    operation = _operation("ssm:GetParameter")
    result = {"Parameter": Data()}
    slow = JSONSerializer(operation_model=operation, value_picker=XFormedAttributePicker()).serialize(result)
    fast = fast_json.serialize_with_plan(operation, result)
    expected = {"Parameter": {"Name": "p", "Value": "v", "Type": "text", "DataType": "text"}}
    assert json.loads(slow["body"]) == fast == expected


def test_an_object_whose_aliases_may_differ_from_its_class_s_is_left_to_moto() -> None:
    # Given objects whose aliases cannot be known from their class alone
    class Dynamic:
        def __getattr__(self, name: str) -> Any:
            return f"any {name}"

    own_table = Data()
    own_table.Meta = type("Meta", (), {"serialization_aliases": {"Value": "name"}})  # type: ignore[misc]
    operation = _operation("ssm:GetParameter")
    # Then the plan refuses them and moto's serializer answers the whole response
    for value in (Dynamic(), own_table):
        with pytest.raises(LookupError):
            fast_json.serialize_with_plan(operation, {"Parameter": value})
    # And the class of the object with its own table is still read through its class's aliases after it
    assert fast_json.serialize_with_plan(operation, {"Parameter": Data()})["Parameter"]["Value"] == "v"


def test_timestamps_and_none_members_follow_moto() -> None:
    operation = _operation("ssm:GetParameter")
    moment = dt.datetime(2026, 12, 1, 7, 30, 15, 123456, tzinfo=dt.UTC)
    result = {"Parameter": {"Name": "p", "Value": "v", "Version": 3, "LastModifiedDate": moment, "ARN": None}}
    slow = JSONSerializer(operation_model=operation, value_picker=XFormedAttributePicker()).serialize(result)
    fast = fast_json.serialize_with_plan(operation, result)
    assert json.loads(slow["body"]) == fast
    assert fast["Parameter"]["LastModifiedDate"] == pytest.approx(moment.timestamp(), abs=0.001)
    assert "ARN" not in fast["Parameter"]


def test_blob_encoding_is_base64_of_the_bytes() -> None:
    operation = _operation("dynamodb:GetItem")
    result = {"Item": {"b": {"B": b"\xff\x00"}, "s": {"B": "text"}}}
    body = fast_json.serialize_with_plan(operation, result)
    assert body["Item"]["b"]["B"] == base64.b64encode(b"\xff\x00").decode()
    assert body["Item"]["s"]["B"] == base64.b64encode(b"text").decode()


def test_the_switch_keeps_moto_s_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fast_json.ENV_SWITCH, "0")
    before = moto_responses.get_serializer_class
    with fast_json.installed() as on:
        assert not on
        assert moto_responses.get_serializer_class is before
