"""The record kept of one roster file (pk `FEED#<feed_id>`) and its status. Shared by the feed hold and its
store port (hr/ports.py), so neither imports the other."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class FeedStatus(StrEnum):
    PROCESSING = "PROCESSING"
    ACCEPTED = "ACCEPTED"
    HELD = "HELD"
    RELEASED = "RELEASED"
    DISCARDED = "DISCARDED"
    REJECTED = "REJECTED"


class FeedRecord(BaseModel):
    """One roster file (pk `FEED#<feed_id>`): where it is, what it would do, what was decided. Counts only."""

    model_config = ConfigDict(extra="forbid")

    feed_id: str
    status: FeedStatus
    bucket: str
    key: str
    version_id: str | None = None
    hires: int = 0
    departures: int = 0
    transfers: int = 0
    rejected_lines: list[int] = Field(default_factory=list)
    reason: str | None = None  # why the file was REJECTED or HELD (counts, columns, the fix; no row content)
    received_at: dt.datetime
    decided_at: dt.datetime | None = None
    version: int = 0
