"""Ports (typing.Protocol) of the onboarding, offboarding, transfer and roster-feed domain.

Adapters satisfy them structurally (DeskStore, EventBus, WorkSpaces, ...); unit tests give in-memory fakes
(tests/unit/fakes_onboarding.py). Other features may import them: the names say what each port is for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from autopilot.adapters.workspaces import CreateResult, DeskSpec, ItemFailure, WorkspaceInfo
from autopilot.contracts.outputs import DomainEvent
from autopilot.contracts.timers import TimerFired, TimerKind
from autopilot.domain.desks import Departure, Desk
from autopilot.domain.welcome import WelcomeMessage

if TYPE_CHECKING:  # feed_hold and roster use these ports
    from autopilot.domain.feed_hold import FeedRecord
    from autopilot.domain.roster import RosterEntry


class DeskRecords(Protocol):
    """The desk records (adapters.desk_store.DeskStore). create/save are conditional: StaleUpdate on a lost race."""

    def get(self, employee_id: str) -> Desk | None: ...

    def by_workspace(self, workspace_id: str) -> Desk | None: ...

    def delete(self, desk: Desk) -> None:
        """Remove a desk record if nobody changed it since it was read (StaleUpdate otherwise)."""
        ...

    def get_with_departure(self, employee_id: str) -> tuple[Desk | None, Departure | None]:
        """The desk and the departure recorded before it existed, in ONE consistent read."""
        ...

    def record_departure(self, departure: Departure) -> None:
        """Remember a departure of someone without a desk; an equal or newer one already recorded is kept."""
        ...

    def create(self, desk: Desk) -> Desk: ...

    def save(self, desk: Desk) -> Desk: ...

    def record_event(self, employee_id: str, *, at: dt.datetime, kind: str, detail: dict[str, Any]) -> None: ...

    def get_many(self, employee_ids: Sequence[str]) -> dict[str, Desk]:
        """The desks that exist among `employee_ids` (consistent reads, 100 keys a request)."""
        ...

    def record_events(self, entries: Sequence[AuditEntry]) -> None:
        """Append several audit entries (25 a request)."""
        ...

    def history(self, employee_id: str, limit: int = 50) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class AuditEntry:
    """One line of a desk's audit trail (DeskRecords.record_event's arguments), for batched writes."""

    employee_id: str
    at: dt.datetime
    kind: str
    detail: dict[str, Any]


class DomainEventPublisher(Protocol):
    """The autopilot bus (adapters.bus.EventBus)."""

    def publish(self, events: Sequence[DomainEvent]) -> None: ...


@dataclass(frozen=True)
class DryRunMarking:
    """A DomainEventPublisher that marks the events of a dry run (`dry_run: true`, contracts/outputs.py)."""

    bus: DomainEventPublisher
    dry_run: bool

    def publish(self, events: Sequence[DomainEvent]) -> None:
        if self.dry_run:
            events = [event.model_copy(update={"dry_run": True}) for event in events]
        self.bus.publish(events)


class RawEventSink(Protocol):
    """A bus taking entries already shaped for PutEvents (adapters.bus.EventBus.put_raw): the HR bus."""

    def put_raw(self, entries: Sequence[dict[str, str]]) -> None: ...


class TimerScheduler(Protocol):
    """One-time timers: the TimerFired reaches its queue at `due`, or at once when it is already due."""

    def schedule(self, timer: TimerFired, *, now: dt.datetime) -> None: ...

    def cancel(self, name: str) -> bool: ...


class ProvisioningRequeue(Protocol):
    """Puts provisioning work back on the provisioning queue after a delay (SQS DelaySeconds, at most 900)."""

    def requeue(self, timers: Sequence[TimerFired], *, delay_seconds: int) -> None: ...


class WorkSpacesFleet(Protocol):
    """The part of the WorkSpaces adapter (adapters.workspaces.WorkSpaces) this domain uses."""

    def find(self, directory_id: str, username: str) -> WorkspaceInfo | None: ...

    def describe(self, workspace_ids: Sequence[str]) -> list[WorkspaceInfo]: ...

    def create(self, specs: Sequence[DeskSpec]) -> CreateResult: ...

    def stop(self, workspace_ids: Iterable[str]) -> list[ItemFailure]: ...

    def terminate(self, workspace_ids: Iterable[str]) -> list[ItemFailure]: ...

    def modify(
        self,
        workspace_id: str,
        *,
        compute: str | None = None,
        autostop_minutes: int | None = None,
        running_mode: str | None = None,
    ) -> None: ...

    def migrate(self, workspace_id: str, bundle_id: str) -> str: ...


class ResourceTags(Protocol):
    """The tags of WorkSpaces (adapters.tagging.Tagging): which desks carry the ManagedBy tag."""

    def tags_of(self, workspace_ids: Sequence[str]) -> Mapping[str, Mapping[str, str]]: ...


class DeskOwners(Protocol):
    """fleet_watch's observations (adapters.observation_store.ObservationStore): who owns a desk."""

    def reassign(self, workspace_id: str, *, previous: str, employee_id: str) -> None:
        """Name the new owner of a desk whose observation still names `previous` (else nothing changes)."""
        ...


class RegistrationCodes(Protocol):
    """The registration code users type in the WorkSpaces client, per directory."""

    def registration_code(self, directory_id: str) -> str: ...


class BundleCatalog(Protocol):
    """A bundle's default compute type (what a desk gets when its profile names no compute)."""

    def default_compute(self, bundle_id: str) -> str | None: ...


class WelcomeMailer(Protocol):
    """Sends the welcome e-mail (SES v2); returns the message id."""

    def send(self, message: WelcomeMessage, *, sender: str) -> str: ...


# --- the roster feed -----------------------------------------------------------------------------------------
class RosterSnapshot(Protocol):
    """The last accepted roster (adapters.roster_store.RosterStore)."""

    def load(self) -> dict[str, RosterEntry]: ...

    def apply(self, upserts: Sequence[RosterEntry], deletes: Sequence[str]) -> None: ...

    def accepted_at(self) -> dt.datetime | None: ...

    def mark_accepted(self, feed_id: str, at: dt.datetime) -> None: ...


class FeedRecords(Protocol):
    """One record per roster file (adapters.feed_store.FeedStore); create/save conditional (StaleUpdate)."""

    def get(self, feed_id: str) -> FeedRecord | None: ...

    def create(self, record: FeedRecord) -> FeedRecord: ...

    def save(self, record: FeedRecord) -> FeedRecord: ...


class RosterFiles(Protocol):
    """Reads a roster file (adapters.feed_store.S3RosterFiles)."""

    def read(self, bucket: str, key: str, version_id: str | None) -> str: ...


# --- the SQS/Scheduler routing of timers, kept pure so it can be tested without AWS ------------------------
class RawTimers(Protocol):
    """EventBridge Scheduler one-time schedules (adapters.timers.Timers)."""

    def set(self, timer: TimerFired, *, target_arn: str) -> bool: ...

    def cancel(self, name: str) -> bool: ...


class EnvelopeQueue(Protocol):
    """An SQS queue taking JSON bodies (adapters.queue.Queue)."""

    def send(self, bodies: Sequence[dict[str, Any]], *, delay_seconds: int = 0) -> None: ...


@dataclass(frozen=True)
class QueueTarget:
    queue: EnvelopeQueue
    arn: str


@dataclass(frozen=True)
class QueueOrTimer:
    """TimerScheduler: a timer not yet due becomes a Scheduler schedule targeting its queue; a due one is sent
    straight to that queue (Scheduler refuses `at()` in the past). `envelope` turns a TimerFired into the
    EventBridge-shaped body both paths deliver (adapters.timers.timer_envelope)."""

    timers: RawTimers
    targets: Mapping[TimerKind, QueueTarget]
    envelope: Callable[[TimerFired], dict[str, Any]]

    def schedule(self, timer: TimerFired, *, now: dt.datetime) -> None:
        target = self.targets.get(timer.kind)
        if target is None:
            raise ValueError(f"no queue for {timer.kind} timers")
        if timer.due <= now:
            target.queue.send([self.envelope(timer)])
        else:
            self.timers.set(timer, target_arn=target.arn)

    def cancel(self, name: str) -> bool:
        return self.timers.cancel(name)


@dataclass(frozen=True)
class QueueRequeue:
    """ProvisioningRequeue on an SQS queue: the same envelope, delayed."""

    queue: EnvelopeQueue
    envelope: Callable[[TimerFired], dict[str, Any]]

    def requeue(self, timers: Sequence[TimerFired], *, delay_seconds: int) -> None:
        if timers:
            self.queue.send([self.envelope(timer) for timer in timers], delay_seconds=max(0, min(900, delay_seconds)))
