"""DynamoDB reads shared by the stores: BatchGetItem in calls of 100 keys, unprocessed keys retried with backoff;
every page of a Query or Scan through botocore's paginator."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from autopilot.adapters.aws import translated, translated_pages
from autopilot.domain.kernel.errors import TransientAwsError

BATCH_GET = 100  # BatchGetItem's maximum keys per call
UNPROCESSED_ATTEMPTS = 8


def batch_get(
    reader: Any, table_name: str, keys: Sequence[dict[str, str]], *, consistent: bool = False
) -> list[dict[str, Any]]:
    """Every item of `keys` that exists. `reader` is the DynamoDB service resource or a table's `meta.client`: both
    (de)serialise Python values. Raises TransientAwsError when DynamoDB keeps keys unprocessed (throttling)."""
    items: list[dict[str, Any]] = []
    unique = list({tuple(sorted(key.items())): key for key in keys}.values())  # BatchGetItem refuses duplicates
    for start in range(0, len(unique), BATCH_GET):
        pending: dict[str, Any] = {
            table_name: {"Keys": unique[start : start + BATCH_GET], "ConsistentRead": consistent}
        }
        for attempt in range(UNPROCESSED_ATTEMPTS):
            with translated("dynamodb:BatchGetItem"):
                response = reader.batch_get_item(RequestItems=pending)
            items += response.get("Responses", {}).get(table_name, [])
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                break
            time.sleep(min(2.0, 0.05 * 2**attempt))  # DynamoDB asks for a backoff before a retry
        else:
            raise TransientAwsError(f"BatchGetItem left keys unprocessed after {UNPROCESSED_ATTEMPTS} attempts")
    return items


def pages(table: Any, operation: Literal["query", "scan"], **kwargs: Any) -> Iterable[dict[str, Any]]:
    """Every page of a Query or Scan of `table` (a boto3 Table), one call a page as botocore's paginator makes
    them (dynamodb paginators-1.json: ExclusiveStartKey from LastEvaluatedKey, until none comes back). It runs on
    the Table's own client, which carries boto3's DynamoDB transformations: conditions are written with
    boto3.dynamodb.conditions and items come back as Python values, as from `table.query`."""
    paginator = table.meta.client.get_paginator(operation)
    action = "dynamodb:Query" if operation == "query" else "dynamodb:Scan"
    return translated_pages(paginator.paginate(TableName=table.name, **kwargs), action)
