"""Every input contract is total on hostile input: valid samples from events/ are mutated (fields dropped, types
swapped, extra fields injected, strings fuzzed, nested junk) and parsing either accepts them or raises
pydantic.ValidationError, never anything else. An accepted HR or timer event never carries a field the contract
forbids (a bundle, directory, running mode or tags: the policy decides those, never the event)."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from autopilot.contracts.catalogue import (
    INPUT_EVENTS,
    AlarmStateChangeEvent,
    AutopilotEvent,
    EmployeeDepartedEvent,
    EmployeeHiredEvent,
    EmployeeTransferredEvent,
    ObjectCreatedEvent,
    ScheduledTickEvent,
    TimerFiredEvent,
    WorkSpacesAccessEvent,
)
from autopilot.contracts.outputs import BY_DETAIL_TYPE

# Modest and deterministic: the same examples on every run, no deadline (the tier runs in well under two minutes).
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

EVENTS = Path(__file__).resolve().parents[2] / "events"

SAMPLES: dict[type[BaseModel], str] = {
    EmployeeHiredEvent: "hr_employee_hired_*.json",
    EmployeeDepartedEvent: "hr_employee_departed.json",
    EmployeeTransferredEvent: "hr_employee_transferred.json",
    ObjectCreatedEvent: "s3_roster_object_created.json",
    WorkSpacesAccessEvent: "workspaces_access.json",
    AlarmStateChangeEvent: "alarm_*.json",
    ScheduledTickEvent: "scheduled_*.json",
    TimerFiredEvent: "timer_*.json",
    AutopilotEvent: "autopilot_*.json",
}
# Fields an event from outside must never decide: the policy maps labels to these.
FORBIDDEN = {
    "bundle",
    "bundle_id",
    "bundleid",
    "directory",
    "directory_id",
    "directoryid",
    "running_mode",
    "runningmode",
    "tags",
    "compute",
    "compute_type",
    "computetypename",
}
# Contracts whose detail the project owns (extra="forbid"): the forbidden-field promise applies to them.
OWNED = (EmployeeHiredEvent, EmployeeDepartedEvent, EmployeeTransferredEvent, TimerFiredEvent)


def samples(model: type[BaseModel]) -> list[dict[str, Any]]:
    found = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(EVENTS.glob(SAMPLES[model]))]
    assert found, f"no sample for {model.__name__}"
    return found


JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
FUZZED_TEXT = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "ws-../../etc",
            "wsb-123456789",
            "d-1234567890",
            "E1' OR '1'='1",
            "é" * 300,
            "2026-02-30",
            "9999-12-31T99:99:99Z",
            "ALWAYS_ON",
            "${jndi:ldap://x}",
        ]
    ),
)
INJECTED_KEYS = st.sampled_from([*sorted(FORBIDDEN), "BundleId", "DirectoryId", "RunningMode", "Tags", "zzz"])


def other_type(kind: type, value: Any) -> bool:
    return type(value) is not kind


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in a JSON document (dict keys and list indexes)."""
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


def at(document: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


@st.composite
def mutated(draw: st.DrawFn, model: type[BaseModel]) -> dict[str, Any]:
    document = copy.deepcopy(draw(st.sampled_from(samples(model))))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(paths(document)))
        target = at(document, path)
        action = draw(st.sampled_from(["drop", "swap", "inject", "fuzz", "nest"]))
        if not path:  # the root: inject next to everything else
            document[draw(INJECTED_KEYS)] = draw(JUNK)
            continue
        parent, key = at(document, path[:-1]), path[-1]
        if action == "drop":
            del parent[key]
        elif action == "swap":
            parent[key] = draw(JUNK.filter(functools.partial(other_type, type(target))))
        elif action == "inject" and isinstance(target, dict):
            target[draw(INJECTED_KEYS)] = draw(JUNK | FUZZED_TEXT)
        elif action == "fuzz" or not isinstance(target, dict):
            parent[key] = draw(FUZZED_TEXT) if isinstance(target, str) or action == "fuzz" else draw(JUNK)
        else:
            parent[key] = {"nested": draw(JUNK), **{str(k): draw(JUNK) for k in list(target)[:2]}}
        if isinstance(parent, list) and not parent:
            break
    return document


def keys_of(node: Any) -> set[str]:
    if isinstance(node, dict):
        return {str(key).lower() for key in node} | {k for value in node.values() for k in keys_of(value)}
    if isinstance(node, list):
        return {k for value in node for k in keys_of(value)}
    return set()


def parse(model: type[BaseModel], document: Any) -> BaseModel | None:
    """Parse as a handler does; None when refused (a ValidationError). Anything else propagates and fails."""
    try:
        event = model.model_validate(document)
        # An unknown detail-type is covered on its own below (test_an_unknown_autopilot_detail_type_...).
        if isinstance(event, AutopilotEvent) and event.detail_type in BY_DETAIL_TYPE:
            event.parsed()
    except ValidationError:
        return None
    return event


def test_every_input_model_has_samples_to_mutate() -> None:
    assert set(SAMPLES) == set(INPUT_EVENTS)


@pytest.mark.parametrize("model", INPUT_EVENTS, ids=lambda model: model.__name__)
def test_the_samples_parse(model: type[BaseModel]) -> None:
    for document in samples(model):
        assert parse(model, document) is not None


@pytest.mark.parametrize("model", INPUT_EVENTS, ids=lambda model: model.__name__)
@settings(FUZZ, max_examples=80)
@given(data=st.data())
def test_mutated_events_are_accepted_or_refused_with_a_validation_error_only(
    model: type[BaseModel], data: st.DataObject
) -> None:
    document = data.draw(mutated(model))
    event = parse(model, document)
    if event is not None and isinstance(event, OWNED):
        detail = event.model_dump(mode="json")["detail"]
        assert not keys_of(detail) & FORBIDDEN, detail


@pytest.mark.parametrize("model", OWNED, ids=lambda model: model.__name__)
@settings(FUZZ, max_examples=60)
@given(data=st.data(), key=INJECTED_KEYS, value=JUNK | FUZZED_TEXT)
def test_a_forbidden_field_in_an_owned_detail_is_refused(
    model: type[BaseModel], data: st.DataObject, key: str, value: Any
) -> None:
    document = copy.deepcopy(data.draw(st.sampled_from(samples(model))))
    document["detail"][key] = value
    assert parse(model, document) is None


@settings(FUZZ, max_examples=60)
@given(document=JUNK)
def test_arbitrary_json_is_refused_by_every_model(document: Any) -> None:
    for model in INPUT_EVENTS:
        assert parse(model, document) is None


def test_an_unknown_autopilot_detail_type_is_a_validation_error() -> None:
    document = samples(AutopilotEvent)[0] | {"detail-type": "Desk Stolen"}
    assert parse(AutopilotEvent, document) is None
