"""localcloud.fast_transport answers every call it covers as the normal path does, errors included.

Each case of `CASES` builds a small moto world (deterministic: moto's random source is seeded) and makes one call
of a covered (service, operation) twice: once through botocore's and moto's normal request path, once through the
transport. A read is made twice on the same world; a write is made on two worlds built the same way (its answer
depends on the state it changes). The parsed answers must be equal, ResponseMetadata aside except its HTTP
status code and retry count; an error must be the same `ClientError` subclass with the same response (code,
message, modeled fields) and status. The transport's own counters must show which path each call took.
`COVERED` (the transport's one table) must have a case for every pair and an error case for every service.
In a small local cloud, the functions' covered calls must take the transport and still be counted by the world's
`_make_api_call` hook, which sits above it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import time_machine
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.moto_api._internal import mock_random

from localcloud import fast_json, fast_moto, fast_parse, fast_transport
from localcloud.emulator.facade import Emulator
from localcloud.world import LocalCloud
from tests.support.aws import create_keyed_table

REGION = "eu-west-1"
QUEUE = "q"


@dataclass(frozen=True)
class Case:
    service: str
    operation: str
    call: Callable[[dict[str, Any]], Any]
    setup: Callable[[], dict[str, Any]] = lambda: {}
    writes: bool = False  # the answer depends on state the call changes: two worlds, not one
    error: str | None = None  # the error code expected (the case checks an error, not an answer)
    retries: int = 0  # botocore's retries expected (ResponseMetadata.RetryAttempts)

    @property
    def name(self) -> str:
        return f"{self.service}:{self.operation}:{self.error or 'ok'}"


def _client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]


# --- worlds -------------------------------------------------------------------------------------------------------


def _table() -> dict[str, Any]:
    client = _client("dynamodb")
    create_keyed_table(client, "t", range_key="sk")
    for n in range(5):
        client.put_item(
            TableName="t",
            Item={
                "pk": {"S": "DESK"},
                "sk": {"S": f"ws-{n}"},
                "n": {"N": str(n)},
                "b": {"B": b"\x00\xff"},
                "m": {"M": {"l": {"L": [{"S": "x"}, {"NULL": True}, {"BOOL": False}]}, "ss": {"SS": ["a", "b"]}}},
            },
        )
    return {}


def _desks() -> dict[str, Any]:
    emulator = Emulator(region=REGION)
    directory = emulator.create_directory("corp.example.com")
    bundle = emulator.create_bundle("Standard")
    running = emulator.seed_workspaces(directory, ["u1", "u2"], bundle, tags={"site": "paris"})
    stopped = emulator.seed_workspace(directory, "u3", bundle, state="STOPPED")
    return {"emulator": emulator, "directory": directory, "bundle": bundle, "running": running, "stopped": stopped}


def _put_alarm(name: str = "b", threshold: float = 2.0, comparison: str = "LessThanThreshold", **statistic: str) -> Any:
    return _client("cloudwatch").put_metric_alarm(
        AlarmName=name,
        Namespace="N",
        MetricName="M",
        Period=300,
        EvaluationPeriods=1,
        Threshold=threshold,
        ComparisonOperator=comparison,
        **statistic,
    )


def _alarm() -> dict[str, Any]:
    _put_alarm("a", 1.0, "GreaterThanThreshold", Statistic="Sum")
    return {}


def _queue() -> dict[str, Any]:
    url = _client("sqs").create_queue(QueueName=QUEUE, tags={"team": "ops"})["QueueUrl"]
    return {"url": url}


def _parameter() -> dict[str, Any]:
    _client("ssm").put_parameter(Name="/p", Value="v", Type="String")
    return {}


def _bus() -> dict[str, Any]:
    _client("events").create_event_bus(Name="b")
    return {}


# --- calls --------------------------------------------------------------------------------------------------------

_KEY = {"pk": {"S": "DESK"}, "sk": {"S": "ws-1"}}


def _dynamodb(operation: str, **params: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda _ctx: getattr(_client("dynamodb"), operation)(**params)


def _workspaces(call: Callable[[Any, dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    return lambda ctx: call(_client("workspaces"), ctx)


def _throttled(ctx: dict[str, Any]) -> Any:
    ctx["emulator"].throttle("DescribeWorkspaces")  # botocore retries: the retry loop is kept
    return _client("workspaces").describe_workspaces(DirectoryId=ctx["directory"])


def _refused(ctx: dict[str, Any]) -> Any:
    ctx["emulator"].refuse("DescribeWorkspaces", "AccessDeniedException")
    return _client("workspaces").describe_workspaces()


CASES: tuple[Case, ...] = (
    # DynamoDB: every attribute type, the resource layer's own transforms, modeled errors
    Case("dynamodb", "GetItem", _dynamodb("get_item", TableName="t", Key=_KEY), _table),
    Case(
        "dynamodb",
        "GetItem",
        lambda _ctx: (
            boto3.resource("dynamodb", region_name=REGION).Table("t").get_item(Key={"pk": "DESK", "sk": "ws-2"})
        ),
        _table,
    ),
    Case(
        "dynamodb",
        "GetItem",
        _dynamodb("get_item", TableName="absent", Key=_KEY),
        _table,
        error="ResourceNotFoundException",
    ),
    Case(
        "dynamodb",
        "Query",
        _dynamodb(
            "query",
            TableName="t",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "DESK"}},
            Limit=3,
        ),
        _table,
    ),
    Case(
        "dynamodb",
        "Query",
        _dynamodb(
            "query", TableName="t", KeyConditionExpression="nope = :p", ExpressionAttributeValues={":p": {"S": "x"}}
        ),
        _table,
        error="ValidationException",
    ),
    Case(
        "dynamodb",
        "Scan",
        _dynamodb("scan", TableName="t", FilterExpression="n > :z", ExpressionAttributeValues={":z": {"N": "1"}}),
        _table,
    ),
    Case(
        "dynamodb",
        "BatchGetItem",
        _dynamodb(
            "batch_get_item",
            RequestItems={
                "t": {"Keys": [_KEY, {"pk": {"S": "DESK"}, "sk": {"S": "ws-9"}}], "ProjectionExpression": "sk, m"}
            },
        ),
        _table,
    ),
    Case(
        "dynamodb",
        "PutItem",
        _dynamodb("put_item", TableName="t", Item={**_KEY, "n": {"N": "7"}}, ReturnValues="ALL_OLD"),
        _table,
        writes=True,
    ),
    Case(
        "dynamodb",
        "PutItem",
        _dynamodb(
            "put_item",
            TableName="t",
            Item=_KEY,
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        ),
        _table,
        writes=True,
        error="ConditionalCheckFailedException",
    ),
    Case(
        "dynamodb",
        "UpdateItem",
        _dynamodb(
            "update_item",
            TableName="t",
            Key=_KEY,
            UpdateExpression="SET n = n + :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="ALL_NEW",
        ),
        _table,
        writes=True,
    ),
    Case(
        "dynamodb",
        "DeleteItem",
        _dynamodb("delete_item", TableName="t", Key=_KEY, ReturnValues="ALL_OLD"),
        _table,
        writes=True,
    ),
    Case(
        "dynamodb",
        "TransactWriteItems",
        _dynamodb(
            "transact_write_items",
            TransactItems=[
                {"Put": {"TableName": "t", "Item": {"pk": {"S": "X"}, "sk": {"S": "1"}}}},
                {"ConditionCheck": {"TableName": "t", "Key": _KEY, "ConditionExpression": "attribute_not_exists(pk)"}},
            ],
        ),
        _table,
        writes=True,
        error="TransactionCanceledException",
    ),
    # WorkSpaces: the emulator's pages, its injected throttling (retried) and refusals
    Case(
        "workspaces",
        "DescribeWorkspaces",
        _workspaces(lambda c, ctx: c.describe_workspaces(DirectoryId=ctx["directory"])),
        _desks,
    ),
    Case("workspaces", "DescribeWorkspaces", _throttled, _desks, writes=True, retries=1),
    Case("workspaces", "DescribeWorkspaces", _refused, _desks, writes=True, error="AccessDeniedException"),
    Case(
        "workspaces",
        "DescribeWorkspacesConnectionStatus",
        _workspaces(lambda c, ctx: c.describe_workspaces_connection_status(WorkspaceIds=ctx["running"])),
        _desks,
    ),
    Case(
        "workspaces",
        "DescribeWorkspaceDirectories",
        _workspaces(lambda c, ctx: c.describe_workspace_directories(DirectoryIds=[ctx["directory"]])),
        _desks,
    ),
    Case("workspaces", "DescribeWorkspaceBundles", _workspaces(lambda c, ctx: c.describe_workspace_bundles()), _desks),
    Case(
        "workspaces",
        "StartWorkspaces",
        _workspaces(
            lambda c, ctx: c.start_workspaces(
                StartWorkspaceRequests=[{"WorkspaceId": ctx["stopped"]}, {"WorkspaceId": "ws-000000000"}]
            )
        ),
        _desks,
        writes=True,
    ),
    Case(
        "workspaces",
        "StopWorkspaces",
        _workspaces(
            lambda c, ctx: c.stop_workspaces(StopWorkspaceRequests=[{"WorkspaceId": w} for w in ctx["running"]])
        ),
        _desks,
        writes=True,
    ),
    # Resource Groups Tagging API
    Case(
        "resourcegroupstaggingapi",
        "GetResources",
        lambda _ctx: _client("resourcegroupstaggingapi").get_resources(),
        _queue,
    ),
    Case(
        "resourcegroupstaggingapi",
        "GetResources",
        lambda _ctx: _client("resourcegroupstaggingapi").get_resources(TagsPerPage=50),
        _queue,
        error="InvalidParameterException",
    ),
    # CloudWatch
    Case("cloudwatch", "DescribeAlarms", lambda _ctx: _client("cloudwatch").describe_alarms(), _alarm),
    Case(
        "cloudwatch",
        "GetMetricData",
        lambda _ctx: _client("cloudwatch").get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "m",
                    "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "M"}, "Period": 300, "Stat": "Sum"},
                }
            ],
            StartTime=0,
            EndTime=3600,
        ),
        _alarm,
    ),
    Case(
        "cloudwatch",
        "PutMetricAlarm",
        lambda _ctx: _put_alarm(Statistic="Sum"),
        _alarm,
        writes=True,
    ),
    Case(
        "cloudwatch",
        "PutMetricAlarm",
        lambda _ctx: _put_alarm(ExtendedStatistic="x1"),  # not a percentile: refused
        _alarm,
        writes=True,
        error="InvalidParameterValue",
    ),
    # SSM, EventBridge, SQS
    Case("ssm", "GetParameter", lambda _ctx: _client("ssm").get_parameter(Name="/p"), _parameter),
    Case(
        "ssm",
        "GetParameter",
        lambda _ctx: _client("ssm").get_parameter(Name="/absent"),
        _parameter,
        error="ParameterNotFound",
    ),
    Case(
        "events",
        "PutEvents",
        lambda _ctx: _client("events").put_events(
            Entries=[{"Source": "s", "DetailType": "d", "Detail": '{"a": 1}', "EventBusName": "b"}]
        ),
        _bus,
        writes=True,
    ),
    Case(
        "events",
        "PutEvents",
        lambda _ctx: _client("events").put_events(
            Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}", "EventBusName": "absent"}]
        ),
        _bus,
        writes=True,
        error="ResourceNotFoundException",
    ),
    Case(
        "sqs",
        "SendMessage",
        lambda ctx: _client("sqs").send_message(QueueUrl=ctx["url"], MessageBody="m"),
        _queue,
        writes=True,
    ),
    Case(
        "sqs",
        "SendMessage",
        lambda ctx: _client("sqs").send_message(QueueUrl=ctx["url"] + "-absent", MessageBody="m"),
        _queue,
        writes=True,
        error="AWS.SimpleQueueService.NonExistentQueue",
    ),
)


# --- the comparison -----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _world() -> Iterator[None]:
    mock_random.seed(17)  # the same ids in both worlds of a write
    # time stands still, as in the local cloud (its virtual clock): timestamps answered are the same both ways
    with (
        time_machine.travel(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC), tick=False),
        mock_aws(),
        fast_json.installed(),
        fast_parse.installed(),
        fast_moto.installed(),
    ):
        yield


def _outcome(case: Case, ctx: dict[str, Any], transport: bool) -> tuple[Any, int]:
    """What the function sees, and how many calls the transport took."""
    before = sum(fast_transport.taken.values())
    with fast_transport.installed() if transport else contextlib.nullcontext(False) as on:
        assert on is transport
        try:
            answer = case.call(ctx)
        except ClientError as exc:
            response = dict(exc.response)
            metadata = response.pop("ResponseMetadata")
            # Each client makes its own exception classes: the class is compared by name and bases.
            kind = (type(exc).__name__, [base.__name__ for base in type(exc).__mro__])
            seen: Any = ("error", kind, response, metadata["HTTPStatusCode"], metadata["RetryAttempts"])
        else:
            answer = dict(answer)
            metadata = answer.pop("ResponseMetadata")
            seen = ("ok", answer, metadata["HTTPStatusCode"], metadata["RetryAttempts"])
    return seen, sum(fast_transport.taken.values()) - before


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_the_transport_answers_as_the_normal_path(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    if case.writes:
        with _world():
            normal, normal_taken = _outcome(case, case.setup(), transport=False)
        with _world():
            direct, direct_taken = _outcome(case, case.setup(), transport=True)
    else:
        with _world():
            ctx = case.setup()
            normal, normal_taken = _outcome(case, ctx, transport=False)
            direct, direct_taken = _outcome(case, ctx, transport=True)
    assert normal_taken == 0
    assert direct == normal
    assert normal[-1] == case.retries
    assert direct_taken == 1 + case.retries  # each attempt goes through the transport
    if case.error is None:
        assert normal[0] == "ok", normal
    else:
        assert normal[0] == "error"
        assert normal[2]["Error"]["Code"] == case.error
        assert "ClientError" in normal[1][1]


def test_every_covered_operation_has_a_case_and_every_service_an_error_case() -> None:
    covered = {
        (service, operation) for service, operations in fast_transport.COVERED.items() for operation in operations
    }
    assert covered == {(case.service, case.operation) for case in CASES}
    assert set(fast_transport.COVERED) == {case.service for case in CASES if case.error is not None}


def test_a_call_not_covered_takes_the_normal_path_and_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with _world(), fast_transport.installed():
        before = fast_transport.fallbacks[("sqs", "CreateQueue")], sum(fast_transport.taken.values())
        _queue()
        after = fast_transport.fallbacks[("sqs", "CreateQueue")], sum(fast_transport.taken.values())
    assert after == (before[0] + 1, before[1])


def test_a_wrong_parameter_fails_as_botocore_fails_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ParamValidationError

    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with _world(), fast_transport.installed():
        _table()
        with pytest.raises(ParamValidationError, match="Unknown parameter in input"):
            _client("dynamodb").get_item(TableName="t", Key=_KEY, Bogus=1)


def test_the_switch_keeps_the_normal_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fast_json.ENV_SWITCH, "0")
    import botocore.endpoint

    original = botocore.endpoint.Endpoint.create_request
    with fast_transport.installed() as on:
        assert on is False
        assert botocore.endpoint.Endpoint.create_request is original


def test_in_the_local_cloud_the_functions_calls_take_the_transport_beneath_the_world_s_hooks() -> None:
    # Given a small fleet with the template's schedules live (the world installs the transport with its hooks)
    start = dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.UTC)
    before = Counter(fast_transport.taken)
    with LocalCloud(start=start) as cloud:
        users = [f"agent{index:02d}" for index in range(4)]
        cloud.seed_desks(users, site="amiens-cc", profile="agent")
        cloud.advance(dt.timedelta(minutes=10))  # two sweeps: the first adopts the desks
        cloud.login(users[0])
        cloud.advance(dt.timedelta(minutes=5))
        assert all(invocation.ok for invocation in cloud.invocations)
        counted = dict(cloud.api_calls)
    taken = Counter(fast_transport.taken)
    taken.subtract(before)
    # Then the sweep's reads went through the transport, and every covered call a function made was still counted
    # by the world's _make_api_call hook above it (the transport also answers the world's own calls: >=)
    assert taken[("workspaces", "DescribeWorkspaces")] > 0
    assert taken[("dynamodb", "BatchGetItem")] > 0
    assert counted["workspaces:DescribeWorkspaces"] > 0
    for name, count in counted.items():
        service, operation = name.split(":")
        if operation in fast_transport.COVERED.get(service, ()):
            assert taken[(service, operation)] >= count, name
