"""AutoStop per profile and per desk.

The profile's `autostop_hours` is applied when a desk is created and when it is transferred (by provisioning
and lifecycle); the desk record keeps the hours it got. An operator can override them for one desk with the tag
`AutopilotAutoStopHours` (whole hours, 1 to 48). fleet_watch applies the tag when the desk's timeout differs,
and puts the profile's hours back when the tag is removed.

Only AUTO_STOP desks are touched (ALWAYS_ON desks have no timeout), and only in AVAILABLE or STOPPED, the
states in which WorkSpaces accepts ModifyWorkspaceProperties. A desk in another state is picked up by a
later sweep.
"""

from __future__ import annotations

from dataclasses import dataclass

TAG = "AutopilotAutoStopHours"
MIN_HOURS = 1
MAX_HOURS = 48
MODIFIABLE_STATES = frozenset({"AVAILABLE", "STOPPED"})
# Bounds the ModifyWorkspaceProperties calls (one desk each) of one sweep; the rest follow in the next sweeps.
MAX_CHANGES_PER_SWEEP = 100


def parse_hours(value: str | None) -> int | None:
    """The hours a tag asks for, or None when the tag is absent or not a whole number in range."""
    if value is None:
        return None
    text = value.strip()
    if not text.isdigit():
        return None
    hours = int(text)
    return hours if MIN_HOURS <= hours <= MAX_HOURS else None


@dataclass(frozen=True)
class AutoStopView:
    """What one sweep knows about a managed desk, for the AutoStop decision."""

    workspace_id: str
    state: str
    running_mode: str
    autostop_minutes: int | None
    tag_value: str | None  # the raw tag, None when the desk has none
    previous_tag_hours: int | None  # the tag hours the last sweep saw (to notice a removed tag)
    recorded_hours: int | None  # the desk record's hours (the profile's, as applied at creation/transfer)


@dataclass(frozen=True)
class AutoStopChange:
    workspace_id: str
    from_minutes: int | None
    to_minutes: int
    reason: str  # "tag" | "tag_removed"


def desired_hours(view: AutoStopView) -> tuple[int | None, str]:
    """The hours the desk should have and why; None means: leave the timeout alone."""
    tag_hours = parse_hours(view.tag_value)
    if tag_hours is not None:
        return tag_hours, "tag"
    if view.tag_value is None and view.previous_tag_hours is not None:
        return view.recorded_hours, "tag_removed"
    return None, ""


def decide(view: AutoStopView) -> AutoStopChange | None:
    """The ModifyWorkspaceProperties a desk needs, if any."""
    if view.running_mode != "AUTO_STOP" or view.state not in MODIFIABLE_STATES:
        return None
    hours, reason = desired_hours(view)
    if hours is None or view.autostop_minutes == hours * 60:
        return None
    return AutoStopChange(view.workspace_id, view.autostop_minutes, hours * 60, reason)


def plan(views: list[AutoStopView], limit: int = MAX_CHANGES_PER_SWEEP) -> tuple[list[AutoStopChange], int]:
    """Changes for this sweep (at most `limit`) and how many were deferred to the next sweeps."""
    changes = [change for view in views if (change := decide(view)) is not None]
    return changes[:limit], max(0, len(changes) - limit)
