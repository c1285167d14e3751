"""`autopilot-local invoke`: one function, once, the way `sam local invoke` runs it, in a world built from the
template (optionally after a scenario). Everything wrong with the request is an InvokeError (SAM CLI's
UserException: exit status 1); a function error is the function's result, not an InvokeError."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from autopilot.domain.kernel.errors import PolicyError
from localcloud import lambdas
from localcloud.clock import parse_instant
from localcloud.intrinsics import TemplateError
from localcloud.sam_inputs import SamInputError, function_environment, parse_parameter_overrides, read_env_vars
from localcloud.samples import ROOT, sample_at, samples_for, sqs_batch
from localcloud.scenario import ScenarioError, open_world
from localcloud.world import DEFAULT_START, Invocation, LocalCloud, LocalCloudError

USER_ERROR = 1  # samcli.commands.exceptions.UserException.exit_code
STDIN = "-"


class InvokeError(RuntimeError):
    """The invocation could not be made: the message says why and what to give instead."""


@dataclasses.dataclass(frozen=True)
class InvokeRequest:
    function: str | None
    event_file: str | None = None
    no_event: bool = False
    template: Path | None = None
    env_vars: Path | None = None
    parameter_overrides: tuple[str, ...] = ()
    scenario: Path | None = None
    policy: Path | None = None
    at: str | None = None
    put_object: Path | None = None  # an Object Created event: put this file at the key it names first
    iam: bool = True  # authorise the function's calls as its role (False: debugging only)


@dataclasses.dataclass(frozen=True)
class _Event:
    payload: Any
    body_of: str | None  # a message body of this queue: wrap it in an SQS batch
    scenario: str | None  # the world the sample needs
    put_object: str | None = None  # the file an S3 notification sample announces


def _read_event(request: InvokeRequest, stdin: TextIO) -> _Event:
    if request.event_file is None:
        if request.no_event:
            return _Event({}, None, None)
        return _Event(None, None, None)  # the function's name is needed to say which samples fit
    if request.event_file == STDIN:
        text, where, sample = stdin.read(), "stdin", None
    else:
        path = Path(request.event_file)
        if not path.is_file() and (ROOT / path).is_file():
            path = ROOT / path
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise InvokeError(f"-e: {request.event_file}: no such event file") from exc
        where, sample = request.event_file, sample_at(path)
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        # Lambda's Invoke answers InvalidRequestContentException for a payload that is not JSON.
        raise InvokeError(f"{where}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from exc
    if sample is None:
        return _Event(payload, None, None)
    return _Event(payload, sample.body_of, sample.scenario, sample.object)


@contextlib.contextmanager
def _world(request: InvokeRequest, scenario: str | Path | None, start: dt.datetime) -> Iterator[LocalCloud]:
    try:
        parameters = parse_parameter_overrides(request.parameter_overrides)
    except SamInputError as exc:
        raise InvokeError(str(exc)) from exc
    template = request.template
    if template is not None and not template.is_file():
        raise InvokeError(f"-t: {template}: no such template file")
    try:
        if scenario is not None:
            if request.policy is not None:
                raise InvokeError("--policy with --scenario: name the policy in the scenario file")
            path = Path(scenario) if Path(scenario).is_file() else ROOT / scenario
            with open_world(path, template=template, parameters=parameters, iam=request.iam) as cloud:
                yield cloud
            return
        extra: dict[str, Any] = {} if template is None else {"template": template}
        with LocalCloud(start=start, policy=request.policy, parameters=parameters, iam=request.iam, **extra) as cloud:
            yield cloud
    except PolicyError as exc:
        raise InvokeError(f"{request.policy}: {'; '.join(exc.errors)}") from exc
    except FileNotFoundError as exc:
        raise InvokeError(f"{exc.filename}: no such file") from exc
    except ScenarioError as exc:
        raise InvokeError(str(exc)) from exc
    except (LocalCloudError, TemplateError) as exc:
        raise InvokeError(f"{template or 'template.yaml'}: {exc}") from exc


def _when(request: InvokeRequest, payload: Any) -> dt.datetime | None:
    when = request.at if request.at is not None else payload.get("time") if isinstance(payload, dict) else None
    if not isinstance(when, str):
        return None
    try:
        return parse_instant(when)
    except ValueError as exc:
        raise InvokeError(f"--at / the event's time: {when!r} is not an ISO 8601 instant") from exc


def _apply_env_vars(cloud: LocalCloud, spec: lambdas.FunctionSpec, env_vars: Path | None) -> lambdas.FunctionSpec:
    if env_vars is None:
        return spec
    try:
        document = read_env_vars(env_vars)
    except SamInputError as exc:
        raise InvokeError(str(exc)) from exc
    environment = function_environment(spec.environment, document, (spec.logical_id, spec.name))
    changed = dataclasses.replace(spec, environment=environment)
    cloud.functions[spec.logical_id] = changed
    return changed


def _no_event_message(spec: lambdas.FunctionSpec) -> str:
    samples = samples_for(spec.logical_id)
    fitting = f"; samples for {spec.logical_id}: {', '.join(samples)}" if samples else ""
    return (
        f"{spec.logical_id} needs an event: give -e FILE, -e - (the event on stdin) or --no-event (an empty event)"
        f"{fitting} (or `autopilot-local generate-event`)"
    )


def invoke(request: InvokeRequest, *, stdin: TextIO) -> Invocation:
    """Build the world (or run the scenario), then invoke the function once, synchronously; nothing it
    publishes is delivered further."""
    event = _read_event(request, stdin)
    scenario: str | Path | None = request.scenario or (event.scenario if request.policy is None else None)
    when = _when(request, event.payload)
    with _world(request, scenario, when or DEFAULT_START) as cloud:
        if request.function is None:
            raise InvokeError(f"give the function to invoke (functions: {', '.join(sorted(cloud.functions))})")
        try:
            spec = cloud.function(request.function)
        except LocalCloudError as exc:
            raise InvokeError(str(exc)) from exc
        if event.payload is None:
            raise InvokeError(_no_event_message(spec))
        spec = _apply_env_vars(cloud, spec, request.env_vars)
        if scenario is not None and request.at is not None and when is not None:
            # After a scenario the world's clock is where the scenario left it; --at moves it on (never back).
            if when < cloud.now():
                raise InvokeError(f"--at {request.at}: the scenario already ended at {cloud.now():%Y-%m-%dT%H:%M:%SZ}")
            cloud.advance(when - cloud.now())
        payload = event.payload
        announced = request.put_object or (ROOT / event.put_object if event.put_object else None)
        if announced is not None and not announced.is_file() and (ROOT / announced).is_file():
            announced = ROOT / announced
        if announced is not None:
            payload = _put_announced_object(cloud, payload, announced)
        if event.body_of is not None and _consumes(cloud, spec, event.body_of):
            payload = sqs_batch([payload], cloud.queues[event.body_of]["arn"], cloud.now())
        return cloud.invoke(spec.logical_id, payload, settle=False)


def _put_announced_object(cloud: LocalCloud, payload: Any, source: Path) -> Any:
    """Put the object an `Object Created` sample announces, and give the sample the version id, ETag and
    size S3 answered: in a versioned bucket the notification names the version that was put, and no other
    version exists in a fresh world."""
    detail = payload.get("detail") if isinstance(payload, dict) else None
    if not isinstance(detail, dict) or not {"bucket", "object"} <= detail.keys():
        raise InvokeError("--object: the event is not an S3 Object Created event (detail.bucket, detail.object)")
    try:
        body = source.read_bytes()
    except FileNotFoundError as exc:
        raise InvokeError(f"--object: {source}: no such file") from exc
    answer = cloud.client("s3").put_object(Bucket=detail["bucket"]["name"], Key=detail["object"]["key"], Body=body)
    changed = json.loads(json.dumps(payload))
    announced = changed["detail"]["object"]
    announced.update({"size": len(body), "etag": str(answer["ETag"]).strip('"')})
    if "VersionId" in answer:
        announced["version-id"] = answer["VersionId"]
    return changed


def _consumes(cloud: LocalCloud, spec: lambdas.FunctionSpec, queue: str) -> bool:
    return any(m.function == spec.logical_id and m.queue_logical_id == queue for m in cloud.mappings)
