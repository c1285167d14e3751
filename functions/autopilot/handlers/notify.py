"""notify: domain events of the autopilot bus and state changes of the automation's own alarms -> one
message on the on-call topic per alert (domain/oncall/, docs/runbook.md). The alarm
event is AWS's: read tolerantly, and one that is not about the automation's own alarms is dropped and counted
(aws_events.py). Autopilot-bus events are ours and stay strict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from autopilot import clock
from autopilot.adapters.alert_threads import AlertThreads
from autopilot.adapters.aws import cached, client
from autopilot.adapters.desk_store import DeskStore
from autopilot.adapters.incident_store import IncidentStore, state_table
from autopilot.adapters.notifier import Notifier
from autopilot.adapters.policy_source import load_policy
from autopilot.config import Settings
from autopilot.contracts.aws import AlarmStateChangeEvent
from autopilot.contracts.outputs import AutopilotEvent
from autopilot.domain.kernel.errors import InvalidInput, PolicyError
from autopilot.domain.oncall import alerts
from autopilot.domain.oncall.alert import DEFAULT_RUNBOOK_BASE_URL, Links
from autopilot.domain.oncall.ports import NotifyPorts
from autopilot.handlers import aws_events
from autopilot.observability import logger, metrics, tracer


class NotifySettings(Settings):
    alerts_topic_arn: str = Field(alias="ALERTS_TOPIC_ARN", min_length=1)
    automation_alarm_prefix: str = Field(alias="AUTOMATION_ALARM_PREFIX", min_length=1)
    # Absolute, so that alert links can be clicked (template parameter RunbookBaseUrl, https only).
    runbook_base_url: str = Field(
        alias="RUNBOOK_BASE_URL", default=DEFAULT_RUNBOOK_BASE_URL, pattern=r"^https://[^\s#?]+$"
    )


class DeskUserNames:
    """The directory user name from the desk record (by WorkSpace id, else by employee id)."""

    def __init__(self, desks: DeskStore) -> None:
        self._desks = desks

    def user_name(self, *, workspace_id: str | None, employee_id: str | None) -> str | None:
        desk = self._desks.by_workspace(workspace_id) if workspace_id else None
        if desk is None and employee_id:
            desk = self._desks.get(employee_id)
        return desk.username if desk is not None and desk.username else None


def user_names_allowed(parameter_name: str) -> bool:
    """The policy's `alerts.user_names`. An invalid policy keeps names out and the alert still goes: notify is how
    on-call hears of that policy (policy_error, published by the functions that act on it)."""
    try:
        return load_policy(parameter_name).alerts.user_names
    except PolicyError:
        return False


@dataclass(frozen=True)
class Composition:
    settings: NotifySettings
    ports: NotifyPorts


@cached
def ports() -> Composition:
    settings = NotifySettings.from_env()
    table = state_table(settings.table_name)
    return Composition(
        settings=settings,
        ports=NotifyPorts(
            incidents=IncidentStore(table),
            threads=AlertThreads(table),
            notifier=Notifier(client("sns"), settings.alerts_topic_arn),
            users=DeskUserNames(DeskStore(table)),
        ),
    )


ALARM_KIND = "AlarmStateChange"


def trigger_of(event: dict[str, Any], settings: NotifySettings) -> alerts.AlertTrigger | aws_events.Dropped:
    if not isinstance(event, dict):
        raise InvalidInput(f"the event is not a JSON object but {type(event).__name__}")
    source = event.get("source")
    if source == "aws.cloudwatch":
        parsed = aws_events.read(event, AlarmStateChangeEvent, ALARM_KIND)
        if isinstance(parsed, aws_events.Dropped):
            return parsed
        detail = parsed.detail
        if not detail.alarm_name.startswith(settings.automation_alarm_prefix):
            return aws_events.drop(event, ALARM_KIND, ["alarmName: not one of the automation's own alarms"])
        return alerts.AutomationAlarm(
            alarm_name=detail.alarm_name,
            state=detail.state.value,
            previous_state=detail.previous_state.value if detail.previous_state else None,
            reason=detail.state.reason,
            description=detail.configuration.description,
            at=detail.state.timestamp,
        )
    if source == "autopilot":
        envelope = AutopilotEvent.model_validate(event)
        return alerts.EventTrigger(event=envelope.parsed(), time=envelope.time)
    raise InvalidInput(f"notify: unexpected event source {source!r}")


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    composition = ports()
    settings = composition.settings
    trigger = trigger_of(event, settings)
    if isinstance(trigger, aws_events.Dropped):
        return trigger.as_response()
    links = Links(
        region=settings.region, account=str(event.get("account", "")), runbook_base_url=settings.runbook_base_url
    )
    allowed = user_names_allowed(settings.policy_parameter_name)
    delivery = alerts.notify(trigger, composition.ports, links, clock.now(), user_names=allowed)
    if delivery.thread in ("new", "update"):
        metrics.add_metric(name="AlertsSent", unit=MetricUnit.Count, value=1)
    result = {"kind": delivery.kind, "thread_state": delivery.thread, "message_id": delivery.message_id}
    logger.info("alert", extra=result)
    return result
