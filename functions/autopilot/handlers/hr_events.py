"""hr_events: Employee Hired / Departed / Transferred (HR bus) -> desk records and timers.

Each event runs once per business key (Powertools idempotency on detail-type + employee id); a hire that comes
back with other values is flagged (`Provisioning Failed`, error_code ChangedPayload). See docs/onboarding.md.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated, Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig
from aws_lambda_powertools.utilities.idempotency import idempotent_function as powertools_idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyValidationError
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field, TypeAdapter, ValidationError

from autopilot import clock
from autopilot.adapters import idempotency
from autopilot.adapters.aws import cached, client
from autopilot.adapters.bus import EventBus
from autopilot.adapters.desk_store import DeskStore
from autopilot.adapters.queue import Queue
from autopilot.adapters.roster_store import state_table
from autopilot.adapters.workspaces import WorkSpaces
from autopilot.config import TimerSettings
from autopilot.contracts.hr import EmployeeDepartedEvent, EmployeeHiredEvent, HrEvent
from autopilot.domain.hr import offboarding, onboarding, transfers
from autopilot.domain.hr.roster import describe_errors
from autopilot.domain.kernel.errors import InvalidInput
from autopilot.domain.kernel.outbox import DryRunMarking
from autopilot.domain.kernel.policy import Policy
from autopilot.domain.kernel.resolution import Resolution
from autopilot.domain.kernel.timers import QueueTarget
from autopilot.handlers.common import account_of, current_policy, queue_or_timers
from autopilot.observability import logger, metrics, tracer

# A stable key prefix: renaming this module must not make every in-flight event run again.
IDEMPOTENCY_KEY_PREFIX = "hr-events"
_HR_EVENT: TypeAdapter[HrEvent] = TypeAdapter(Annotated[HrEvent, Field(discriminator="detail_type")])


class HrEventsSettings(TimerSettings):
    provisioning_queue_url: str = Field(alias="PROVISIONING_QUEUE_URL", min_length=1)
    provisioning_queue_arn: str = Field(alias="PROVISIONING_QUEUE_ARN", min_length=1)
    lifecycle_queue_url: str = Field(alias="LIFECYCLE_QUEUE_URL", min_length=1)
    lifecycle_queue_arn: str = Field(alias="LIFECYCLE_QUEUE_ARN", min_length=1)


@dataclass(frozen=True)
class Composition:
    settings: HrEventsSettings
    hr: onboarding.HrPorts
    bus: EventBus
    workspaces: WorkSpaces
    persistence: DynamoDBPersistenceLayer
    config: IdempotencyConfig


@cached
def ports(account: str) -> Composition:
    settings = HrEventsSettings.from_env()
    table = state_table(settings.table_name)
    bus = EventBus(client("events"), settings.event_bus_name)
    sqs = client("sqs")
    lifecycle = QueueTarget(Queue(sqs, settings.lifecycle_queue_url), settings.lifecycle_queue_arn)
    provisioning = QueueTarget(Queue(sqs, settings.provisioning_queue_url), settings.provisioning_queue_arn)
    timers = queue_or_timers(
        settings,
        account,
        {"provision": provisioning, "stop": lifecycle, "terminate": lifecycle, "transfer": lifecycle},
    )
    return Composition(
        settings=settings,
        hr=onboarding.HrPorts(desks=DeskStore(table), bus=bus, timers=timers),
        bus=bus,
        workspaces=WorkSpaces(client("workspaces")),
        persistence=idempotency.persistence_layer(settings.idempotency_table_name),
        config=idempotency.idempotency_config(),
    )


def parse_hr_event(event: dict[str, Any]) -> HrEvent:
    """The envelope and its strict detail; InvalidInput naming the fields (never their values) otherwise."""
    try:
        return _HR_EVENT.validate_python(event)
    except ValidationError as exc:
        raise InvalidInput("HR event refused: " + "; ".join(describe_errors(exc))) from exc


def apply_hr_event(
    *, request: dict[str, Any], hr_event: HrEvent, policy: Policy, resolution: Resolution, hr: onboarding.HrPorts
) -> dict[str, Any]:
    """The idempotent unit: `request` (ids, labels, dates) is what Powertools hashes; the result holds ids only."""
    now = clock.now()
    if isinstance(hr_event, EmployeeHiredEvent):
        outcome = onboarding.handle_hire(
            hr_event.detail, event_time=hr_event.time, policy=policy, resolution=resolution, ports=hr, now=now
        )
    elif isinstance(hr_event, EmployeeDepartedEvent):
        outcome = offboarding.handle_departure(
            hr_event.detail, event_time=hr_event.time, policy=policy, ports=hr, now=now
        )
    else:
        outcome = transfers.handle_transfer(
            hr_event.detail, event_time=hr_event.time, policy=policy, resolution=resolution, ports=hr, now=now
        )
    return outcome.as_response()


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    hr_event = parse_hr_event(event)
    composition = ports(account_of(context))
    policy, resolution = current_policy(
        composition.settings.policy_parameter_name, composition.bus, composition.workspaces
    )
    if resolution is None:
        raise AssertionError("current_policy resolves ids when given the WorkSpaces adapter")
    composition.config.register_lambda_context(context)
    once = powertools_idempotent_function(
        apply_hr_event,
        data_keyword_argument="request",
        persistence_store=composition.persistence,
        config=composition.config,
        key_prefix=IDEMPOTENCY_KEY_PREFIX,
    )
    request = onboarding.idempotency_request(hr_event.detail_type, hr_event.detail)
    hr = dataclasses.replace(composition.hr, bus=DryRunMarking(composition.bus, policy.dry_run))
    try:
        response: dict[str, Any] = once(request=request, hr_event=hr_event, policy=policy, resolution=resolution, hr=hr)
    except IdempotencyValidationError:
        # The same employee within the idempotency window, with other values: flagged, not answered from cache.
        response = onboarding.flag_changed_payload(
            hr_event.detail.employee_id, fields=None, directory_id=None, ports=hr, now=clock.now()
        ).as_response()
    logger.info("hr event applied", extra={"detail_type": hr_event.detail_type, **response})
    return response
