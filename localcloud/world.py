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
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as dt
import functools
import heapq
import json
import os
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.cloudwatch.models import cloudwatch_backends
from moto.events.models import EventPattern
from moto.moto_api._internal import mock_random
from moto.scheduler.models import scheduler_backends
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from autopilot.adapters.aws import reset_caches
from autopilot.domain.kernel.policy import Policy, parse_policy, policy_document_json
from localcloud import alarms, bus_policy, iam_delivery, iam_world, lambdas, patches, shapes
from localcloud.clock import VirtualClock, parse_instant
from localcloud.intrinsics import ACCOUNT_ID, REGION, Resolver, TemplateError
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
MAX_WORK_PER_INSTANT = 20_000
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


class LocalCloud:
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
        # IAM enforced on the functions' calls (localcloud.iam_world); off only to debug a scenario.
        self.iam_enforced = iam
        self._enforcer: iam_world.Enforcer | None = None
        self._deliveries: iam_delivery.Deliveries | None = None
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
            self.meter = Meter(self, dict(self.policy.optimizer.prices), self._put_workspaces_metrics)
            self._build()
            if self.iam_enforced:
                self._enforcer = iam_world.enforcer_for(self)
                self._deliveries = iam_delivery.Deliveries(self.resolver, iam_world.encryption_keys(self.resolver))
                self._authorize_mappings()
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

    # ================================================================== building the world

    def _load_policy(self) -> Policy:
        if self.policy_text is None:
            from autopilot.adapters.policy_source import packaged_policy_text

            return parse_policy(packaged_policy_text(), origin="packaged default policy")
        return parse_policy(self.policy_text, origin=str(self.policy_path))

    def _build(self) -> None:
        r = self.resolver
        for logical_id, _ in r.of_type("AWS::DynamoDB::Table"):
            self._create_table(r.properties(logical_id))
        self._create_queues()
        self._find_dead_letter_queues()
        for logical_id, _ in r.of_type("AWS::SNS::Topic"):
            props = r.properties(logical_id)
            attributes = {"DisplayName": props["DisplayName"]} if "DisplayName" in props else {}
            self.client("sns").create_topic(Name=r.get_att(logical_id, "TopicName"), Attributes=attributes)
        for logical_id, _ in r.of_type("AWS::SNS::Subscription"):
            props = r.properties(logical_id)
            self.client("sns").subscribe(
                TopicArn=props["TopicArn"], Protocol=props["Protocol"], Endpoint=props.get("Endpoint", "")
            )
        for logical_id, _ in r.of_type("AWS::Events::EventBus"):
            self.buses[logical_id] = r.get_att(logical_id, "Name")
            self.client("events").create_event_bus(Name=self.buses[logical_id])
        for logical_id, _ in r.of_type("AWS::S3::Bucket"):
            self._create_bucket(logical_id)
        for logical_id, _ in r.of_type("AWS::Scheduler::ScheduleGroup"):
            self.client("scheduler").create_schedule_group(Name=r.get_att(logical_id, "Ref"))
        self._create_functions()
        self._create_rules()
        self._create_mappings()
        for logical_id, _ in r.of_type("AWS::Scheduler::Schedule"):
            self._create_schedule(logical_id)
        for logical_id, _ in r.of_type("AWS::CloudWatch::Alarm"):
            self._create_alarm(logical_id)
        # The template's alarms have been evaluated long before the scenario starts: no event for them.
        self._alarms.settle(cloudwatch_backends[self.account_id][self.region], self.now().timestamp())
        self._create_policy_side()

    def _create_table(self, props: dict[str, Any]) -> None:
        kwargs: dict[str, Any] = {
            key: props[key]
            for key in ("TableName", "KeySchema", "AttributeDefinitions", "LocalSecondaryIndexes")
            if key in props
        }
        billing = props.get("BillingMode", "PROVISIONED")
        kwargs["BillingMode"] = billing
        gsis = [dict(index) for index in props.get("GlobalSecondaryIndexes", [])]
        if billing == "PROVISIONED":
            kwargs["ProvisionedThroughput"] = props.get(
                "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
            )
        else:
            for index in gsis:
                index.pop("ProvisionedThroughput", None)
        if gsis:
            kwargs["GlobalSecondaryIndexes"] = gsis
        if "StreamSpecification" in props:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        dynamodb = self.client("dynamodb")
        dynamodb.create_table(**kwargs)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=props["TableName"],
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )

    def _create_queues(self) -> None:
        r = self.resolver
        sqs = self.client("sqs")
        redrives: list[tuple[str, dict[str, Any]]] = []
        passthrough = (
            "VisibilityTimeout",
            "MessageRetentionPeriod",
            "DelaySeconds",
            "MaximumMessageSize",
            "ReceiveMessageWaitTimeSeconds",
            "FifoQueue",
            "ContentBasedDeduplication",
        )
        for logical_id, _ in r.of_type("AWS::SQS::Queue"):
            props = r.properties(logical_id)
            name = r.get_att(logical_id, "QueueName")
            attributes = {
                key: str(props[key]).lower() if isinstance(props[key], bool) else str(props[key])
                for key in passthrough
                if key in props
            }
            url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            self.queues[logical_id] = {"arn": r.get_att(logical_id, "Arn"), "url": url, "name": name}
            if "RedrivePolicy" in props:
                redrives.append((url, props["RedrivePolicy"]))
        for url, redrive in redrives:
            policy = json.loads(redrive) if isinstance(redrive, str) else redrive
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(policy)})
            self._mark_dead_letter(policy["deadLetterTargetArn"])

    def _find_dead_letter_queues(self) -> None:
        """Every queue the template names as a dead-letter target or failure destination (of queues, rules,
        schedules, subscriptions or functions, whether or not the referring resource exists here)."""
        keys = {"deadLetterTargetArn", "DeadLetterConfig", "OnFailure"}

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for key, value in node.items():
                    if key in keys:
                        found = value
                        if isinstance(value, dict) and {"Arn", "TargetArn", "Destination"} & value.keys():
                            found = value.get("Arn") or value.get("TargetArn") or value.get("Destination")
                        with contextlib.suppress(TemplateError):
                            resolved = self.resolver.resolve(found)
                            self._mark_dead_letter(resolved if isinstance(resolved, str) else None)
                    walk(value)
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(self.resolver.resources)

    def _mark_dead_letter(self, arn: str | None) -> None:
        for logical_id, queue in self.queues.items():
            if queue["arn"] == arn:
                self.dead_letter_queues[arn] = logical_id

    def _queue_by_arn(self, arn: str) -> dict[str, str] | None:
        return next((queue for queue in self.queues.values() if queue["arn"] == arn), None)

    def _create_bucket(self, logical_id: str) -> None:
        r = self.resolver
        props = r.properties(logical_id)
        name = r.get_att(logical_id, "Ref")
        s3 = self.client("s3")
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})
        if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        eventbridge = props.get("NotificationConfiguration", {}).get("EventBridgeConfiguration", {})
        if eventbridge.get("EventBridgeEnabled"):
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
            )

    def _create_functions(self) -> None:
        r = self.resolver
        invoke_configs: dict[str, dict[str, Any]] = {}
        for logical_id, _ in r.of_type("AWS::Lambda::EventInvokeConfig"):
            props = r.properties(logical_id)
            invoke_configs[str(props["FunctionName"])] = props
        for logical_id, _ in r.of_type("AWS::Lambda::Function"):
            props = r.properties(logical_id)
            name = r.get_att(logical_id, "Ref")
            config = invoke_configs.get(name, {})
            destinations = config.get("DestinationConfig", {})
            spec = lambdas.FunctionSpec(
                logical_id=logical_id,
                name=name,
                arn=r.get_att(logical_id, "Arn"),
                handler=str(props.get("Handler", "")),
                environment={k: str(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()},
                memory_mb=int(props.get("MemorySize", 128)),
                timeout_s=int(props.get("Timeout", 3)),
                max_retry_attempts=int(config.get("MaximumRetryAttempts", 2)),
                max_event_age_s=int(config.get("MaximumEventAgeInSeconds", 21600)),
                on_failure=destinations.get("OnFailure", {}).get("Destination"),
                on_success=destinations.get("OnSuccess", {}).get("Destination"),
                dead_letter=props.get("DeadLetterConfig", {}).get("TargetArn"),
            )
            self.functions[logical_id] = spec
            self._mark_dead_letter(spec.on_failure)
            self._mark_dead_letter(spec.dead_letter)

    def _create_rules(self) -> None:
        r = self.resolver
        events = self.client("events")
        for logical_id, _ in r.of_type("AWS::Events::Rule"):
            props = r.properties(logical_id)
            bus = self._bus_name(props.get("EventBusName"))
            name = str(props.get("Name", logical_id))
            if "EventPattern" not in props:
                continue  # scheduled rules (ScheduleExpression) are not used by the template
            raw = props["EventPattern"]
            pattern_text = raw if isinstance(raw, str) else json.dumps(raw)
            enabled = props.get("State", "ENABLED") == "ENABLED"
            events.put_rule(
                Name=name, EventBusName=bus, EventPattern=pattern_text, State="ENABLED" if enabled else "DISABLED"
            )
            targets = tuple(props.get("Targets", []))
            for target in targets:
                self._mark_dead_letter(target.get("DeadLetterConfig", {}).get("Arn"))
            parsed = json.loads(pattern_text)
            try:
                check_pattern_filters(parsed)
            except ValueError as exc:
                raise TemplateError(f"{logical_id}: EventPattern: {exc}") from exc
            catch_all = list(parsed) == ["$or"] and all(
                all(isinstance(f, dict) and list(f) == ["anything-but"] for f in _filters(alternative))
                for alternative in parsed["$or"]
            )
            if catch_all:  # what no other rule routes is parked there: the end of the line, like a DLQ
                for target in targets:
                    self._mark_dead_letter(target.get("Arn"))
            self.rules.append(Rule(logical_id, name, bus, EventPattern.load(pattern_text), targets, enabled, catch_all))

    def _create_mappings(self) -> None:
        r = self.resolver
        for logical_id, _ in r.of_type("AWS::Lambda::EventSourceMapping"):
            props = r.properties(logical_id)
            source = str(props.get("EventSourceArn", ""))
            queue_logical = next((q for q, queue in self.queues.items() if queue["arn"] == source), None)
            if queue_logical is None:
                continue  # only SQS sources are modelled
            function = self._function_by_any(str(props["FunctionName"]))
            queue = self.queues[queue_logical]
            self.mappings.append(
                QueueMapping(
                    logical_id=logical_id,
                    function=function.logical_id,
                    queue_logical_id=queue_logical,
                    queue_arn=queue["arn"],
                    queue_url=queue["url"],
                    queue_name=queue["name"],
                    batch_size=int(props.get("BatchSize", 10)),
                    window_s=int(props.get("MaximumBatchingWindowInSeconds", 0)),
                    report_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                    enabled=bool(props.get("Enabled", True)),
                )
            )

    def _authorize_mappings(self) -> None:
        """Each SQS event source mapping as its function's role (localcloud.iam_delivery.mapping_refusals)."""
        assert self._deliveries is not None
        assert self._enforcer is not None
        for mapping in self.mappings:
            role = self._enforcer.roles[mapping.function].arn
            at_creation, at_polling = iam_delivery.mapping_refusals(self._deliveries, role, mapping.queue_arn)
            if at_creation is not None:
                raise TemplateError(f"{mapping.logical_id}: InvalidParameterValueException: {at_creation.describe()}")
            if at_polling is not None:
                mapping.enabled = False
                self.note("mapping_refused", mapping=mapping.logical_id, reason=at_polling.describe())

    def _create_schedule(self, logical_id: str) -> None:
        props = self.resolver.properties(logical_id)
        target = dict(props["Target"])
        self._mark_dead_letter(target.get("DeadLetterConfig", {}).get("Arn"))
        kwargs: dict[str, Any] = {
            "Name": props["Name"],
            "ScheduleExpression": props["ScheduleExpression"],
            "FlexibleTimeWindow": props.get("FlexibleTimeWindow", {"Mode": "OFF"}),
            "Target": target,
        }
        for key in ("GroupName", "ScheduleExpressionTimezone", "State", "Description", "StartDate", "EndDate"):
            if key in props:
                kwargs[key] = props[key]
        self.client("scheduler").create_schedule(**kwargs)

    def _create_alarm(self, logical_id: str) -> None:
        props = self.resolver.properties(logical_id)
        kwargs = {
            key: props[key]
            for key in (
                "AlarmName",
                "AlarmDescription",
                "ActionsEnabled",
                "OKActions",
                "AlarmActions",
                "InsufficientDataActions",
                "MetricName",
                "Namespace",
                "Statistic",
                "ExtendedStatistic",
                "Dimensions",
                "Period",
                "Unit",
                "EvaluationPeriods",
                "DatapointsToAlarm",
                "Threshold",
                "ComparisonOperator",
                "TreatMissingData",
                "Metrics",
            )
            if key in props
        }
        kwargs.setdefault("AlarmName", self.resolver.get_att(logical_id, "Ref"))
        self.client("cloudwatch").put_metric_alarm(**kwargs)

    def _create_policy_side(self) -> None:
        """What the policy needs to exist: its parameter, its directories and bundles, the sender identity."""
        parameter = self.functions_env("POLICY_PARAMETER_NAME")
        if self.policy_text is not None and parameter:
            # As `autopilot policy publish` stores it in production: validated, compact JSON.
            document = policy_document_json(self.policy_text, origin=str(self.policy_path))
            self.client("ssm").put_parameter(Name=parameter, Value=document, Type="String")
        sender = self.policy.onboarding.sender
        ses = self.client("ses")
        ses.verify_email_identity(EmailAddress=sender)
        ses.verify_domain_identity(Domain=sender.split("@", 1)[1])
        directory_ids = self._directory_ids
        for site_name, site in self.policy.sites.items():
            if site.directory.startswith(("d-", "wsd-")):
                raise LocalCloudError(
                    f"policy site {site_name}: the local cloud creates directories by DNS name; "
                    f"name the directory (not {site.directory}) in scenario policies"
                )
            if site.directory not in directory_ids:
                directory_ids[site.directory] = self.emulator.create_directory(site.directory)
            self.directories[site_name] = directory_ids[site.directory]
        for alias, bundle in self.policy.bundles.items():
            self.bundles[alias] = self._ensure_bundle(alias, bundle.name, bundle.id)

    def _ensure_bundle(self, alias: str, name: str | None, bundle_id: str | None) -> str:
        profiles = [p for p in self.policy.profiles.values() if p.bundle == alias]
        compute: str | None = next((p.compute for p in profiles if p.compute), None)
        label = name or f"{alias} bundle"
        if compute is None:
            first_word = label.split()[0].upper()
            compute = (
                first_word if first_word in {"VALUE", "STANDARD", "PERFORMANCE", "POWER", "POWERPRO"} else "STANDARD"
            )
        large = compute.startswith(_LARGE_COMPUTE)
        root_gb = next((p.root_volume_gb for p in profiles if p.root_volume_gb), 175 if large else 80)
        user_gb = next((p.user_volume_gb for p in profiles if p.user_volume_gb), 100 if large else 50)
        if name is not None:
            existing = self.emulator.bundle_id(name)
            return existing or self.emulator.create_bundle(name, compute=compute, root_gb=root_gb, user_gb=user_gb)
        assert bundle_id is not None
        created = self.emulator.create_bundle(label, compute=compute, root_gb=root_gb, user_gb=user_gb)
        return self._rename_bundle(created, bundle_id)

    def _rename_bundle(self, created: str, wanted: str) -> str:
        """Give an emulator bundle the id the policy names (the emulator chooses ids itself)."""
        fleet = self.emulator.fleet
        with fleet.lock:
            bundle = fleet.bundles.pop(created)
            bundle.bundle_id = wanted
            fleet.bundles[wanted] = bundle
        return wanted

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

    def desks_of(self, user: str) -> list[Desk]:
        found = []
        for directory_id in sorted(set(self.directories.values())):
            workspace_id = self.emulator.find(directory_id, user)
            if workspace_id is not None:
                found.append(Desk(workspace_id, directory_id, user))
        return found

    def desk_of(self, user: str, site: str | None = None) -> Desk:
        """The user's WorkSpace; `site` disambiguates a user with desks in several directories."""
        desks = self.desks_of(user)
        if site is not None:
            directory_id = self._directory_of(site)
            desks = [desk for desk in desks if desk.directory_id == directory_id]
        if not desks:
            raise LocalCloudError(f"user {user!r} has no WorkSpace" + (f" at site {site}" if site else ""))
        if len(desks) > 1:
            raise LocalCloudError(f"user {user!r} has WorkSpaces in several directories: name the site")
        return desks[0]

    def _directory_of(self, site: str) -> str:
        if site not in self.directories:
            raise LocalCloudError(f"unknown site {site!r} (policy sites: {', '.join(sorted(self.directories))})")
        return self.directories[site]

    # ================================================================== seeding the fleet

    def seed_desks(self, users: Iterable[str], *, site: str, profile: str) -> list[str]:
        """Desks that already exist when the scenario starts: AVAILABLE, tagged as managed, per the profile."""
        if profile not in self.policy.profiles:
            raise LocalCloudError(f"unknown profile {profile!r} (policy profiles: {', '.join(self.policy.profiles)})")
        chosen = self.policy.profiles[profile]
        bundle_id = self.bundles[chosen.bundle]
        compute = chosen.compute
        tags = {**self.policy.tags, PROFILE_TAG: profile}
        autostop = chosen.autostop_hours * 60 if chosen.running_mode == "AUTO_STOP" else None
        created = self.emulator.seed_workspaces(
            self._directory_of(site),
            list(users),
            bundle_id,
            running_mode=chosen.running_mode,
            autostop_minutes=autostop,
            compute=compute,
            tags=tags,
        )
        self._collect()
        self.meter.observe(everything=True)
        return created

    # ================================================================== doing things

    def publish(self, entry: Mapping[str, Any]) -> list[str]:
        """Put an event and deliver it: a PutEvents entry (`Source`, `DetailType`, `Detail`, optional
        `EventBusName`) goes through PutEvents; an envelope (`source`, `detail-type`, `detail`) is delivered as
        given, on the bus its source belongs to (HR source: HR bus; `autopilot`: autopilot bus; else default)."""
        if "Source" in entry or "DetailType" in entry or "Detail" in entry:
            request = {
                key: entry[key]
                for key in ("Source", "DetailType", "Detail", "Resources", "Time", "EventBusName")
                if key in entry
            }
            if isinstance(request.get("Detail"), Mapping):
                request["Detail"] = json.dumps(request["Detail"])
            response = self.client("events").put_events(Entries=[request])
            failed = [e for e in response["Entries"] if "ErrorCode" in e]
            if failed:
                raise LocalCloudError(
                    f"PutEvents refused the entry: {failed[0]['ErrorCode']}: {failed[0].get('ErrorMessage')}"
                )
            self._drain()
            return [str(e["EventId"]) for e in response["Entries"]]
        envelope = self._complete_envelope(dict(entry))
        self.deliver(envelope)
        return [envelope["id"]]

    def deliver(self, envelope: Mapping[str, Any], bus: str | None = None) -> None:
        """Deliver an envelope exactly as given (no PutEvents: account and source are not checked)."""
        complete = self._complete_envelope(dict(envelope))
        self._events.append((self._bus_name(bus) if bus else self._bus_for(complete), complete))
        self._drain()

    def _bus_for(self, envelope: Mapping[str, Any]) -> str:
        """An envelope carries no bus: it goes on the first bus (template order, then default) where a rule
        matches it, or on the default bus if none does. A catch-all rule does not count: it matches whatever
        its bus does not route, so it says nothing about where an envelope belongs."""
        for bus in [*self.buses.values(), "default"]:
            if any(
                rule.bus == bus and not rule.catch_all and rule.pattern.matches_event(envelope) for rule in self.rules
            ):
                return bus
        return "default"

    def bus_ref(self, value: str) -> str:
        """A bus named by logical id (`HrEventBus`), name or ARN -> its name."""
        return self.buses.get(value) or self._bus_name(value)

    def publish_from(
        self, account: str, entry: Mapping[str, Any], *, bus: str, principal: str | None = None
    ) -> list[str]:
        """PutEvents by a principal of `account` onto one of this account's buses (`bus`: logical id, name or
        ARN). From another account the bus's resource policy decides (localcloud.bus_policy); a refusal raises
        LocalCloudError with the entry's error code and is in the timeline (`put_events_refused`). EventBridge
        stamps the sender's account on the event. From this account it is a plain PutEvents (IAM is not
        enforced)."""
        if not (account.isdigit() and len(account) == 12):
            raise LocalCloudError(f"account {account!r} is not a 12-digit account id")
        if principal is not None and f"::{account}:" not in principal:
            raise LocalCloudError(f"principal {principal!r} is not in account {account}")
        source = str(entry.get("Source", entry.get("source", "")))
        detail_type = str(entry.get("DetailType", entry.get("detail-type", "")))
        detail = entry.get("Detail", entry.get("detail", {}))
        name = self.bus_ref(bus)
        if account == self.account_id:
            request = {"Source": source, "DetailType": detail_type, "Detail": detail, "EventBusName": name}
            if entry.get("Resources") or entry.get("resources"):
                request["Resources"] = entry.get("Resources") or entry.get("resources")
            return self.publish(request)
        if name not in self.buses.values():
            raise LocalCloudError(f"bus {bus!r} is not a bus of the template: another account can reach no other")
        bus_arn = f"arn:aws:events:{self.region}:{self.account_id}:event-bus/{name}"
        try:
            error = bus_policy.put_events_error(
                self._bus_policy_statements(name, bus_arn),
                account=account,
                caller=principal,
                bus_arn=bus_arn,
                source=source,
                detail_type=detail_type,
            )
        except bus_policy.UnsupportedPolicy as exc:
            raise LocalCloudError(str(exc)) from exc
        if error is not None:
            refused = {"bus": name, "account": account, "source": source, "detail_type": detail_type}
            self.note("put_events_refused", **refused, error=error)
            raise LocalCloudError(f"PutEvents from account {account} refused the entry: {error}")
        envelope = self._complete_envelope(
            {
                "detail-type": detail_type,
                "source": source,
                "account": account,
                "resources": list(entry.get("Resources") or entry.get("resources") or []),
                "detail": json.loads(detail) if isinstance(detail, str) else dict(detail),
            }
        )
        self._events.append((name, envelope))
        self._drain()
        return [envelope["id"]]

    def _bus_policy_statements(self, name: str, bus_arn: str) -> list[Mapping[str, Any]]:
        """The resource policy of a template bus: its EventBusPolicy resources and the bus's own `Policy`."""
        r = self.resolver
        statements: list[Mapping[str, Any]] = []
        for logical_id, _ in r.of_type("AWS::Events::EventBusPolicy"):
            props = r.properties(logical_id)
            if self._bus_name(props.get("EventBusName")) == name:
                statements += bus_policy.statements_of(props, bus_arn)
        for logical_id, bus_name in self.buses.items():
            policy = r.properties(logical_id).get("Policy")
            if bus_name == name and policy:
                document = json.loads(policy) if isinstance(policy, str) else policy
                statements += [s for s in document.get("Statement", []) if isinstance(s, Mapping)]
        return statements

    def _complete_envelope(self, envelope: dict[str, Any]) -> dict[str, Any]:
        envelope.setdefault("version", "0")
        envelope.setdefault("id", self._uuid("event"))
        envelope.setdefault("time", iso(self.now()))
        envelope.setdefault("account", self.account_id)
        envelope.setdefault("region", self.region)
        envelope.setdefault("resources", [])
        envelope.setdefault("detail", {})
        return envelope

    def put_object(self, key: str, body: bytes | str, bucket: str | None = None) -> None:
        """Upload an object (an HR roster) and deliver the notifications it causes."""
        data = body.encode() if isinstance(body, str) else body
        self.client("s3").put_object(Bucket=bucket or self.feed_bucket, Key=key, Body=data)
        self._drain()

    def publish_policy(self, path: str | Path) -> None:
        """Publish a new policy mid-run, as `autopilot policy publish` does: validated, stored as compact JSON in the
        policy parameter (Overwrite). The functions read it within their cache's 5 minutes, as in AWS. Its sites
        and bundles must be ones the world has (the directories and bundles are made when the world is built)."""
        policy_path = Path(path)
        text = policy_path.read_text(encoding="utf-8")
        policy = parse_policy(text, origin=str(policy_path))
        unknown = sorted({s.directory for s in policy.sites.values()} - set(self.emulator_directory_names()))
        unknown += sorted(alias for alias in policy.bundles if alias not in self.bundles)
        if unknown:
            names = ", ".join(unknown)
            raise LocalCloudError(f"policy {policy_path}: names what the world was not built with: {names}")
        parameter = self.functions_env("POLICY_PARAMETER_NAME")
        document = policy_document_json(text, origin=str(policy_path))
        self.client("ssm").put_parameter(Name=parameter, Value=document, Type="String", Overwrite=True)
        self.policy, self.policy_path, self.policy_text = policy, policy_path, text
        for site_name, site in policy.sites.items():
            self.directories.setdefault(site_name, self._directory_ids[site.directory])
        self.note("policy", file=str(policy_path), dry_run=policy.dry_run)

    def emulator_directory_names(self) -> list[str]:
        return list(self._directory_ids)

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

    # ------------------------------------------------------------------ users and desks

    def login(self, user: str, site: str | None = None) -> dict[str, Any]:
        """A user connects: the emulator opens the session (starting a stopped AutoStop desk first) and
        WorkSpaces sends `WorkSpaces Access` once the login succeeds."""
        desk = self.desk_of(user, site)
        result = self.emulator.login(desk.workspace_id)
        self._collect()
        self.meter.observe(workspace_ids=[desk.workspace_id])
        if not result.ok:
            self.note("login_refused", workspace_id=desk.workspace_id, user=user, reason=result.reason)
        elif result.connected_at is not None and result.connected_at > self.now():
            self._pending_logins.append((result.connected_at, desk.workspace_id))
        else:
            self._emit_access(desk.workspace_id, self.now())
        self._drain()
        return {"workspace_id": desk.workspace_id, "ok": result.ok, "state": result.state, "reason": result.reason}

    def _emit_access(self, workspace_id: str, at: dt.datetime) -> None:
        desk = self.emulator.workspace(workspace_id)
        self._events.append(
            (
                "default",
                self._complete_envelope(
                    {
                        "detail-type": "WorkSpaces Access",
                        "source": "aws.workspaces",
                        "time": iso(at),
                        "resources": [f"arn:aws:workspaces:{self.region}:{self.account_id}:workspace/{workspace_id}"],
                        "detail": {
                            "clientIpAddress": "198.51.100.10",
                            "actionType": "successfulLogin",
                            "workspacesClientProductName": "WorkSpaces Desktop client",
                            "loginTime": at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                            "clientPlatform": "Windows",
                            "directoryId": f"domain/{desk['directory_id']}",
                            "clientVersion": "5.22.0",
                            "workspaceId": workspace_id,
                        },
                    }
                ),
            )
        )
        self.note("login", workspace_id=workspace_id, user=desk["user"])

    def disconnect(self, user: str, site: str | None = None) -> bool:
        desk = self.desk_of(user, site)
        was_connected = self.emulator.disconnect(desk.workspace_id)
        self.meter.observe(workspace_ids=[desk.workspace_id])
        self.note("disconnect", workspace_id=desk.workspace_id, user=user, was_connected=was_connected)
        self._drain()
        return was_connected

    def set_state(self, user: str, state: str, *, site: str | None = None, settle: bool = False) -> None:
        desk = self.desk_of(user, site)
        self.emulator.set_state(desk.workspace_id, state, settle=settle)
        self._drain()

    def connection_failures(self, user: str, count: int, *, site: str | None = None) -> None:
        """Failed connection attempts, as WorkSpaces publishes them in AWS/WorkSpaces: ConnectionAttempt and
        ConnectionFailure for the desk (dimension WorkspaceId) and for its directory (dimension DirectoryId)."""
        desk = self.desk_of(user, site)
        now = self.now()
        data = [
            {"MetricName": metric, "Dimensions": [dimension], "Value": float(count), "Unit": "Count", "Timestamp": now}
            for dimension in (
                {"Name": "WorkspaceId", "Value": desk.workspace_id},
                {"Name": "DirectoryId", "Value": desk.directory_id},
            )
            for metric in ("ConnectionAttempt", "ConnectionFailure")
        ]
        self.client("cloudwatch").put_metric_data(Namespace="AWS/WorkSpaces", MetricData=data)
        self.note("connection_failures", workspace_id=desk.workspace_id, user=user, count=count)
        self._drain()

    def missing_user(self, user: str, *, site: str | None = None, duration: dt.timedelta | None = None) -> None:
        """The user is not (yet) in the directory: CreateWorkspaces fails for them. With `duration`, the
        directory sync catches up after that long."""
        directories = [self._directory_of(site)] if site else sorted(set(self.directories.values()))
        for directory_id in directories:
            self.emulator.set_user_missing(directory_id, user)
        if duration is not None:

            def appear() -> None:
                for directory_id in directories:
                    self.emulator.set_user_missing(directory_id, user, missing=False)
                self.note("user_synced", user=user)

            self._at(self.now() + duration, f"user {user} appears", appear)

    def _at(self, moment: dt.datetime, label: str, action: Callable[[], None]) -> None:
        self._seq += 1
        heapq.heappush(self._world_timers, (moment, self._seq, label, action))

    # ------------------------------------------------------------------ faults

    def throttle(self, operation: str, times: int = 1) -> None:
        """The next `times` calls of a WorkSpaces operation answer ThrottlingException (botocore retries)."""
        self.emulator.throttle(operation, times)

    def refuse(self, operation: str, error_code: str, times: int = 1) -> None:
        """The next `times` calls of a WorkSpaces operation answer HTTP 400 `error_code` (AccessDeniedException,
        ValidationException...): a permanent refusal, which botocore does not retry."""
        self.emulator.refuse(operation, error_code, times)

    def fail_requests(
        self, operation: str, ids: Iterable[str], error_code: str, error_message: str | None = None, times: int = 1
    ) -> None:
        """Per-item failures (FailedRequests) for these workspace ids (user names for CreateWorkspaces)."""
        message = error_message or f"{error_code} (injected by the local cloud)"
        self.emulator.fail_requests(operation, list(ids), error_code, message, times)

    def crash(self, function: str, after: str, times: int = 1) -> None:
        """Make `function` raise RuntimeError right after its next `times` successful `after` calls
        (`CreateWorkspaces` or `workspaces:CreateWorkspaces`): a crash or timeout mid-flight."""
        spec = self._function_by_any(function)
        self._crashes.append({"function": spec.logical_id, "operation": after, "remaining": int(times)})

    # ================================================================== hooks (localcloud.patches)

    def before_api_call(self, service: str, operation: str) -> bool:
        if service == "scheduler":
            self._schedules_dirty = True
        if self._current is None:
            return False
        self.api_calls[f"{service}:{operation}"] += 1
        return True

    def authorize_api_call(self, service: str, operation: str, params: Mapping[str, Any]) -> None:
        """A function's call, authorised as its role before it reaches moto: refused, it raises ClientError as
        AWS answers (localcloud.iam_world.DENIED) and the timeline has `access_denied`."""
        if self._enforcer is None or self._current is None:
            return
        denial = self._enforcer.check(self._current, service, operation, params)
        if denial is not None:
            self.note(
                "access_denied",
                function=self._current,
                action=denial.action,
                resource=denial.resource,
                code=denial.code,
            )
            raise ClientError(denial.error_response(self._enforcer.principal(self._current)), operation)  # type: ignore[arg-type]

    def after_api_call(self, service: str, operation: str, result: Any) -> None:
        if service == "workspaces" and operation in METERED_CHANGES:
            self.meter.observe(everything=True)
        if (service, operation) == ("workspaces", "CreateWorkspaces"):
            for created in result.get("PendingRequests", []):
                self.note(
                    "created", workspace_id=created["WorkspaceId"], user=created["UserName"], state=created["State"]
                )
        elif (service, operation) == ("workspaces", "MigrateWorkspace") and result.get("TargetWorkspaceId"):
            self.note("created", workspace_id=result["TargetWorkspaceId"], source=result.get("SourceWorkspaceId"))
        for plan in self._crashes:
            wanted = plan["operation"]
            if (
                plan["function"] == self._current
                and plan["remaining"] > 0
                and wanted in (operation, f"{service}:{operation}")
            ):
                plan["remaining"] -= 1
                raise RuntimeError(f"injected crash in {self._current} after {service}:{operation}")

    def accept_put_events(self, events: list[dict[str, Any]], entries: list[dict[str, Any]]) -> None:
        for request, entry in zip(events, entries, strict=False):
            if "EventId" not in entry:
                continue
            raw_time = request.get("Time")
            moment = self.now() if raw_time in (None, "") else _as_datetime(raw_time)
            envelope = {
                "version": "0",
                "id": entry["EventId"],
                "detail-type": request["DetailType"],
                "source": request["Source"],
                "account": self.account_id,
                "time": iso(moment),
                "region": self.region,
                "resources": list(request.get("Resources") or []),
                "detail": json.loads(request["Detail"]),
            }
            self._events.append((self._bus_name(request.get("EventBusName")), envelope))

    def accept_s3_event(self, event_name: str, bucket: Any, key: Any) -> None:
        if ":ObjectCreated:" not in event_name:
            return
        self._s3_events += 1
        obj: dict[str, Any] = {"key": key.name, "size": key.size, "etag": str(key.etag).strip('"')}
        if getattr(key, "version_id", None) and key.version_id != "null":
            obj["version-id"] = key.version_id
        obj["sequencer"] = f"{self._s3_events:016X}"
        detail = {
            "version": "0",
            "bucket": {"name": bucket.name},
            "object": obj,
            "request-id": f"LOCAL{self._s3_events:011d}",
            "requester": self.account_id,
            "source-ip-address": "198.51.100.20",
            "reason": _S3_REASONS.get(event_name.rsplit(":", 1)[-1], "PutObject"),
        }
        envelope = self._complete_envelope(
            {
                "detail-type": "Object Created",
                "source": "aws.s3",
                "resources": [f"arn:aws:s3:::{bucket.name}"],
                "detail": detail,
            }
        )
        self._events.append(("default", envelope))

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

    def _route(self, bus: str, envelope: dict[str, Any]) -> None:
        matched: list[str] = []
        for rule in self.rules:
            if rule.bus != bus or not rule.enabled or not rule.pattern.matches_event(envelope):
                continue
            for target in rule.targets:
                matched.append(self._deliver_to_target(rule, target, envelope))
        self.note(
            "event",
            bus=bus,
            source=envelope.get("source"),
            detail_type=envelope.get("detail-type"),
            account=envelope.get("account"),
            id=envelope.get("id"),
            targets=matched,
        )

    def _deliver_to_target(self, rule: Rule, target: Mapping[str, Any], envelope: dict[str, Any]) -> str:
        arn = str(target["Arn"])
        payload = shapes.target_input(target, envelope)
        trigger = f"rule:{rule.logical_id}"
        refusal = self._refused_delivery("events.amazonaws.com", arn, self.resolver.get_att(rule.logical_id, "Arn"))
        if refusal is not None:
            return self._rule_delivery_refused(rule, target, envelope, refusal)
        if ":lambda:" in arn:
            spec = self._function_by_any(arn)
            self._queue_async(spec.logical_id, payload, trigger)
            return spec.logical_id
        if ":sqs:" in arn:
            self._send_to_queue(arn, payload, target.get("SqsParameters", {}).get("MessageGroupId"))
            return self._queue_label(arn)
        if ":event-bus/" in arn:
            self._events.append((self._bus_name(arn), envelope))
            return f"bus:{self._bus_name(arn)}"
        self.note("delivery_failed", rule=rule.logical_id, target=arn, reason="target type not modelled")
        return f"unmodelled:{arn}"

    def _refused_delivery(self, service: str, target: str, source_arn: str) -> iam_delivery.Refusal | None:
        """What IAM says of an AWS service's delivery to a target (None: allowed, or IAM is not enforced)."""
        if self._deliveries is None:
            return None
        action = "lambda:InvokeFunction" if ":lambda:" in target else "sns:Publish" if ":sns:" in target else None
        if ":sqs:" in target:
            action = "sqs:SendMessage"
        if action is None:
            return None
        return self._deliveries.by_service(service, action, target, source_arn)

    def _rule_delivery_refused(
        self, rule: Rule, target: Mapping[str, Any], envelope: dict[str, Any], refusal: iam_delivery.Refusal
    ) -> str:
        """EventBridge does not retry a target it may not reach; the event goes to the target's dead-letter
        queue if that delivery is allowed (EventBridge user guide, "Using dead-letter queues to process
        undelivered events": permission errors are not retried), else it is lost."""
        dead_letter = target.get("DeadLetterConfig", {}).get("Arn")
        rule_arn = self.resolver.get_att(rule.logical_id, "Arn")
        self.note("delivery_refused", rule=rule.logical_id, target=str(target["Arn"]), reason=refusal.describe())
        if dead_letter and self._refused_delivery("events.amazonaws.com", dead_letter, rule_arn) is None:
            attributes = {"ERROR_CODE": "NO_PERMISSIONS", "RULE_ARN": rule_arn, "TARGET_ARN": str(target["Arn"])}
            self._send_to_queue(dead_letter, envelope, attributes=attributes)
            return f"refused:{self._queue_label(dead_letter)}"
        return f"refused:{target['Arn']}"

    def _queue_label(self, arn: str) -> str:
        queue = self._queue_by_arn(arn)
        logical = next((k for k, v in self.queues.items() if v is queue), None)
        return f"sqs:{logical or arn}"

    def _send_to_queue(
        self, arn: str, body: Any, group_id: str | None = None, attributes: Mapping[str, Any] | None = None
    ) -> None:
        queue = self._queue_by_arn(arn)
        url = (
            queue["url"]
            if queue
            else f"https://sqs.{self.region}.amazonaws.com/{arn.split(':')[4]}/{arn.rsplit(':', 1)[-1]}"
        )
        kwargs: dict[str, Any] = {
            "QueueUrl": url,
            "MessageBody": body if isinstance(body, str) else json.dumps(body),
        }
        if group_id:
            kwargs["MessageGroupId"] = group_id
        if attributes:
            kwargs["MessageAttributes"] = {
                name: {"DataType": "String", "StringValue": str(value)} for name, value in attributes.items()
            }
        self.client("sqs").send_message(**kwargs)

    def _queue_async(
        self,
        function: str,
        event: Any,
        trigger: str,
        attempt: int = 1,
        first_at: dt.datetime | None = None,
        due: dt.datetime | None = None,
    ) -> None:
        self._seq += 1
        item = AsyncInvoke(function, event, trigger, attempt, first_at or self.now())
        heapq.heappush(self._async, (due or self.now(), self._seq, item))

    def _run_async(self, item: AsyncInvoke) -> None:
        spec = self.functions[item.function]
        invocation = self._run(spec, item.event, item.trigger, attempt=item.attempt)
        if invocation.ok:
            if spec.on_success:
                self._send_record(spec, item, invocation, "Success")
            return
        now = self.now()
        if item.attempt <= spec.max_retry_attempts:
            due = now + ASYNC_RETRY_DELAYS[min(item.attempt - 1, len(ASYNC_RETRY_DELAYS) - 1)]
            if (due - item.first_at).total_seconds() <= spec.max_event_age_s:
                self._queue_async(item.function, item.event, item.trigger, item.attempt + 1, item.first_at, due)
                return
            condition = "EventAgeExceeded"
        else:
            condition = "RetriesExhausted"
        if spec.on_failure:
            self._send_record(spec, item, invocation, condition)
        if spec.dead_letter and ":sqs:" in spec.dead_letter:
            self._send_to_queue(
                spec.dead_letter,
                item.event,
                attributes={"RequestID": invocation.request_id, "ErrorCode": "200", "ErrorMessage": invocation.error},
            )
        self.note("async_failed", function=spec.logical_id, condition=condition, error=invocation.error)

    def _send_record(
        self, spec: lambdas.FunctionSpec, item: AsyncInvoke, invocation: Invocation, condition: str
    ) -> None:
        """Lambda's invocation record for an async destination."""
        destination = spec.on_success if condition == "Success" else spec.on_failure
        assert destination is not None
        record: dict[str, Any] = {
            "version": "1.0",
            "timestamp": self.now().strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "requestContext": {
                "requestId": invocation.request_id,
                "functionArn": f"{spec.arn}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": item.attempt,
            },
            "requestPayload": item.event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
            "responsePayload": invocation.result,
        }
        if not invocation.ok:
            record["responseContext"]["functionError"] = "Unhandled"
            record["responsePayload"] = invocation.result
        if self._deliveries is not None:
            # Lambda sends the record as the function's execution role (Lambda developer guide, "Capturing
            # records of asynchronous invocations": the role needs sqs:SendMessage, sns:Publish or
            # lambda:InvokeFunction on the destination); a refused record is lost.
            service = destination.split(":")[2] if destination.count(":") >= 5 else ""
            action = {"sqs": "sqs:SendMessage", "sns": "sns:Publish", "lambda": "lambda:InvokeFunction"}.get(service)
            role = self._enforcer.roles[spec.logical_id].arn if self._enforcer is not None else ""
            refusal = self._deliveries.by_role(role, action, destination) if action else None
            if refusal is not None:
                self.note("destination_refused", function=spec.logical_id, reason=refusal.describe())
                return
        if ":sqs:" in destination:
            self._send_to_queue(destination, record)
        elif ":sns:" in destination:
            self.client("sns").publish(TopicArn=destination, Message=json.dumps(record))
        elif ":lambda:" in destination:
            self._queue_async(self._function_by_any(destination).logical_id, record, f"destination:{spec.logical_id}")

    # ------------------------------------------------------------------ running a function

    def _run(self, spec: lambdas.FunctionSpec, event: Any, trigger: str, *, attempt: int = 1) -> Invocation:
        self._seq += 1
        request_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"localcloud/{self._seed}/request/{self._seq}"))
        handler = self._handler_overrides.get(spec.logical_id)
        self._current = spec.logical_id
        try:
            outcome = lambdas.run(spec, event, request_id, base_env=CREDENTIALS, handler=handler)
        finally:
            self._current = None
        invocation = Invocation(
            function=spec.logical_id,
            trigger=trigger,
            ok=outcome.ok,
            error=outcome.error,
            time=iso(self.now()),
            request_id=request_id,
            attempt=attempt,
            result=outcome.result if outcome.ok else outcome.error_payload(request_id),
            logs=outcome.logs,
        )
        self.invocations.append(invocation)
        self.note(
            "invocation",
            function=spec.logical_id,
            trigger=trigger,
            ok=outcome.ok,
            error=outcome.error,
            attempt=attempt,
        )
        self._collect()
        return invocation

    # ------------------------------------------------------------------ SQS event source mappings

    def _poll_one_mapping(self) -> bool:
        now = self.now()
        backend = sqs_backends[self.account_id][self.region]
        for mapping in self.mappings:
            if not mapping.enabled:
                continue
            queue = backend.queues.get(mapping.queue_name)
            visible = len(queue.messages) if queue is not None else 0
            if visible == 0:
                mapping.first_seen = None
                continue
            if visible < mapping.batch_size and mapping.window_s > 0:
                if mapping.first_seen is None:
                    mapping.first_seen = now
                if now < mapping.first_seen + dt.timedelta(seconds=mapping.window_s):
                    continue
            mapping.first_seen = None
            if self._invoke_batch(mapping):
                return True
        return False

    def _invoke_batch(self, mapping: QueueMapping) -> bool:
        sqs = self.client("sqs")
        messages: list[dict[str, Any]] = []
        while len(messages) < mapping.batch_size:
            response = sqs.receive_message(
                QueueUrl=mapping.queue_url,
                MaxNumberOfMessages=min(10, mapping.batch_size - len(messages)),
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            received = response.get("Messages", [])
            if not received:
                break
            messages += received
        if not messages:
            return False  # every visible message went to the dead-letter queue on this receive
        records = [shapes.sqs_record(message, mapping.queue_arn, self.region) for message in messages]
        spec = self.functions[mapping.function]
        invocation = self._run(spec, {"Records": records}, f"sqs:{mapping.queue_logical_id}")
        failed = shapes.failed_items(
            invocation.ok, invocation.result, mapping.report_failures, {m["MessageId"] for m in messages}
        )
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            sqs.delete_message_batch(
                QueueUrl=mapping.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        return True

    def _next_visible(self, queue_name: str, now: dt.datetime) -> dt.datetime | None:
        queue = sqs_backends[self.account_id][self.region].queues.get(queue_name)
        if queue is None:
            return None
        moment = now.timestamp() * 1000
        later = [
            max(message.visible_at, message.delayed_until)
            for message in queue._messages
            if max(message.visible_at, message.delayed_until) >= moment
        ]
        # moto compares milliseconds as floats with `>`: step a little past visible_at so it really is visible.
        return dt.datetime.fromtimestamp(min(later) / 1000 + 0.01, dt.UTC) if later else None

    # ------------------------------------------------------------------ schedules and timers

    def _refresh_schedules(self) -> None:
        if not self._schedules_dirty:
            return
        self._schedules_dirty = False
        backend = scheduler_backends[self.account_id][self.region]
        seen: set[str] = set()
        for group_name in sorted(backend.schedule_groups):
            group = backend.schedule_groups[group_name]
            for name in sorted(group.schedules):
                schedule = group.schedules[name]
                seen.add(schedule.arn)
                version = (
                    schedule.creation_date,
                    schedule.last_modified_date,
                    schedule.schedule_expression,
                    schedule.state,
                )
                track = self._tracks.get(schedule.arn)
                if track is not None and track.version == version:
                    continue
                expression = Expression.parse(schedule.schedule_expression, schedule.schedule_expression_timezone)
                anchor = dt.datetime.fromtimestamp(float(schedule.creation_date), dt.UTC)
                if schedule.start_date:
                    anchor = _as_datetime(schedule.start_date)
                if (schedule.arn, schedule.creation_date) in self._fired_once:
                    next_fire = None
                elif expression.kind == "at":
                    next_fire = expression.at
                else:
                    next_fire = expression.next_after(max(self.now(), anchor) - dt.timedelta(microseconds=1), anchor)
                if schedule.state == "DISABLED":
                    next_fire = None
                if next_fire is not None and schedule.end_date and next_fire > _as_datetime(schedule.end_date):
                    next_fire = None
                self._tracks[schedule.arn] = _Track(version, expression, anchor, next_fire)
        for arn in set(self._tracks) - seen:
            del self._tracks[arn]

    def _fire_one_schedule(self) -> bool:
        self._refresh_schedules()
        now = self.now()
        due = sorted(
            (track.next_fire, arn) for arn, track in self._tracks.items() if track.next_fire and track.next_fire <= now
        )
        if not due:
            return False
        scheduled, arn = due[0]
        backend = scheduler_backends[self.account_id][self.region]
        _, _, rest = arn.partition(":schedule/")
        group_name, _, name = rest.partition("/")
        schedule = backend.schedule_groups[group_name].schedules[name]
        track = self._tracks[arn]
        assert scheduled is not None
        self._fire(schedule, scheduled, one_time=track.expression.kind == "at")
        if track.expression.kind == "at":
            self._fired_once.add((arn, schedule.creation_date))
            track.next_fire = None
            if schedule.action_after_completion == "DELETE":
                backend.delete_schedule(group_name, name)
                self._schedules_dirty = True
        else:
            track.next_fire = track.expression.next_after(scheduled, track.anchor)
            if track.next_fire is not None and schedule.end_date and track.next_fire > _as_datetime(schedule.end_date):
                track.next_fire = None
        return True

    def _fire(self, schedule: Any, scheduled: dt.datetime, *, one_time: bool) -> None:
        attempt = _SchedulerAttempt(
            schedule.arn,
            schedule.name,
            schedule.group_name,
            copy.deepcopy(dict(schedule.target)),
            scheduled,
            one_time,
            1,
            self.now(),
        )
        self._invoke_schedule_target(attempt)

    def _invoke_schedule_target(self, attempt: _SchedulerAttempt) -> None:
        """One attempt at a schedule's target; a failure is retried by the target's RetryPolicy, then dead-lettered."""
        target = attempt.target
        execution_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{attempt.arn}@{attempt.scheduled.isoformat()}"))
        payload = str(target.get("Input", "{}"))
        for placeholder, value in (
            ("<aws.scheduler.scheduled-time>", iso(attempt.scheduled)),
            ("<aws.scheduler.execution-id>", execution_id),
            ("<aws.scheduler.schedule-arn>", attempt.arn),
            ("<aws.scheduler.attempt-number>", str(attempt.attempt)),
        ):
            payload = payload.replace(placeholder, value)
        trigger = f"{'timer' if attempt.one_time else 'schedule'}:{attempt.name}"
        arn = str(target.get("Arn", ""))
        try:
            self._authorize_schedule_target(target)
            if ":lambda:" in arn:
                spec = self._function_by_any(arn)
                self._queue_async(spec.logical_id, json.loads(payload), trigger)
                label = spec.logical_id
            elif ":sqs:" in arn:
                self._send_to_queue(arn, payload, target.get("SqsParameters", {}).get("MessageGroupId"))
                label = self._queue_label(arn)
            else:
                raise LocalCloudError(f"target {arn} is not modelled")
        except (LocalCloudError, ClientError, json.JSONDecodeError) as exc:
            self._schedule_target_failed(attempt, payload, str(exc))
            return
        if attempt.one_time or ":lambda:" not in arn:
            self.note("timer" if attempt.one_time else "schedule", name=attempt.name, group=attempt.group, target=label)

    def _authorize_schedule_target(self, target: Mapping[str, Any]) -> None:
        """Scheduler reaches its target as the schedule's role (Target.RoleArn): refused, the attempt fails as
        any other failed invocation does (retried by the RetryPolicy, then dead-lettered)."""
        if self._deliveries is None:
            return
        arn = str(target.get("Arn", ""))
        action = "lambda:InvokeFunction" if ":lambda:" in arn else "sqs:SendMessage"
        refusal = self._deliveries.by_role(str(target.get("RoleArn", "")), action, arn)
        if refusal is not None:
            raise LocalCloudError(f"AccessDenied: {refusal.describe()}")

    def _schedule_target_failed(self, attempt: _SchedulerAttempt, payload: str, reason: str) -> None:
        self.note("delivery_failed", schedule=attempt.name, reason=reason, attempt=attempt.attempt)
        policy = attempt.target.get("RetryPolicy") or {}
        retries = int(policy.get("MaximumRetryAttempts", 185))
        max_age = dt.timedelta(seconds=int(policy.get("MaximumEventAgeInSeconds", 86400)))
        due = self.now() + SCHEDULER_FIRST_RETRY * 2 ** (attempt.attempt - 1)
        if attempt.attempt > retries:
            condition = "MaximumRetryAttempts"
        elif due - attempt.first_at > max_age:
            condition = "MaximumEventAgeInSeconds"
        else:
            self._seq += 1
            retry = dataclasses.replace(attempt, attempt=attempt.attempt + 1)
            heapq.heappush(self._scheduler_retries, (due, self._seq, retry))
            return
        self._scheduler_dead_letter(attempt, payload, reason, condition)

    def _scheduler_dead_letter(self, attempt: _SchedulerAttempt, payload: str, reason: str, condition: str) -> None:
        dlq = attempt.target.get("DeadLetterConfig", {}).get("Arn")
        if dlq and ":sqs:" in dlq:
            self._send_to_queue(
                dlq,
                payload,
                attributes={
                    "ERROR_CODE": "TargetNotFound",
                    "ERROR_MESSAGE": reason,
                    "EXHAUSTED_RETRY_CONDITION": condition,
                    "SCHEDULE_ARN": attempt.arn,
                    "TARGET_ARN": attempt.target.get("Arn", ""),
                },
            )

    def _run_world_timers(self) -> None:
        while self._world_timers and self._world_timers[0][0] <= self.now():
            _, _, _, action = heapq.heappop(self._world_timers)
            action()

    def _complete_logins(self) -> None:
        now = self.now()
        still: list[tuple[dt.datetime, str]] = []
        for at, workspace_id in self._pending_logins:
            if at > now:
                still.append((at, workspace_id))
                continue
            connection = self.emulator.connection(workspace_id)
            if connection.get("ConnectionState") == "CONNECTED":
                self._emit_access(workspace_id, at)
            else:
                self.note(
                    "login_failed", workspace_id=workspace_id, state=self.emulator.workspace(workspace_id)["state"]
                )
        self._pending_logins = still

    # ------------------------------------------------------------------ CloudWatch

    def _publish_queue_metrics(self) -> None:
        """AWS/SQS ApproximateNumberOfMessagesVisible per queue, each minute while the queue is active."""
        backend = sqs_backends[self.account_id][self.region]
        data = []
        for logical_id in sorted(self.queues):
            name = self.queues[logical_id]["name"]
            queue = backend.queues.get(name)
            depth = len(queue.messages) if queue is not None else 0
            if depth == 0 and self._queue_depth_published.get(name, 0) == 0:
                continue
            self._queue_depth_published[name] = depth
            data.append(
                {
                    "MetricName": "ApproximateNumberOfMessagesVisible",
                    "Dimensions": [{"Name": "QueueName", "Value": name}],
                    "Value": float(depth),
                    "Unit": "Count",
                    "Timestamp": self.now().replace(tzinfo=None),  # moto keeps naive UTC timestamps
                }
            )
        if data:
            # CloudWatch receives these from SQS itself, not through the API: straight into moto's backend.
            cloudwatch_backends[self.account_id][self.region].put_metric_data("AWS/SQS", data)

    def _put_workspaces_metrics(self, data: list[dict[str, Any]]) -> None:
        # CloudWatch receives these from WorkSpaces itself, not through the API: straight into moto's backend.
        cloudwatch_backends[self.account_id][self.region].put_metric_data("AWS/WorkSpaces", data)

    def _evaluate_alarms(self) -> None:
        backend = cloudwatch_backends[self.account_id][self.region]
        region_name = _REGION_NAMES.get(self.region, self.region)
        for change in self._alarms.evaluate(backend, self.now().timestamp()):
            self.note(
                "alarm", alarm=change.alarm.name, previous=change.previous["value"], state=change.current["value"]
            )
            envelope = {
                "detail-type": "CloudWatch Alarm State Change",
                "source": "aws.cloudwatch",
                "resources": [change.alarm.alarm_arn],
                "detail": change.detail,
            }
            self._events.append(("default", self._complete_envelope(envelope)))
            for topic in change.actions():
                refusal = self._refused_delivery("cloudwatch.amazonaws.com", topic, change.alarm.alarm_arn)
                if refusal is not None:  # CloudWatch records the failed action in the alarm's history only
                    self.note("alarm_action_refused", alarm=change.alarm.name, reason=refusal.describe())
                    continue
                subject, message = change.notification(self.account_id, region_name)
                self.client("sns").publish(TopicArn=topic, Subject=subject, Message=message)
        self._collect()

    # ------------------------------------------------------------------ what happened

    def _collect(self) -> None:
        """Move new desk transitions, alerts and e-mails into the timeline."""
        self.meter.observe()
        transitions = self.emulator.fleet.transitions
        for transition in transitions[self._cursor.transitions :]:
            self.timeline.append(
                {
                    "time": iso(transition.at),
                    "kind": "transition",
                    "workspace_id": transition.workspace_id,
                    "from": transition.from_state,
                    "to": transition.to_state,
                }
            )
        self._cursor.transitions = len(transitions)
        backend = sns_backends[self.account_id][self.region]
        for arn in sorted(backend.topics):
            sent = backend.topics[arn].sent_notifications
            for notification in sent[self._cursor.sns.get(arn, 0) :]:
                alert = shapes.alert_of(notification)
                self.note(
                    "alert",
                    alert_kind=alert["kind"],
                    severity=alert["severity"],
                    subject=alert["subject"],
                    workspace_id=alert["workspace_id"],
                    incident_id=alert["incident_id"],
                )
            self._cursor.sns[arn] = len(sent)
        messages = ses_backends[self.account_id][self.region].sent_messages
        for message in messages[self._cursor.ses :]:
            mail = shapes.email_of(message)
            self.note("email", to=mail["to"], subject=mail["subject"])
        self._cursor.ses = len(messages)

    def alerts(self) -> list[dict[str, Any]]:
        backend = sns_backends[self.account_id][self.region]
        return [
            shapes.alert_of(notification)
            for arn in sorted(backend.topics)
            for notification in backend.topics[arn].sent_notifications
        ]

    def emails(self) -> list[dict[str, Any]]:
        return [shapes.email_of(message) for message in ses_backends[self.account_id][self.region].sent_messages]

    def dead_letters(self) -> list[dict[str, Any]]:
        backend = sqs_backends[self.account_id][self.region]
        letters = []
        for logical_id in sorted(set(self.dead_letter_queues.values())):
            queue = backend.queues.get(self.queues[logical_id]["name"])
            for message in list(queue._messages) if queue is not None else []:
                letters.append(shapes.dead_letter_of(logical_id, message))
        return letters

    def workspaces(self) -> list[dict[str, Any]]:
        return self.emulator.all_workspaces()

    def sorted_timeline(self) -> list[dict[str, Any]]:
        return sorted(self.timeline, key=lambda entry: entry["time"])

    def report(self) -> dict[str, Any]:
        """The report of a run (docs/local-cloud.md, "The report"), with the timeline."""
        return {
            "clock": iso(self.now()),
            "workspaces": self.workspaces(),
            "alerts": self.alerts(),
            "emails": self.emails(),
            "dead_letters": self.dead_letters(),
            "invocations": [invocation.to_report() for invocation in self.invocations],
            "api_calls": dict(sorted(self.api_calls.items())),
            "timeline": self.sorted_timeline(),
        }

    def _uuid(self, kind: str) -> str:
        self._seq += 1
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"localcloud/{self._seed}/{kind}/{self._seq}"))


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
