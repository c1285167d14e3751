"""LocalCloud: the world template.yaml describes, built in moto and run in this process.

`LocalCloud` expands the template (SAM's own translator), resolves its intrinsics for account 123456789012 in
eu-west-1, creates the tables, queues, topic, buses, bucket, schedule group, alarms and policy parameter in
moto, the directories and bundles the policy names in the WorkSpaces emulator, and then runs the functions
in-process when the template says they run:

- events put on a bus (by the world or by a function) go to the targets of every rule whose pattern matches;
  Lambda targets are invoked asynchronously, with Lambda's retries and on-failure destination;
- SQS event source mappings poll their queue (batch size, batching window, partial batch responses,
  visibility timeout, redrive to the dead-letter queue);
- recurring schedules and the one-time timers functions create in EventBridge Scheduler fire on time;
- objects put in a bucket with EventBridge notifications emit `Object Created`;
- CloudWatch alarms are evaluated from metric data and emit `CloudWatch Alarm State Change`.

Time is virtual (localcloud.clock): `advance()` moves it and everything due happens in order, deterministically.

The class is assembled from parts, one responsibility each (localcloud.world_build, world_bus, world_lambdas,
world_scheduler, world_desks, world_faults, world_iam, world_report); this module keeps the lifecycle and the work
loop. IAM is enforced on every call a function makes and on the deliveries AWS makes (localcloud.world_iam).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
import os
import uuid
from collections import Counter, deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws
from moto.cloudwatch.models import cloudwatch_backends
from moto.moto_api._internal import mock_random

from autopilot.adapters.aws import reset_caches
from autopilot.domain.kernel.policy import Policy
from localcloud import alarms, lambdas, patches
from localcloud import hostile as hostile_mode
from localcloud.clock import VirtualClock, parse_instant
from localcloud.intrinsics import ACCOUNT_ID, REGION, Resolver
from localcloud.meter import Meter
from localcloud.template import TEMPLATE
from localcloud.workspaces_emulator import Emulator
from localcloud.world_build import WorldBuilder
from localcloud.world_bus import WorldBus
from localcloud.world_desks import WorldDesks
from localcloud.world_faults import WorldFaults
from localcloud.world_iam import WorldIam
from localcloud.world_lambdas import WorldLambdas
from localcloud.world_report import WorldReport
from localcloud.world_scheduler import WorldScheduler
from localcloud.world_types import (
    CREDENTIALS,
    DEFAULT_START,
    ROOT,
    AsyncInvoke,
    Desk,
    Invocation,
    LocalCloudError,
    QueueMapping,
    Rule,
    RunawayError,
    _Cursor,
    _SchedulerAttempt,
    _Track,
    check_pattern_filters,
    expanded_template,
    iso,
)

MAX_WORK_PER_INSTANT = 20_000

__all__ = [
    "CREDENTIALS",
    "DEFAULT_START",
    "MAX_WORK_PER_INSTANT",
    "ROOT",
    "Desk",
    "Invocation",
    "LocalCloud",
    "LocalCloudError",
    "RunawayError",
    "check_pattern_filters",
    "expanded_template",
    "iso",
]


class LocalCloud(WorldBuilder, WorldBus, WorldLambdas, WorldScheduler, WorldDesks, WorldFaults, WorldIam, WorldReport):
    """The template's world in moto, with a virtual clock. Use as a context manager (or start()/close())."""

    account_id = ACCOUNT_ID
    region = REGION

    def __init__(
        self,
        *,
        start: dt.datetime | str = DEFAULT_START,
        policy: str | Path | None = None,
        template: Path = TEMPLATE,
        parameters: Mapping[str, str] | None = None,
        handlers: Mapping[str, lambdas.Handler] | None = None,
        seed: int = 0,
        hostile: int | None = None,
        iam: bool = True,
    ) -> None:
        self.template_path = Path(template)
        self.policy_path = Path(policy) if policy is not None else None
        self.policy_text = self.policy_path.read_text(encoding="utf-8") if self.policy_path else None
        self.policy: Policy = self._load_policy()
        self.clock = VirtualClock(parse_instant(start))
        self._parameters = dict(parameters or {})
        self._handler_overrides = dict(handlers or {})
        self._seed = seed
        # Hostile mode (localcloud.hostile): at-least-once, unordered, delayed delivery and WorkSpaces throttling.
        self.hostile = None if hostile is None else hostile_mode.Hostile(hostile)
        # IAM enforced on the functions' calls and the deliveries (localcloud.world_iam); off only to debug.
        self.iam_enforced = iam
        self._enforcer = None
        self._deliveries = None
        self._stack = contextlib.ExitStack()
        self._started = False
        # filled by start()
        self.resolver: Resolver
        self.emulator: Emulator
        self.meter: Meter
        self.functions: dict[str, lambdas.FunctionSpec] = {}
        self.rules: list[Rule] = []
        self.mappings: list[QueueMapping] = []
        self.queues: dict[str, dict[str, str]] = {}  # logical id -> {arn, url, name}
        self.dead_letter_queues: dict[str, str] = {}  # arn -> logical id
        self.buses: dict[str, str] = {}  # logical id -> name
        self.directories: dict[str, str] = {}  # site -> directory id
        self.bundles: dict[str, str] = {}  # alias -> bundle id
        self._directory_ids: dict[str, str] = {}  # directory name -> id (made when the world is built)
        self.invocations: list[Invocation] = []
        self.timeline: list[dict[str, Any]] = []
        self.api_calls: Counter[str] = Counter()
        self._events: deque[tuple[str, dict[str, Any]]] = deque()
        self._async: list[tuple[dt.datetime, int, AsyncInvoke]] = []
        self._scheduler_retries: list[tuple[dt.datetime, int, _SchedulerAttempt]] = []
        self._tracks: dict[str, _Track] = {}
        self._fired_once: set[tuple[str, Any]] = set()
        self._schedules_dirty = True
        self._alarms = alarms.AlarmWatcher()
        self._queue_depth_published: dict[str, int] = {}
        self._pending_logins: list[tuple[dt.datetime, str]] = []
        self._world_timers: list[tuple[dt.datetime, int, str, Callable[[], None]]] = []
        self._crashes: list[dict[str, Any]] = []
        self._current: str | None = None
        self._seq = 0
        self._s3_events = 0
        self._cursor = _Cursor()
        self._clients: dict[str, Any] = {}
        self._session: boto3.session.Session | None = None
        self._saved_env: dict[str, str | None] = {}

    # ================================================================== lifecycle

    def __enter__(self) -> LocalCloud:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> LocalCloud:
        if self._started:
            return self
        if patches.active() is not None:
            # A second mock_aws would reset the running world's backends: refuse before touching anything.
            raise LocalCloudError("another LocalCloud is running in this process: close it first")
        template = expanded_template(self.template_path)
        self.resolver = Resolver(template, self._parameters)
        try:
            self._saved_env = {key: os.environ.get(key) for key in CREDENTIALS}
            os.environ.update(CREDENTIALS)
            self.clock.start()
            self._stack.callback(self.clock.stop)
            self._stack.enter_context(mock_aws())
            self._stack.enter_context(patches.installed(self))
            mock_random.seed(self._seed)
            reset_caches()
            self._stack.callback(reset_caches)
            self._session = boto3.session.Session(region_name=self.region)
            self.emulator = Emulator(region=self.region, account_id=self.account_id)
            if self.hostile is not None:
                self._stack.callback(hostile_mode.seed_process_random(self.hostile))
                hostile_mode.install_throttling(self.hostile, self.emulator.fleet, self._function_running)
            self.meter = Meter(self, dict(self.policy.optimizer.prices), self._put_workspaces_metrics)
            self._build()
            self._start_iam()
            self._started = True
        except BaseException:
            self._teardown()
            raise
        return self

    def close(self) -> None:
        if self._started:
            self._started = False
            self._teardown()

    def _teardown(self) -> None:
        try:
            self._stack.close()
        finally:
            for key, value in self._saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            self._clients.clear()

    def client(self, service: str) -> Any:
        """A boto3 client of the world itself (its calls are not counted as the functions' calls)."""
        if service not in self._clients:
            assert self._session is not None, "the world is not started"
            self._clients[service] = self._session.client(service, region_name=self.region)  # type: ignore[call-overload]
        return self._clients[service]

    def now(self) -> dt.datetime:
        return self.clock.now()

    def functions_env(self, variable: str) -> str | None:
        """The value of an environment variable shared by the functions (e.g. POLICY_PARAMETER_NAME)."""
        return next((s.environment[variable] for s in self.functions.values() if variable in s.environment), None)

    def _bus_name(self, value: Any) -> str:
        if not value:
            return "default"
        text = str(value)
        return text.rsplit("/", 1)[-1] if text.startswith("arn:") else text

    # ================================================================== lookups

    def _function_by_any(self, name: str) -> lambdas.FunctionSpec:
        for spec in self.functions.values():
            if spec.answers_to(name) or spec.arn == name or name.startswith(spec.arn + ":"):
                return spec
        known = ", ".join(sorted(self.functions))
        raise LocalCloudError(f"unknown function {name!r} (known: {known})")

    def function(self, name: str) -> lambdas.FunctionSpec:
        """A function by logical id (`ProvisionFunction`), short name (`provision`), name or ARN."""
        return self._function_by_any(name)

    def physical(self, logical_id: str, attribute: str = "Ref") -> Any:
        """The physical value of a template resource (`Ref` or an attribute such as `Arn`)."""
        return self.resolver.get_att(logical_id, attribute)

    def queue_url(self, logical_id: str) -> str:
        return self.queues[logical_id]["url"]

    @property
    def feed_bucket(self) -> str:
        buckets = self.resolver.of_type("AWS::S3::Bucket")
        if not buckets:
            raise LocalCloudError("the template has no S3 bucket")
        return str(self.physical(buckets[0][0]))

    def invoke(self, function: str, event: Any, *, settle: bool = True) -> Invocation:
        """Invoke a function synchronously (RequestResponse), as `sam local invoke` does; no retries."""
        spec = self._function_by_any(function)
        invocation = self._run(spec, event, "invoke")
        if settle:
            self._drain()
        return invocation

    def advance(self, delta: dt.timedelta) -> None:
        """Move the virtual clock forward; everything due on the way happens, in order."""
        self.clock.advance(delta, self)

    def settle(self) -> None:
        """Do everything due at the current instant."""
        self.on_step()

    def note(self, kind: str, **fields: Any) -> None:
        """Add an entry to the timeline (the scenario runner records its steps this way)."""
        self.timeline.append({"time": iso(self.now()), "kind": kind, **fields})

    # ================================================================== the clock's view (Steppable)

    def next_due(self) -> dt.datetime | None:
        candidates: list[dt.datetime] = []
        self._refresh_schedules()
        candidates += [t.next_fire for t in self._tracks.values() if t.next_fire is not None]
        if self._async:
            candidates.append(self._async[0][0])
        if self._scheduler_retries:
            candidates.append(self._scheduler_retries[0][0])
        if self._world_timers:
            candidates.append(self._world_timers[0][0])
        candidates += [at for at, _ in self._pending_logins]
        desk_due = self.emulator.next_due()
        if desk_due is not None:
            candidates.append(desk_due)
        now = self.now()
        for mapping in self.mappings:
            if mapping.first_seen is not None:
                candidates.append(mapping.first_seen + dt.timedelta(seconds=mapping.window_s))
            reappear = self._next_visible(mapping.queue_name, now)
            if reappear is not None:
                candidates.append(reappear)
        return min(candidates) if candidates else None

    def busy(self) -> bool:
        """Minute steps while a queue has messages or an alarm has recent data (CloudWatch's rhythm)."""
        if any(depth > 0 for depth in self._queue_depth_published.values()):
            return True
        return self._alarms.busy(cloudwatch_backends[self.account_id][self.region], self.now().timestamp())

    def on_step(self) -> None:
        self.emulator.advance()
        self._collect()
        self._run_world_timers()
        self._complete_logins()
        self._publish_queue_metrics()
        self._evaluate_alarms()
        self._drain()

    # ================================================================== the work loop

    def _drain(self) -> None:
        """Deliver everything due at the current instant, in causal order, until nothing is left."""
        work = 0
        while True:
            if self._events:
                bus, envelope = self._events.popleft()
                self._route(bus, envelope)
            elif self._async and self._async[0][0] <= self.now():
                _, _, item = heapq.heappop(self._async)
                self._run_async(item)
            elif self._scheduler_retries and self._scheduler_retries[0][0] <= self.now():
                _, _, attempt = heapq.heappop(self._scheduler_retries)
                self._invoke_schedule_target(attempt)
            elif self._fire_one_schedule() or self._poll_one_mapping():
                pass
            else:
                break
            work += 1
            if work > MAX_WORK_PER_INSTANT:
                raise RunawayError(
                    f"more than {MAX_WORK_PER_INSTANT} deliveries at {iso(self.now())}: functions keep triggering "
                    "each other (an event loop?)"
                )
        self._collect()

    def _uuid(self, kind: str) -> str:
        self._seq += 1
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"localcloud/{self._seed}/{kind}/{self._seq}"))
