"""Every handler on the local cloud, fed hostile events: the invocation fails with a validation error (or the SQS
item is reported as a batch item failure), writes nothing to the state table, and the event reaches the
dead-letter path with a reason (Lambda's async retries then the on-failure destination AsyncFailureDLQ for
EventBridge targets; the queue's DLQ after maxReceiveCount for SQS items). The exception is an event AWS sends
that claims to be the one a function subscribes to but cannot be acted on: it is dropped (answered normally,
counted as AwsEventDropped), still writing nothing and dead-lettering nothing (issue 14)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from autopilot.contracts.catalogue import (
    AlarmStateChangeEvent,
    EmployeeHiredEvent,
    ObjectCreatedEvent,
    WorkSpacesAccessEvent,
)
from autopilot.contracts.common import AwsEnvelope
from localcloud.world import LocalCloud

# Modest and deterministic: the same examples on every run, no deadline (the tier runs in well under two minutes).
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    # One stateful world per module: a shrunk replay is not the same run, so no shrinking.
    phases=[Phase.explicit, Phase.generate],
)

EVENTS = Path(__file__).resolve().parents[2] / "events"
FUNCTIONS = (
    "HrEventsFunction",
    "HrFeedIngestFunction",
    "ProvisionFunction",
    "LifecycleFunction",
    "FleetWatchFunction",
    "PrewarmFunction",
    "RemediateFunction",
    "SessionsFunction",
    "NotifyFunction",
    "ReportFunction",
    "OptimizerFunction",
)
REFUSALS = ("ValidationError", "InvalidInput")
JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
# Envelopes that look right from afar: the real keys, with junk or the wrong type of event inside.
NEAR_MISSES = st.fixed_dictionaries(
    {
        "version": st.just("0"),
        "id": st.text(max_size=20),
        "detail-type": st.sampled_from(["Employee Hired", "Scheduled Event", "Timer Fired", "Object Created", ""]),
        "source": st.sampled_from(["hr.feed", "aws.scheduler", "autopilot.timers", "aws.s3", "evil"]),
        "account": st.just("123456789012"),
        "time": st.sampled_from(["2026-12-01T05:00:00Z", "yesterday"]),
        "region": st.just("eu-west-1"),
        "resources": st.just([]),
        "detail": JUNK,
    }
)


# The AWS event each function subscribes to (read tolerantly; dropped when it cannot be acted on).
AWS_SUBSCRIPTIONS: dict[str, type[AwsEnvelope]] = {
    "HrFeedIngestFunction": ObjectCreatedEvent,
    "SessionsFunction": WorkSpacesAccessEvent,
    "RemediateFunction": AlarmStateChangeEvent,
    "NotifyFunction": AlarmStateChangeEvent,
}
AWS_KINDS = {
    ObjectCreatedEvent: ("aws.s3", "Object Created"),
    WorkSpacesAccessEvent: ("aws.workspaces", "WorkSpaces Access"),
    AlarmStateChangeEvent: ("aws.cloudwatch", "CloudWatch Alarm State Change"),
}


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(start="2026-12-01T05:00:00Z") as world:
        yield world


def state(cloud: LocalCloud) -> list[dict[str, Any]]:
    """The state table, less the alert threads: paging on-call about a dead letter is the promise, not a write
    caused by the refused event."""
    table = cloud.functions_env("TABLE_NAME")
    items = cloud.client("dynamodb").scan(TableName=table)["Items"]
    return sorted((item for item in items if not item["pk"]["S"].startswith("THREAD#")), key=json.dumps)


def letters(cloud: LocalCloud) -> Counter[str]:
    return Counter(letter["queue"] for letter in cloud.dead_letters())


def new_letters(cloud: LocalCloud, queue: str, before: Counter[str]) -> list[dict[str, Any]]:
    return [letter for letter in cloud.dead_letters() if letter["queue"] == queue][before[queue] :]


def refused(error: str | None) -> bool:
    return error is not None and any(kind in error for kind in REFUSALS)


def refused_or_dropped(function: str, event: Any, invocation: Any) -> bool:
    """Refused with a validation error; or, for the AWS event the function subscribes to, dropped."""
    model = AWS_SUBSCRIPTIONS.get(function)
    if invocation.ok:
        return model is not None and model.identifies(event) and invocation.result.get("dropped") is not None
    return refused(invocation.error)


@pytest.mark.parametrize("function", FUNCTIONS)
@settings(FUZZ, max_examples=12)
@given(event=JUNK | NEAR_MISSES)
def test_any_junk_event_fails_with_a_validation_error_and_writes_nothing(
    cloud: LocalCloud, function: str, event: Any
) -> None:
    before = state(cloud)
    invocation = cloud.invoke(function, event)
    assert refused_or_dropped(function, event, invocation), (invocation.error, invocation.result)
    assert state(cloud) == before


@pytest.mark.parametrize("function", FUNCTIONS)
@settings(FUZZ, max_examples=12)
@given(event=NEAR_MISSES | st.dictionaries(st.text(max_size=10), JUNK, max_size=4))
def test_a_junk_object_fails_with_a_validation_error_and_writes_nothing(
    cloud: LocalCloud, function: str, event: Any
) -> None:
    before = state(cloud)
    invocation = cloud.invoke(function, event)
    assert refused_or_dropped(function, event, invocation), (invocation.error, invocation.result)
    assert state(cloud) == before


@pytest.mark.parametrize("function", sorted(AWS_SUBSCRIPTIONS))
@settings(FUZZ, max_examples=12)
@given(detail=JUNK, event_id=st.text(max_size=20) | st.none())
def test_the_aws_event_a_function_takes_with_junk_inside_is_dropped_writing_nothing(
    cloud: LocalCloud, function: str, detail: Any, event_id: str | None
) -> None:
    source, detail_type = AWS_KINDS[AWS_SUBSCRIPTIONS[function]]
    event = {"version": "0", "source": source, "detail-type": detail_type, "account": "123456789012", "detail": detail}
    if event_id is not None:
        event["id"] = event_id
    before_state, before_letters = state(cloud), letters(cloud)

    invocation = cloud.invoke(function, event)

    assert invocation.ok, invocation.error
    assert invocation.result["dropped"]
    assert state(cloud) == before_state
    assert letters(cloud) == before_letters


HIRE = json.loads((EVENTS / "hr_employee_hired_office.json").read_text(encoding="utf-8"))
HIRE_MUTATIONS = st.one_of(
    st.tuples(st.just("inject"), st.sampled_from(["bundle_id", "directory_id", "running_mode", "tags"]), JUNK),
    st.tuples(st.just("drop"), st.sampled_from(["employee_id", "username", "email", "site", "start_date"]), st.none()),
    st.tuples(st.just("swap"), st.sampled_from(["employee_id", "start_date", "email", "site", "shift"]), JUNK),
)


def hostile_hire(mutation: tuple[str, str, Any]) -> dict[str, Any]:
    action, field, value = mutation
    detail = copy.deepcopy(HIRE["detail"])
    if action == "drop":
        del detail[field]
    else:
        detail[field] = value
    return detail


@settings(FUZZ, max_examples=8)
@given(mutation=HIRE_MUTATIONS)
def test_a_hostile_hire_on_the_bus_reaches_the_async_failure_dlq_with_its_reason(
    cloud: LocalCloud, mutation: tuple[str, str, Any]
) -> None:
    detail = hostile_hire(mutation)
    try:
        EmployeeHiredEvent.model_validate({**HIRE, "detail": detail})
        return  # the mutation happened to be valid (e.g. a junk value equal to a valid one): nothing to prove
    except ValidationError:
        pass
    before_state, before_letters = state(cloud), letters(cloud)
    failures = sum(1 for i in cloud.invocations if i.function == "HrEventsFunction" and not i.ok)

    cloud.publish({"source": "hr.feed", "detail-type": "Employee Hired", "detail": detail})
    cloud.advance(dt.timedelta(minutes=4))  # Lambda's two async retries (+1 min, +2 min)

    tries = [i for i in cloud.invocations if i.function == "HrEventsFunction" and not i.ok][failures:]
    assert len(tries) == 3
    assert all(refused(i.error) for i in tries)
    new = new_letters(cloud, "AsyncFailureDLQ", before_letters)
    assert len(new) == 1
    assert "RetriesExhausted after 3 attempts: InvalidInput" in new[0]["reason"]
    assert state(cloud) == before_state


@pytest.mark.parametrize(
    ("queue", "function", "dlq"),
    [
        ("ProvisioningQueue", "ProvisionFunction", "ProvisioningDLQ"),
        ("LifecycleQueue", "LifecycleFunction", "LifecycleDLQ"),
    ],
)
@settings(FUZZ, max_examples=2)
@given(bodies=st.lists(JUNK.map(json.dumps) | st.text(min_size=1, max_size=50), min_size=1, max_size=4))
def test_junk_queue_messages_are_batch_item_failures_then_dead_letters(
    cloud: LocalCloud, queue: str, function: str, dlq: str, bodies: list[str]
) -> None:
    before_state, before_letters = state(cloud), letters(cloud)
    seen = len(cloud.invocations)
    sqs = cloud.client("sqs")
    sent = {sqs.send_message(QueueUrl=cloud.queue_url(queue), MessageBody=body)["MessageId"] for body in bodies}

    cloud.advance(dt.timedelta(minutes=45))  # five receives 360 s apart, the sixth redrives

    batches = [i for i in cloud.invocations[seen:] if i.function == function]
    assert batches
    assert all(i.ok for i in batches)
    reported = {f["itemIdentifier"] for i in batches for f in i.result["batchItemFailures"]}
    assert sent <= reported
    new = new_letters(cloud, dlq, before_letters)
    assert len(new) == len(bodies)
    assert all("maxReceiveCount exceeded" in letter["reason"] for letter in new)
    assert state(cloud) == before_state
