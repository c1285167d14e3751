"""Reading the state table as a whole: one paginated Scan, items sorted by kind (their pk prefix).

It lives in the automation (autopilot.adapters.state_snapshot, adapters.report_store.scan_state) because the weekly
ReportFunction reads the same snapshot; the CLI keeps these names.
"""

from __future__ import annotations

from autopilot.adapters.report_store import scan_state as scan
from autopilot.adapters.state_snapshot import (
    ALL_KINDS,
    DESK,
    FEED,
    INCIDENT,
    OBSERVATION,
    OPTIMIZER_REPORT,
    HistoryEntry,
    Snapshot,
)

__all__ = [
    "ALL_KINDS",
    "DESK",
    "FEED",
    "INCIDENT",
    "OBSERVATION",
    "OPTIMIZER_REPORT",
    "HistoryEntry",
    "Snapshot",
    "scan",
]
