"""What a command talks to: the stack's resources, boto3 clients, and the automation's own adapters.

`aws_backend` builds it for a deployed stack, `world_backend` for a running LocalCloud. Commands never build
clients themselves, so the same command runs against both.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ProfileNotFound

from autopilot import clock
from autopilot.adapters.bus import EventBus
from autopilot.adapters.desk_store import DeskStore
from autopilot.adapters.feed_store import FeedStore, S3RosterFiles
from autopilot.adapters.incident_store import IncidentStore
from autopilot.adapters.policy_source import packaged_policy_text
from autopilot.adapters.queue import Queue
from autopilot.adapters.roster_store import RosterStore
from autopilot.adapters.timers import Timers
from autopilot.adapters.workspaces import WorkSpaces
from autopilot.domain.kernel.errors import PolicyError
from autopilot.domain.kernel.policy import Policy, parse_policy
from autopilot_ops.errors import BadInput, OpsError
from autopilot_ops.stack import StackResources, from_cloudformation, from_world

RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 5}, connect_timeout=5, read_timeout=30)
_AT = re.compile(r"^at\((?P<at>[0-9T:-]+)\)$")


class Invoker(Protocol):
    def __call__(self, function: str, payload: Any) -> str: ...


@dataclass(frozen=True)
class TimerView:
    """One pending one-time timer (an EventBridge Scheduler schedule of the timer group)."""

    name: str
    due: dt.datetime | None
    target: str
    state: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "due": self.due.isoformat() if self.due else None,
            "target": self.target,
            "state": self.state,
        }


class Backend:
    def __init__(
        self,
        session: boto3.session.Session,
        resources: StackResources,
        *,
        invoke: Invoker,
        settle: Callable[[], None] = lambda: None,
        tick: Callable[[], None] = lambda: None,
        function_environment: Callable[[str], dict[str, str]] | None = None,
        label: str = "",
    ) -> None:
        self.session = session
        self.resources = resources
        self.invoke = invoke
        self._settle = settle
        self._tick = tick
        self._function_environment = function_environment
        self.label = label or resources.stack

    # --- clients and adapters --------------------------------------------------------------------------
    @functools.cache  # noqa: B019 - one backend per CLI run; the cache lives as long as it does
    def client(self, service: str) -> Any:
        return self.session.client(service, config=RETRIES)  # type: ignore[call-overload]

    @functools.cached_property
    def table(self) -> Any:
        return self.session.resource("dynamodb", config=RETRIES).Table(self.resources.state_table)

    @functools.cached_property
    def desks(self) -> DeskStore:
        return DeskStore(self.table)

    @functools.cached_property
    def incidents(self) -> IncidentStore:
        return IncidentStore(self.table)

    @functools.cached_property
    def feeds(self) -> FeedStore:
        return FeedStore(self.table)

    @functools.cached_property
    def roster(self) -> RosterStore:
        return RosterStore(self.table)

    @functools.cached_property
    def bus(self) -> EventBus:
        return EventBus(self.client("events"), self.resources.autopilot_bus)

    @functools.cached_property
    def hr_bus(self) -> EventBus:
        return EventBus(self.client("events"), self.resources.hr_bus)

    @functools.cached_property
    def roster_files(self) -> S3RosterFiles:
        return S3RosterFiles(self.client("s3"))

    @functools.cached_property
    def workspaces(self) -> WorkSpaces:
        return WorkSpaces(self.client("workspaces"))

    @functools.cached_property
    def timers(self) -> Timers:
        """For cancelling (the CLI never sets a timer: role and dead-letter ARNs are not needed)."""
        return Timers(
            self.client("scheduler"),
            group=self.resources.timer_group,
            role_arn="",
            dlq_arn="",
            account=self.resources.account,
            region=self.resources.region,
        )

    def queue(self, url: str) -> Queue:
        return Queue(self.client("sqs"), url)

    def function_environment(self, logical_id: str) -> dict[str, str]:
        if self._function_environment is not None:
            return self._function_environment(logical_id)
        name = self.resources.functions.get(logical_id)
        if not name:
            return {}
        configuration = self.client("lambda").get_function_configuration(FunctionName=name)
        return dict(configuration.get("Environment", {}).get("Variables", {}))

    def now(self) -> dt.datetime:
        return clock.now()

    @functools.cached_property
    def caller(self) -> str:
        """Who runs the command (an IAM ARN: an id, recorded in an incident's timeline)."""
        return str(self.client("sts").get_caller_identity()["Arn"])

    def settle(self) -> None:
        """Let what a command started happen (the local cloud runs it now; AWS does it by itself)."""
        self._settle()

    def tick(self) -> None:
        """Let a moment pass. Only the local cloud needs it: its clock stands still during a command, and moto
        shows a message again only once the clock is past its visibility time (AWS: at once)."""
        self._tick()

    # --- policy ------------------------------------------------------------------------------------------
    def policy(self) -> Policy:
        """The deployed policy (SSM parameter), or the packaged default while no parameter exists, as Lambda."""
        name = self.resources.policy_parameter
        try:
            text = self.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
            origin = f"ssm:{name}"
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ParameterNotFound":
                raise
            text, origin = packaged_policy_text(), "packaged default policy"
        try:
            return parse_policy(str(text), origin=origin)
        except PolicyError as exc:
            raise OpsError(f"the deployed policy {origin} is invalid: {'; '.join(exc.errors)}") from exc

    def publish_policy(self, document: str, *, tier: str | None = None) -> dict[str, Any]:
        """Store a validated policy (its compact JSON) as the policy parameter, where `policy()` and the functions
        read it. `tier` only when it must change (Advanced); otherwise the account's default tier applies."""
        name = self.resources.policy_parameter
        request: dict[str, Any] = {"Name": name, "Type": "String", "Overwrite": True, "Value": document}
        if tier is not None:
            request["Tier"] = tier
        response = self.client("ssm").put_parameter(**request)
        return {"parameter": name, "version": response["Version"], "tier": response.get("Tier", tier or "Standard")}

    # --- timers ------------------------------------------------------------------------------------------
    def timers_named(self, prefixes: list[str]) -> list[TimerView]:
        """Pending timers whose names start with one of `prefixes` (one ListSchedules per prefix)."""
        scheduler = self.client("scheduler")
        found: dict[str, TimerView] = {}
        for prefix in dict.fromkeys(prefixes):
            for summary in self._schedules(scheduler, prefix):
                name = summary["Name"]
                if not name.startswith(prefix) or name in found:
                    continue
                found[name] = self._timer(scheduler, name)
        return sorted(found.values(), key=lambda t: (t.due or dt.datetime.max.replace(tzinfo=dt.UTC), t.name))

    def _schedules(self, scheduler: Any, prefix: str) -> Iterator[dict[str, Any]]:
        # botocore's paginator (scheduler paginators-1.json: NextToken until none comes back); lazy, so each page's
        # call is made (and may fail) at next().
        pages = iter(
            scheduler.get_paginator("list_schedules").paginate(GroupName=self.resources.timer_group, NamePrefix=prefix)
        )
        while True:
            try:
                page = next(pages, None)
            except ClientError as exc:
                if exc.response["Error"]["Code"] == "ResourceNotFoundException":  # no timer group (yet)
                    return
                raise
            if page is None:
                return
            yield from page.get("Schedules", [])

    def _timer(self, scheduler: Any, name: str) -> TimerView:
        try:
            schedule = scheduler.get_schedule(Name=name, GroupName=self.resources.timer_group)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":  # fired meanwhile
                return TimerView(name=name, due=None, target="", state="GONE")
            raise
        match = _AT.match(str(schedule.get("ScheduleExpression", "")))
        due = dt.datetime.fromisoformat(match["at"]).replace(tzinfo=dt.UTC) if match else None
        target = str(schedule.get("Target", {}).get("Arn", ""))
        return TimerView(name=name, due=due, target=target.rsplit(":", 1)[-1], state=str(schedule.get("State", "")))


def aws_backend(*, profile: str | None, region: str | None, stage: str, stack: str | None) -> Backend:
    """The deployed stack `stack` (default `workspaces-autopilot-<stage>`, as samconfig.toml names it)."""
    try:
        session = boto3.session.Session(profile_name=profile, region_name=region)
    except ProfileNotFound as exc:
        raise BadInput(str(exc)) from exc
    if not session.region_name:
        raise BadInput("no AWS region: give --region (or set AWS_REGION / a region in the profile)")
    name = stack or f"workspaces-autopilot-{stage}"
    resources = from_cloudformation(session.client("cloudformation", config=RETRIES), name, session.region_name)
    lambda_client = session.client("lambda", config=RETRIES)

    def invoke(function: str, payload: Any) -> str:
        response = lambda_client.invoke(FunctionName=function, InvocationType="Event", Payload=json.dumps(payload))
        return f"invoked {function.rsplit(':', 1)[-1]} asynchronously (HTTP {response.get('StatusCode')})"

    return Backend(session, resources, invoke=invoke, label=f"{name} ({session.region_name})")


def endpoint_backend(url: str) -> Backend:
    """A local cloud served by `autopilot-local serve` at `url`: every client goes to that endpoint (botocore's
    AWS_ENDPOINT_URL), the stack's names come from its control API, invocations run in the served world."""
    import urllib.request

    def control(action: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{url.rstrip('/')}/_localcloud/{action}", data=data)  # noqa: S310
        with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310 - the URL the user gave
            return json.loads(response.read())

    if not url.startswith(("http://", "https://")):
        raise BadInput(f"--endpoint-url {url}: give an http(s) URL, e.g. http://127.0.0.1:4599")
    try:
        resources = StackResources(**control("resources"))
    except OSError as exc:
        raise BadInput(f"--endpoint-url {url}: no local cloud answers there ({exc})") from exc
    os.environ["AWS_ENDPOINT_URL"] = url
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(key, "testing")  # the local cloud checks no signature
    session = boto3.session.Session(region_name=resources.region)

    def invoke(function: str, payload: Any) -> str:
        answer = control("invoke", {"function": function, "payload": payload})
        return f"invoked {answer['function']}: {'ok' if answer['ok'] else 'failed again: ' + str(answer['error'])}"

    return Backend(
        session,
        resources,
        invoke=invoke,
        settle=lambda: control("settle", {}),
        tick=lambda: control("advance", {"by": "1s"}),
        function_environment=lambda logical_id: dict(control("environment", {"function": logical_id})),
        label=f"local cloud at {url}",
    )


def world_backend(cloud: Any) -> Backend:
    """A running LocalCloud: the same resources, resolved by the world; invocations run in-process."""
    session = boto3.session.Session(region_name=cloud.region)

    def invoke(function: str, payload: Any) -> str:
        invocation = cloud.invoke(function, payload, settle=False)
        outcome = "ok" if invocation.ok else f"failed again: {invocation.error}"
        return f"invoked {invocation.function}: {outcome}"

    def environment(logical_id: str) -> dict[str, str]:
        return dict(cloud.function(logical_id).environment)

    return Backend(
        session,
        from_world(cloud),
        invoke=invoke,
        settle=cloud.settle,
        tick=lambda: cloud.advance(dt.timedelta(seconds=1)),
        function_environment=environment,
        label=f"local cloud at {cloud.now():%Y-%m-%d %H:%M} UTC",
    )
