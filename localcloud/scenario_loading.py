"""Loading a scenario: reading the file (YAML or JSON), its policy, and every step with the files it names (events,
payloads), validated before anything runs; everything wrong is a ScenarioError naming the file and the step."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from autopilot.domain.kernel.errors import PolicyError
from autopilot.domain.kernel.policy import Policy, describe_validation_errors, parse_policy
from localcloud.scenario_format import (
    STEP_MODELS,
    STEP_NAMES,
    InvokeStep,
    PublishStep,
    RosterStep,
    Scenario,
    ScenarioDocument,
    ScenarioError,
    Step,
    parse_duration,
)
from localcloud.world import ROOT


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
