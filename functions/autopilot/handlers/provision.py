"""provision: ProvisioningQueue batches (up to 25) -> reconcile, one CreateWorkspaces, follow desks to READY,
welcome e-mail (domain/hr/provisioning.py, docs/onboarding.md). Partial batch responses: only the failed
messages come back."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field, ValidationError

from autopilot import clock
from autopilot.adapters.aws import cached, client
from autopilot.adapters.bus import EventBus
from autopilot.adapters.desk_store import DeskStore
from autopilot.adapters.mailer import SesMailer, WorkSpacesLookups
from autopilot.adapters.observation_store import ObservationStore, dynamodb
from autopilot.adapters.queue import Queue
from autopilot.adapters.roster_store import state_table
from autopilot.adapters.tagging import Tagging
from autopilot.adapters.timers import timer_envelope
from autopilot.adapters.workspaces import WorkSpaces
from autopilot.config import Settings
from autopilot.contracts.timers import TimerFiredEvent
from autopilot.domain.hr import provisioning
from autopilot.domain.hr.plan import ProvisionWork
from autopilot.domain.hr.ports import ProvisionPorts
from autopilot.domain.hr.roster import describe_errors
from autopilot.domain.kernel.outbox import DryRunMarking
from autopilot.domain.kernel.timers import QueueRequeue
from autopilot.handlers.common import TRANSIENT, SqsBatch, SqsRecord, account_of, current_policy, report
from autopilot.observability import logger, metrics, tracer


class ProvisionSettings(Settings):
    provisioning_queue_url: str = Field(alias="PROVISIONING_QUEUE_URL", min_length=1)


@dataclass(frozen=True)
class Composition:
    settings: ProvisionSettings
    bus: EventBus
    ports: ProvisionPorts


@cached
def ports(account: str) -> Composition:
    settings = ProvisionSettings.from_env()
    table = state_table(settings.table_name)
    bus = EventBus(client("events"), settings.event_bus_name)
    workspaces = client("workspaces")
    return Composition(
        settings=settings,
        bus=bus,
        ports=ProvisionPorts(
            desks=DeskStore(table),
            fleet=WorkSpaces(workspaces),
            bus=bus,
            requeue=QueueRequeue(
                Queue(client("sqs"), settings.provisioning_queue_url),
                envelope=functools.partial(timer_envelope, account=account, region=settings.region),
            ),
            mailer=SesMailer(client("sesv2")),
            codes=WorkSpacesLookups(workspaces),
            tags=Tagging(client("resourcegroupstaggingapi"), account_id=account),
            owners=ObservationStore(dynamodb(), settings.table_name),
            transient=TRANSIENT,
        ),
    )


def parse_work(record: SqsRecord) -> ProvisionWork:
    try:
        # SQS delivers the body as a str (Powertools' model also allows an already parsed body).
        timer = TimerFiredEvent.model_validate_json(str(record.body)).detail
    except ValidationError as exc:
        return ProvisionWork(record.messageId, None, "; ".join(describe_errors(exc)))
    return ProvisionWork(record.messageId, timer)


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    batch = SqsBatch.model_validate(event)
    composition = ports(account_of(context))
    policy, _ = current_policy(composition.settings.policy_parameter_name, composition.bus)
    result = provisioning.provision_batch(
        [parse_work(record) for record in batch.Records],
        policy=policy,
        ports=dataclasses.replace(composition.ports, bus=DryRunMarking(composition.bus, policy.dry_run)),
        now=clock.now(),
    )
    report(result, "provision")
    for decision in result.decisions:
        if decision.action == "ready":
            metrics.add_metric(
                name="ProvisioningLeadTime", unit=MetricUnit.Seconds, value=decision.detail["lead_seconds"]
            )
    return result.as_batch_response()
