"""Desks nobody uses: the weekly summary.

The last login of a desk is the later of two sources: `Desk.last_login`, written by the sessions function on
each WorkSpaces Access event, and the LastKnownUserConnectionTimestamp that fleet_watch keeps in the desk's
observation (WorkSpaces Access is best-effort and old clients do not send it). A READY desk whose last login is
`policy.usage.unused_days` or more ago (or that never had one and has been ready that long) is unused. The
weekly `report` publishes one `Unused Desks Found` event listing them, longest idle first, at most
`MAX_LISTED` (an EventBridge entry holds 256 KB), and nothing when there are none; nothing is stopped or
terminated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from autopilot.contracts.outputs import UnusedDesk, UnusedDesksFound
from autopilot.domain.fleet.ports import AllDesks, LastConnections, UnusedDeskEvents
from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.domain.kernel.policy import Policy

MAX_LISTED = 1000


@dataclass(frozen=True)
class UnusedPorts:
    desks: AllDesks
    observations: LastConnections
    bus: UnusedDeskEvents


@dataclass(frozen=True)
class UnusedReport:
    ready_desks: int
    unused: list[str]
    listed: int


def last_login(desk: Desk, observed: dt.datetime | None) -> dt.datetime | None:
    candidates = [t for t in (desk.last_login, observed) if t is not None]
    return max(candidates) if candidates else None


def find_unused(
    desks: Iterable[Desk], observed: Mapping[str, dt.datetime | None], *, unused_days: int, now: dt.datetime
) -> list[UnusedDesk]:
    """READY desks without a login for `unused_days`, longest idle first."""
    threshold = dt.timedelta(days=unused_days)
    found: list[tuple[dt.timedelta, UnusedDesk]] = []
    for desk in desks:
        if desk.lifecycle != Lifecycle.READY or not desk.workspace_id:
            continue
        login = last_login(desk, observed.get(desk.workspace_id))
        since = login or desk.ready_at or desk.created_at
        idle = now - since
        if idle < threshold:
            continue
        found.append(
            (
                idle,
                UnusedDesk(
                    workspace_id=desk.workspace_id, employee_id=desk.employee_id, last_login=login, idle_days=idle.days
                ),
            )
        )
    found.sort(key=lambda pair: (-pair[0], pair[1].workspace_id))
    return [desk for _, desk in found]


def weekly_report(policy: Policy, ports: UnusedPorts, now: dt.datetime) -> UnusedReport:
    desks = [d for d in ports.desks.all_desks() if d.lifecycle == Lifecycle.READY and d.workspace_id]
    observed = ports.observations.last_connections([d.workspace_id for d in desks if d.workspace_id])
    unused = find_unused(desks, observed, unused_days=policy.usage.unused_days, now=now)
    listed = unused[:MAX_LISTED]
    if listed:  # a week without unused desks is not worth an alert
        ports.bus.publish([UnusedDesksFound(unused_days=policy.usage.unused_days, desks=listed)])
    return UnusedReport(ready_desks=len(desks), unused=[d.workspace_id for d in unused], listed=len(listed))
