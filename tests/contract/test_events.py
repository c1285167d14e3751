"""Every file in events/ is a real trigger: it parses with its contract model, reaches exactly the route meant for
it in the SAM-expanded template (rule patterns matched with moto's EventBridge pattern engine, schedule inputs,
timer targets, queue event sources). Breaking one of our contracts (HR, timers, ticks, the autopilot bus) is
refused with a message naming the field; AWS's events are read tolerantly: what AWS may add is ignored, and only
what a handler acts on is refused when broken (issue 14; docs/architecture.md)."""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, cast, get_args

import pytest
from aws_lambda_powertools.utilities.parser.models import SqsModel
from moto.events.models import EventPattern
from pydantic import BaseModel, ValidationError

from autopilot.adapters.timers import timer_envelope
from autopilot.contracts.catalogue import (
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
from autopilot.contracts.timers import TimerFired, TimerKind
from autopilot.domain.kernel.policy import parse_policy
from localcloud.intrinsics import ACCOUNT_ID, REGION, Resolver
from tools.template_rules import catch_all_rules, role_statements

EVENTS = Path(__file__).resolve().parents[2] / "events"


@dataclass(frozen=True)
class Route:
    """How a sample reaches its function."""

    model: type[BaseModel]
    rule: str | None = None  # the one EventBridge rule (SAM-expanded logical id) meant for it
    schedule: str | None = None  # a recurring tick: the schedule whose Input it is
    target: str | None = None  # a timer: the queue or function it fires into
    consumer: str | None = None  # an SQS batch: the function whose event source mapping polls the queue


CATALOGUE: dict[str, Route] = {
    "hr_employee_hired_office.json": Route(EmployeeHiredEvent, rule="HrEventsFunctionHrEvent"),
    "hr_employee_hired_agent_shift.json": Route(EmployeeHiredEvent, rule="HrEventsFunctionHrEvent"),
    "hr_employee_hired_datasci.json": Route(EmployeeHiredEvent, rule="HrEventsFunctionHrEvent"),
    "hr_employee_departed.json": Route(EmployeeDepartedEvent, rule="HrEventsFunctionHrEvent"),
    "hr_employee_transferred.json": Route(EmployeeTransferredEvent, rule="HrEventsFunctionHrEvent"),
    "s3_roster_object_created.json": Route(ObjectCreatedEvent, rule="HrFeedIngestFunctionRosterDropped"),
    "workspaces_access.json": Route(WorkSpacesAccessEvent, rule="SessionsFunctionLogin"),
    "alarm_connection_failure_alarm.json": Route(AlarmStateChangeEvent, rule="RemediateFunctionConnectionFailureAlarm"),
    "alarm_connection_failure_ok.json": Route(AlarmStateChangeEvent, rule="RemediateFunctionConnectionFailureAlarm"),
    "alarm_automation_dlq.json": Route(AlarmStateChangeEvent, rule="NotifyFunctionAutomationAlarm"),
    "autopilot_state_changed_unhealthy.json": Route(AutopilotEvent, rule="RemediateFunctionSickDesk"),
    "autopilot_provisioning_failed.json": Route(AutopilotEvent, rule="NotifyFunctionDomainEvent"),
    "autopilot_incident_opened.json": Route(AutopilotEvent, rule="NotifyFunctionDomainEvent"),
    "autopilot_remediation_step.json": Route(AutopilotEvent, rule="NotifyFunctionDomainEvent"),
    "autopilot_incident_escalated.json": Route(AutopilotEvent, rule="NotifyFunctionDomainEvent"),
    "autopilot_incident_resolved.json": Route(AutopilotEvent, rule="NotifyFunctionDomainEvent"),
    "autopilot_feed_held.json": Route(AutopilotEvent, rule="NotifyFunctionDomainEvent"),
    "autopilot_feed_rejected.json": Route(AutopilotEvent, rule="NotifyFunctionDomainEvent"),
    "autopilot_policy_rejected.json": Route(AutopilotEvent, rule="NotifyFunctionDomainEvent"),
    "autopilot_unused_desks_found.json": Route(AutopilotEvent, rule="NotifyFunctionDomainEvent"),
    "autopilot_fleet_report_published.json": Route(AutopilotEvent, rule="NotifyFunctionDomainEvent"),
    "autopilot_running_modes_optimised.json": Route(AutopilotEvent, rule="NotifyFunctionDomainEvent"),
    "scheduled_fleet_watch.json": Route(ScheduledTickEvent, schedule="FleetWatchFunctionSweep"),
    "scheduled_prewarm.json": Route(ScheduledTickEvent, schedule="PrewarmFunctionTick"),
    "scheduled_unused_desks.json": Route(ScheduledTickEvent, schedule="ReportFunctionWeekly"),
    "scheduled_optimize_running_modes.json": Route(ScheduledTickEvent, schedule="OptimizerFunctionDaily"),
    "timer_provision.json": Route(TimerFiredEvent, target="ProvisioningQueue"),
    "timer_stop.json": Route(TimerFiredEvent, target="LifecycleQueue"),
    "timer_terminate.json": Route(TimerFiredEvent, target="LifecycleQueue"),
    "timer_transfer.json": Route(TimerFiredEvent, target="LifecycleQueue"),
    "timer_recheck.json": Route(TimerFiredEvent, target="RemediateFunction"),
    "sqs_provisioning_batch.json": Route(SqsModel, consumer="ProvisionFunction"),
    "sqs_lifecycle_batch.json": Route(SqsModel, consumer="LifecycleFunction"),
}
# Where each kind of timer fires (COMMON runtime conventions): queues for work, the function for re-checks.
TIMER_TARGETS = {
    "provision": "ProvisioningQueue",
    "stop": "LifecycleQueue",
    "terminate": "LifecycleQueue",
    "transfer": "LifecycleQueue",
    "recheck": "RemediateFunction",
}
# The profile the packaged default policy gives each HR sample.
HR_PROFILES = {
    "hr_employee_hired_office.json": "office",
    "hr_employee_hired_agent_shift.json": "agent",
    "hr_employee_hired_datasci.json": "datasci",
    "hr_employee_transferred.json": "test",
}
UNKNOWN = "surprise_field"
# AWS owns these: an unknown field is ignored, and of the detail's fields only these are checked (acted on).
AWS_ACTED_ON: dict[type[BaseModel], set[str]] = {
    WorkSpacesAccessEvent: {"workspaceId", "loginTime"},
    ObjectCreatedEvent: {"bucket", "object"},
    AlarmStateChangeEvent: {"alarmName", "state", "previousState", "configuration"},
}


def aws_owned(name: str) -> bool:
    return CATALOGUE[name].model in AWS_ACTED_ON


def load(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return payload


def parse(name: str, payload: dict[str, Any]) -> list[BaseModel]:
    """Parse a sample as its function would, down to the strict detail model."""
    route = CATALOGUE[name]
    if route.model is SqsModel:
        batch = SqsModel.model_validate(payload)
        return [TimerFiredEvent.model_validate_json(str(record.body)) for record in batch.Records]
    event = route.model.model_validate(payload)
    return [event, event.parsed()] if isinstance(event, AutopilotEvent) else [event]


def envelopes(name: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The EventBridge-shaped envelopes in a sample (the message bodies of an SQS batch)."""
    if CATALOGUE[name].model is SqsModel:
        return [json.loads(record["body"]) for record in payload["Records"]]
    return [payload]


def with_detail_change(name: str, payload: dict[str, Any], change: Any) -> dict[str, Any]:
    """A copy of the sample with `change(detail)` applied (to the first message of a batch)."""
    broken = copy.deepcopy(payload)
    if CATALOGUE[name].model is SqsModel:
        body = json.loads(broken["Records"][0]["body"])
        change(body["detail"])
        broken["Records"][0]["body"] = json.dumps(body)
    else:
        change(broken["detail"])
    return broken


def _resources(expanded: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {key: res.get("Properties", {}) for key, res in expanded["Resources"].items() if res["Type"] == kind}


def _routing_rules(expanded: dict[str, Any], resolver: Resolver) -> dict[str, dict[str, Any]]:
    """Every rule but the catch-alls: those match what no rule of their bus routes (the HR bus's unrouted HR
    events; rule hr_bus_loses_nothing_silently and tests/scenarios check them), so no sample is meant for them."""
    caught = catch_all_rules(expanded, resolver)
    return {k: v for k, v in _resources(expanded, "AWS::Events::Rule").items() if k not in caught}


@pytest.fixture(scope="module")
def patterns(expanded: dict[str, Any], resolver: Resolver) -> dict[str, EventPattern]:
    return {
        rule_id: EventPattern.load(json.dumps(resolver.resolve(props["EventPattern"])))
        for rule_id, props in _routing_rules(expanded, resolver).items()
    }


def matching_rules(patterns: dict[str, EventPattern], event: dict[str, Any]) -> set[str]:
    return {rule_id for rule_id, pattern in patterns.items() if pattern.matches_event(cast(Any, event))}


def test_every_file_in_events_is_catalogued() -> None:
    assert {path.name for path in EVENTS.glob("*.json")} == set(CATALOGUE)


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_sample_parses_with_its_model(name: str) -> None:
    assert parse(name, load(name))


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_sample_matches_exactly_the_rule_meant_for_it(name: str, patterns: dict[str, EventPattern]) -> None:
    # Timers, ticks and queue messages never cross a bus: they must match no rule at all.
    expected = {CATALOGUE[name].rule} if CATALOGUE[name].rule else set()
    for envelope in envelopes(name, load(name)):
        assert matching_rules(patterns, envelope) == expected


def test_every_rule_and_every_detail_type_it_routes_has_a_sample(expanded: dict[str, Any], resolver: Resolver) -> None:
    for rule_id, props in _routing_rules(expanded, resolver).items():
        samples = [name for name, route in CATALOGUE.items() if route.rule == rule_id]
        assert samples, f"no sample in events/ for rule {rule_id}"
        routed = set(resolver.resolve(props["EventPattern"]).get("detail-type", []))
        covered = {load(name)["detail-type"] for name in samples}
        assert routed <= covered, f"{rule_id}: no sample for {sorted(routed - covered)}"


@pytest.mark.parametrize("name", sorted(n for n, r in CATALOGUE.items() if r.schedule))
def test_tick_sample_is_the_input_its_schedule_sends(name: str, expanded: dict[str, Any], resolver: Resolver) -> None:
    sample = load(name)
    schedule_id = str(CATALOGUE[name].schedule)
    template_input = resolver.resolve(_resources(expanded, "AWS::Scheduler::Schedule")[schedule_id]["Target"]["Input"])
    # EventBridge Scheduler fills its context attributes in at each run.
    filled = (
        template_input.replace("<aws.scheduler.execution-id>", sample["id"])
        .replace("<aws.scheduler.scheduled-time>", sample["time"])
        .replace("<aws.scheduler.schedule-arn>", resolver.arn(schedule_id))
    )
    assert json.loads(filled) == sample


def test_every_schedule_has_a_tick_sample(expanded: dict[str, Any]) -> None:
    sampled = {route.schedule for route in CATALOGUE.values()}
    assert set(_resources(expanded, "AWS::Scheduler::Schedule")) <= sampled


@pytest.mark.parametrize("name", sorted(n for n, r in CATALOGUE.items() if r.target))
def test_timer_sample_is_what_the_timer_adapter_schedules(
    name: str, resolver: Resolver, expanded: dict[str, Any]
) -> None:
    sample = load(name)
    timer = TimerFired.model_validate(sample["detail"])
    assert sample == timer_envelope(timer, account=ACCOUNT_ID, region=REGION)
    target = TIMER_TARGETS[timer.kind]
    assert CATALOGUE[name].target == target
    # The role timers run as may deliver into that target.
    action = "lambda:InvokeFunction" if target.endswith("Function") else "sqs:SendMessage"
    statements = role_statements(expanded, resolver, "TimerSchedulerRole")
    assert any(statement.allows(action, resolver.arn(target)) for statement in statements)


def test_every_timer_kind_has_a_sample() -> None:
    sampled = {load(name)["detail"]["kind"] for name, route in CATALOGUE.items() if route.target}
    assert sampled == set(get_args(TimerKind)) == set(TIMER_TARGETS)


@pytest.mark.parametrize("name", sorted(n for n, r in CATALOGUE.items() if r.consumer))
def test_sqs_sample_is_a_batch_from_the_queue_its_function_polls(
    name: str, expanded: dict[str, Any], resolver: Resolver
) -> None:
    consumer = CATALOGUE[name].consumer
    mapping = next(
        props
        for props in _resources(expanded, "AWS::Lambda::EventSourceMapping").values()
        if props["FunctionName"] == {"Ref": consumer}
    )
    queue_id = mapping["EventSourceArn"]["Fn::GetAtt"][0]
    records = load(name)["Records"]
    assert 1 <= len(records) <= mapping["BatchSize"]
    for record in records:
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"] == resolver.arn(queue_id)
        assert record["awsRegion"] == REGION
        assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
        # Each message is a timer envelope of a kind that fires into this queue.
        timer = TimerFiredEvent.model_validate_json(record["body"]).detail
        assert TIMER_TARGETS[timer.kind] == queue_id


@pytest.mark.parametrize("name", sorted(HR_PROFILES))
def test_hr_sample_resolves_with_the_packaged_default_policy(name: str) -> None:
    policy = parse_policy(files("autopilot.domain").joinpath("default_policy.yaml").read_text(encoding="utf-8"))
    detail = load(name)["detail"]
    assert detail["site"] in policy.sites
    profile, _ = policy.profile_for(department=detail["department"], role=detail["role"], site=detail["site"])
    assert profile == HR_PROFILES[name]


@pytest.mark.parametrize("name", sorted(n for n in CATALOGUE if not aws_owned(n)))
def test_sample_with_an_unknown_detail_field_is_rejected_naming_it(name: str) -> None:
    broken = with_detail_change(name, load(name), lambda detail: detail.update({UNKNOWN: "injected"}))
    with pytest.raises(ValidationError) as failure:
        parse(name, broken)
    assert UNKNOWN in str(failure.value)
    assert any(UNKNOWN in error["loc"] for error in failure.value.errors())


@pytest.mark.parametrize(
    "name", sorted(n for n, r in CATALOGUE.items() if r.model is not SqsModel and not aws_owned(n))
)
def test_sample_with_an_unknown_envelope_field_is_rejected_naming_it(name: str) -> None:
    broken = {**load(name), UNKNOWN: "injected"}
    with pytest.raises(ValidationError, match=UNKNOWN):
        parse(name, broken)


@pytest.mark.parametrize("name", sorted(n for n in CATALOGUE if aws_owned(n)))
def test_aws_sample_with_unknown_fields_in_detail_and_envelope_is_read_as_before(name: str) -> None:
    broken = {**with_detail_change(name, load(name), lambda detail: detail.update({UNKNOWN: "added"})), UNKNOWN: 1}
    assert parse(name, broken) == parse(name, load(name))


def _detail_fields() -> list[tuple[str, str]]:
    cases = []
    for name in sorted(CATALOGUE):
        payload = load(name)
        detail = envelopes(name, payload)[0]["detail"]
        acted_on = AWS_ACTED_ON.get(CATALOGUE[name].model)
        cases += [
            (name, key) for key, value in detail.items() if value is not None and (acted_on is None or key in acted_on)
        ]
    return cases


def _ignored_aws_fields() -> list[tuple[str, str]]:
    return [
        (name, key)
        for name in sorted(n for n in CATALOGUE if aws_owned(n))
        for key in load(name)["detail"]
        if key not in AWS_ACTED_ON[CATALOGUE[name].model]
    ]


@pytest.mark.parametrize(("name", "field"), _ignored_aws_fields())
def test_aws_sample_with_a_field_we_do_not_use_retyped_is_read_as_before(name: str, field: str) -> None:
    def retype(detail: dict[str, Any]) -> None:
        detail[field] = "not-an-object" if isinstance(detail[field], dict) else {"wrong": "type"}

    def acted_on(payload: dict[str, Any]) -> dict[str, Any]:
        [event] = parse(name, payload)
        detail = event.model_dump(by_alias=True)["detail"]
        return {key: detail[key] for key in AWS_ACTED_ON[CATALOGUE[name].model]}

    # Read, not refused; and what the handler acts on is what it was.
    assert acted_on(with_detail_change(name, load(name), retype)) == acted_on(load(name))


@pytest.mark.parametrize(("name", "field"), _detail_fields())
def test_sample_with_a_wrong_type_is_rejected_naming_the_field(name: str, field: str) -> None:
    def retype(detail: dict[str, Any]) -> None:
        # An object where a scalar or list is expected, a string where an object is expected.
        detail[field] = "not-an-object" if isinstance(detail[field], dict) else {"wrong": "type"}

    with pytest.raises(ValidationError) as failure:
        parse(name, with_detail_change(name, load(name), retype))
    assert field in str(failure.value)
    assert any(field in error["loc"] for error in failure.value.errors())
