"""The virtual clock: the whole process's time, moved by time-machine (tick=False, so time stands still
between steps). The functions read it through autopilot.clock.now(); moto's SQS visibility and delays,
CloudWatch timestamps and the WorkSpaces emulator's transitions follow it too.

`advance(delta, world)` moves time in steps. While something is in flight the step is one minute; when the world
is idle the clock jumps straight to the next moment something is due (a schedule, a timer, a desk transition, a
message becoming visible). At each step the world does its work for that instant (`on_step`).
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import time_machine

STEP = dt.timedelta(minutes=1)
_MIN_STEP = dt.timedelta(milliseconds=1)  # never a zero step


class Steppable(Protocol):
    def next_due(self) -> dt.datetime | None:
        """The earliest future moment something is scheduled to happen, if any."""

    def busy(self) -> bool:
        """True while work is in flight that needs minute-by-minute steps (queues, retries, alarms)."""

    def on_step(self) -> None:
        """Do everything due at the current time."""


def parse_instant(value: str | dt.datetime) -> dt.datetime:
    """An ISO 8601 instant (`2026-12-01T05:00:00Z`); naive values are UTC."""
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


class VirtualClock:
    def __init__(self, start: dt.datetime) -> None:
        self._start = parse_instant(start)
        self._travel: time_machine.travel | None = None
        self._traveller: time_machine.Traveller | None = None

    def start(self) -> None:
        self._travel = time_machine.travel(self._start, tick=False)
        self._traveller = self._travel.start()

    def stop(self) -> None:
        if self._travel is not None:
            self._travel.stop()
        self._travel = None
        self._traveller = None

    @property
    def running(self) -> bool:
        return self._traveller is not None

    @staticmethod
    def now() -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def move_to(self, moment: dt.datetime) -> None:
        if self._traveller is None:
            raise RuntimeError("the virtual clock is not running")
        if moment < self.now():
            raise ValueError(f"time only moves forward: {moment.isoformat()} is before {self.now().isoformat()}")
        self._traveller.move_to(moment)

    def advance(self, delta: dt.timedelta, world: Steppable) -> None:
        """Move `delta` forward, stopping at every moment something is due (and every minute while busy)."""
        if delta < dt.timedelta(0):
            raise ValueError("the clock cannot go backwards")
        target = self.now() + delta
        while True:
            now = self.now()
            if now >= target:
                return
            step = min(target, now + STEP) if world.busy() else target
            due = world.next_due()
            if due is not None:
                step = min(step, max(due, now + _MIN_STEP))
            self.move_to(step)
            world.on_step()
