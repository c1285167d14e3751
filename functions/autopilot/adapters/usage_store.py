"""Month-to-date usage per desk and the monthly running-mode report, in the state table.

Keys (see docs/optimizer.md):
- usage: `pk=USAGE#<workspace_id>`, `sk=<yyyy-mm>` (UTC month): the month's connected hours (a hex bitmap of its
  hours), the running mode last seen, switches, and the month's latest decision. Conditional writes on `version`.
- report: `pk=OPTIMIZER#<yyyy-mm>`, `sk=<workspace_id>`: one row per desk, read back with one query per month.

Attribute names stay clear of the table's index keys (`workspace_id`, `employee_id`, `lifecycle`, ...), so these
items never land in the desk indexes. Both expire 400 days after they were written.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from autopilot import clock
from autopilot.adapters.aws import RETRY_CONFIG, cached, translate, translated
from autopilot.adapters.dynamodb import batch_get, pages
from autopilot.domain.cost.ports import ReportRow, UsageRecord
from autopilot.domain.kernel.errors import StaleUpdate

TTL = dt.timedelta(days=400)
_RENAMES = {"workspace_id": "ws", "employee_id": "employee"}


def usage_key(workspace_id: str, month: str) -> dict[str, str]:
    return {"pk": f"USAGE#{workspace_id}", "sk": month}


def report_key(month: str, workspace_id: str) -> dict[str, str]:
    return {"pk": f"OPTIMIZER#{month}", "sk": workspace_id}


def _item(model: UsageRecord | ReportRow, key: dict[str, str], now: dt.datetime) -> dict[str, Any]:
    fields: dict[str, Any] = json.loads(model.model_dump_json(exclude_none=True), parse_float=Decimal)
    item = {_RENAMES.get(name, name): value for name, value in fields.items()}
    item.update(key)
    item["expires_at"] = int((now + TTL).timestamp())
    return item


def usage_fields(item: dict[str, Any]) -> dict[str, Any]:
    inverse = {stored: name for name, stored in _RENAMES.items()}
    fields = {inverse.get(name, name): value for name, value in item.items() if name not in ("pk", "sk", "expires_at")}
    for name, value in fields.items():
        if isinstance(value, Decimal):
            fields[name] = int(value) if value == value.to_integral_value() else float(value)
    return fields


_fields = usage_fields  # the store's own name for its item codec; reporting reads the public one


class UsageStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    # --- usage records -------------------------------------------------------------------------------
    def load(self, workspace_ids: Sequence[str], months: Sequence[str]) -> dict[tuple[str, str], UsageRecord]:
        """The usage records that exist for these desks and months (BatchGetItem, 100 keys a call)."""
        keys = [usage_key(ws, month) for ws in dict.fromkeys(workspace_ids) for month in dict.fromkeys(months)]
        found: dict[tuple[str, str], UsageRecord] = {}
        for item in batch_get(self._table.meta.client, self._table.name, keys, consistent=True):
            record = UsageRecord.model_validate(_fields(item))
            found[(record.workspace_id, record.month)] = record
        return found

    def get(self, workspace_id: str, month: str) -> UsageRecord | None:
        with translated("dynamodb:GetItem"):
            item = self._table.get_item(Key=usage_key(workspace_id, month), ConsistentRead=True).get("Item")
        return UsageRecord.model_validate(_fields(item)) if item else None

    def save(self, record: UsageRecord) -> UsageRecord:
        """Write the record if nobody changed it since it was read (optimistic lock on `version`)."""
        stored = record.model_copy(update={"version": record.version + 1})
        condition = Attr("pk").not_exists() if record.version == 0 else Attr("version").eq(record.version)
        item = _item(stored, usage_key(record.workspace_id, record.month), clock.now())
        try:
            self._table.put_item(Item=item, ConditionExpression=condition)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise StaleUpdate(
                    f"usage of {record.workspace_id} for {record.month} changed since version {record.version}"
                ) from exc
            raise translate(exc, "dynamodb:PutItem") from exc
        return stored

    # --- report rows ---------------------------------------------------------------------------------
    def put_report_row(self, row: ReportRow) -> None:
        # A row is derived from its usage record (written first, conditionally): rewriting it is idempotent.
        with translated("dynamodb:PutItem"):
            self._table.put_item(Item=_item(row, report_key(row.month, row.workspace_id), clock.now()))

    def report_rows(self, month: str) -> list[ReportRow]:
        rows: list[ReportRow] = []
        for page in pages(self._table, "query", KeyConditionExpression=Key("pk").eq(f"OPTIMIZER#{month}")):
            rows += [ReportRow.model_validate(_fields(item)) for item in page["Items"]]
        return rows


@cached
def state_table(name: str) -> Any:
    """The state table through a cached boto3 resource (built lazily, after moto or Lambda's env is ready)."""
    return boto3.session.Session().resource("dynamodb", config=RETRY_CONFIG).Table(name)
