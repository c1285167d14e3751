"""Hostile mode: the local cloud delivers the way AWS is allowed to, not the way it usually does.

`LocalCloud(hostile=SEED)` (or `autopilot-local run --hostile SEED`) draws every choice from one
`random.Random(SEED)`, so a seed replays exactly:

- EventBridge rule targets and the Lambda async queue deliver at least once: some deliveries are duplicated;
- they deliver unordered: each delivery waits a random delay inside its window, so events published together
  arrive in any order;
- SQS standard queues deliver at least once and best-effort ordered: a batch arrives shuffled, and some
  processed messages are not deleted (AWS's "more than one copy of a message might be delivered"), so they come
  back after the visibility timeout;
- EventBridge Scheduler targets (schedules and timers, `FlexibleTimeWindow` OFF) fire a random delay after the
  scheduled time;
- WorkSpaces answers ThrottlingException when a per-API token bucket of the account runs dry; the bucket refills
  in virtual time plus the back-off botocore sleeps between attempts.

The windows and rates, with their evidence (or the word "chosen" where AWS publishes none), are in
docs/local-cloud.md, "Hostile mode"; the report's `hostile` section counts what was done.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Window:
    """A random delay drawn uniformly between `low` and `high` seconds."""

    low: float
    high: float


@dataclass(frozen=True)
class Bucket:
    """A token bucket: `capacity` calls at once, refilled at `refill_per_s`."""

    capacity: float
    refill_per_s: float


@dataclass(frozen=True)
class Settings:
    # Chosen (AWS publishes no latency for rule targets): up to 30 s between PutEvents and the target call.
    rule_target_delay: Window = Window(0.0, 30.0)
    # Chosen (AWS publishes no latency for the async event queue): up to 60 s before the first attempt.
    async_queue_delay: Window = Window(0.0, 60.0)
    # Chosen (Scheduler publishes no precision for FlexibleTimeWindow OFF): up to 60 s after the scheduled time.
    scheduler_delay: Window = Window(0.0, 60.0)
    # How often a delivery is duplicated (AWS says only "occasionally"; chosen high enough to hit every path).
    rule_target_duplicate: float = 0.15
    async_duplicate: float = 0.10
    sqs_duplicate: float = 0.10
    # WorkSpaces publishes no request rates (docs/local-cloud.md): chosen, per API and account.
    workspaces_bucket: Bucket = Bucket(capacity=10.0, refill_per_s=2.0)


DEFAULT = Settings()


@dataclass
class _TokenBucket:
    tokens: float
    at: float  # seconds (virtual epoch + back-off slept) of the last refill


@dataclass
class Hostile:
    """Every random choice of hostile mode, drawn from one seeded generator, and the counts of what it did."""

    seed: int
    settings: Settings = DEFAULT
    rng: random.Random = field(init=False)
    duplicates: Counter[str] = field(default_factory=Counter)
    reorderings: Counter[str] = field(default_factory=Counter)
    delays: Counter[str] = field(default_factory=Counter)
    delay_seconds: dict[str, float] = field(default_factory=dict)
    throttles: Counter[str] = field(default_factory=Counter)
    _buckets: dict[str, _TokenBucket] = field(default_factory=dict)
    _slept: float = 0.0
    _started: float = 0.0  # when the current invocation started, on the buckets' clock

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)  # noqa: S311  # a replayable simulation, not a secret

    # ------------------------------------------------------------------ delivery

    def copies(self, kind: str) -> int:
        """How many times one delivery of `kind` ("rule_target", "async") happens: 1, sometimes 2."""
        probability = {"rule_target": self.settings.rule_target_duplicate, "async": self.settings.async_duplicate}[kind]
        if self.rng.random() < probability:
            self.duplicates[kind] += 1
            return 2
        return 1

    def delay(self, kind: str) -> dt.timedelta:
        """A random delay for a delivery of `kind` ("rule_target", "async", "scheduler")."""
        window = {
            "rule_target": self.settings.rule_target_delay,
            "async": self.settings.async_queue_delay,
            "scheduler": self.settings.scheduler_delay,
        }[kind]
        # Whole milliseconds, so the timeline stays readable and moto's millisecond clocks agree.
        seconds = round(self.rng.uniform(window.low, window.high), 3)
        self.delays[kind] += 1
        self.delay_seconds[kind] = self.delay_seconds.get(kind, 0.0) + seconds
        return dt.timedelta(seconds=seconds)

    def shuffled(self, kind: str, items: Sequence[T]) -> list[T]:
        """`items` in a random order (best-effort ordering); a changed order counts as one reordering."""
        result = list(items)
        self.rng.shuffle(result)
        if result != list(items):
            self.reorderings[kind] += 1
        return result

    def keep_for_redelivery(self) -> bool:
        """True: an SQS message processed successfully is not deleted, so it is delivered again later."""
        if self.rng.random() < self.settings.sqs_duplicate:
            self.duplicates["sqs"] += 1
            return True
        return False

    # ------------------------------------------------------------------ WorkSpaces throttling

    def slept(self, seconds: float) -> None:
        """botocore backed off this long before retrying (virtual time stands still during an invocation)."""
        self._slept += max(0.0, float(seconds))

    def invocation_started(self, now: dt.datetime) -> None:
        """Invocations run one after another: one that starts at the virtual instant the last one started waits
        for the back-off that one slept, on the buckets' clock (never before it: time does not run backwards)."""
        self._started = max(now.timestamp(), self._started + self._slept)
        self._slept = 0.0

    def throttled(self, operation: str, now: dt.datetime) -> bool:
        """Take a token for one WorkSpaces request; True (ThrottlingException) when the API's bucket is empty."""
        spec = self.settings.workspaces_bucket
        moment = max(now.timestamp(), self._started) + self._slept
        bucket = self._buckets.setdefault(operation, _TokenBucket(spec.capacity, moment))
        if moment > bucket.at:
            bucket.tokens = min(spec.capacity, bucket.tokens + (moment - bucket.at) * spec.refill_per_s)
            bucket.at = moment
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return False
        self.throttles[operation] += 1
        return True

    # ------------------------------------------------------------------ the report

    def summary(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "duplicates": dict(sorted(self.duplicates.items())),
            "reorderings": dict(sorted(self.reorderings.items())),
            "delays": {
                kind: {"count": count, "total_s": round(self.delay_seconds[kind], 3)}
                for kind, count in sorted(self.delays.items())
            },
            "throttles": dict(sorted(self.throttles.items())),
        }


def seed_process_random(hostile: Hostile) -> Callable[[], None]:
    """Seed the process's `random` (botocore's retry jitter draws from it, and the jitter decides how far a
    token bucket refills) for as long as the world runs; the returned callable puts the old state back."""
    saved = random.getstate()
    random.seed(f"localcloud-hostile/{hostile.seed}")
    return lambda: random.setstate(saved)


def install_throttling(hostile: Hostile, fleet: Any, function_running: Callable[[], bool]) -> None:
    """Make the emulator's front door (`fleet.record_call`, which answers ThrottlingException when it returns True)
    also throttle a function's requests when the API's bucket is empty. The world's own calls (seeding a fleet)
    are not throttled: they stand for what happened before the scenario."""
    record_call = fleet.record_call

    def throttling_record_call(operation: str) -> bool:
        if record_call(operation):
            return True  # an injected throttle (the `throttle` step) answers first
        return function_running() and hostile.throttled(operation, dt.datetime.now(dt.UTC))

    fleet.record_call = throttling_record_call
