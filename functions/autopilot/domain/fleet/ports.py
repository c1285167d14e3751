"""The ports of the fleet capability (the sweep, pre-warm, the unused-desk report), each named for what its
function reads or writes through it. Adapters satisfy them structurally (adapters.workspaces,
adapters.observation_store, adapters.alarms, ...); unit tests give fakes (tests/unit/fakes_fleet.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from autopilot.contracts.outputs import DomainEvent, StepRecord
from autopilot.domain.fleet.adoption import SeenDesk
from autopilot.domain.incidents.alarms import AlarmSpec
from autopilot.domain.kernel.desks import Desk
from autopilot.domain.kernel.incident_ids import START_INCIDENT_PREFIX


class SweptConnection(Protocol):
    @property
    def state(self) -> str: ...
    @property
    def last_user_connection(self) -> dt.datetime | None: ...


class SweptFleet(Protocol):
    def in_directory(self, directory_id: str) -> Iterable[SeenDesk]: ...
    def in_account(self) -> Iterable[SeenDesk]: ...
    def connection_status(self, workspace_ids: Sequence[str]) -> Mapping[str, SweptConnection]: ...
    def modify(self, workspace_id: str, *, autostop_minutes: int | None = None) -> None: ...


class Observations(Protocol):
    def get_many(self, workspace_ids: Sequence[str]) -> dict[str, Observation]: ...
    def put(self, observation: Observation) -> bool: ...  # False: a newer observation is stored


class DeskLookup(Protocol):
    def by_workspace_ids(self, workspace_ids: Sequence[str]) -> dict[str, Desk]: ...
    def by_employee_ids(self, employee_ids: Iterable[str]) -> dict[str, Desk]: ...
    def create(self, desk: Desk) -> Desk: ...
    def awaiting(self) -> list[Desk]: ...  # hires with no WorkSpace yet (SCHEDULED, PROVISIONING)


class AutoStopTags(Protocol):
    def tags_of(self, workspace_ids: Sequence[str]) -> dict[str, dict[str, str]]: ...
    def tagged_with(self, key: str) -> dict[str, dict[str, str]]: ...


class DirectoryAlarms(Protocol):
    def existing(self, prefix: str) -> dict[str, AlarmSpec | None]: ...
    def put(self, spec: AlarmSpec) -> None: ...
    def delete(self, names: Sequence[str]) -> None: ...


class SweepEvents(Protocol):
    def publish(self, events: Sequence[DomainEvent]) -> None: ...


class PrewarmDeskState(Protocol):
    @property
    def workspace_id(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def running_mode(self) -> str: ...


class StartFailure(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def code(self) -> str: ...  # the AWS error code; AWS's message is never carried (it can name the user)


class PrewarmConnection(Protocol):
    @property
    def state(self) -> str: ...


class PrewarmFleet(Protocol):
    def describe(self, workspace_ids: Sequence[str]) -> Sequence[PrewarmDeskState]: ...
    def connection_status(self, workspace_ids: Sequence[str]) -> Mapping[str, PrewarmConnection]: ...
    def start(self, workspace_ids: Iterable[str]) -> Sequence[StartFailure]: ...
    def rebuild(self, workspace_id: str) -> StartFailure | None: ...


class ShiftDesks(Protocol):
    def shift_desks(self) -> Iterable[Desk]: ...


class StartLog(Protocol):
    def get_many(self, employee_ids: Sequence[str]) -> dict[str, StartRecord]: ...
    def put(self, record: StartRecord) -> bool: ...  # False: someone else wrote a newer version


class PrewarmEvents(Protocol):
    def publish(self, events: Sequence[DomainEvent]) -> None: ...


class OpenIncidents(Protocol):
    def open_for(self, subject: str) -> object | None: ...


class AllDesks(Protocol):
    def all_desks(self) -> Iterable[Desk]: ...


class LastConnections(Protocol):
    def last_connections(self, workspace_ids: Sequence[str]) -> dict[str, dt.datetime | None]: ...


class UnusedDeskEvents(Protocol):
    def publish(self, events: Sequence[DomainEvent]) -> None: ...


@dataclass(frozen=True, slots=True)
class Observation:
    """The last thing fleet_watch saw of one desk (item `pk=OBS#<workspace_id>, sk=OBS`)."""

    workspace_id: str
    directory_id: str
    state: str
    running_mode: str
    observed_at: dt.datetime
    autostop_minutes: int | None = None
    compute: str | None = None
    connection_state: str | None = None
    last_user_connection: dt.datetime | None = None
    employee_id: str | None = None  # owner of the desk record, once known
    adoption: str | None = None  # managed | unmanaged | None (not decided yet); dry_run: written before 2026-12
    adoption_checked_at: dt.datetime | None = None
    autostop_tag_hours: int | None = None  # the AutoStop tag last applied (to notice its removal)
    next_id: str | None = None  # ring link (see the module note)
    gone: bool = False

    def watched(self) -> tuple[object, ...]:
        """Everything but the clock: a difference here is worth a write."""
        return (
            self.directory_id,
            self.state,
            self.running_mode,
            self.autostop_minutes,
            self.compute,
            self.connection_state,
            self.employee_id,
            self.adoption,
            self.adoption_checked_at,
            self.autostop_tag_hours,
            self.next_id,
            self.gone,
        )


@dataclass(frozen=True)
class StartRecord:
    """The last pre-warm start of one employee's desk (item `pk=PREWARM#<employee_id>, sk=PREWARM`)."""

    employee_id: str
    workspace_id: str
    directory_id: str
    shift_date: str  # local date of the shift, ISO
    status: str  # started | dry_run | up | rebuilding | rebuilt | escalated | skipped | start_refused | start_failed
    started_at: dt.datetime
    rebuild_at: dt.datetime | None = None
    steps: tuple[StepRecord, ...] = ()
    version: int = 0

    @property
    def incident_id(self) -> str:
        return f"{START_INCIDENT_PREFIX}{self.workspace_id}-{self.shift_date.replace('-', '')}"
