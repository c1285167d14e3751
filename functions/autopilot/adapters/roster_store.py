"""The last accepted roster in the state table (see docs/onboarding.md).

Keys: one item per employee `pk=ROSTER, sk=EMP#<employee_id>` (department, role, site, shift, last day: no
names, no e-mail), and `pk=ROSTER, sk=META` (the last accepted feed and when).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key

from autopilot.adapters.aws import RETRY_CONFIG, cached, translated
from autopilot.adapters.dynamodb import pages
from autopilot.domain.hr.roster import RosterEntry

ROSTER_PK = "ROSTER"
EMPLOYEE_PREFIX = "EMP#"
META_SK = "META"


@cached
def state_table(name: str) -> Any:
    """The state table as a boto3 Table resource (built lazily, standard retries)."""
    return boto3.session.Session().resource("dynamodb", config=RETRY_CONFIG).Table(name)


def _to_item(entry: RosterEntry) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": ROSTER_PK,
        "sk": f"{EMPLOYEE_PREFIX}{entry.employee_id}",
        "department": entry.department,
        "role": entry.role,
        "site": entry.site,
    }
    if entry.shift is not None:
        item["shift"] = entry.shift.model_dump_json()
    if entry.last_day is not None:
        item["last_day"] = entry.last_day.isoformat()
    return item


def _from_item(item: dict[str, Any]) -> RosterEntry:
    return RosterEntry(
        employee_id=str(item["sk"]).removeprefix(EMPLOYEE_PREFIX),
        department=item["department"],
        role=item["role"],
        site=item["site"],
        shift=json.loads(item["shift"]) if "shift" in item else None,
        last_day=item.get("last_day"),
    )


class RosterStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def _items(self) -> Iterator[dict[str, Any]]:
        condition = Key("pk").eq(ROSTER_PK) & Key("sk").begins_with(EMPLOYEE_PREFIX)
        for page in pages(self._table, "query", KeyConditionExpression=condition, ConsistentRead=True):
            yield from page["Items"]

    def load(self) -> dict[str, RosterEntry]:
        entries = (_from_item(item) for item in self._items())
        return {entry.employee_id: entry for entry in entries}

    def apply(self, upserts: Sequence[RosterEntry], deletes: Sequence[str]) -> None:
        """Batched writes (25 per BatchWriteItem, unprocessed items retried by boto3's batch writer)."""
        with translated("dynamodb:BatchWriteItem"), self._table.batch_writer() as batch:
            for entry in upserts:
                batch.put_item(Item=_to_item(entry))
            for employee_id in deletes:
                batch.delete_item(Key={"pk": ROSTER_PK, "sk": f"{EMPLOYEE_PREFIX}{employee_id}"})

    def accepted_at(self) -> dt.datetime | None:
        with translated("dynamodb:GetItem"):
            item = self._table.get_item(Key={"pk": ROSTER_PK, "sk": META_SK}, ConsistentRead=True).get("Item")
        return dt.datetime.fromisoformat(item["accepted_at"]) if item else None

    def mark_accepted(self, feed_id: str, at: dt.datetime) -> None:
        with translated("dynamodb:PutItem"):
            self._table.put_item(
                Item={"pk": ROSTER_PK, "sk": META_SK, "feed_id": feed_id, "accepted_at": at.isoformat()}
            )
