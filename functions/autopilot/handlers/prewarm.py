"""prewarm (every 5 minutes): start shift workers' desks before their shift; rebuild desks that fail to come
back and tell on-call. See docs/fleet-watch.md."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from autopilot import clock
from autopilot.adapters.aws import cached, client
from autopilot.adapters.bus import EventBus
from autopilot.adapters.desk_store import DeskStore
from autopilot.adapters.incident_store import IncidentStore
from autopilot.adapters.observation_store import StartLogStore, dynamodb
from autopilot.adapters.workspaces import WorkSpaces
from autopilot.config import Settings
from autopilot.contracts.aws import ScheduledTickEvent
from autopilot.domain.fleet import prewarm
from autopilot.handlers.common import current_policy, summarise
from autopilot.observability import logger, metrics, tracer


@dataclass(frozen=True)
class Composition:
    settings: Settings
    bus: EventBus
    ports: prewarm.PrewarmPorts


@cached
def ports() -> Composition:
    settings = Settings.from_env()
    bus = EventBus(client("events"), settings.event_bus_name)
    return Composition(
        settings=settings,
        bus=bus,
        ports=prewarm.PrewarmPorts(
            desks=DeskStore(dynamodb().Table(settings.table_name)),
            fleet=WorkSpaces(client("workspaces")),
            log=StartLogStore(dynamodb(), settings.table_name),
            bus=bus,
            incidents=IncidentStore(dynamodb().Table(settings.table_name)),
        ),
    )


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ScheduledTickEvent.model_validate(event)
    p = ports()
    policy, _ = current_policy(p.settings.policy_parameter_name, p.bus)
    report = prewarm.tick(policy, p.ports, clock.now())
    result = summarise(report)
    metrics.add_metric(name="DesksPrewarmed", unit=MetricUnit.Count, value=len(report.started))
    metrics.add_metric(name="PrewarmStartsRefused", unit=MetricUnit.Count, value=len(report.start_failed))
    metrics.add_metric(name="PrewarmRebuilds", unit=MetricUnit.Count, value=len(report.rebuilt))
    metrics.add_metric(name="PrewarmEscalations", unit=MetricUnit.Count, value=len(report.escalated))
    logger.info("prewarm tick", extra=result)
    return result
