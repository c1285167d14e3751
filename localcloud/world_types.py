"""The local cloud's shared vocabulary: constants, errors, the records the world keeps, template helpers.

Also `WorldParts`, the base of the parts `LocalCloud` is assembled from (localcloud.world_*): the state they
share, set by `LocalCloud.__init__` and `LocalCloud.start()`.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from autopilot.domain.kernel.policy import Policy
from localcloud import lambdas
from localcloud.clock import VirtualClock, parse_instant
from localcloud.intrinsics import REGION, Resolver
from localcloud.meter import Meter
from localcloud.schedules import Expression
from localcloud.template import TEMPLATE, expand
from localcloud.workspaces_emulator import Emulator

ROOT = TEMPLATE.parent
DEFAULT_START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    # The emulator's directories live in moto VPCs; moto's catalogue of public AMIs is not needed (and slow).
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
}
# Lambda's async retries: "a one-minute wait between the first two attempts, and two minutes between the second
# and third attempts" (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
ASYNC_RETRY_DELAYS = (dt.timedelta(minutes=1), dt.timedelta(minutes=2))
# Scheduler retries a failed target "with exponential backoff" until MaximumRetryAttempts or
# MaximumEventAgeInSeconds (RetryPolicy, Scheduler API reference); the base and the factor are not published:
# chosen, 1 minute doubling.
SCHEDULER_FIRST_RETRY = dt.timedelta(minutes=1)
# WorkSpaces calls after which the billing meter re-reads every desk (running mode, compute, new desks).
METERED_CHANGES = frozenset({"ModifyWorkspaceProperties", "CreateWorkspaces", "MigrateWorkspace"})
PROFILE_TAG = "AutopilotProfile"
_REGION_NAMES = {"eu-west-1": "EU (Ireland)"}
_S3_REASONS = {
    "Put": "PutObject",
    "Post": "POST Object",
    "Copy": "CopyObject",
    "CompleteMultipartUpload": "CompleteMultipartUpload",
}
_LARGE_COMPUTE = ("POWER", "POWERPRO", "GRAPHICS", "GRAPHICSPRO", "GENERALPURPOSE")


class LocalCloudError(RuntimeError):
    """Misuse of the world: an unknown function, user, site or resource (the message says which)."""


class RunawayError(LocalCloudError):
    """Work kept triggering more work at one instant (a loop between functions)."""


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.lru_cache(maxsize=8)
def _expanded(path: str, mtime: float) -> dict[str, Any]:
    return expand(Path(path))


def expanded_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The SAM-expanded template, cached per file version (expansion takes a few hundred milliseconds)."""
    return copy.deepcopy(_expanded(str(path), path.stat().st_mtime))


@dataclass
class Invocation:
    """One run of a function."""

    function: str
    trigger: str
    ok: bool
    error: str | None
    time: str
    request_id: str
    attempt: int = 1
    result: Any = None
    logs: str = ""

    def to_report(self) -> dict[str, Any]:
        return {"function": self.function, "trigger": self.trigger, "ok": self.ok, "error": self.error}


@dataclass(frozen=True)
class Rule:
    logical_id: str
    name: str
    bus: str
    pattern: Any  # moto EventPattern
    targets: tuple[dict[str, Any], ...]
    enabled: bool
    # `{"$or": [{key: [{"anything-but": [...]}]}, ...]}`: what no other rule of the bus routes (an alarm's queue).
    catch_all: bool = False


@dataclass
class QueueMapping:
    """An SQS event source mapping."""

    logical_id: str
    function: str
    queue_logical_id: str
    queue_arn: str
    queue_url: str
    queue_name: str
    batch_size: int
    window_s: int
    report_failures: bool
    enabled: bool
    first_seen: dt.datetime | None = None


@dataclass
class AsyncInvoke:
    function: str
    event: Any
    trigger: str
    attempt: int
    first_at: dt.datetime


@dataclass(frozen=True)
class _SchedulerAttempt:
    """A schedule's target invocation that failed and will be tried again (the schedule may be gone by then)."""

    arn: str
    name: str
    group: str
    target: dict[str, Any]
    scheduled: dt.datetime
    one_time: bool
    attempt: int
    first_at: dt.datetime


@dataclass
class _Track:
    """What the world knows of one schedule in moto's Scheduler backend."""

    version: tuple[Any, ...]
    expression: Expression
    anchor: dt.datetime
    next_fire: dt.datetime | None


@dataclass(frozen=True)
class Desk:
    workspace_id: str
    directory_id: str
    user: str


@dataclass
class _Cursor:
    transitions: int = 0
    sns: dict[str, int] = field(default_factory=dict)
    ses: int = 0


# The filters EventBridge event buses support (content filtering and comparison operators in the EventBridge user
# guide; docs/local-cloud.md cites the pages). moto's matcher lets an unknown filter match everything.
PATTERN_FILTERS = frozenset(
    {"prefix", "suffix", "anything-but", "numeric", "exists", "cidr", "equals-ignore-case", "wildcard"}
)
_ANYTHING_BUT_FILTERS = frozenset({"prefix", "suffix", "equals-ignore-case", "wildcard"})


def check_pattern_filters(pattern: Any) -> None:
    """Raise ValueError naming a filter EventBridge does not know (where AWS would refuse the pattern)."""
    if isinstance(pattern, dict):
        for key, value in pattern.items():
            if key == "$or":
                for alternative in value if isinstance(value, list) else [value]:
                    check_pattern_filters(alternative)
            else:
                check_pattern_filters(value)
    elif isinstance(pattern, list):
        for item in pattern:
            if not isinstance(item, dict):
                continue
            for name, value in item.items():
                if name not in PATTERN_FILTERS:
                    raise ValueError(
                        f"unknown filter {name!r} (EventBridge knows {', '.join(sorted(PATTERN_FILTERS))})"
                    )
                if name == "anything-but" and isinstance(value, dict):
                    unknown = set(value) - _ANYTHING_BUT_FILTERS
                    if unknown:
                        raise ValueError(f"unknown filter in anything-but: {', '.join(sorted(unknown))}")


def _filters(alternative: Any) -> list[Any]:
    """The filters of a one-key pattern alternative (`{key: [filters]}`); none for anything else."""
    if not (isinstance(alternative, dict) and len(alternative) == 1):
        return [None]
    (values,) = alternative.values()
    return list(values) if isinstance(values, list) and values else [None]


def _as_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(float(value), dt.UTC)
    return parse_instant(str(value))


class WorldParts:
    """The state every part of `LocalCloud` reads and writes (assigned in `LocalCloud.__init__`/`start()`)."""

    account_id: str
    region: str
    template_path: Path
    policy_path: Path | None
    policy_text: str | None
    policy: Policy
    clock: VirtualClock
    _parameters: dict[str, str]
    _handler_overrides: dict[str, lambdas.Handler]
    _seed: int
    _started: bool
    _schedules_dirty: bool
    _seq: int
    _s3_events: int
    _cursor: _Cursor
    resolver: Resolver
    emulator: Emulator
    meter: Meter
    functions: dict[str, lambdas.FunctionSpec]
    rules: list[Rule]
    mappings: list[QueueMapping]
    queues: dict[str, dict[str, str]]
    dead_letter_queues: dict[str, str]
    buses: dict[str, str]
    directories: dict[str, str]
    bundles: dict[str, str]
    _directory_ids: dict[str, str]
    invocations: list[Invocation]
    timeline: list[dict[str, Any]]
    api_calls: Counter[str]
    _events: deque[tuple[str, dict[str, Any]]]
    _async: list[tuple[dt.datetime, int, AsyncInvoke]]
    _scheduler_retries: list[tuple[dt.datetime, int, _SchedulerAttempt]]
    _tracks: dict[str, _Track]
    _fired_once: set[tuple[str, Any]]
    _queue_depth_published: dict[str, int]
    _pending_logins: list[tuple[dt.datetime, str]]
    _world_timers: list[tuple[dt.datetime, int, str, Callable[[], None]]]
    _crashes: list[dict[str, Any]]
    _current: str | None
    _clients: dict[str, Any]
    _session: boto3.session.Session | None
    _saved_env: dict[str, str | None]

    if TYPE_CHECKING:
        # A part calls methods another part defines; LocalCloud (all parts together) has them all.
        def __getattr__(self, name: str) -> Any: ...
