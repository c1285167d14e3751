"""A roster file's way through the automation: accepted, or held when it would offboard too many people.

    received ─► PROCESSING ─► ACCEPTED      (events published, roster stored)
                     │
                     ├─────► HELD ─► RELEASED   (release_feed: the same file, accepted without the threshold)
                     │          └──► DISCARDED  (discard_feed: nothing happens, the roster stays as it was)
                     └─────► REJECTED           (the file as a whole is unreadable)

More than offboarding.max_departures_per_feed departures, or more than onboarding.max_hires_per_feed hires, in
one file holds the WHOLE file: no event is published, the roster is not updated, a `Feed Held` event pages
on-call. A truncated or wrong export looks
exactly like a mass departure; an operator decides (`release_feed` / `discard_feed`, called by the operator
CLI with the same ports the Lambda uses). A held file that a later roster overtook cannot be released (it
would undo the later one): upload it again instead.

A file refused as a whole (empty, not UTF-8, wrong delimiter, missing or unknown columns) is REJECTED on every
attempt path: its reason (which names the fix) goes to the reject queue as a dead letter and a `Feed Rejected`
event alerts on-call, before the record says REJECTED, so a retry or a redelivery finds it settled. Without a
reject queue the invocation fails on every attempt instead, and Lambda's on-failure destination dead-letters it.

Nothing personal is stored: the held file stays in the (versioned) feed bucket and is read again on release.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from autopilot.contracts.common import StrictModel
from autopilot.contracts.outputs import FeedHeld, FeedRejected
from autopilot.domain.hr.feed_record import FeedRecord, FeedStatus
from autopilot.domain.hr.ports import FeedRecords, RosterFiles, RosterSnapshot
from autopilot.domain.hr.roster import ParsedRoster, RosterDiff, diff_roster, parse_roster
from autopilot.domain.kernel.errors import InvalidInput, StaleUpdate, TransientAwsError
from autopilot.domain.kernel.outbox import DomainEventPublisher, RawEventSink
from autopilot.domain.kernel.policy import Policy
from autopilot.domain.kernel.timers import EnvelopeQueue


@dataclass(frozen=True)
class FeedSource:
    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None

    @property
    def feed_id(self) -> str:
        """Deterministic per object version, so a redelivered S3 event is the same feed."""
        identity = "/".join([self.bucket, self.key, self.version_id or "", self.etag or ""])
        return f"feed-{hashlib.sha256(identity.encode()).hexdigest()[:24]}"


@dataclass(frozen=True)
class FeedPorts:
    feeds: FeedRecords
    roster: RosterSnapshot
    files: RosterFiles
    hr_bus: RawEventSink
    bus: DomainEventPublisher
    hr_source: str
    # Where rejected rows go (an SQS dead-letter queue). None: the invocation fails with the line numbers
    # after the good rows are accepted, and Lambda's on-failure destination dead-letters it.
    rejects: EnvelopeQueue | None = None


@dataclass(frozen=True)
class FeedOutcome:
    feed_id: str
    status: str
    hires: int = 0
    departures: int = 0
    transfers: int = 0
    rejected_lines: list[int] = field(default_factory=list)
    reason: str | None = None

    def as_response(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "feed_id": self.feed_id,
            "status": self.status,
            "hires": self.hires,
            "departures": self.departures,
            "transfers": self.transfers,
            "rejected_lines": self.rejected_lines,
        }


def ingest_feed(source: FeedSource, *, policy: Policy, ports: FeedPorts, now: dt.datetime) -> FeedOutcome:
    """A roster file dropped in the feed bucket. Redelivered events converge on the feed record."""
    record = ports.feeds.get(source.feed_id)
    if record is not None and record.status is not FeedStatus.PROCESSING:
        _fail_again_if_rows_were_rejected(record, ports)
        _fail_again_if_rejected(record, ports)
        return _outcome(record)
    if record is None:
        try:
            record = ports.feeds.create(
                FeedRecord(
                    feed_id=source.feed_id,
                    status=FeedStatus.PROCESSING,
                    bucket=source.bucket,
                    key=source.key,
                    version_id=source.version_id,
                    received_at=now,
                )
            )
        except StaleUpdate as exc:
            raise TransientAwsError(f"feed {source.feed_id} is being processed by another invocation") from exc
    return _process(record, policy=policy, ports=ports, now=now, force=False)


def release_feed(feed_id: str, *, policy: Policy, ports: FeedPorts, now: dt.datetime) -> FeedOutcome:
    """An operator accepts a held feed: its events are published and its roster becomes the accepted one."""
    record = _held(feed_id, ports)
    accepted_at = ports.roster.accepted_at()
    if accepted_at is not None and accepted_at > record.received_at:
        raise InvalidInput(
            f"feed {feed_id} was overtaken by a roster accepted at {accepted_at.isoformat()}; releasing it would "
            "undo that roster. Discard it, and upload the file again if it is still right."
        )
    return _process(record, policy=policy, ports=ports, now=now, force=True)


def discard_feed(feed_id: str, *, ports: FeedPorts, now: dt.datetime) -> FeedOutcome:
    """An operator throws a held feed away: nothing is published, the roster stays as it was."""
    record = _held(feed_id, ports)
    record = ports.feeds.save(record.model_copy(update={"status": FeedStatus.DISCARDED, "decided_at": now}))
    return _outcome(record)


def _held(feed_id: str, ports: FeedPorts) -> FeedRecord:
    record = ports.feeds.get(feed_id)
    if record is None:
        raise InvalidInput(f"no feed {feed_id}")
    if record.status is not FeedStatus.HELD:
        raise InvalidInput(f"feed {feed_id} is {record.status.value}, not HELD")
    return record


def _process(record: FeedRecord, *, policy: Policy, ports: FeedPorts, now: dt.datetime, force: bool) -> FeedOutcome:
    try:
        text = ports.files.read(record.bucket, record.key, record.version_id)
        parsed = parse_roster(text, name=record.key)
    except InvalidInput as refused:
        return _reject(record, str(refused), ports=ports, now=now)
    diff = diff_roster(ports.roster.load(), parsed, feed_date=now.date())
    counts: dict[str, Any] = {
        "hires": len(diff.hired),
        "departures": len(diff.departed),
        "transfers": len(diff.transferred),
        "rejected_lines": [row.line for row in parsed.rejected],
    }
    if parsed.rejected and ports.rejects is not None:
        ports.rejects.send(_reject_messages(record, parsed))
    reason = hold_reason(diff, policy)
    if not force and reason is not None:
        record = ports.feeds.save(
            record.model_copy(update={"status": FeedStatus.HELD, "decided_at": now, "reason": reason, **counts})
        )
        ports.bus.publish(
            [
                FeedHeld(
                    feed_id=record.feed_id,
                    departures=len(diff.departed),
                    threshold=policy.offboarding.max_departures_per_feed,
                    hires=len(diff.hired),
                    max_hires=policy.onboarding.max_hires_per_feed,
                    held_at=now,
                )
            ]
        )
        return _outcome(record)
    ports.hr_bus.put_raw(_hr_entries(diff, ports.hr_source))
    ports.roster.apply(diff.upserts, diff.deletes)
    ports.roster.mark_accepted(record.feed_id, now)
    status = FeedStatus.RELEASED if force else FeedStatus.ACCEPTED
    record = ports.feeds.save(record.model_copy(update={"status": status, "decided_at": now, **counts}))
    _fail_again_if_rows_were_rejected(record, ports)
    return _outcome(record)


def hold_reason(diff: RosterDiff, policy: Policy) -> str | None:
    """Why a file is held whole (too many departures or hires for one file), or None. `autopilot plan` uses it."""
    reasons = []
    if len(diff.departed) > policy.offboarding.max_departures_per_feed:
        reasons.append(
            f"{len(diff.departed)} departures > offboarding.max_departures_per_feed "
            f"{policy.offboarding.max_departures_per_feed}"
        )
    if len(diff.hired) > policy.onboarding.max_hires_per_feed:
        reasons.append(
            f"{len(diff.hired)} hires > onboarding.max_hires_per_feed {policy.onboarding.max_hires_per_feed}"
        )
    return "; ".join(reasons) or None


def _reject(record: FeedRecord, reason: str, *, ports: FeedPorts, now: dt.datetime) -> FeedOutcome:
    """Dead letter and alert first, then the record: a crash in between repeats them, never loses them."""
    if ports.rejects is not None:
        ports.rejects.send(
            [
                {
                    "kind": "roster_rejected",
                    "feed_id": record.feed_id,
                    "bucket": record.bucket,
                    "key": record.key,
                    "version_id": record.version_id,
                    "reason": reason,
                }
            ]
        )
    ports.bus.publish([FeedRejected(feed_id=record.feed_id, reason=reason, rejected_at=now)])
    record = ports.feeds.save(
        record.model_copy(update={"status": FeedStatus.REJECTED, "decided_at": now, "reason": reason})
    )
    _fail_again_if_rejected(record, ports)
    return _outcome(record)


def _fail_again_if_rejected(record: FeedRecord, ports: FeedPorts) -> None:
    """Without a reject queue, a refused file fails every attempt so that Lambda dead-letters the invocation."""
    if ports.rejects is None and record.status is FeedStatus.REJECTED:
        raise InvalidInput(record.reason or f"roster feed {record.feed_id} ({record.key}) was rejected")


def _fail_again_if_rows_were_rejected(record: FeedRecord, ports: FeedPorts) -> None:
    """Without a reject queue, the invocation itself is the dead letter: it fails on every retry."""
    if ports.rejects is None and record.rejected_lines and record.status in (FeedStatus.ACCEPTED, FeedStatus.RELEASED):
        lines = ", ".join(str(line) for line in record.rejected_lines)
        raise InvalidInput(f"roster feed {record.feed_id} ({record.key}): rows rejected at lines {lines}")


def _hr_entries(diff: RosterDiff, source: str) -> list[dict[str, str]]:
    events: Sequence[tuple[str, StrictModel]] = (
        [("Employee Hired", hire) for hire in diff.hired]
        + [("Employee Transferred", transfer) for transfer in diff.transferred]
        + [("Employee Departed", departure) for departure in diff.departed]
    )
    return [
        {"Source": source, "DetailType": detail_type, "Detail": detail.model_dump_json(exclude_none=True)}
        for detail_type, detail in events
    ]


def _reject_messages(record: FeedRecord, parsed: ParsedRoster) -> list[dict[str, Any]]:
    return [
        {
            "kind": "roster_row_rejected",
            "feed_id": record.feed_id,
            "bucket": record.bucket,
            "key": record.key,
            "version_id": record.version_id,
            "line": row.line,
            "employee_id": row.employee_id,
            "errors": row.errors,
        }
        for row in parsed.rejected
    ]


def _outcome(record: FeedRecord) -> FeedOutcome:
    return FeedOutcome(
        feed_id=record.feed_id,
        status=record.status.value,
        hires=record.hires,
        departures=record.departures,
        transfers=record.transfers,
        rejected_lines=list(record.rejected_lines),
        reason=record.reason,
    )
