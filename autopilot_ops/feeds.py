"""Held roster feeds (a mass departure waits for a person): `feed held`, `feed release|discard ID`.

Release and discard are the onboarding domain's own functions (domain/hr/feed_hold.py) with the same ports the
hr_feed_ingest Lambda uses, so the CLI decides nothing the automation would not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from autopilot.domain.hr import feed_hold
from autopilot.domain.hr.feed_record import FeedRecord, FeedStatus
from autopilot.domain.kernel.errors import InvalidInput
from autopilot_ops import records
from autopilot_ops.backend import Backend
from autopilot_ops.errors import BadInput, NotFound
from autopilot_ops.fleet import iso


def feed_view(record: FeedRecord) -> dict[str, Any]:
    return {
        "feed_id": record.feed_id,
        "status": record.status.value,
        "file": f"s3://{record.bucket}/{record.key}",
        "version_id": record.version_id,
        "received_at": iso(record.received_at),
        "decided_at": iso(record.decided_at),
        "hires": record.hires,
        "departures": record.departures,
        "transfers": record.transfers,
        "rejected_lines": list(record.rejected_lines),
        "reason": record.reason,
    }


# A rejected file waits for a person too (HR must send it again): listed for a week after it arrived.
REJECTED_SHOWN_FOR = dt.timedelta(days=7)


def held(backend: Backend, progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    snapshot = records.scan(backend.table, [records.FEED], progress)
    since = backend.now() - REJECTED_SHOWN_FOR
    waiting = [
        record
        for record in snapshot.feeds
        if record.status is FeedStatus.HELD or (record.status is FeedStatus.REJECTED and record.received_at >= since)
    ]
    waiting.sort(key=lambda record: record.received_at)
    return [feed_view(record) for record in waiting]


def _ports(backend: Backend) -> feed_hold.FeedPorts:
    environment = backend.function_environment("HrFeedIngestFunction")
    rejects_url = environment.get("FEED_REJECTS_QUEUE_URL", "")
    return feed_hold.FeedPorts(
        feeds=backend.feeds,
        roster=backend.roster,
        files=backend.roster_files,
        hr_bus=backend.hr_bus,
        bus=backend.bus,
        hr_source=environment.get("HR_EVENT_SOURCE") or backend.resources.hr_source,
        rejects=backend.queue(rejects_url) if rejects_url else None,
    )


def _existing(backend: Backend, feed_id: str) -> FeedRecord:
    record = backend.feeds.get(feed_id.strip())
    if record is None:
        raise NotFound(f"no feed {feed_id} (`autopilot feed held` lists the held ones)")
    return record


def release(backend: Backend, feed_id: str) -> dict[str, Any]:
    """Accept the held file: its hires, departures and transfers are published on the HR bus now."""
    _existing(backend, feed_id)
    try:
        outcome = feed_hold.release_feed(feed_id, policy=backend.policy(), ports=_ports(backend), now=backend.now())
    except InvalidInput as exc:
        record = _existing(backend, feed_id)
        if record.status is not FeedStatus.RELEASED:
            raise BadInput(str(exc)) from exc
        # Released; the domain fails afterwards only to dead-letter the rows it had to reject.
        backend.settle()
        return {**feed_view(record), "warning": str(exc)}
    backend.settle()
    return {**feed_view(_existing(backend, feed_id)), **outcome.as_response()}


def discard(backend: Backend, feed_id: str) -> dict[str, Any]:
    """Throw the held file away: nothing is published, the accepted roster stays as it was."""
    _existing(backend, feed_id)
    try:
        feed_hold.discard_feed(feed_id, ports=_ports(backend), now=backend.now())
    except InvalidInput as exc:
        raise BadInput(str(exc)) from exc
    return feed_view(_existing(backend, feed_id))
