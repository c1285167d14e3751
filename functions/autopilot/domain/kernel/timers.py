"""Timers: the port every capability schedules through, and its pure routing over EventBridge Scheduler and SQS
(a timer not yet due becomes a schedule, a due one goes straight to its queue)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from autopilot.contracts.timers import TimerFired, TimerKind


class TimerScheduler(Protocol):
    """One-time timers: the TimerFired reaches its queue at `due`, or at once when it is already due."""

    def schedule(self, timer: TimerFired, *, now: dt.datetime) -> None: ...

    def cancel(self, name: str) -> bool: ...


class ProvisioningRequeue(Protocol):
    """Puts provisioning work back on the provisioning queue after a delay (SQS DelaySeconds, at most 900)."""

    def requeue(self, timers: Sequence[TimerFired], *, delay_seconds: int) -> None: ...


# --- the SQS/Scheduler routing of timers, kept pure so it can be tested without AWS ------------------------
class RawTimers(Protocol):
    """EventBridge Scheduler one-time schedules (adapters.timers.Timers)."""

    def set(self, timer: TimerFired, *, target_arn: str) -> bool: ...

    def cancel(self, name: str) -> bool: ...


class EnvelopeQueue(Protocol):
    """An SQS queue taking JSON bodies (adapters.queue.Queue)."""

    def send(self, bodies: Sequence[dict[str, Any]], *, delay_seconds: int = 0) -> None: ...


@dataclass(frozen=True)
class QueueTarget:
    queue: EnvelopeQueue
    arn: str


@dataclass(frozen=True)
class QueueOrTimer:
    """TimerScheduler: a timer not yet due becomes a Scheduler schedule targeting its queue; a due one is sent
    straight to that queue (Scheduler refuses `at()` in the past). `envelope` turns a TimerFired into the
    EventBridge-shaped body both paths deliver (adapters.timers.timer_envelope)."""

    timers: RawTimers
    targets: Mapping[TimerKind, QueueTarget]
    envelope: Callable[[TimerFired], dict[str, Any]]

    def schedule(self, timer: TimerFired, *, now: dt.datetime) -> None:
        target = self.targets.get(timer.kind)
        if target is None:
            raise ValueError(f"no queue for {timer.kind} timers")
        if timer.due <= now:
            target.queue.send([self.envelope(timer)])
        else:
            self.timers.set(timer, target_arn=target.arn)

    def cancel(self, name: str) -> bool:
        return self.timers.cancel(name)


@dataclass(frozen=True)
class QueueRequeue:
    """ProvisioningRequeue on an SQS queue: the same envelope, delayed."""

    queue: EnvelopeQueue
    envelope: Callable[[TimerFired], dict[str, Any]]

    def requeue(self, timers: Sequence[TimerFired], *, delay_seconds: int) -> None:
        if timers:
            self.queue.send([self.envelope(timer) for timer in timers], delay_seconds=max(0, min(900, delay_seconds)))
