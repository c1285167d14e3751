"""Reading the state table as a whole: one paginated Scan, items sorted by kind (their pk prefix).

The item shapes belong to the automation's adapters; their parsers are reused here. (Asked of the lead:
public names for desk_store._from_item, incident_store._incident_from, feed_store._from_item and
usage_store._fields, so this module stops importing private helpers.)
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from boto3.dynamodb.conditions import Attr

from autopilot.adapters.desk_store import _from_item as desk_from_item
from autopilot.adapters.feed_store import _from_item as feed_from_item
from autopilot.adapters.incident_store import _incident_from as incident_from_item
from autopilot.adapters.observation_store import observation_from_item
from autopilot.adapters.usage_store import _fields as usage_fields
from autopilot.domain.desks import Desk
from autopilot.domain.feed_hold import FeedRecord
from autopilot.domain.fleet_watch import Observation
from autopilot.domain.incidents import Incident
from autopilot.domain.running_modes import ReportRow

DESK = "DESK#"
INCIDENT = "INC#"
FEED = "FEED#"
OBSERVATION = "OBS#"
OPTIMIZER_REPORT = "OPTIMIZER#"
ALL_KINDS = (DESK, INCIDENT, FEED, OBSERVATION, OPTIMIZER_REPORT)


@dataclass(frozen=True)
class HistoryEntry:
    at: dt.datetime
    kind: str
    detail: dict[str, Any]


@dataclass
class Snapshot:
    desks: list[Desk] = field(default_factory=list)
    history: dict[str, list[HistoryEntry]] = field(default_factory=dict)  # employee id -> oldest first
    incidents: list[Incident] = field(default_factory=list)
    feeds: list[FeedRecord] = field(default_factory=list)
    observations: dict[str, Observation] = field(default_factory=dict)  # workspace id -> last sweep's view
    report_rows: list[ReportRow] = field(default_factory=list)
    items: int = 0


def scan(table: Any, kinds: Sequence[str] = ALL_KINDS, progress: Callable[[str], None] | None = None) -> Snapshot:
    """Every item of the given kinds (pk prefixes), in one paginated Scan filtered server-side."""
    conditions: list[Any] = [Attr("pk").begins_with(kind) for kind in kinds]
    condition = reduce(lambda a, b: a | b, conditions)
    kwargs: dict[str, Any] = {"FilterExpression": condition}
    snapshot = Snapshot()
    pages = 0
    while True:
        page = table.scan(**kwargs)
        pages += 1
        for item in page["Items"]:
            _sort(item, snapshot)
        if progress is not None and pages % 10 == 0:
            progress(f"reading the state table: {snapshot.items} items so far")
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    for entries in snapshot.history.values():
        entries.sort(key=lambda entry: entry.at)
    return snapshot


def _sort(item: dict[str, Any], snapshot: Snapshot) -> None:
    pk, sk = str(item.get("pk", "")), str(item.get("sk", ""))
    if pk.startswith(DESK) and sk == "DESK":
        snapshot.desks.append(desk_from_item(item))
    elif pk.startswith(DESK) and sk.startswith("HIST#"):
        entry = HistoryEntry(
            at=dt.datetime.fromisoformat(str(item["at"])),
            kind=str(item["kind"]),
            detail=json.loads(str(item.get("detail") or "{}")),
        )
        snapshot.history.setdefault(pk.removeprefix(DESK), []).append(entry)
    elif pk.startswith(INCIDENT) and sk == "INC":
        snapshot.incidents.append(incident_from_item(item))
    elif pk.startswith(FEED) and sk == "FEED":
        snapshot.feeds.append(feed_from_item(item))
    elif pk.startswith(OBSERVATION) and sk == "OBS":
        observation = observation_from_item(item)
        snapshot.observations[observation.workspace_id] = observation
    elif pk.startswith(OPTIMIZER_REPORT):
        snapshot.report_rows.append(ReportRow.model_validate(usage_fields(item)))
    else:
        return
    snapshot.items += 1
