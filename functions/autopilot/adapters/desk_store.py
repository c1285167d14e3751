"""Desk records in the state table (single-table design, see docs/architecture.md).

Keys: desk `pk=DESK#<employee_id>, sk=DESK`; its history `pk=DESK#<employee_id>, sk=HIST#<time>#<n>`; a departure
that arrived before any desk `pk=DESK#<employee_id>, sk=DEPARTED` (read with the desk in one Query).
Indexes: ByWorkspace (workspace_id), ByLifecycle (lifecycle, employee_id), ByShift (shift_bucket, employee_id).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator, Sequence
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from autopilot.adapters.aws import translate, translated
from autopilot.adapters.dynamodb import batch_get, pages
from autopilot.domain.kernel.desks import Departure, Desk, Lifecycle
from autopilot.domain.kernel.errors import StaleUpdate
from autopilot.domain.kernel.outbox import AuditEntry

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


def _history_item(entry: AuditEntry) -> dict[str, Any]:
    return {
        "pk": f"DESK#{entry.employee_id}",
        "sk": f"HIST#{entry.at.isoformat()}#{next(_sequence):06d}",
        "kind": entry.kind,
        "at": entry.at.isoformat(),
        "detail": json.dumps(entry.detail, default=str, sort_keys=True),
        "expires_at": int((entry.at + HISTORY_TTL).timestamp()),
    }


def desk_from_item(item: dict[str, Any]) -> Desk:
    fields = {k: v for k, v in item.items() if k not in ("pk", "sk", "shift_bucket")}
    fields["version"] = int(fields.get("version", 0))
    for name in ("attempts", "autostop_hours", "root_volume_gb", "user_volume_gb"):
        if name in fields:
            fields[name] = int(fields[name])
    return Desk.model_validate(fields)


_from_item = desk_from_item  # the store's own name for its item codec; reporting reads the public one


class DeskStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, employee_id: str) -> Desk | None:
        with translated("dynamodb:GetItem"):
            item = self._table.get_item(Key=desk_key(employee_id), ConsistentRead=True).get("Item")
        return _from_item(item) if item else None

    def get_with_departure(self, employee_id: str) -> tuple[Desk | None, Departure | None]:
        """The desk and its DEPARTED item in ONE consistent Query ("DEPARTED" < "DESK" < "HIST#...")."""
        with translated("dynamodb:Query"):
            items = self._table.query(
                KeyConditionExpression=Key("pk").eq(f"DESK#{employee_id}") & Key("sk").between("DEPARTED", "DESK"),
                ConsistentRead=True,
            )["Items"]
        by_sk = {item["sk"]: item for item in items}
        desk = _from_item(by_sk["DESK"]) if "DESK" in by_sk else None
        departed = by_sk.get("DEPARTED")
        departure = (
            Departure(
                employee_id=employee_id,
                last_day=dt.date.fromisoformat(str(departed["last_day"])),
                event_time=dt.datetime.fromisoformat(str(departed["hr_event_time"])),
            )
            if departed
            else None
        )
        return desk, departure

    def record_departure(self, departure: Departure) -> None:
        """Record a departure of someone without a desk, keeping the newest (its TTL is the history's). Event times
        are written as fixed-width UTC ISO strings, so the condition's string comparison is a time comparison."""
        event_time = departure.event_time.astimezone(dt.UTC).isoformat(timespec="microseconds")
        try:
            self._table.put_item(
                Item={
                    "pk": f"DESK#{departure.employee_id}",
                    "sk": "DEPARTED",
                    "last_day": departure.last_day.isoformat(),
                    "hr_event_time": event_time,
                    "expires_at": int((departure.event_time + HISTORY_TTL).timestamp()),
                },
                ConditionExpression=Attr("pk").not_exists() | Attr("hr_event_time").lt(event_time),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise translate(exc, "dynamodb:PutItem") from exc
            # An equal or newer departure is already recorded: it stands.

    def by_workspace(self, workspace_id: str) -> Desk | None:
        with translated("dynamodb:Query"):
            items = self._table.query(
                IndexName="ByWorkspace", KeyConditionExpression=Key("workspace_id").eq(workspace_id)
            )["Items"]
        desks = [_from_item(item) for item in items if item.get("sk") == "DESK"]
        return desks[0] if desks else None

    def by_lifecycle(self, lifecycle: Lifecycle) -> Iterator[Desk]:
        yield from self._query_index("ByLifecycle", Key("lifecycle").eq(lifecycle.value))

    def shift_desks(self) -> Iterator[Desk]:
        yield from self._query_index("ByShift", Key("shift_bucket").eq("SHIFT"))

    def all_desks(self) -> Iterator[Desk]:
        for page in pages(self._table, "scan", FilterExpression=Attr("sk").eq("DESK")):
            yield from (_from_item(item) for item in page["Items"])

    def _query_index(self, index: str, condition: Any) -> Iterator[Desk]:
        for page in pages(self._table, "query", IndexName=index, KeyConditionExpression=condition):
            yield from (_from_item(item) for item in page["Items"] if item.get("sk") == "DESK")

    def create(self, desk: Desk) -> Desk:
        """Write a new desk; StaleUpdate if the employee already has one."""
        stored = desk.model_copy(update={"version": 1})
        try:
            self._table.put_item(Item=_to_item(stored), ConditionExpression=Attr("pk").not_exists())
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise StaleUpdate(f"desk {desk.employee_id} already exists") from exc
            raise translate(exc, "dynamodb:PutItem") from exc
        return stored

    def delete(self, desk: Desk) -> None:
        """Remove the desk record if nobody changed it since it was read (its history stays, under its TTL)."""
        try:
            self._table.delete_item(
                Key=desk_key(desk.employee_id), ConditionExpression=Attr("version").eq(desk.version)
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise StaleUpdate(f"desk {desk.employee_id} changed since version {desk.version}") from exc
            raise translate(exc, "dynamodb:DeleteItem") from exc

    def save(self, desk: Desk) -> Desk:
        """Replace the desk if nobody changed it since it was read (optimistic lock on `version`)."""
        stored = desk.model_copy(update={"version": desk.version + 1})
        try:
            self._table.put_item(Item=_to_item(stored), ConditionExpression=Attr("version").eq(desk.version))
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise StaleUpdate(f"desk {desk.employee_id} changed since version {desk.version}") from exc
            raise translate(exc, "dynamodb:PutItem") from exc
        return stored

    def get_many(self, employee_ids: Sequence[str]) -> dict[str, Desk]:
        """The desks that exist among `employee_ids`: BatchGetItem, 100 keys a request, consistent reads."""
        keys = [desk_key(employee_id) for employee_id in employee_ids]
        desks = (
            _from_item(item) for item in batch_get(self._table.meta.client, self._table.name, keys, consistent=True)
        )
        return {desk.employee_id: desk for desk in desks}

    def record_event(self, employee_id: str, *, at: dt.datetime, kind: str, detail: dict[str, Any]) -> None:
        """Append to the desk's audit trail (ids and decisions only)."""
        with translated("dynamodb:PutItem"):
            self._table.put_item(Item=_history_item(AuditEntry(employee_id, at, kind, detail)))

    def record_events(self, entries: Sequence[AuditEntry]) -> None:
        """Append several audit entries: BatchWriteItem, 25 a request (the batch writer resends unprocessed ones)."""
        if not entries:
            return
        with translated("dynamodb:BatchWriteItem"), self._table.batch_writer() as batch:
            for entry in entries:
                batch.put_item(Item=_history_item(entry))

    def history(self, employee_id: str, limit: int = 50) -> list[dict[str, Any]]:
        with translated("dynamodb:Query"):
            items = self._table.query(
                KeyConditionExpression=Key("pk").eq(f"DESK#{employee_id}") & Key("sk").begins_with("HIST#"),
                ScanIndexForward=False,
                Limit=limit,
            )["Items"]
        return [{"at": i["at"], "kind": i["kind"], "detail": json.loads(i["detail"])} for i in items]
