"""The local cloud's billing meter, and the per-desk CloudWatch metrics WorkSpaces publishes.

The meter follows every desk of the emulator: its creation, running mode, compute type, the intervals it ran
(from the emulator's state transitions, at their exact times) and the intervals a user was connected. From that:

- `bill(month)`: what AWS bills per desk for the UTC month, by localcloud/billing.py's rules;
- `write_cur(path, month)`: the month as a cost-and-usage export (CUR 2.0 columns);
- AWS/WorkSpaces metrics per desk (dimension WorkspaceId), as WorkSpaces publishes them: `UserConnected`
  (1 per minute-period with a user connected, 0 otherwise, while the desk runs) and `Stopped` (1 per
  minute-period stopped). The minute-periods of each UTC hour are sent pre-aggregated as one statistic set
  (SampleCount = minutes, Sum = minutes with the value 1, Minimum, Maximum) once the hour is over: queries with a
  period of an hour or more (what the functions use) read the same Maximum, Minimum, Sum and SampleCount as from
  per-minute data; shorter periods do not. Hours in which the desk never ran are not sent (a query reads no
  data, which the functions treat as stopped and not connected). Kept this coarse so that a month of a fleet
  stays fast in moto.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from autopilot.domain.kernel.running_mode_policy import Price
from localcloud import billing

MINUTE = dt.timedelta(minutes=1)
MAX_DATA_PER_CALL = 1000  # PutMetricData: at most 1000 MetricData items a request
NAMESPACE = "AWS/WorkSpaces"


class _World(Protocol):
    @property
    def emulator(self) -> Any: ...

    def now(self) -> dt.datetime: ...


@dataclass
class _Live:
    timeline: billing.DeskTimeline
    connected: list[tuple[dt.datetime, dt.datetime | None]] = field(default_factory=list)
    mode: str = ""
    compute: str = ""
    is_running: bool = False
    is_connected: bool = False


def _epoch(value: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(value, tz=dt.UTC)


class Meter:
    def __init__(self, world: _World, prices: dict[str, Price], sink: Callable[[list[dict[str, Any]]], None]) -> None:
        """`sink` takes AWS/WorkSpaces datapoints (CloudWatch gets them from WorkSpaces, not through the API)."""
        self.world = world
        self.prices = prices
        self.sink = sink
        self.desks: dict[str, _Live] = {}
        self._cursor = 0
        self._published_until = billing.floor_hour(world.now())
        self.published = 0  # datapoints sent (the tests read it)

    # ------------------------------------------------------------------ following the emulator
    def observe(self, *, everything: bool = False, workspace_ids: Iterable[str] = ()) -> None:
        """Take in what changed since the last call: state transitions (at their own times), and the running mode,
        compute and connection of the desks they touched, of `workspace_ids`, or of every desk."""
        fleet = self.world.emulator.fleet
        now = self.world.now()
        touched = set(workspace_ids)
        transitions = fleet.transitions
        for transition in transitions[self._cursor :]:
            live = self._live(fleet.desks.get(transition.workspace_id), transition.workspace_id, transition.at)
            if live is not None:
                self._set_running(live, transition.to_state, transition.at)
            touched.add(transition.workspace_id)
        self._cursor = len(transitions)
        ids = list(fleet.desks) if everything else sorted(touched)
        for workspace_id in ids:
            desk = fleet.desks.get(workspace_id)
            live = self._live(desk, workspace_id, now)
            if live is None or desk is None:
                continue
            if desk.running_mode != live.mode:
                live.timeline.modes.append((now, desk.running_mode))
                live.mode = desk.running_mode
            if desk.compute != live.compute:
                live.timeline.computes.append((now, desk.compute))
                live.compute = desk.compute
            self._set_running(live, desk.state, now)
            if bool(desk.connected) != live.is_connected:
                if desk.connected:
                    live.connected.append((now, None))
                else:
                    live.connected[-1] = (live.connected[-1][0], now)
                live.is_connected = bool(desk.connected)
        self._publish(now)

    def _live(self, desk: Any, workspace_id: str, at: dt.datetime) -> _Live | None:
        live = self.desks.get(workspace_id)
        if live is not None or desk is None:
            return live
        created = min(_epoch(desk.launched_at), at) if desk.launched_at else at
        timeline = billing.DeskTimeline(
            workspace_id, created, modes=[(created, desk.running_mode)], computes=[(created, desk.compute)]
        )
        live = _Live(timeline, mode=desk.running_mode, compute=desk.compute)
        self.desks[workspace_id] = live
        self._set_running(live, desk.state, at)
        return live

    @staticmethod
    def _set_running(live: _Live, state: str, at: dt.datetime) -> None:
        running = state not in billing.NOT_RUNNING
        if state == "TERMINATED" and live.timeline.terminated_at is None:
            live.timeline.terminated_at = at
        if running == live.is_running:
            return
        intervals = live.timeline.running
        if running:
            intervals.append((at, None))
        else:
            intervals[-1] = (intervals[-1][0], at)
        live.is_running = running

    # ------------------------------------------------------------------ the bill
    def bill(self, month: str, *, until: dt.datetime | None = None) -> dict[str, billing.DeskBill]:
        self.observe(everything=True)
        moment = min(until or self.world.now(), billing.month_end(month))
        return {
            ws: billing.bill_month(live.timeline, month, self.prices, until=moment)
            for ws, live in sorted(self.desks.items())
        }

    def write_cur(self, path: Path, month: str) -> Path:
        return billing.write_cur(path, self.bill(month).values())

    # ------------------------------------------------------------------ AWS/WorkSpaces metrics
    def _publish(self, now: dt.datetime) -> None:
        """Statistic sets for every hour that ended since the last call (see the module's docstring)."""
        end = billing.floor_hour(now)
        if end <= self._published_until:
            return
        start, self._published_until = self._published_until, end
        data: list[dict[str, Any]] = []
        for workspace_id, live in self.desks.items():
            running = _minutes_by_hour(live.timeline.running, start, end)
            if not running:
                continue
            connected = _minutes_by_hour(live.connected, start, end)
            dimensions = [{"Name": "WorkspaceId", "Value": workspace_id}]
            for hour, minutes in sorted(running.items()):
                on = min(connected.get(hour, 0), minutes)
                data.append(_stat("UserConnected", dimensions, hour, samples=minutes, ones=on))
                data.append(_stat("Stopped", dimensions, hour, samples=60, ones=60 - minutes))
        for offset in range(0, len(data), MAX_DATA_PER_CALL):
            self.sink(data[offset : offset + MAX_DATA_PER_CALL])
        self.published += len(data)


def _stat(name: str, dimensions: list[dict[str, str]], hour: dt.datetime, *, samples: int, ones: int) -> dict[str, Any]:
    return {
        "MetricName": name,
        "Dimensions": dimensions,
        "Timestamp": hour.replace(tzinfo=None),  # moto keeps naive UTC timestamps
        "StatisticValues": {
            "SampleCount": float(samples),
            "Sum": float(ones),
            "Minimum": 1.0 if ones == samples else 0.0,
            "Maximum": 1.0 if ones > 0 else 0.0,
        },
        "Unit": "Count",
    }


def _minutes_by_hour(
    intervals: list[tuple[dt.datetime, dt.datetime | None]], start: dt.datetime, end: dt.datetime
) -> dict[dt.datetime, int]:
    """Minute-periods touched by the intervals in [start, end), per UTC hour."""
    minutes: dict[dt.datetime, int] = {}
    for first, last in reversed(intervals):
        if last is not None and last <= start:
            break
        lo, hi = max(first, start), min(last or end, end)
        hour = billing.floor_hour(lo)
        while hour < hi:
            a, b = max(lo, hour), min(hi, hour + billing.HOUR)
            if b > a:
                touched = math.ceil((b - hour) / MINUTE) - math.floor((a - hour) / MINUTE)
                minutes[hour] = min(60, minutes.get(hour, 0) + touched)
            hour += billing.HOUR
    return minutes
