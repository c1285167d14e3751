"""The one place the project reads the time. The local cloud moves the whole process's clock (time-machine),
so functions, the WorkSpaces emulator, timers and schedules all share one virtual time."""

from __future__ import annotations

import datetime as dt


def now() -> dt.datetime:
    """The current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)
