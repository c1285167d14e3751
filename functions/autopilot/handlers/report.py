"""report (weekly, Monday 07:00 UTC): one `Unused Desks Found` event listing desks without a login for
`usage.unused_days` (nothing is stopped or terminated; docs/fleet-watch.md), then the fleet report: rendered
from one read of the state table, stored in the report bucket as `reports/<yyyy-mm-dd>.html` and announced by
a `Fleet Report Published` event with a presigned link (docs/runbook.md#fleet_report)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from autopilot import clock
from autopilot.adapters.aws import cached, client
from autopilot.adapters.bus import EventBus
from autopilot.adapters.desk_store import DeskStore
from autopilot.adapters.observation_store import ObservationStore, dynamodb
from autopilot.adapters.report_store import ReportStore, scan_state, signing_s3
from autopilot.adapters.state_snapshot import REPORT_KINDS
from autopilot.config import Settings
from autopilot.contracts.aws import ScheduledTickEvent
from autopilot.domain.fleet import unused
from autopilot.handlers.common import current_policy, summarise
from autopilot.observability import logger, metrics, tracer
from autopilot.reporting import weekly


class ReportSettings(Settings):
    report_bucket_name: str = Field(alias="REPORT_BUCKET_NAME", min_length=1)
    # The stack key (SSE-KMS); empty: the bucket's default encryption, which is the same key.
    report_kms_key_id: str = Field(alias="REPORT_KMS_KEY_ID", default="")


@dataclass(frozen=True)
class Composition:
    settings: ReportSettings
    bus: EventBus
    table: Any  # scanned whole for the fleet report
    unused: unused.UnusedPorts
    weekly: weekly.WeeklyPorts


@cached
def ports() -> Composition:
    settings = ReportSettings.from_env()
    table = dynamodb().Table(settings.table_name)
    bus = EventBus(client("events"), settings.event_bus_name)
    return Composition(
        settings=settings,
        bus=bus,
        table=table,
        unused=unused.UnusedPorts(
            desks=DeskStore(table), observations=ObservationStore(dynamodb(), settings.table_name), bus=bus
        ),
        weekly=weekly.WeeklyPorts(
            pages=ReportStore(signing_s3(), settings.report_bucket_name, settings.report_kms_key_id or None), bus=bus
        ),
    )


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ScheduledTickEvent.model_validate(event)
    p = ports()
    policy, _ = current_policy(p.settings.policy_parameter_name, p.bus)
    now = clock.now()
    report = unused.weekly_report(policy, p.unused, now)
    result = summarise(report)
    metrics.add_metric(name="UnusedDesks", unit=MetricUnit.Count, value=len(report.unused))
    logger.info("unused desks", extra=result)
    published = weekly.publish_weekly(
        policy,
        scan_state(p.table, REPORT_KINDS),
        p.weekly,
        now=now,
        source=f"stage {p.settings.stage}",
    )
    result["fleet_report"] = {"report_key": published.report_key, "desks": published.desks}
    logger.info("fleet report published", extra={**result["fleet_report"], "bytes": published.size_bytes})
    return result
