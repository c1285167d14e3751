"""localcloud.fast_moto: moto's per-class and per-call work done once gives moto's own answers."""

from __future__ import annotations

import datetime as dt
import gc
from typing import Any

import boto3
import pytest
import time_machine
from hypothesis import given
from hypothesis import strategies as st
from moto.core import responses as moto_responses
from moto.core.base_backend import BackendDict
from moto.dynamodb import responses as dynamodb_responses
from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.utilities import dynamo_to_dict
from moto.dynamodb.responses import DynamoHandler
from moto.s3.models import FakeKey
from moto.sqs.models import sqs_backends
from moto.sqs.responses import SQSResponse

from localcloud import fast_json, fast_moto
from tests.support.aws import create_keyed_table


def test_the_method_list_is_moto_s_and_each_caller_owns_its_copy() -> None:
    with fast_moto.installed():
        first = moto_responses.method_names_from_class(SQSResponse)
        first.append("not_a_method")
        second = moto_responses.method_names_from_class(SQSResponse)
    assert second == fast_moto._original_method_names(SQSResponse)
    assert "receive_message" in second


def _table() -> Any:
    create_keyed_table(boto3.client("dynamodb"), "t")
    return boto3.resource("dynamodb").Table("t")


def _batch_get(projection: str | None = None) -> dict[str, Any]:
    keys = {"Keys": [{"pk": {"S": f"k{index}"}} for index in range(30)]}
    if projection:
        keys["ProjectionExpression"] = projection
    response = boto3.client("dynamodb").batch_get_item(RequestItems={"t": keys}, ReturnConsumedCapacity="TOTAL")
    response.pop("ResponseMetadata")
    return response


def test_batch_get_item_answers_as_moto_does_with_sizes_computed_once(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given items of different sizes, some with nested values
    table = _table()
    for index in range(25):
        table.put_item(Item={"pk": f"k{index}", "n": index, "text": "x" * index, "nested": {"l": [index, "a"]}})
    calls: list[int] = []
    original = fast_moto._original_item_size

    def counted(self: Item) -> int:
        calls.append(id(self))
        return original(self)

    monkeypatch.setattr(Item, "size", original)  # moto's own, put back after the test
    # When the same BatchGetItem calls are answered by moto's code and with the shortcut
    with monkeypatch.context() as patched:
        patched.setattr(Item, "size", counted)
        slow = [_batch_get(), _batch_get("pk, nested")]
    slow_calls = len(calls)
    calls.clear()
    monkeypatch.setattr(fast_moto, "_original_item_size", counted)
    with fast_moto.installed() as on:
        assert on
        fast = [_batch_get(), _batch_get("pk, nested")]
        assert Item.size is fast_moto._item_size
        assert DynamoHandler.batch_get_item is fast_moto._batch_get_item
    # Then the answers are the same, with each item's size computed once instead of twice
    assert fast == slow
    assert slow_calls == 2 * 2 * 25
    assert len(calls) == 2 * 25


def test_an_item_size_outside_batch_get_item_is_moto_s(aws: None) -> None:
    table = _table()
    table.put_item(Item={"pk": "k", "text": "abc"})
    with fast_moto.installed():
        item = next(iter(boto3.client("dynamodb").scan(TableName="t")["Items"]))
        assert fast_moto._call.__dict__.get("sizes") is None
    assert item["text"] == {"S": "abc"}


def test_the_switch_keeps_moto_s_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fast_json.ENV_SWITCH, "0")
    with fast_moto.installed() as on:
        assert not on
        assert moto_responses.method_names_from_class is fast_moto._original_method_names
        assert DynamoHandler.batch_get_item is fast_moto._original_batch_get_item


def _session(run: str) -> list[Any]:
    """A few calls over services with different routes (JSON target headers, query, REST paths with keys)."""
    answers: list[Any] = []
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=f"feed-{run}", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    for key in ("a.csv", "deep/path/b.csv"):
        s3.put_object(Bucket=f"feed-{run}", Key=key, Body=key.encode())
        answers.append(s3.get_object(Bucket=f"feed-{run}", Key=key)["Body"].read())
    answers.append(sorted(o["Key"] for o in s3.list_objects_v2(Bucket=f"feed-{run}")["Contents"]))
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"work-{run}")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    answers.append([m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]])
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name=f"/p/{run}", Value="v", Type="String")
    answers.append(ssm.get_parameter(Name=f"/p/{run}")["Parameter"]["Value"])
    answers.append(boto3.client("sns").create_topic(Name=f"alerts-{run}")["TopicArn"].removesuffix(run))
    answers.append(boto3.client("workspaces").describe_workspaces()["Workspaces"])
    try:
        s3.get_object(Bucket=f"feed-{run}", Key="absent")
    except s3.exceptions.NoSuchKey as exc:
        answers.append(exc.response["Error"]["Code"])
    return answers


def test_the_router_finds_moto_s_handler_for_every_route(aws: None) -> None:
    slow = _session("slow")
    with fast_moto.installed():
        fast = _session("fast")
        routed = dict(fast_moto._handlers)
    assert fast == slow
    assert any("s3" in url for url in routed)
    assert any("sqs" in url for url in routed)
    assert all(handler is not fast_moto._NOT_MOCKED for handler in routed.values())


ATTRIBUTES: list[dict[str, Any]] = [
    {},
    {"pk": {"S": "k"}, "n": {"N": "12.50"}, "b": {"B": b"\x00\xff"}, "flag": {"BOOL": True}, "none": {"NULL": True}},
    {"pk": {"S": "k"}, "ss": {"SS": ["a", "b"]}, "m": {"M": {"l": {"L": [{"S": "x"}, {"N": "1"}]}}}},
    {"pk": {"S": "k"}, "big": {"S": "x" * 200_000}, "bigger": {"S": "y" * 204_988}},  # 405,000 bytes with the names
]


@pytest.mark.parametrize("attributes", ATTRIBUTES)
def test_an_item_is_built_as_moto_builds_it(attributes: dict[str, Any]) -> None:
    slow = Item({"S": "k"}, None, attributes)  # type: ignore[arg-type]
    with fast_moto.installed():
        fast = Item({"S": "k"}, None, attributes)  # type: ignore[arg-type]
    assert fast == slow
    assert type(fast.attrs) is type(slow.attrs)
    assert list(fast.attrs) == list(slow.attrs)
    assert fast.size() == slow.size()


@pytest.mark.parametrize("over", [1, 50_000])
def test_an_item_over_moto_s_limit_is_refused_as_moto_refuses_it(over: int) -> None:
    attributes = {"pk": {"S": "k"}, "big": {"S": "x" * 200_000}, "bigger": {"S": "y" * (204_988 + over)}}
    with pytest.raises(ItemSizeTooLarge) as slow:
        Item({"S": "k"}, None, attributes)  # type: ignore[arg-type]
    with fast_moto.installed(), pytest.raises(ItemSizeTooLarge) as fast:
        Item({"S": "k"}, None, attributes)  # type: ignore[arg-type]
    assert fast.value.get_body() == slow.value.get_body()


EXPRESSIONS = [
    "attribute_not_exists(#n0) OR #n1 < :v0",
    "(attribute_not_exists(pk) OR version = :previous) AND size(#l[0].x) >= :v",
    "#a BETWEEN :lo AND :hi AND NOT contains(#b, :c) AND #d IN (:e, :f)",
    "a.b.c <> :v",
    "#a = :v AND",  # lexes, then refused by the parser
    "#a ! :v",  # does not lex
    "",
]


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_a_condition_is_lexed_as_moto_lexes_it_and_each_parse_owns_its_tokens(expression: str) -> None:
    def lexed() -> Any:
        parser = ConditionExpressionParser(expression, {}, {})
        try:
            return list(parser._lex_condition_expression())
        except ValueError as exc:
            return str(exc)

    slow = lexed()
    with fast_moto.installed():
        if isinstance(slow, list):  # the parser pops its tokens: the next parse must still get them all
            ConditionExpressionParser(expression, {}, {})._lex_condition_expression().clear()
        fast = [lexed(), lexed()]
    assert fast == [slow, slow]


def _conditional_writes() -> list[Any]:
    """Conditional PutItem, UpdateItem and Query calls, including refused ones, and what the table holds after."""
    client = boto3.client("dynamodb")
    answers: list[Any] = []
    calls: list[tuple[str, dict[str, Any]]] = []
    for version in (1, 2, 2, 1):
        calls.append(
            (
                "put_item",
                {
                    "Item": {"pk": {"S": "k"}, "n": {"N": str(version)}},
                    "ConditionExpression": "attribute_not_exists(#p) OR #n < :v",
                    "ExpressionAttributeNames": {"#p": "pk", "#n": "n"},
                    "ExpressionAttributeValues": {":v": {"N": str(version)}},
                },
            )
        )
    unused_name = {"ConditionExpression": "attribute_exists(pk)", "ExpressionAttributeNames": {"#u": "u"}}
    calls.append(("put_item", {"Item": {"pk": {"S": "k"}}, **unused_name}))
    calls.append(
        (
            "update_item",
            {
                "Key": {"pk": {"S": "k"}},
                "UpdateExpression": "SET #n = #n + :one",
                "ConditionExpression": "#n BETWEEN :lo AND :hi",
                "ExpressionAttributeNames": {"#n": "n"},
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":lo": {"N": "0"}, ":hi": {"N": "5"}},
                "ReturnValues": "ALL_NEW",
            },
        )
    )
    calls.append(
        (
            "query",
            {
                "KeyConditionExpression": "#p = :k",
                "FilterExpression": "#n > :z",
                "ExpressionAttributeNames": {"#p": "pk", "#n": "n"},
                "ExpressionAttributeValues": {":k": {"S": "k"}, ":z": {"N": "0"}},
            },
        )
    )
    for operation, params in calls:
        try:
            response = getattr(client, operation)(TableName="t", **params)
            response.pop("ResponseMetadata")
            answers.append(response)
        except client.exceptions.ClientError as exc:
            answers.append(exc.response["Error"])
    answers.append(client.scan(TableName="t")["Items"])
    return answers


def test_conditional_writes_store_and_refuse_as_moto_does_parsing_each_put_s_condition_once(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _table()
    parses: list[str] = []
    original = fast_moto._original_parse

    def counted(self: ConditionExpressionParser) -> Any:
        parses.append(str(self.condition_expression))
        return original(self)

    # Given the same calls answered by moto's code (its parser counted) and with the shortcuts
    with monkeypatch.context() as patched:
        patched.setattr(ConditionExpressionParser, "parse", counted)
        slow = _conditional_writes()
    slow_parses = len(parses)
    parses.clear()
    boto3.client("dynamodb").delete_item(TableName="t", Key={"pk": {"S": "k"}})
    monkeypatch.setattr(fast_moto, "_original_parse", counted)
    with fast_moto.installed():
        fast = _conditional_writes()
        assert fast_moto._lexed  # the tokens were kept
    # Then the same items are stored and the same calls refused, with the same errors
    assert fast == slow
    assert [answer.get("Code") for answer in slow[:5]] == [
        None,
        None,
        "ConditionalCheckFailedException",
        "ConditionalCheckFailedException",
        "ValidationException",
    ]
    # And each of the four PutItem calls that reached the table parsed its condition once instead of twice
    assert slow_parses - len(parses) == 4


VALUES: list[Any] = [
    {"Item": {"b": DynamoType({"B": "AP8="}), "raw": DynamoType({"B": b"\x00"}), "bs": DynamoType({"BS": ["AP8="]})}},
    {"Items": [DynamoType({"M": {"l": {"L": [{"N": "1"}, {"S": "x"}, {"NULL": True}]}, "n": {"NS": ["1", "2"]}}})]},
    {"Table": {"CreationDateTime": dt.datetime(2026, 12, 7), "Count": 3, "Ratio": 0.5, "On": True, "None": None}},
    {"Attributes": Item(DynamoType({"S": "k"}), None, {"pk": {"S": "k"}, "m": {"M": {"a": {"BOOL": False}}}})},
    {"Responses": {"t": [Item(DynamoType({"S": "k"}), None, {"pk": {"S": "k"}, "b": {"B": b"\x01"}}).attrs]}},
]


@pytest.mark.parametrize("value", VALUES)
def test_an_answer_is_converted_as_moto_converts_it(value: Any) -> None:
    slow = dynamo_to_dict(value)
    with fast_moto.installed():
        fast = dynamodb_responses.dynamo_to_dict(value)
        assert dynamodb_responses.dynamo_to_dict is fast_moto._dynamo_to_dict
    assert fast == slow
    assert repr(fast) == repr(slow)  # the same types too (bytes stay bytes, datetimes stay datetimes)


def _tracked(model: Any) -> list[Any]:
    gc.collect()
    return list(model.instances_tracked)


def test_the_copies_dynamodb_makes_of_its_answers_are_not_kept_alive(aws: None) -> None:
    # Given a table of 10 items, with the local cloud's shortcuts on
    table = _table()
    client = boto3.client("dynamodb")
    with fast_moto.installed():
        for index in range(10):
            table.put_item(Item={"pk": f"k{index}", "n": index})
        stored = list(dynamodb_backends["123456789012"]["eu-west-1"].get_table("t").all_items())
        alive = len(_tracked(Item))
        # When the table is read 5 times (moto answers each read with a copy of every item)
        for _ in range(5):
            assert len(client.scan(TableName="t")["Items"]) == 10
            client.batch_get_item(RequestItems={"t": {"Keys": [{"pk": {"S": "k1"}}, {"pk": {"S": "k2"}}]}})
        # Then no copy is kept once answered, and the stored items are still listed, in the order they were made
        tracked = _tracked(Item)
        assert len(tracked) == alive
        positions = [next(i for i, seen in enumerate(tracked) if seen is item) for item in stored]
        assert positions == sorted(positions)
    # And moto's own lists come back when the local cloud stops
    assert type(Item.instances_tracked) is list
    assert len(_tracked(Item)) == alive


def test_s3_keys_stay_held_as_moto_holds_them(aws: None) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="held-keys", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    with fast_moto.installed():
        s3.put_object(Bucket="held-keys", Key="k", Body=b"one")
        s3.put_object(Bucket="held-keys", Key="k", Body=b"two")  # the first version is no longer in the bucket
        assert type(FakeKey.instances_tracked) is list
        assert sum(1 for key in _tracked(FakeKey) if key.name == "k") == 2


def _query_tables() -> None:
    """A table with a range key and two indexes (one without a range key), and a table of hash keys only."""
    client = boto3.client("dynamodb")
    client.create_table(
        TableName="q",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": kind}
            for name, kind in (("pk", "S"), ("sk", "N"), ("site", "S"), ("at", "S"), ("n", "N"))
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-site",
                "KeySchema": [
                    {"AttributeName": "site", "KeyType": "HASH"},
                    {"AttributeName": "at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "by-n",
                "KeySchema": [{"AttributeName": "n", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.create_table(
        TableName="h",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for index in range(60):
        item: dict[str, Any] = {"pk": {"S": f"p{index % 4}"}, "sk": {"N": str(index)}, "text": {"S": "x" * index}}
        if index % 5:  # some items are not in the by-site index, some lack its range key
            item["site"] = {"S": ("paris", "lille", "")[index % 3] or "paris"}
            if index % 7:
                item["at"] = {"S": f"2026-12-{index % 28 + 1:02d}"}
        if index % 2:
            item["n"] = {"N": ("1", "1.0", "2", "10")[index % 4]}  # equal numbers written differently
        client.put_item(TableName="q", Item=item)
        client.put_item(TableName="h", Item={"pk": {"N": str(index % 9)}, "v": {"S": str(index)}})


QUERIES: list[dict[str, Any]] = [
    {"TableName": "q", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p1"}}},
    {"TableName": "q", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "absent"}}},
    {
        "TableName": "q",
        "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
        "ExpressionAttributeValues": {":p": {"S": "p2"}, ":a": {"N": "10"}, ":b": {"N": "40"}},
        "ScanIndexForward": False,
        "FilterExpression": "attribute_exists(site)",
    },
    {
        "TableName": "q",
        "IndexName": "by-site",
        "KeyConditionExpression": "site = :s AND begins_with(#at, :d)",
        "ExpressionAttributeNames": {"#at": "at"},
        "ExpressionAttributeValues": {":s": {"S": "paris"}, ":d": {"S": "2026-12-1"}},
    },
    {
        "TableName": "q",
        "IndexName": "by-site",
        "KeyConditionExpression": "site = :s",
        "ExpressionAttributeValues": {":s": {"S": "lille"}},
        "ProjectionExpression": "pk, sk, #at",
        "ExpressionAttributeNames": {"#at": "at"},
        "ScanIndexForward": False,
    },
    {
        "TableName": "q",
        "IndexName": "by-n",
        "KeyConditionExpression": "n = :n",
        "ExpressionAttributeValues": {":n": {"N": "1.00"}},
    },
    {
        "TableName": "q",
        "IndexName": "by-n",
        "KeyConditionExpression": "n = :n",
        "ExpressionAttributeValues": {":n": {"N": "3"}},
    },
    {"TableName": "h", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"N": "4.0"}}},
    {
        "TableName": "q",
        "IndexName": "absent",
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "p1"}},
    },
]


def _queries(page: int) -> list[Any]:
    client = boto3.client("dynamodb")
    answers: list[Any] = []
    for query in QUERIES:
        pages: list[Any] = []
        start: dict[str, Any] = {}
        try:
            while True:
                response = client.query(**query, Limit=page, **start)
                response.pop("ResponseMetadata")
                pages.append(response)
                if "LastEvaluatedKey" not in response:
                    break
                start = {"ExclusiveStartKey": response["LastEvaluatedKey"]}
        except client.exceptions.ClientError as exc:
            pages.append(exc.response["Error"])
        answers.append(pages)
    return answers


@pytest.mark.parametrize("page", [4, 1000])
def test_a_query_answers_as_moto_does_without_sorting_the_whole_table(
    aws: None, monkeypatch: pytest.MonkeyPatch, page: int
) -> None:
    # Given a table with indexes, items in and out of them, and numbers written differently
    _query_tables()
    slow = _queries(page)
    listed: list[str] = []
    original = fast_moto._original_all_items

    def counted(self: Any) -> Any:
        listed.append(self.name)
        return original(self)

    # When the same queries run with the shortcuts
    monkeypatch.setattr(fast_moto, "_original_all_items", counted)
    with fast_moto.installed():
        fast = _queries(page)
        scanned = boto3.client("dynamodb").scan(TableName="q")["Items"]
    # Then the pages, their keys and the refusal are moto's
    assert fast == slow
    assert [sum(len(answer.get("Items", [])) for answer in pages) for pages in slow] == [15, 0, 6, 9, 13, 15, 0, 1, 0]
    assert slow[-1][0]["Code"] == "ResourceNotFoundException"  # the index that does not exist
    # And no query listed the whole table; a scan still does, with moto's own list
    assert listed == ["q"]
    assert len(scanned) == 60


def test_every_shortcut_is_undone_when_the_last_block_ends() -> None:
    before = [vars(owner)[name] for owner, name, _ in fast_moto._PATCHES]
    with fast_moto.installed():
        with fast_moto.installed():  # nested: still on after the inner block
            pass
        assert [vars(owner)[name] for owner, name, _ in fast_moto._PATCHES] == [new for *_, new in fast_moto._PATCHES]
    assert [vars(owner)[name] for owner, name, _ in fast_moto._PATCHES] == before


def _received_as_time_passes(queue_name: str) -> list[Any]:
    """Messages sent a minute apart to a queue keeping them 3 minutes, received before and after the first
    one's retention ends (moto then stops at it: the answer is empty)."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=queue_name, Attributes={"MessageRetentionPeriod": "180"})["QueueUrl"]
    received: list[Any] = []
    with time_machine.travel(dt.datetime(2026, 12, 7, 8, tzinfo=dt.UTC), tick=False) as traveller:
        for minute in range(3):
            sqs.send_message(QueueUrl=url, MessageBody=f"m{minute}")
            traveller.shift(60)
        traveller.shift(-30)  # 150 s after the first message
        for _ in range(2):
            answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)
            received.append(sorted(message["Body"] for message in answer.get("Messages", [])))
            traveller.shift(50)
    return received


def test_a_message_past_its_retention_is_not_received_as_moto_decides_it(aws: None) -> None:
    slow = _received_as_time_passes("slow")
    with fast_moto.installed():
        fast = _received_as_time_passes("fast")
    assert fast == slow == [["m0", "m1", "m2"], []]


def test_a_backend_is_looked_up_as_moto_looks_it_up(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    boto3.client("sqs").create_queue(QueueName="known")  # the default account's backend exists and is registered
    account = "123456789012"
    own = sqs_backends[account]
    with fast_moto.installed():
        assert sqs_backends[account] is own
        assert sqs_backends[account]["eu-west-1"].queues.keys() == {"known"}
        # A new account's backend is made and registered by moto's own code
        other = sqs_backends["210987654321"]
        assert other is dict.__getitem__(sqs_backends, "210987654321")
        # And a dictionary no longer registered (moto's reset empties the list) is registered again
        monkeypatch.setattr(BackendDict, "_instances", [])
        assert sqs_backends[account] is own
        assert BackendDict._instances == [sqs_backends]  # type: ignore[misc]


_SCALARS = st.one_of(
    st.text(max_size=8).map(lambda s: {"S": s}),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(lambda n: {"N": str(n)}),
    st.binary(max_size=8).map(lambda b: {"B": b}),
    st.text(alphabet="AQ=", max_size=8).map(lambda s: {"B": s}),  # base64 text, as moto may keep it
    st.booleans().map(lambda b: {"BOOL": b}),
    st.just({"NULL": True}),
    st.lists(st.text(max_size=5), min_size=1, max_size=3, unique=True).map(lambda v: {"SS": v}),
    st.lists(st.integers(-999, 999).map(str), min_size=1, max_size=3, unique=True).map(lambda v: {"NS": v}),
    st.lists(st.binary(max_size=4), min_size=1, max_size=3, unique=True).map(lambda v: {"BS": v}),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda v: {"L": v}),
        st.dictionaries(st.text(max_size=5), inner, max_size=3).map(lambda v: {"M": v}),
    ),
    max_leaves=12,
)


@given(value=_VALUES)
def test_a_value_is_sized_as_moto_sizes_it(value: dict[str, Any]) -> None:
    typed = DynamoType(value)
    assert fast_moto._value_size(typed) == fast_moto._original_value_size(typed)
