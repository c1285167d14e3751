"""hr_feed_ingest: a roster file in the feed bucket (S3 Object Created) -> diff against the last accepted
roster -> Employee Hired / Departed / Transferred on the HR bus; mass departures are held
(domain/hr/roster.py, feed_hold.py, docs/onboarding.md). AWS owns the notification: it is read tolerantly, and one
without a usable bucket name or object key is dropped and counted (aws_events.py).

`release(feed_id)` and `discard(feed_id)` are what the operator CLI calls for a held feed: the same ports,
outside Lambda.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from autopilot import clock
from autopilot.adapters.aws import cached, client
from autopilot.adapters.bus import EventBus
from autopilot.adapters.feed_store import FeedStore, S3RosterFiles
from autopilot.adapters.queue import Queue
from autopilot.adapters.roster_store import RosterStore, state_table
from autopilot.config import Settings
from autopilot.contracts.aws import ObjectCreatedEvent
from autopilot.domain.hr import feed_hold
from autopilot.handlers import aws_events
from autopilot.handlers.common import current_policy
from autopilot.observability import logger, metrics, tracer

KIND = "ObjectCreated"


class FeedSettings(Settings):
    hr_event_bus_name: str = Field(alias="HR_EVENT_BUS_NAME", min_length=1)
    hr_event_source: str = Field(alias="HR_EVENT_SOURCE", min_length=1)
    # The rule routes only this bucket's notifications; one for another bucket has nothing for us to read.
    feed_bucket_name: str = Field(alias="FEED_BUCKET_NAME", default="")
    # Rejected rows go to this queue (the AsyncFailureDLQ); without it the invocation fails with line numbers.
    feed_rejects_queue_url: str = Field(alias="FEED_REJECTS_QUEUE_URL", default="")


@dataclass(frozen=True)
class Composition:
    settings: FeedSettings
    bus: EventBus
    ports: feed_hold.FeedPorts


@cached
def ports() -> Composition:
    settings = FeedSettings.from_env()
    table = state_table(settings.table_name)
    events = client("events")
    bus = EventBus(events, settings.event_bus_name)
    rejects = Queue(client("sqs"), settings.feed_rejects_queue_url) if settings.feed_rejects_queue_url else None
    return Composition(
        settings=settings,
        bus=bus,
        ports=feed_hold.FeedPorts(
            feeds=FeedStore(table),
            roster=RosterStore(table),
            files=S3RosterFiles(client("s3")),
            hr_bus=EventBus(events, settings.hr_event_bus_name),
            bus=bus,
            hr_source=settings.hr_event_source,
            rejects=rejects,
        ),
    )


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed = aws_events.read(event, ObjectCreatedEvent, KIND)
    if isinstance(parsed, aws_events.Dropped):
        return parsed.as_response()
    created = parsed.detail
    composition = ports()
    feed_bucket = composition.settings.feed_bucket_name
    if feed_bucket and created.bucket.name != feed_bucket:
        return aws_events.drop(event, KIND, ["bucket.name: not the feed bucket"]).as_response()
    source = feed_hold.FeedSource(
        bucket=created.bucket.name,
        key=created.object.key,
        version_id=created.object.version_id,
        etag=created.object.etag,
    )
    policy, _ = current_policy(composition.settings.policy_parameter_name, composition.bus)
    outcome = feed_hold.ingest_feed(source, policy=policy, ports=composition.ports, now=clock.now())
    logger.info("roster feed", extra=outcome.as_response())
    return outcome.as_response()
