"""lifecycle: LifecycleQueue batches -> StopWorkspaces on the last day, TerminateWorkspaces after retention,
ModifyWorkspaceProperties / MigrateWorkspace on transfers (domain/hr/offboarding.py, transfers.py,
docs/onboarding.md). Only desks the automation manages; partial batch responses."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field, ValidationError

from autopilot import clock
from autopilot.adapters.aws import cached, client
from autopilot.adapters.bus import EventBus
from autopilot.adapters.desk_store import DeskStore
from autopilot.adapters.mailer import WorkSpacesLookups
from autopilot.adapters.queue import Queue
from autopilot.adapters.roster_store import state_table
from autopilot.adapters.tagging import Tagging
from autopilot.adapters.workspaces import WorkSpaces
from autopilot.config import TimerSettings
from autopilot.contracts.timers import TimerFiredEvent
from autopilot.domain.hr import offboarding
from autopilot.domain.hr.ports import LifecyclePorts
from autopilot.domain.hr.roster import describe_errors
from autopilot.domain.kernel.outbox import DryRunMarking
from autopilot.domain.kernel.timers import QueueTarget
from autopilot.handlers.common import (
    TRANSIENT,
    SqsBatch,
    SqsRecord,
    account_of,
    current_policy,
    queue_or_timers,
    report,
)
from autopilot.observability import logger, metrics, tracer


class LifecycleSettings(TimerSettings):
    lifecycle_queue_url: str = Field(alias="LIFECYCLE_QUEUE_URL", min_length=1)
    lifecycle_queue_arn: str = Field(alias="LIFECYCLE_QUEUE_ARN", min_length=1)


@dataclass(frozen=True)
class Composition:
    settings: LifecycleSettings
    bus: EventBus
    ports: LifecyclePorts


@cached
def ports(account: str) -> Composition:
    settings = LifecycleSettings.from_env()
    table = state_table(settings.table_name)
    bus = EventBus(client("events"), settings.event_bus_name)
    lifecycle_queue = QueueTarget(Queue(client("sqs"), settings.lifecycle_queue_url), settings.lifecycle_queue_arn)
    timers = queue_or_timers(
        settings, account, {"stop": lifecycle_queue, "terminate": lifecycle_queue, "transfer": lifecycle_queue}
    )
    return Composition(
        settings=settings,
        bus=bus,
        ports=LifecyclePorts(
            desks=DeskStore(table),
            fleet=WorkSpaces(client("workspaces")),
            bus=bus,
            timers=timers,
            bundles=WorkSpacesLookups(client("workspaces")),
            tags=Tagging(client("resourcegroupstaggingapi"), account_id=account),
            transient=TRANSIENT,
        ),
    )


def parse_work(record: SqsRecord) -> offboarding.LifecycleWork:
    try:
        # SQS delivers the body as a str (Powertools' model also allows an already parsed body).
        timer = TimerFiredEvent.model_validate_json(str(record.body)).detail
    except ValidationError as exc:
        return offboarding.LifecycleWork(record.messageId, None, "; ".join(describe_errors(exc)))
    return offboarding.LifecycleWork(record.messageId, timer)


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    batch = SqsBatch.model_validate(event)
    composition = ports(account_of(context))
    policy, _ = current_policy(composition.settings.policy_parameter_name, composition.bus)
    result = offboarding.lifecycle_batch(
        [parse_work(record) for record in batch.Records],
        policy=policy,
        ports=dataclasses.replace(composition.ports, bus=DryRunMarking(composition.bus, policy.dry_run)),
        now=clock.now(),
    )
    report(result, "lifecycle")
    return result.as_batch_response()
