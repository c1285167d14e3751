"""Scenarios: a YAML (or JSON) file that seeds a fleet, then drives the local cloud step by step.

    name: first shift
    start: 2026-12-01T05:00:00Z
    policy: scenarios/policies/paris.yaml      # optional; the packaged default policy otherwise
    parameters: {HrAccountId: "210987654321"}   # optional stack parameters; the template's defaults otherwise
    fleet:
      - {user: jdoe, site: paris-hq, profile: office}
      - {count: 100, user_prefix: agent, site: amiens-cc, profile: agent}
    steps:
      - publish: events/hr_employee_hired.json
      - publish: {event: events/hr_employee_hired.json, account: "210987654321", bus: HrEventBus}
      - advance: 2h
      - login: {user: jdoe}
      - policy: scenarios/policies/paris_live.yaml   # publish a new policy mid-run (`autopilot policy publish`)

`run_scenario(path_or_dict)` returns the report (see docs/local-cloud.md). Everything wrong with the input
(unknown step, malformed file, unknown site, profile or function, missing event file, invalid policy) is a
ScenarioError whose message names the file and the step index or field; a function failing inside the
scenario is not an error: it is in the report.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from autopilot.domain.fleet.adoption import EMPLOYEE_TAG
from autopilot.domain.kernel.errors import PolicyError
from autopilot.domain.kernel.policy import Policy, describe_validation_errors, parse_policy
from localcloud.clock import parse_instant
from localcloud.intrinsics import TemplateError
from localcloud.world import ROOT, LocalCloud, LocalCloudError, RunawayError

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
WORKSPACE_STATES = (
    "PENDING",
    "AVAILABLE",
    "IMPAIRED",
    "UNHEALTHY",
    "REBOOTING",
    "STARTING",
    "REBUILDING",
    "RESTORING",
    "MAINTENANCE",
    "ADMIN_MAINTENANCE",
    "TERMINATING",
    "TERMINATED",
    "SUSPENDED",
    "UPDATING",
    "STOPPING",
    "STOPPED",
    "ERROR",
)
Progress = Callable[[str], None]


class ScenarioError(ValueError):
    """Bad input: one line that names the file and the step or field."""


def parse_duration(text: str) -> dt.timedelta:
    """`30m`, `2h`, `2d`, `1d6h`, `90s` -> timedelta."""
    match = _DURATION.match(str(text).strip())
    if not match or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration (use d, h, m, s: 30m, 2h, 1d6h)")
    days, hours, minutes, seconds = (int(group or 0) for group in match.groups())
    return dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


Duration = Annotated[str, Field(description="30m, 2h, 2d, 1d6h")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Desk(_Model):
    user: str = Field(min_length=1)
    site: str | None = None


class LoginStep(_Desk):
    pass


class DisconnectStep(_Desk):
    pass


class ConnectionFailuresStep(_Desk):
    count: int = Field(ge=1)


class SetStateStep(_Desk):
    state: Literal[WORKSPACE_STATES]  # type: ignore[valid-type]
    settle: bool = False


class MissingUserStep(_Desk):
    for_: Duration | None = Field(default=None, alias="for")

    @field_validator("for_")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value


class ThrottleStep(_Model):
    operation: str = Field(min_length=1)
    times: int = Field(default=1, ge=1)


class RefuseStep(_Model):
    operation: str = Field(min_length=1)
    error_code: str = Field(min_length=1)
    times: int = Field(default=1, ge=1)


class FailRequestsStep(_Model):
    operation: str = Field(min_length=1)
    users: list[str] = Field(min_length=1)
    error_code: str = Field(min_length=1)
    error_message: str | None = None
    times: int = Field(default=1, ge=1)


class CrashStep(_Model):
    function: str = Field(min_length=1)
    after: str = Field(min_length=1)
    times: int = Field(default=1, ge=1)


class InvokeStep(_Model):
    function: str = Field(min_length=1)
    event: Any = Field(default_factory=dict)  # a file name, or the payload itself


class PublishStep(_Model):
    """`publish: {event, account?, principal?, bus?}`: the event (a file or inline) put through PutEvents by
    `account` (a principal of it, or `principal`, an IAM ARN in it) onto `bus` (logical id, name or ARN)."""

    event: Any
    account: str | None = Field(default=None, pattern=r"^[0-9]{12}$")
    principal: str | None = Field(default=None, pattern=r"^arn:aws:(iam|sts)::[0-9]{12}:.+$")
    bus: str | None = Field(default=None, min_length=1)


class RosterStep(_Model):
    file: str = Field(min_length=1)
    key: str | None = None


STEP_MODELS: dict[str, type[BaseModel]] = {
    "login": LoginStep,
    "disconnect": DisconnectStep,
    "connection_failures": ConnectionFailuresStep,
    "set_state": SetStateStep,
    "missing_user": MissingUserStep,
    "throttle": ThrottleStep,
    "refuse": RefuseStep,
    "fail_requests": FailRequestsStep,
    "crash": CrashStep,
    "invoke": InvokeStep,
}
STEP_NAMES = ("publish", "upload_roster", "policy", "advance", *STEP_MODELS)


class FleetDesk(_Model):
    user: str = Field(min_length=1)
    site: str
    profile: str
    # The HR id of the desk's owner, as the AutopilotEmployeeId tag adoption reads (so HR events can name it).
    employee_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class FleetBulk(_Model):
    count: int = Field(ge=1, le=100_000)
    user_prefix: str = Field(min_length=1)
    site: str
    profile: str

    def users(self) -> list[str]:
        width = max(3, len(str(self.count)))
        return [f"{self.user_prefix}{number:0{width}d}" for number in range(1, self.count + 1)]


class ScenarioDocument(_Model):
    name: str = Field(min_length=1)
    description: str | None = None
    start: dt.datetime
    policy: str | None = None
    # Stack parameters (template.yaml's Parameters), e.g. {HrAccountId: "210987654321"}; defaults otherwise.
    parameters: dict[str, str] = Field(default_factory=dict)
    fleet: list[FleetDesk | FleetBulk] = Field(default_factory=list)
    steps: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("start")
    @classmethod
    def _utc(cls, value: dt.datetime) -> dt.datetime:
        return parse_instant(value)


class Step:
    """One validated step, ready to apply to a LocalCloud."""

    def __init__(self, index: int, name: str, argument: Any, label: str) -> None:
        self.index = index
        self.name = name
        self.argument = argument
        self.label = label


class Scenario:
    """A validated scenario: every file it names has been read and parsed."""

    def __init__(self, origin: str, document: ScenarioDocument, policy_path: Path | None, steps: list[Step]) -> None:
        self.origin = origin
        self.document = document
        self.policy_path = policy_path
        self.steps = steps

    @property
    def name(self) -> str:
        return self.document.name


# ====================================================================== loading


def _resolve_file(reference: str, base: Path | None) -> Path | None:
    candidate = Path(reference)
    if candidate.is_absolute():
        return candidate if candidate.is_file() else None
    for root in (ROOT, base, Path.cwd()):
        if root is not None and (root / candidate).is_file():
            return root / candidate
    return None


def _read_structured(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    return yaml.safe_load(text)


def _field_errors(exc: ValidationError, prefix: str = "") -> str:
    lines = describe_validation_errors(exc)
    return "; ".join(f"{prefix}{line}" if prefix else line for line in lines)


def load_scenario(source: str | Path | Mapping[str, Any]) -> Scenario:
    """Read and validate a scenario (a path, or the document as a dict)."""
    if isinstance(source, Mapping):
        origin, base, raw = "<scenario>", None, dict(source)
    else:
        path = Path(source)
        origin, base = str(source), path.parent
        if not path.is_file():
            raise ScenarioError(f"{origin}: no such scenario file")
        try:
            raw = _read_structured(path)
        except (yaml.YAMLError, json.JSONDecodeError) as exc:
            raise ScenarioError(
                f"{origin}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {_one_line(exc)}"
            ) from exc
    if not isinstance(raw, dict):
        raise ScenarioError(f"{origin}: a scenario is a mapping with name, start, fleet and steps")
    try:
        document = ScenarioDocument.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(f"{origin}: {_field_errors(exc)}") from exc
    policy_path, policy = _load_policy(origin, document.policy, base)
    for index, entry in enumerate(document.fleet):
        where = f"{origin}: fleet[{index}]"
        if entry.site not in policy.sites:
            raise ScenarioError(f"{where}.site: unknown site {entry.site!r} (policy sites: {', '.join(policy.sites)})")
        if entry.profile not in policy.profiles:
            known = ", ".join(policy.profiles)
            raise ScenarioError(f"{where}.profile: unknown profile {entry.profile!r} (policy profiles: {known})")
    steps = [_parse_step(origin, index, raw_step, base, policy) for index, raw_step in enumerate(document.steps)]
    return Scenario(origin, document, policy_path, steps)


def _one_line(exc: Exception) -> str:
    """A parse error as one line: what is wrong and where (line and column)."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} (line {exc.lineno}, column {exc.colno})"
    if isinstance(exc, yaml.MarkedYAMLError):
        parts = []
        for text, mark in ((exc.context, exc.context_mark), (exc.problem, exc.problem_mark)):
            if text:
                where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
                parts.append(f"{text}{where}")
        return ": ".join(parts) or " ".join(str(exc).split())
    return " ".join(str(exc).split())


def _load_policy(origin: str, reference: str | None, base: Path | None) -> tuple[Path | None, Policy]:
    if reference is None:
        from autopilot.adapters.policy_source import packaged_policy_text

        return None, parse_policy(packaged_policy_text(), origin="packaged default policy")
    path = _resolve_file(reference, base)
    if path is None:
        raise ScenarioError(f"{origin}: policy: no such file {reference}")
    try:
        return path, parse_policy(path.read_text(encoding="utf-8"), origin=reference)
    except PolicyError as exc:
        raise ScenarioError(f"{reference}: {'; '.join(exc.errors)}") from exc


def _parse_step(origin: str, index: int, raw: Any, base: Path | None, policy: Policy) -> Step:
    where = f"{origin}: steps[{index}]"
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ScenarioError(f"{where}: a step is a mapping with exactly one key (one of: {', '.join(STEP_NAMES)})")
    (name, argument), *_ = raw.items()
    if name not in STEP_NAMES:
        raise ScenarioError(f"{where}: unknown step {name!r} (known steps: {', '.join(STEP_NAMES)})")
    where = f"{where} ({name})"
    if name == "advance":
        try:
            delta = parse_duration(str(argument))
        except ValueError as exc:
            raise ScenarioError(f"{where}: {exc}") from exc
        return Step(index, name, delta, f"advance {argument}")
    if name == "publish":
        if isinstance(argument, str):
            events = read_events(where, argument, base)
            return Step(index, name, events, f"publish {argument}")
        if isinstance(argument, dict) and "event" in argument:
            publish = _validate(where, PublishStep, argument)
            assert isinstance(publish, PublishStep)
            if publish.account is not None and publish.bus is None:
                raise ScenarioError(f"{where}: bus: a publish from another account names the bus it puts on")
            if publish.principal is not None and f"::{publish.account}:" not in publish.principal:
                raise ScenarioError(f"{where}: principal: not an ARN of account {publish.account}")
            if isinstance(publish.event, str):
                events, label = read_events(where, publish.event, base), publish.event
            else:
                _check_event(where, publish.event)
                events = [publish.event]
                label = str(publish.event.get("detail-type") or publish.event.get("DetailType"))
            origin = f" from {publish.account}" if publish.account else ""
            return Step(index, name, (events, publish), f"publish {label}{origin}")
        if isinstance(argument, dict):
            _check_event(where, argument)
            return Step(index, name, [argument], f"publish {argument.get('detail-type') or argument.get('DetailType')}")
        raise ScenarioError(f"{where}: give an event file or an inline event")
    if name == "policy":
        if not isinstance(argument, str):
            raise ScenarioError(f"{where}: give a policy file")
        policy_path = _resolve_file(argument, base)
        if policy_path is None:
            raise ScenarioError(f"{where}: no such file {argument}")
        try:  # validated now, as `autopilot policy publish` validates before it stores
            parse_policy(policy_path.read_text(encoding="utf-8"), origin=argument)
        except PolicyError as exc:
            raise ScenarioError(f"{argument}: {'; '.join(exc.errors)} ({where})") from exc
        return Step(index, name, policy_path, f"policy {argument}")
    if name == "upload_roster":
        roster = RosterStep(file=argument) if isinstance(argument, str) else _validate(where, RosterStep, argument)
        assert isinstance(roster, RosterStep)
        path = _resolve_file(roster.file, base)
        if path is None:
            raise ScenarioError(f"{where}: no such file {roster.file}")
        key = roster.key or f"rosters/{path.name}"
        return Step(index, name, (path, key), f"upload_roster {roster.file}")
    model = _validate(where, STEP_MODELS[name], argument)
    site = getattr(model, "site", None)
    if site is not None and site not in policy.sites:
        raise ScenarioError(f"{where}: site: unknown site {site!r} (policy sites: {', '.join(policy.sites)})")
    if isinstance(model, InvokeStep) and isinstance(model.event, str):
        model = model.model_copy(update={"event": read_payload(where, model.event, base)})
    return Step(index, name, model, _label(name, model))


def _validate(where: str, model: type[BaseModel], argument: Any) -> BaseModel:
    if not isinstance(argument, dict):
        fields = ", ".join(model.model_fields)
        raise ScenarioError(f"{where}: expected a mapping with {fields}")
    try:
        return model.model_validate(argument)
    except ValidationError as exc:
        raise ScenarioError(f"{where}: {_field_errors(exc)}") from exc


def _label(name: str, model: BaseModel) -> str:
    values = model.model_dump(exclude_none=True, by_alias=True)
    values.pop("event", None)
    return f"{name} " + " ".join(f"{key}={value}" for key, value in values.items())


def read_payload(where: str, reference: str, base: Path | None) -> Any:
    """An event file as it is (any JSON or YAML value): what `invoke` passes to a handler."""
    path = _resolve_file(reference, base)
    if path is None:
        raise ScenarioError(f"{where}: no such event file {reference}")
    try:
        return _read_structured(path)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise ScenarioError(
            f"{reference}: not valid {'JSON' if path.suffix == '.json' else 'YAML'} ({where}): {_one_line(exc)}"
        ) from exc


def read_events(where: str, reference: str, base: Path | None) -> list[dict[str, Any]]:
    """An event file for `publish`: one EventBridge event or a list of them."""
    path = _resolve_file(reference, base)
    if path is None:
        raise ScenarioError(f"{where}: no such event file {reference}")
    try:
        content = _read_structured(path)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise ScenarioError(
            f"{reference}: not valid {'JSON' if path.suffix == '.json' else 'YAML'} ({where}): {_one_line(exc)}"
        ) from exc
    events = content if isinstance(content, list) else [content]
    for event in events:
        _check_event(f"{reference} ({where})", event)
    return events


def _check_event(where: str, event: Any) -> None:
    if not isinstance(event, dict):
        raise ScenarioError(f"{where}: an event is a mapping (an EventBridge envelope or a PutEvents entry)")
    envelope = {"source", "detail-type", "detail"}
    entry = {"Source", "DetailType", "Detail"}
    if not (envelope <= event.keys() or entry <= event.keys()):
        raise ScenarioError(
            f"{where}: an event needs source, detail-type and detail (envelope) or Source, DetailType and Detail"
        )


# ====================================================================== running


def _apply(cloud: LocalCloud, step: Step) -> None:
    name, value = step.name, step.argument
    if name == "publish" and isinstance(value, tuple):
        events, options = value
        for event in events:
            account = options.account or cloud.account_id
            cloud.publish_from(account, event, bus=options.bus or "default", principal=options.principal)
    elif name == "publish":
        for event in value:
            cloud.publish(event)
    elif name == "upload_roster":
        path, key = value
        cloud.put_object(key, path.read_bytes())
    elif name == "policy":
        cloud.publish_policy(value)
    elif name == "advance":
        cloud.advance(value)
    elif name == "login":
        cloud.login(value.user, value.site)
    elif name == "disconnect":
        cloud.disconnect(value.user, value.site)
    elif name == "connection_failures":
        cloud.connection_failures(value.user, value.count, site=value.site)
    elif name == "set_state":
        cloud.set_state(value.user, value.state, site=value.site, settle=value.settle)
    elif name == "missing_user":
        duration = parse_duration(value.for_) if value.for_ else None
        cloud.missing_user(value.user, site=value.site, duration=duration)
    elif name == "throttle":
        cloud.throttle(value.operation, value.times)
    elif name == "refuse":
        cloud.refuse(value.operation, value.error_code, value.times)
    elif name == "fail_requests":
        ids = (
            value.users
            if value.operation == "CreateWorkspaces"
            else [desk.workspace_id for user in value.users for desk in cloud.desks_of(user)]
        )
        cloud.fail_requests(value.operation, ids, value.error_code, value.error_message, value.times)
    elif name == "crash":
        cloud.crash(value.function, value.after, value.times)
    elif name == "invoke":
        cloud.invoke(value.function, value.event)


def _preflight(scenario: Scenario, cloud: LocalCloud) -> None:
    """Names that only the template can check: functions of invoke and crash steps."""
    for step in scenario.steps:
        function = getattr(step.argument, "function", None)
        if function is None:
            continue
        try:
            cloud.function(function)
        except LocalCloudError as exc:
            raise ScenarioError(f"{scenario.origin}: steps[{step.index}] ({step.name}): function: {exc}") from exc


@contextlib.contextmanager
def open_world(
    source: str | Path | Mapping[str, Any] | Scenario,
    *,
    progress: Progress | None = None,
    template: Path | None = None,
    parameters: Mapping[str, str] | None = None,
    iam: bool = True,
) -> Iterator[LocalCloud]:
    """Run a scenario in a fresh local cloud and yield the world as the scenario leaves it (closed on exit):
    for callers that want to look around afterwards (an operator CLI, a test reading the state table,
    `autopilot-local invoke --scenario`, which may name another template and its parameters)."""
    scenario = source if isinstance(source, Scenario) else load_scenario(source)
    say = progress or (lambda _message: None)
    document = scenario.document
    try:
        # The scenario's own stack parameters, overridden by the caller's (`invoke --parameter-overrides`).
        extra: dict[str, Any] = {"parameters": {**(document.parameters or {}), **(parameters or {})}}
        if template is not None:
            extra["template"] = template
        cloud = LocalCloud(start=document.start, policy=scenario.policy_path, iam=iam, **extra)
    except PolicyError as exc:  # checked at load already; kept for a policy changed in between
        raise ScenarioError(f"{scenario.policy_path}: {'; '.join(exc.errors)}") from exc
    try:
        with cloud:
            _preflight(scenario, cloud)
            seeded = 0
            for entry in document.fleet:
                users = [entry.user] if isinstance(entry, FleetDesk) else entry.users()
                created = cloud.seed_desks(users, site=entry.site, profile=entry.profile)
                if isinstance(entry, FleetDesk) and entry.employee_id is not None:
                    cloud.client("workspaces").create_tags(
                        ResourceId=created[0], Tags=[{"Key": EMPLOYEE_TAG, "Value": entry.employee_id}]
                    )
                seeded += len(users)
            if seeded:
                cloud.note("fleet", desks=seeded)
            cloud.settle()
            total = len(scenario.steps)
            for step in scenario.steps:
                say(f"[{step.index + 1}/{total}] {cloud.now():%Y-%m-%d %H:%M} {step.label}")
                cloud.note("step", index=step.index, step=step.label)
                try:
                    _apply(cloud, step)
                except RunawayError:
                    raise
                except LocalCloudError as exc:
                    # A user without a desk (yet), a fault the emulator refuses: recorded, the scenario goes on.
                    cloud.note("step_failed", index=step.index, step=step.label, reason=str(exc))
            yield cloud
    except TemplateError as exc:
        where = "parameters" if "parameter" in str(exc) else "template.yaml"
        raise ScenarioError(f"{scenario.origin}: {where}: {exc}") from exc


def run_scenario(
    source: str | Path | Mapping[str, Any] | Scenario,
    *,
    progress: Progress | None = None,
    iam: bool = True,
) -> dict[str, Any]:
    """Run a scenario in a fresh local cloud and return its report (`iam=False`: debugging only)."""
    with open_world(source, progress=progress, iam=iam) as cloud:
        return cloud.report()
