"""Desk records in the state table (single-table design, see docs/architecture.md).

Keys: desk `pk=DESK#<employee_id>, sk=DESK`; its history `pk=DESK#<employee_id>, sk=HIST#<time>#<n>`.
Indexes: ByWorkspace (workspace_id), ByLifecycle (lifecycle, employee_id), ByShift (shift_bucket, employee_id).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from autopilot.domain.desks import Desk, Lifecycle
from autopilot.domain.errors import StaleUpdate

HISTORY_TTL = dt.timedelta(days=400)
_sequence = itertools.count()


def desk_key(employee_id: str) -> dict[str, str]:
    return {"pk": f"DESK#{employee_id}", "sk": "DESK"}


def _to_item(desk: Desk) -> dict[str, Any]:
    item: dict[str, Any] = json.loads(desk.model_dump_json(exclude_none=True))
    item.update(desk_key(desk.employee_id))
    if desk.shift is not None and desk.prewarm and desk.lifecycle not in (Lifecycle.TERMINATED, Lifecycle.CANCELLED):
        item["shift_bucket"] = "SHIFT"  # sparse index: only shift workers' live desks
    return item


def _from_item(item: dict[str, Any]) -> Desk:
    fields = {k: v for k, v in item.items() if k not in ("pk", "sk", "shift_bucket")}
    fields["version"] = int(fields.get("version", 0))
    for name in ("attempts", "autostop_hours", "root_volume_gb", "user_volume_gb"):
        if name in fields:
            fields[name] = int(fields[name])
    return Desk.model_validate(fields)


class DeskStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, employee_id: str) -> Desk | None:
        item = self._table.get_item(Key=desk_key(employee_id), ConsistentRead=True).get("Item")
        return _from_item(item) if item else None

    def by_workspace(self, workspace_id: str) -> Desk | None:
        items = self._table.query(IndexName="ByWorkspace", KeyConditionExpression=Key("workspace_id").eq(workspace_id))[
            "Items"
        ]
        desks = [_from_item(item) for item in items if item.get("sk") == "DESK"]
        return desks[0] if desks else None

    def by_lifecycle(self, lifecycle: Lifecycle) -> Iterator[Desk]:
        yield from self._query_index("ByLifecycle", Key("lifecycle").eq(lifecycle.value))

    def shift_desks(self) -> Iterator[Desk]:
        yield from self._query_index("ByShift", Key("shift_bucket").eq("SHIFT"))

    def all_desks(self) -> Iterator[Desk]:
        kwargs: dict[str, Any] = {"FilterExpression": Attr("sk").eq("DESK")}
        while True:
            page = self._table.scan(**kwargs)
            yield from (_from_item(item) for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _query_index(self, index: str, condition: Any) -> Iterator[Desk]:
        kwargs: dict[str, Any] = {"IndexName": index, "KeyConditionExpression": condition}
        while True:
            page = self._table.query(**kwargs)
            yield from (_from_item(item) for item in page["Items"] if item.get("sk") == "DESK")
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def create(self, desk: Desk) -> Desk:
        """Write a new desk; StaleUpdate if the employee already has one."""
        stored = desk.model_copy(update={"version": 1})
        try:
            self._table.put_item(Item=_to_item(stored), ConditionExpression=Attr("pk").not_exists())
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise StaleUpdate(f"desk {desk.employee_id} already exists") from exc
            raise
        return stored

    def save(self, desk: Desk) -> Desk:
        """Replace the desk if nobody changed it since it was read (optimistic lock on `version`)."""
        stored = desk.model_copy(update={"version": desk.version + 1})
        try:
            self._table.put_item(Item=_to_item(stored), ConditionExpression=Attr("version").eq(desk.version))
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise StaleUpdate(f"desk {desk.employee_id} changed since version {desk.version}") from exc
            raise
        return stored

    def record_event(self, employee_id: str, *, at: dt.datetime, kind: str, detail: dict[str, Any]) -> None:
        """Append to the desk's audit trail (ids and decisions only)."""
        self._table.put_item(
            Item={
                "pk": f"DESK#{employee_id}",
                "sk": f"HIST#{at.isoformat()}#{next(_sequence):06d}",
                "kind": kind,
                "at": at.isoformat(),
                "detail": json.dumps(detail, default=str, sort_keys=True),
                "expires_at": int((at + HISTORY_TTL).timestamp()),
            }
        )

    def history(self, employee_id: str, limit: int = 50) -> list[dict[str, Any]]:
        items = self._table.query(
            KeyConditionExpression=Key("pk").eq(f"DESK#{employee_id}") & Key("sk").begins_with("HIST#"),
            ScanIndexForward=False,
            Limit=limit,
        )["Items"]
        return [{"at": i["at"], "kind": i["kind"], "detail": json.loads(i["detail"])} for i in items]
