"""`autopilot-local generate-event KIND`: an event for every trigger the project handles, built from the sample
in events/ with the fields users change, and checked against its contract model before it is printed (the way
`sam local generate-event` prints a service's event with `--bucket`, `--key`…)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.parser.models import SqsModel
from pydantic import BaseModel, ValidationError

from autopilot.adapters.timers import timer_envelope
from autopilot.contracts.catalogue import (
    AlarmStateChangeEvent,
    EmployeeDepartedEvent,
    EmployeeHiredEvent,
    EmployeeTransferredEvent,
    ObjectCreatedEvent,
    ScheduledTickEvent,
    TimerFiredEvent,
    WorkSpacesAccessEvent,
)
from autopilot.contracts.timers import TimerFired
from localcloud.intrinsics import ACCOUNT_ID, REGION
from localcloud.samples import EVENTS, sqs_batch

Options = dict[str, Any]


class GenerateError(ValueError):
    """An option value the contract refuses: the message names the field."""


@dataclass(frozen=True)
class Kind:
    help: str
    function: str
    build: Callable[[Options], Any]
    validate: Callable[[Any], None]


def _sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return loaded


def _set(target: dict[str, Any], options: Options, *names: str) -> None:
    for name in names:
        if options.get(name) is not None:
            target[name] = options[name]


def _stamp(event: dict[str, Any], options: Options) -> dict[str, Any]:
    if options.get("time"):
        event["time"] = options["time"]
    return event


def _hire(options: Options) -> dict[str, Any]:
    event = _sample("hr_employee_hired_agent_shift.json" if options.get("shift") else "hr_employee_hired_office.json")
    detail = event["detail"]
    _set(detail, options, "employee_id", "username", "email", "department", "role", "site", "start_date")
    return _stamp(event, options)


def _departure(options: Options) -> dict[str, Any]:
    event = _sample("hr_employee_departed.json")
    _set(event["detail"], options, "employee_id", "last_day")
    return _stamp(event, options)


def _transfer(options: Options) -> dict[str, Any]:
    event = _sample("hr_employee_transferred.json")
    _set(event["detail"], options, "employee_id", "department", "role", "site", "effective_date")
    return _stamp(event, options)


def _roster(options: Options) -> dict[str, Any]:
    event = _sample("s3_roster_object_created.json")
    if options.get("bucket"):
        event["detail"]["bucket"]["name"] = options["bucket"]
        event["resources"] = [f"arn:aws:s3:::{options['bucket']}"]
    if options.get("key"):
        event["detail"]["object"]["key"] = options["key"]
    return _stamp(event, options)


def _login(options: Options) -> dict[str, Any]:
    event = _sample("workspaces_access.json")
    detail = event["detail"]
    if options.get("workspace_id"):
        detail["workspaceId"] = options["workspace_id"]
    if options.get("directory_id"):
        detail["directoryId"] = f"domain/{options['directory_id']}"
    if options.get("time"):
        detail["loginTime"] = (
            options["time"].replace("Z", ".000Z") if options["time"].endswith("Z") else options["time"]
        )
    return _stamp(event, options)


def _alarm(options: Options) -> dict[str, Any]:
    event = _sample("alarm_connection_failure_alarm.json")
    if options.get("state") == "OK":
        event = _sample("alarm_connection_failure_ok.json")
    directory = options.get("directory_id")
    if directory:
        text = json.dumps(event)
        old = event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]["DirectoryId"]
        event = json.loads(text.replace(old, directory))
    return _stamp(event, options)


SCHEDULES = {
    "fleet_watch": "scheduled_fleet_watch.json",
    "prewarm": "scheduled_prewarm.json",
    "unused_desks": "scheduled_unused_desks.json",
    "optimize_running_modes": "scheduled_optimize_running_modes.json",
}
TIMER_SAMPLES = {
    "provision": "timer_provision.json",
    "stop": "timer_stop.json",
    "terminate": "timer_terminate.json",
    "transfer": "timer_transfer.json",
    "recheck": "timer_recheck.json",
}
# Where each timer fires (docs/architecture.md): work goes through a queue, a re-check straight to the function.
TIMER_QUEUES = {"provision": "provisioning", "stop": "lifecycle", "terminate": "lifecycle", "transfer": "lifecycle"}


def _schedule(options: Options) -> dict[str, Any]:
    event = _sample(SCHEDULES[options.get("task") or "fleet_watch"])
    return _stamp(event, options)


def _timer_envelope(options: Options) -> dict[str, Any]:
    kind = options.get("timer_kind") or "provision"
    detail = dict(_sample(TIMER_SAMPLES[kind])["detail"])
    _set(detail, options, "employee_id", "workspace_id", "incident_id")
    if options.get("time"):
        detail["due"] = options["time"]
    employee = detail.get("employee_id")
    if options.get("employee_id") or options.get("workspace_id") or options.get("time"):
        suffix = employee if kind != "recheck" else detail.get("incident_id", "x")
        detail["name"] = re.sub(r"[^0-9A-Za-z_.-]", "-", f"{kind}-{suffix}")[:64]
    try:
        timer = TimerFired.model_validate(detail)
    except ValidationError as exc:
        raise GenerateError(_describe(exc)) from exc
    return timer_envelope(timer, account=ACCOUNT_ID, region=REGION)


def _sqs(options: Options) -> dict[str, Any]:
    kind = options.get("timer_kind") or "provision"
    if kind not in TIMER_QUEUES:
        raise GenerateError(f"--timer-kind: {kind} timers fire straight into their function, not through a queue")
    body = _timer_envelope(options)
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:workspaces-autopilot-dev-{TIMER_QUEUES[kind]}"
    return sqs_batch([body], queue_arn, dt.datetime.fromisoformat(body["time"].replace("Z", "+00:00")))


def _model(model: type[BaseModel]) -> Callable[[Any], None]:
    def validate(event: Any) -> None:
        model.model_validate(event)

    return validate


def _sqs_valid(event: Any) -> None:
    batch = SqsModel.model_validate(event)
    for record in batch.Records:
        TimerFiredEvent.model_validate_json(str(record.body))


KINDS: dict[str, Kind] = {
    "hr-hire": Kind("Employee Hired on the HR bus", "HrEventsFunction", _hire, _model(EmployeeHiredEvent)),
    "hr-departure": Kind(
        "Employee Departed on the HR bus", "HrEventsFunction", _departure, _model(EmployeeDepartedEvent)
    ),
    "hr-transfer": Kind(
        "Employee Transferred on the HR bus", "HrEventsFunction", _transfer, _model(EmployeeTransferredEvent)
    ),
    "roster-created": Kind(
        "S3 Object Created for a roster in the feed bucket", "HrFeedIngestFunction", _roster, _model(ObjectCreatedEvent)
    ),
    "login": Kind("WorkSpaces Access (a user logged in)", "SessionsFunction", _login, _model(WorkSpacesAccessEvent)),
    "alarm": Kind(
        "CloudWatch Alarm State Change of a directory's connection-failure alarm",
        "RemediateFunction",
        _alarm,
        _model(AlarmStateChangeEvent),
    ),
    "schedule": Kind("A scheduled tick (--task)", "FleetWatchFunction", _schedule, _model(ScheduledTickEvent)),
    "timer": Kind(
        "A one-time timer's envelope (--timer-kind)", "ProvisionFunction", _timer_envelope, _model(TimerFiredEvent)
    ),
    "sqs": Kind("An SQS batch of one timer message (--timer-kind)", "ProvisionFunction", _sqs, _sqs_valid),
}
SCHEDULE_FUNCTIONS = {
    "fleet_watch": "FleetWatchFunction",
    "prewarm": "PrewarmFunction",
    "unused_desks": "ReportFunction",
    "optimize_running_modes": "OptimizerFunction",
}
TIMER_FUNCTIONS = {
    "provision": "ProvisionFunction",
    "stop": "LifecycleFunction",
    "terminate": "LifecycleFunction",
    "transfer": "LifecycleFunction",
    "recheck": "RemediateFunction",
}


def function_for(kind: str, options: Options) -> str:
    """The function that receives an event of this kind (with these options)."""
    if kind == "schedule":
        return SCHEDULE_FUNCTIONS[options.get("task") or "fleet_watch"]
    if kind in {"timer", "sqs"}:
        return TIMER_FUNCTIONS[options.get("timer_kind") or "provision"]
    return KINDS[kind].function


def _describe(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors())


def generate(kind: str, options: Options) -> Any:
    """The event, valid against its contract; GenerateError names the field an option broke."""
    chosen = KINDS[kind]
    event = chosen.build(options)
    try:
        chosen.validate(event)
    except ValidationError as exc:
        raise GenerateError(_describe(exc)) from exc
    return event
