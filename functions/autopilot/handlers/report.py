"""report (weekly): one `Unused Desks Found` event listing desks without a login for `usage.unused_days`.
Nothing is stopped or terminated. See docs/fleet-watch.md."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from autopilot import clock
from autopilot.adapters.aws import cached, client
from autopilot.adapters.bus import EventBus
from autopilot.adapters.desk_store import DeskStore
from autopilot.adapters.observation_store import ObservationStore, dynamodb
from autopilot.config import Settings
from autopilot.contracts.aws import ScheduledTickEvent
from autopilot.domain import unused
from autopilot.domain.fleet_watch import summarise
from autopilot.handlers.common import current_policy
from autopilot.observability import logger, metrics, tracer


@dataclass(frozen=True)
class Ports:
    settings: Settings
    bus: EventBus
    desks: DeskStore
    observations: ObservationStore


@cached
def ports() -> Ports:
    settings = Settings.from_env()
    return Ports(
        settings=settings,
        bus=EventBus(client("events"), settings.event_bus_name),
        desks=DeskStore(dynamodb().Table(settings.table_name)),
        observations=ObservationStore(dynamodb(), settings.table_name),
    )


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ScheduledTickEvent.model_validate(event)
    p = ports()
    policy, _ = current_policy(p.settings.policy_parameter_name, p.bus)
    report = unused.weekly_report(
        policy, unused.UnusedPorts(desks=p.desks, observations=p.observations, bus=p.bus), clock.now()
    )
    result = summarise(report)
    metrics.add_metric(name="UnusedDesks", unit=MetricUnit.Count, value=len(report.unused))
    logger.info("unused desks", extra=result)
    return result
