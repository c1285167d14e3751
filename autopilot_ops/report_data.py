"""The fleet report's facts: they live in autopilot.reporting.data (the weekly ReportFunction uses them too)."""

from __future__ import annotations

from autopilot.reporting.data import (
    DRAWN_STATES,
    LEAD_BINS_MINUTES,
    OUTCOMES,
    SAMPLES,
    STATE_AFTER,
    IncidentDay,
    ReportData,
    StatePoint,
    UnusedRow,
    UsageBar,
    build,
    desk_timeline,
    state_at,
)

__all__ = [
    "DRAWN_STATES",
    "LEAD_BINS_MINUTES",
    "OUTCOMES",
    "SAMPLES",
    "STATE_AFTER",
    "IncidentDay",
    "ReportData",
    "StatePoint",
    "UnusedRow",
    "UsageBar",
    "build",
    "desk_timeline",
    "state_at",
]
