"""The state table's items sorted by kind (their pk prefix) into a Snapshot: what the fleet report and the
operator CLI read. Pure: the paginated Scan itself is adapters.report_store.scan_state.

The item shapes belong to the automation's adapters; their public item codecs (desk_from_item,
incident_from_item, feed_from_item, usage_fields, observation_from_item) are reused here.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from autopilot.adapters.desk_store import desk_from_item
from autopilot.adapters.feed_store import feed_from_item
from autopilot.adapters.incident_store import incident_from_item
from autopilot.adapters.observation_store import observation_from_item
from autopilot.adapters.usage_store import usage_fields
from autopilot.domain.cost.ports import ReportRow
from autopilot.domain.fleet.ports import Observation
from autopilot.domain.hr.feed_record import FeedRecord
from autopilot.domain.incidents.incidents import Incident
from autopilot.domain.kernel.desks import Desk

DESK = "DESK#"
INCIDENT = "INC#"
FEED = "FEED#"
OBSERVATION = "OBS#"
OPTIMIZER_REPORT = "OPTIMIZER#"
ALL_KINDS = (DESK, INCIDENT, FEED, OBSERVATION, OPTIMIZER_REPORT)
# What the fleet report reads: feeds are the CLI's business.
REPORT_KINDS = (DESK, INCIDENT, OBSERVATION, OPTIMIZER_REPORT)


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

    def add(self, item: dict[str, Any]) -> None:
        """File one raw item (a DynamoDB resource item) under its kind; items of other kinds are ignored."""
        pk, sk = str(item.get("pk", "")), str(item.get("sk", ""))
        if pk.startswith(DESK) and sk == "DESK":
            self.desks.append(desk_from_item(item))
        elif pk.startswith(DESK) and sk.startswith("HIST#"):
            entry = HistoryEntry(
                at=dt.datetime.fromisoformat(str(item["at"])),
                kind=str(item["kind"]),
                detail=json.loads(str(item.get("detail") or "{}")),
            )
            self.history.setdefault(pk.removeprefix(DESK), []).append(entry)
        elif pk.startswith(INCIDENT) and sk == "INC":
            self.incidents.append(incident_from_item(item))
        elif pk.startswith(FEED) and sk == "FEED":
            self.feeds.append(feed_from_item(item))
        elif pk.startswith(OBSERVATION) and sk == "OBS":
            observation = observation_from_item(item)
            self.observations[observation.workspace_id] = observation
        elif pk.startswith(OPTIMIZER_REPORT):
            self.report_rows.append(ReportRow.model_validate(usage_fields(item)))
        else:
            return
        self.items += 1

    def finish(self) -> Snapshot:
        """Put each desk's history in time order (a Scan returns items in no useful order)."""
        for entries in self.history.values():
            entries.sort(key=lambda entry: entry.at)
        return self
