"""Ports (typing.Protocol) of the onboarding, offboarding, transfer and roster-feed domain.

Adapters satisfy them structurally (DeskStore, EventBus, WorkSpaces, ...); unit tests give in-memory fakes
(tests/unit/fakes_onboarding.py). Other features may import them: the names say what each port is for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from autopilot.domain.hr.feed_record import FeedRecord
from autopilot.domain.hr.roster import RosterEntry
from autopilot.domain.hr.welcome import WelcomeMessage
from autopilot.domain.kernel.desks import Departure, Desk
from autopilot.domain.kernel.outbox import AuditEntry, DomainEventPublisher
from autopilot.domain.kernel.timers import ProvisioningRequeue, TimerScheduler
from autopilot.domain.kernel.workspace import CreateResult, DeskSpec, ItemFailure, WorkspaceInfo


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


# --- the lifecycle queue: stop and terminate --------------------------------------------------------------
@dataclass(frozen=True)
class LifecyclePorts:
    desks: DeskRecords
    fleet: WorkSpacesFleet
    bus: DomainEventPublisher
    timers: TimerScheduler
    bundles: BundleCatalog
    tags: ResourceTags  # a WorkSpace found in place of the recorded one is acted on only if it is ours
    transient: tuple[type[Exception], ...] = ()


@dataclass(frozen=True)
class ProvisionPorts:
    desks: DeskRecords
    fleet: WorkSpacesFleet
    bus: DomainEventPublisher
    requeue: ProvisioningRequeue
    mailer: WelcomeMailer
    codes: RegistrationCodes
    tags: ResourceTags  # an existing desk is managed when it carries the ManagedBy tag
    owners: DeskOwners  # fleet_watch's memory of who owns a desk, corrected when a hire takes an adopted desk over
    # What the adapters raise when a whole call failed in a way worth retrying (throttling after botocore's
    # retries, 5xx, a timeout): the messages concerned are reported failed and SQS redelivers them. A refusal
    # for good (AwsRefused) is never retried: the desks concerned are FAILED and on-call is told once.
    transient: tuple[type[Exception], ...] = ()
