"""moto resources built from template.yaml, so tests use the deployed key schemas, not hand-made copies."""

from __future__ import annotations

from typing import Any

from localcloud.template import load

_TABLE_PROPERTIES = ("KeySchema", "AttributeDefinitions", "GlobalSecondaryIndexes")


def create_table_from_template(dynamodb: Any, logical_id: str, name: str) -> Any:
    """Create the table `logical_id` of template.yaml under `name` with a boto3 DynamoDB resource."""
    properties = load()["Resources"][logical_id]["Properties"]
    kwargs: dict[str, Any] = {key: properties[key] for key in _TABLE_PROPERTIES if key in properties}
    return dynamodb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **kwargs)


def create_keyed_table(client: Any, name: str, *, range_key: str | None = None) -> None:
    """A PAY_PER_REQUEST table keyed by the string `pk` (and the string `range_key`), with a DynamoDB client."""
    keys = [("pk", "HASH"), *([(range_key, "RANGE")] if range_key else [])]
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": kind} for key, kind in keys],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key, _ in keys],
        BillingMode="PAY_PER_REQUEST",
    )
