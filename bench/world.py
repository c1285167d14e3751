"""The local cloud as the benchmarks use it: the whole template in moto with the WorkSpaces emulator, the packaged
policy deployed as the SSM parameter (as in production, so Powertools Parameters caches it), every handler
wrapped by a `Probe`, and the recurring schedules disabled so that only the function under measurement runs
(each bench invokes fleet_watch and prewarm itself, at the moment it chooses)."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import io
import json
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from unittest import mock

import botocore.client
from boto3.dynamodb.conditions import ConditionExpressionBuilder
from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError
from moto.dynamodb.exceptions import ConditionalCheckFailed
from moto.dynamodb.models import dynamodb_backends

import localcloud.world
from autopilot.adapters.policy_source import packaged_policy_text
from bench.probe import Probe
from localcloud import lambdas
from localcloud.intrinsics import ACCOUNT_ID, REGION
from localcloud.world import CREDENTIALS, LocalCloud, iso

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
AGENT_SITE = "amiens-cc"
OFFICE_SITE = "paris-hq"
AGENT_SHIFT = {
    "timezone": "Europe/Paris",
    "days": ["mon", "tue", "wed", "thu", "fri"],
    "start": "08:00",
    "end": "16:00",
}


@contextlib.contextmanager
def bench_world(probe: Probe, start: dt.datetime) -> Iterator[LocalCloud]:
    """A started LocalCloud at `start` with the probe's handlers and hooks installed, schedules disabled."""
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        policy = Path(folder) / "policy.yaml"
        policy.write_text(packaged_policy_text(), encoding="utf-8")
        with LocalCloud(start=start, policy=policy, handlers=probe.handlers()) as cloud, probe.installed():
            disable_schedules(cloud)
            yield cloud


def disable_schedules(cloud: LocalCloud) -> None:
    """Every recurring schedule of the template DISABLED (the world honours State)."""
    scheduler = cloud.client("scheduler")
    for page in scheduler.get_paginator("list_schedules").paginate():
        for summary in page["Schedules"]:
            schedule = scheduler.get_schedule(Name=summary["Name"], GroupName=summary["GroupName"])
            keep = {
                key: schedule[key]
                for key in (
                    "Name",
                    "GroupName",
                    "ScheduleExpression",
                    "ScheduleExpressionTimezone",
                    "StartDate",
                    "EndDate",
                    "Description",
                    "Target",
                    "FlexibleTimeWindow",
                    "ActionAfterCompletion",
                )
                if key in schedule
            }
            scheduler.update_schedule(**keep, State="DISABLED")


def _event_file(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return document


def scheduled_event(task: str, at: dt.datetime) -> dict[str, Any]:
    """The Scheduler tick of `task` (fleet_watch, prewarm...) at `at`."""
    event = _event_file(f"scheduled_{task}.json")
    event.update(id=str(uuid.uuid4()), time=iso(at))
    return event


def alarm_event(alarm_name: str, directory_id: str, at: dt.datetime, period: int = 300) -> dict[str, Any]:
    """A ConnectionFailure alarm of `directory_id` going to ALARM at `at` (the sample event, re-aimed)."""
    event = copy.deepcopy(_event_file("alarm_connection_failure_alarm.json"))
    evaluated = at - dt.timedelta(seconds=period)
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    event.update(
        id=str(uuid.uuid4()), time=iso(at), resources=[f"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{alarm_name}"]
    )
    detail = event["detail"]
    detail["alarmName"] = alarm_name
    detail["state"]["timestamp"] = stamp
    detail["state"]["reasonData"] = json.dumps(
        {
            "version": "1.0",
            "statistic": "Sum",
            "period": period,
            "threshold": 3.0,
            "evaluatedDatapoints": [{"timestamp": evaluated.strftime("%Y-%m-%dT%H:%M:%S.000+0000"), "value": 6.0}],
        }
    )
    detail["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"] = {"DirectoryId": directory_id}
    detail["configuration"]["description"] = f"Connection failures in directory {directory_id}"
    return event


def hire(index: int, *, agent: bool, start_date: dt.date, prefix: str = "") -> dict[str, Any]:
    """An `Employee Hired` envelope: a call-centre agent on a weekday shift, or an office worker."""
    employee = f"{prefix}{index:06d}"
    user = f"{'agent' if agent else 'staff'}{prefix.lower()}{index:06d}"
    detail: dict[str, Any] = {
        "schema_version": 1,
        "employee_id": f"E{employee}",
        "username": user,
        "email": f"{user}@example.com",
        "given_name": "Bench",
        "family_name": "Hire",
        "department": "call-center" if agent else "finance",
        "role": "agent" if agent else "accountant",
        "site": AGENT_SITE if agent else OFFICE_SITE,
        "start_date": start_date.isoformat(),
    }
    if agent:
        detail["shift"] = AGENT_SHIFT
    return {"source": "hr.feed", "detail-type": "Employee Hired", "detail": detail}


def bare_invocation_cpu_ms(invocations: int = 200) -> float:
    """Median CPU of one invocation of the bare Powertools handler (bench/bare_handler.py), warm, run the way the
    local cloud runs a function (its environment, its output captured), with tracing disabled as in the world."""
    spec = lambdas.FunctionSpec(
        logical_id="BareFunction",
        name="bench-bare",
        arn="arn:aws:lambda:eu-west-1:123456789012:function:bench-bare",
        handler="bench.bare_handler.lambda_handler",
        environment={"POWERTOOLS_SERVICE_NAME": "bench", "POWERTOOLS_METRICS_NAMESPACE": "Bench"},
    )
    event = scheduled_event("fleet_watch", dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    samples: list[float] = []
    with lambdas.function_environment(spec, CREDENTIALS), lambdas.captured_output(io.StringIO()):
        handler = lambdas.resolve_handler(spec.handler)
        context = lambdas.LambdaContext(spec, "bench")
        handler(copy.deepcopy(event), context)  # the cold start is measured on its own
        for _ in range(invocations):
            payload = copy.deepcopy(event)
            started = time.process_time()
            handler(payload, context)
            samples.append(time.process_time() - started)
    return statistics.median(samples) * 1000


_WIRE_TYPES = frozenset({"S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M"})


def _is_wire(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _WIRE_TYPES


def _wire(values: Mapping[str, Any]) -> dict[str, Any]:
    serializer = TypeSerializer()
    return {key: value if _is_wire(value) else serializer.serialize(value) for key, value in values.items()}


@contextlib.contextmanager
def direct_puts() -> Iterator[Counter[str]]:
    """Setup only, never around a measurement: DynamoDB PutItem calls go straight into moto's tables (moto still
    evaluates their conditions), skipping botocore's and moto's request layers. A first sweep that adopts a fleet
    of 50,000 desks writes 100,000 items, which would take ten minutes through the whole stack. Yields the count
    of items written per table."""
    client_class: Any = botocore.client.BaseClient
    original = client_class._make_api_call
    written: Counter[str] = Counter()

    def put_directly(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name != "dynamodb" or operation_name != "PutItem":
            return original(client, operation_name, api_params)
        names = dict(api_params.get("ExpressionAttributeNames") or {})
        values = dict(api_params.get("ExpressionAttributeValues") or {})
        condition = api_params.get("ConditionExpression")
        if condition is not None and not isinstance(condition, str):
            built = ConditionExpressionBuilder().build_expression(condition)
            condition = built.condition_expression
            names.update(built.attribute_name_placeholders)
            values.update(built.attribute_value_placeholders)
        try:
            dynamodb_backends[ACCOUNT_ID][REGION].put_item(
                api_params["TableName"],
                _wire(api_params["Item"]),
                condition_expression=condition,
                expression_attribute_names=names or None,
                expression_attribute_values=_wire(values) or None,
            )
        except ConditionalCheckFailed as exc:
            error = {"Error": {"Code": "ConditionalCheckFailedException", "Message": str(exc)}}
            raise ClientError(error, operation_name) from exc  # type: ignore[arg-type]
        written[str(api_params["TableName"])] += 1
        return {}

    client_class._make_api_call = put_directly
    try:
        yield written
    finally:
        client_class._make_api_call = original


@contextlib.contextmanager
def large_instants(limit: int = 10_000_000) -> Iterator[None]:
    """The world refuses more than 20,000 deliveries at one instant (a loop guard); the first sweep of a large
    fleet rightly publishes one `WorkSpace State Changed` per desk it sees for the first time."""
    with mock.patch.object(localcloud.world, "MAX_WORK_PER_INSTANT", limit):
        yield
