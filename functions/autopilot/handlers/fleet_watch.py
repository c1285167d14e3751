"""fleet_watch (every 5 minutes): sweep every directory of the policy, publish what changed, adopt existing
desks, apply per-desk AutoStop tags, keep one ConnectionFailure alarm per directory. See docs/fleet-watch.md."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from autopilot import clock
from autopilot.adapters.alarms import Alarms
from autopilot.adapters.aws import cached, client
from autopilot.adapters.bus import EventBus
from autopilot.adapters.desk_store import DeskStore
from autopilot.adapters.observation_store import DeskLookup, FleetObserver, ObservationStore, dynamodb
from autopilot.adapters.tagging import Tagging
from autopilot.config import Settings
from autopilot.contracts.aws import ScheduledTickEvent
from autopilot.domain.fleet import sweep
from autopilot.domain.kernel.workspace import WorkSpacesError
from autopilot.handlers.common import account_of, current_policy, summarise
from autopilot.observability import NAMESPACE, logger, metrics, tracer
from autopilot.reporting.gauges import desks_by_profile

SWEEP_MINUTES = 5  # the template's rate(5 minutes)


class FleetWatchSettings(Settings):
    connection_failure_alarm_prefix: str = Field(alias="CONNECTION_FAILURE_ALARM_PREFIX", min_length=1)


@dataclass(frozen=True)
class Composition:
    settings: FleetWatchSettings
    bus: EventBus
    workspaces: FleetObserver  # also resolves the policy's names and lists the registered directories
    desk_store: DeskStore  # the hourly count of desks by profile
    ports: sweep.SweepPorts


@cached
def ports(account: str) -> Composition:
    settings = FleetWatchSettings.from_env()
    table = dynamodb().Table(settings.table_name)
    desk_store = DeskStore(table)
    bus = EventBus(client("events"), settings.event_bus_name)
    workspaces = FleetObserver(client("workspaces"))
    return Composition(
        settings=settings,
        bus=bus,
        workspaces=workspaces,
        desk_store=desk_store,
        ports=sweep.SweepPorts(
            fleet=workspaces,
            observations=ObservationStore(dynamodb(), settings.table_name),
            desks=DeskLookup(desk_store),
            tags=Tagging(client("resourcegroupstaggingapi"), account_id=account),
            alarms=Alarms(client("cloudwatch")),
            bus=bus,
            refused=WorkSpacesError,
        ),
    )


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ScheduledTickEvent.model_validate(event)
    p = ports(account_of(context))
    now = clock.now()
    policy, resolution = current_policy(p.settings.policy_parameter_name, p.bus, p.workspaces)
    assert resolution is not None  # asked for with the WorkSpaces adapter
    sites_by_directory: dict[str, list[str]] = {}
    for site, directory_id in resolution.directories.items():
        sites_by_directory.setdefault(directory_id, []).append(site)
    report = sweep.sweep(
        policy,
        directory_ids=resolution.directory_ids,
        sites_by_directory=sites_by_directory,
        alarm_prefix=p.settings.connection_failure_alarm_prefix,
        ports=p.ports,
        now=now,
        whole_account=sweep.list_whole_account(resolution.directory_ids, p.workspaces.registered_directories()),
    )
    result = summarise(report)
    metrics.add_metric(name="DesksSwept", unit=MetricUnit.Count, value=report.desks)
    metrics.add_metric(name="DeskStateChanges", unit=MetricUnit.Count, value=len(report.changed))
    metrics.add_metric(name="DesksMissing", unit=MetricUnit.Count, value=len(report.missing))
    metrics.add_metric(name="DesksUnmanaged", unit=MetricUnit.Count, value=len(report.unmanaged))
    for state, count in sorted(report.by_state.items()):
        with single_metric(name="DesksByState", unit=MetricUnit.Count, value=count, namespace=NAMESPACE) as metric:
            metric.add_dimension(name="state", value=state)
    # Profiles come from the desk records, which the sweep does not read: count them once an hour (the first
    # sweep of the hour), not every 5 minutes, so the sweep stays at its call floor.
    if now.minute < SWEEP_MINUTES:
        for profile, count in desks_by_profile(policy, p.desk_store).items():
            with single_metric(
                name="DesksByProfile", unit=MetricUnit.Count, value=count, namespace=NAMESPACE
            ) as metric:
                metric.add_dimension(name="profile", value=profile)
    if report.missing:
        logger.warning("desks recorded but missing in AWS", extra={"workspace_ids": result["missing"]})
    if report.adopted or report.unmanaged or report.duplicates or report.linked:
        logger.info(
            "adoption",
            extra={
                "dry_run": report.dry_run,
                "adopted": result["adopted"],
                "linked": result["linked"],
                "unmanaged": result["unmanaged"],
                "duplicates": result["duplicates"],
            },
        )
    logger.info("fleet swept", extra={k: v for k, v in result.items() if not isinstance(v, list)})
    return result
