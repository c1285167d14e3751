"""optimizer (daily): pay hourly (AUTO_STOP) or monthly (ALWAYS_ON), whichever is cheaper, for each managed
desk; the month's report rows and a `Running Modes Optimised` summary. See docs/optimizer.md."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from autopilot import clock
from autopilot.adapters.aws import cached, client
from autopilot.adapters.bus import EventBus
from autopilot.adapters.desk_store import DeskStore
from autopilot.adapters.tagging import Tagging
from autopilot.adapters.usage_metrics import ManagedFleet, UsageMetrics
from autopilot.adapters.usage_store import UsageStore, state_table
from autopilot.adapters.workspaces import WorkSpaces
from autopilot.config import Settings
from autopilot.contracts.aws import ScheduledTickEvent
from autopilot.domain.cost import running_modes
from autopilot.domain.cost.ports import OptimizerPorts
from autopilot.domain.kernel.errors import InvalidInput
from autopilot.handlers.common import account_of, current_policy
from autopilot.observability import logger, metrics, tracer

TASK = "optimize_running_modes"


@dataclass(frozen=True)
class Composition:
    settings: Settings
    bus: EventBus
    workspaces: WorkSpaces  # resolves the policy's names
    ports: OptimizerPorts


@cached
def ports(account: str) -> Composition:
    settings = Settings.from_env()
    table = state_table(settings.table_name)
    bus = EventBus(client("events"), settings.event_bus_name)
    return Composition(
        settings=settings,
        bus=bus,
        workspaces=WorkSpaces(client("workspaces")),
        ports=OptimizerPorts(
            fleet=ManagedFleet(client("workspaces"), Tagging(client("resourcegroupstaggingapi"), account_id=account)),
            metrics=UsageMetrics(client("cloudwatch")),
            usage=UsageStore(table),
            desks=DeskStore(table),
            bus=bus,
        ),
    )


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    tick = ScheduledTickEvent.model_validate(event)
    if tick.detail.task != TASK:
        raise InvalidInput(f"the optimizer runs the task {TASK!r}, not {tick.detail.task!r}")
    p = ports(account_of(context))
    policy, resolution = current_policy(p.settings.policy_parameter_name, p.bus, p.workspaces)
    assert resolution is not None  # asked for with the WorkSpaces adapter
    outcome = running_modes.optimize_running_modes(policy, resolution, p.ports, now=clock.now())
    result = outcome.summary()
    metrics.add_metric(name="OptimizerDesks", unit=MetricUnit.Count, value=outcome.desks)
    metrics.add_metric(name="RunningModeChanges", unit=MetricUnit.Count, value=len(outcome.changed))
    metrics.add_metric(name="RunningModeChangesRefused", unit=MetricUnit.Count, value=len(outcome.failed))
    logger.info("running modes optimised", extra=result)
    return result
