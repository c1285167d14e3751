"""localcloud.fast_parse reads exactly what botocore's own JSON parser reads.

Every JSON body a client parses while the block runs is parsed twice, by botocore's `_handle_json_body` and by the
compiled plan, with the same parser object and shape: both results must be equal and of the same types all the
way down (repr). The bodies come from a moto session over DynamoDB (every attribute type, nested maps and lists),
SSM, SQS and EventBridge (modeled errors included), and from a small local cloud running its template's functions
for twenty minutes (the WorkSpaces emulator's pages, the sweep's DynamoDB reads and writes, the logins). The
unusual cases (unions with no member, several members or an unknown one, null items, documents) are checked one
by one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.model import ServiceModel, Shape
from botocore.parsers import JSONParser, ResponseParserError
from moto.core.utils import get_service_model

from localcloud import fast_json, fast_parse
from localcloud.world import LocalCloud
from tests.integration.test_fast_json import _dynamodb_calls, _other_json_services

Seen = list[tuple[str, str, str]]  # (shape, botocore's result, the plan's result) as repr


@contextlib.contextmanager
def both_parsers() -> Iterator[Seen]:
    """Parse every JSON body both ways; the client gets botocore's own result."""
    seen: Seen = []
    original = JSONParser._handle_json_body

    def handle_json_body(self: Any, raw_body: Any, shape: Shape) -> Any:
        slow = fast_parse._original_handle_json_body(self, raw_body, shape)
        fast = fast_parse.parse_with_plan(self, shape, raw_body)
        seen.append((shape.name, repr(slow), repr(fast)))
        assert slow == fast, shape.name
        return slow

    with fast_parse.installed() as on:
        assert on
        JSONParser._handle_json_body = handle_json_body  # type: ignore[method-assign]
        try:
            yield seen
        finally:
            JSONParser._handle_json_body = original  # type: ignore[method-assign]


def _modeled_errors() -> None:
    """Errors with a modeled shape are read through the same path (botocore parses their body by that shape)."""
    client = boto3.client("dynamodb")
    item = {"pk": {"S": "OBS#ws-1"}, "sk": {"S": "OBS"}}
    with pytest.raises(client.exceptions.ConditionalCheckFailedException) as refused:
        client.put_item(
            TableName="state",
            Item=item,
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_item(TableName="absent", Key=item)
    with pytest.raises(boto3.client("ssm").exceptions.ParameterNotFound):
        boto3.client("ssm").get_parameter(Name="/absent")


def test_the_plan_reads_what_botocore_reads_from_moto(aws: None) -> None:
    with both_parsers() as seen:
        _dynamodb_calls()
        _other_json_services()
        boto3.client("dynamodb").put_item(TableName="state", Item={"pk": {"S": "OBS#ws-1"}, "sk": {"S": "OBS"}})
        _modeled_errors()
    assert len(seen) > 20
    for shape, slow, fast in seen:
        assert fast == slow, shape
    shapes = {shape for shape, _, _ in seen}
    assert {"BatchGetItemOutput", "QueryOutput", "GetItemOutput", "GetParameterResult"} <= shapes
    assert {"ConditionalCheckFailedException", "ParameterNotFound"} <= shapes


def test_the_plan_reads_what_botocore_reads_in_the_local_cloud() -> None:
    # Given a small fleet with the template's schedules live, its users logging in
    start = dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.UTC)
    with both_parsers() as seen, LocalCloud(start=start) as cloud:
        users = [f"agent{index:02d}" for index in range(6)]
        cloud.seed_desks(users, site="amiens-cc", profile="agent")
        cloud.advance(dt.timedelta(minutes=10))  # two sweeps: the first adopts the desks
        for user in users[:3]:
            cloud.login(user)
        cloud.advance(dt.timedelta(minutes=10))
        assert all(invocation.ok for invocation in cloud.invocations)
    for shape, slow, fast in seen:
        assert fast == slow, shape
    shapes = {shape for shape, _, _ in seen}
    assert {"DescribeWorkspacesResult", "DescribeWorkspacesConnectionStatusResult", "BatchGetItemOutput"} <= shapes


def _model(shapes: dict[str, Any]) -> ServiceModel:
    return ServiceModel({"metadata": {"protocol": "json"}, "operations": {}, "shapes": shapes})


UNION_MODEL = _model(
    {
        "Out": {
            "type": "structure",
            "members": {
                "Value": {"shape": "Value"},
                "Values": {"shape": "Values"},
                "ByName": {"shape": "ByName"},
                "Doc": {"shape": "Doc"},
                "Renamed": {"shape": "String", "locationName": "wireName"},
                "When": {"shape": "Time"},
                "Data": {"shape": "Blob"},
            },
        },
        "Value": {
            "type": "structure",
            "union": True,
            "members": {"S": {"shape": "String"}, "L": {"shape": "Values"}, "M": {"shape": "ByName"}},
        },
        "Values": {"type": "list", "member": {"shape": "Value"}},
        "ByName": {"type": "map", "key": {"shape": "String"}, "value": {"shape": "Value"}},
        "Doc": {"type": "structure", "members": {}, "document": True},
        "String": {"type": "string"},
        "Time": {"type": "timestamp"},
        "Blob": {"type": "blob"},
    }
)


def _both(body: dict[str, Any]) -> tuple[Any, Any]:
    parser = JSONParser()
    shape = UNION_MODEL.shape_for("Out")
    raw = json.dumps(body).encode()
    return fast_parse._original_handle_json_body(parser, raw, shape), fast_parse.parse_with_plan(parser, shape, raw)


@pytest.mark.parametrize(
    "body",
    [
        {"Value": {"S": "x"}},
        {"Value": {"L": [{"S": "a"}, {"M": {"k": {"S": "b"}, "l": {"L": []}}}]}},
        {"Values": [None, {"S": "a"}]},  # a null item stays None (botocore reads lists as sparse)
        {"ByName": {"k": None, "j": {"S": "v"}}},
        {"Value": {"S": "x", "__type": "Value"}},  # the type tag is not a member
        {"Value": {"S": "x", "L": None}},  # a null member is not set
        {"Value": {"Unknown": "x"}},  # a member this SDK does not know
        {"Value": None, "Renamed": "w", "wireName": "right"},
        {"Doc": {"any": [1, {"thing": None}]}},
        {"When": 1764489600.5, "Data": "AAH/"},
        {"When": "2026-11-30T08:00:00Z"},
        {},
    ],
)
def test_unusual_values_read_as_botocore_reads_them(body: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="botocore.parsers"):
        slow, fast = _both(body)
    assert fast == slow
    assert repr(fast) == repr(slow)


@pytest.mark.parametrize("value", [{}, {"S": "x", "L": [{"S": "y"}]}, {"S": None}])
def test_a_union_without_exactly_one_member_is_refused_as_botocore_refuses_it(value: dict[str, Any]) -> None:
    with pytest.raises(ResponseParserError) as slow:
        fast_parse._original_handle_json_body(
            JSONParser(), json.dumps({"Value": value}).encode(), UNION_MODEL.shape_for("Out")
        )
    with pytest.raises(ResponseParserError) as fast:
        fast_parse.parse_with_plan(JSONParser(), UNION_MODEL.shape_for("Out"), json.dumps({"Value": value}).encode())
    assert str(fast.value) == str(slow.value)


def test_a_parser_subclass_keeps_its_own_walk() -> None:
    class Upper(JSONParser):
        def _handle_structure(self, shape: Any, value: Any) -> Any:
            return {"read": "by the subclass"}

    shape = get_service_model("ssm").operation_model("GetParameter").output_shape
    with fast_parse.installed():
        parsed = Upper()._handle_json_body(b'{"Parameter": {"Name": "p"}}', shape)
    assert parsed == {"read": "by the subclass"}


def test_the_switch_keeps_botocore_s_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fast_json.ENV_SWITCH, "0")
    before = JSONParser._handle_json_body
    with fast_parse.installed() as on:
        assert not on
        assert JSONParser._handle_json_body is before
