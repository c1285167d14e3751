"""The fleet report's HTML page: it lives in autopilot.reporting.page (the weekly ReportFunction renders it too)."""

from __future__ import annotations

from autopilot.reporting.page import (
    ABOVE_COLOUR,
    BELOW_COLOUR,
    CSS,
    LEAD_COLOUR,
    MAX_BARS,
    OUTCOME_COLOURS,
    OUTCOME_LABELS,
    STATE_COLOURS,
    UNUSED_COLOUR,
    WIDTH,
    columns,
    horizontal_bars,
    render,
    stacked_columns,
)

__all__ = [
    "ABOVE_COLOUR",
    "BELOW_COLOUR",
    "CSS",
    "LEAD_COLOUR",
    "MAX_BARS",
    "OUTCOME_COLOURS",
    "OUTCOME_LABELS",
    "STATE_COLOURS",
    "UNUSED_COLOUR",
    "WIDTH",
    "columns",
    "horizontal_bars",
    "render",
    "stacked_columns",
]
