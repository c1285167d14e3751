"""localcloud.fast_moto: moto's per-class and per-call work done once gives moto's own answers."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto.core import responses as moto_responses
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.responses import DynamoHandler
from moto.sqs.responses import SQSResponse

from localcloud import fast_json, fast_moto


def test_the_method_list_is_moto_s_and_each_caller_owns_its_copy() -> None:
    with fast_moto.installed():
        first = moto_responses.method_names_from_class(SQSResponse)
        first.append("not_a_method")
        second = moto_responses.method_names_from_class(SQSResponse)
    assert second == fast_moto._original_method_names(SQSResponse)
    assert "receive_message" in second


def _table() -> Any:
    client = boto3.client("dynamodb")
    client.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
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
