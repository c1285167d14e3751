"""remediate: ConnectionFailure alarm state changes, desks fleet_watch saw go UNHEALTHY/ERROR, and the
runbook's own re-check timers -> incidents and guarded runbook steps (domain/incidents/remediation.py,
docs/remediation.md). The alarm event is AWS's: read tolerantly, and one naming no directory or desk we can act
on is dropped and counted (aws_events.py). Timers and autopilot-bus events are ours and stay strict."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from autopilot import clock
from autopilot.adapters.aws import cached, client
from autopilot.adapters.bus import EventBus
from autopilot.adapters.desk_store import DeskStore
from autopilot.adapters.incident_store import IncidentStore, state_table
from autopilot.adapters.metrics_query import ConnectionMetrics
from autopilot.adapters.runbook_fleet import RunbookFleet
from autopilot.adapters.tagging import Tagging
from autopilot.adapters.workspaces import WorkSpaces
from autopilot.config import TimerSettings
from autopilot.contracts.aws import AlarmStateChangeEvent
from autopilot.contracts.outputs import AutopilotEvent, WorkSpaceStateChanged
from autopilot.contracts.timers import TimerFiredEvent
from autopilot.domain.incidents import remediation
from autopilot.domain.incidents.triage import alarm_subject, alarm_window
from autopilot.domain.kernel.errors import InvalidInput
from autopilot.handlers import aws_events
from autopilot.handlers.common import TRANSIENT, account_of, current_policy, scheduler_timers
from autopilot.observability import logger, metrics, tracer


class RemediateSettings(TimerSettings):
    connection_failure_alarm_prefix: str = Field(alias="CONNECTION_FAILURE_ALARM_PREFIX", default="")

    @property
    def alarm_prefix(self) -> str:
        return self.connection_failure_alarm_prefix or f"workspaces-autopilot-{self.stage}-connection-failure-"


@dataclass(frozen=True)
class Composition:
    settings: RemediateSettings
    bus: EventBus
    incidents: IncidentStore
    ports: remediation.Ports


@cached
def ports(account: str) -> Composition:
    settings = RemediateSettings.from_env()
    table = state_table(settings.table_name)
    bus = EventBus(client("events"), settings.event_bus_name)
    incidents = IncidentStore(table)
    timers = scheduler_timers(settings, account)
    return Composition(
        settings=settings,
        bus=bus,
        incidents=incidents,
        ports=remediation.Ports(
            fleet=RunbookFleet(WorkSpaces(client("workspaces"))),
            metrics=ConnectionMetrics(client("cloudwatch")),
            desks=DeskStore(table),
            tags=Tagging(client("resourcegroupstaggingapi"), account_id=account),
            incidents=incidents,
            timers=timers,
            events=bus,
            transient=TRANSIENT,  # a whole act_many call failed: undone, the invocation retried
        ),
    )


def function_arn(context: LambdaContext) -> str:
    """This function's unqualified ARN (a re-check timer invokes the function, not an alias or version)."""
    return ":".join(str(context.invoked_function_arn).split(":")[:7])


ALARM_KIND = "AlarmStateChange"


def trigger_of(
    event: dict[str, Any], settings: RemediateSettings, now: dt.datetime
) -> remediation.Trigger | aws_events.Dropped:
    if not isinstance(event, dict):
        raise InvalidInput(f"the event is not a JSON object but {type(event).__name__}")
    source = event.get("source")
    if source == "aws.cloudwatch":
        parsed = aws_events.read(event, AlarmStateChangeEvent, ALARM_KIND)
        if isinstance(parsed, aws_events.Dropped):
            return parsed
        alarm = parsed.detail
        subject = alarm_subject(
            alarm.alarm_name, settings.alarm_prefix, alarm.dimension("DirectoryId"), alarm.dimension("WorkspaceId")
        )
        if subject is None:
            return aws_events.drop(event, ALARM_KIND, ["no directory or desk id in the alarm's dimensions or name"])
        stats = [m.metric_stat for m in alarm.configuration.metrics if m.metric_stat is not None]
        return remediation.AlarmTrigger(
            alarm_name=alarm.alarm_name,
            state=alarm.state.value,
            subject=subject,
            window=alarm_window(
                state_at=alarm.state.timestamp,
                now=now,
                period=stats[0].period if stats else None,
                evaluated=alarm.state.evaluated_at,
            ),
        )
    if source == "autopilot.timers":
        timer = TimerFiredEvent.model_validate(event).detail
        if timer.kind != "recheck" or timer.incident_id is None:
            raise InvalidInput(f"remediate: timer {timer.name} is a {timer.kind} timer without an incident")
        return remediation.Recheck(incident_id=timer.incident_id, timer_name=timer.name)
    if source == "autopilot":
        changed = AutopilotEvent.model_validate(event).parsed()
        if not isinstance(changed, WorkSpaceStateChanged):
            raise InvalidInput(f"remediate: unexpected autopilot event {changed.DETAIL_TYPE!r}")
        return remediation.SickDesk(
            workspace_id=changed.workspace_id,
            directory_id=changed.directory_id,
            to_state=changed.to_state,
            employee_id=changed.employee_id,
        )
    raise InvalidInput(f"remediate: unexpected event source {source!r}")


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    composition = ports(account_of(context))
    now = clock.now()
    trigger = trigger_of(event, composition.settings, now)
    if isinstance(trigger, aws_events.Dropped):
        return trigger.as_response()
    policy, _ = current_policy(composition.settings.policy_parameter_name, composition.bus)
    outcome = remediation.handle(
        trigger,
        composition.ports,
        remediation.Context(policy=policy, now=now, recheck_target_arn=function_arn(context)),
    )
    for name, value in sorted(outcome.counts.items()):
        metrics.add_metric(name=f"Remediation_{name}", unit=MetricUnit.Count, value=value)
    # The dashboard's gauge, after this run's openings and resolutions: one COUNT query of the open index.
    metrics.add_metric(name="OpenIncidents", unit=MetricUnit.Count, value=composition.incidents.count_open())
    result = {"trigger": type(trigger).__name__, "counts": outcome.counts, "incidents": outcome.incidents}
    logger.info("remediation", extra=result)
    return result
