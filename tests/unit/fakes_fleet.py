"""In-memory fakes of the ports of fleet_watch, prewarm and the unused-desk report (no network)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from importlib.resources import files
from typing import Any

import yaml

from autopilot.contracts.hr import Shift
from autopilot.domain.fleet.ports import Observation, StartRecord
from autopilot.domain.fleet.sweep import SweepPorts, SweepReport, sweep
from autopilot.domain.incidents.alarms import AlarmSpec
from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.domain.kernel.errors import StaleUpdate
from autopilot.domain.kernel.policy import Policy
from tests.unit.fakes_bus import FakeBus

NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
DIRECTORY = "d-1111111111"
OTHER_DIRECTORY = "d-2222222222"
BUNDLE = "wsb-standard01"
PREFIX = "workspaces-autopilot-dev-connection-failure-"


class Refused(Exception):
    """What the fake fleet raises for a desk-level refusal (the real adapter raises WorkSpacesError)."""


@dataclass
class FakeDesk:
    workspace_id: str
    directory_id: str = DIRECTORY
    username: str = "user"
    bundle_id: str = BUNDLE
    state: str = "AVAILABLE"
    running_mode: str = "AUTO_STOP"
    autostop_minutes: int | None = 60
    compute: str | None = "STANDARD"
    connection: str = "DISCONNECTED"
    last_user_connection: dt.datetime | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FakeConnection:
    state: str
    last_user_connection: dt.datetime | None


@dataclass(frozen=True)
class FakeFailure:
    key: str
    code: str
    message: str


class FakeFleet:
    """WorkSpaces as fleet_watch and prewarm see it; counts calls like the real API would be billed."""

    def __init__(self, desks: Iterable[FakeDesk] = ()) -> None:
        self.desks: dict[str, FakeDesk] = {d.workspace_id: d for d in desks}
        self.calls: Counter[str] = Counter()
        self.modified: list[tuple[str, int | None]] = []
        self.started: list[str] = []
        self.rebuilt: list[str] = []
        self.refuse_modify: set[str] = set()
        self.fail_start: set[str] = set()
        self.fail_rebuild: set[str] = set()

    def add(self, *desks: FakeDesk) -> None:
        for desk in desks:
            self.desks[desk.workspace_id] = desk

    def in_directory(self, directory_id: str) -> Iterator[FakeDesk]:
        ids = sorted(ws for ws, d in self.desks.items() if d.directory_id == directory_id)
        for start in range(0, max(len(ids), 1), 25):
            self.calls["DescribeWorkspaces"] += 1
            for ws in ids[start : start + 25]:
                yield replace(self.desks[ws])

    def in_account(self) -> Iterator[FakeDesk]:
        ids = sorted(self.desks)
        for start in range(0, max(len(ids), 1), 25):
            self.calls["DescribeWorkspaces"] += 1
            for ws in ids[start : start + 25]:
                yield replace(self.desks[ws])

    def describe(self, workspace_ids: Sequence[str]) -> list[FakeDesk]:
        self.calls["DescribeWorkspaces"] += -(-len(workspace_ids) // 25)
        return [replace(self.desks[ws]) for ws in workspace_ids if ws in self.desks]

    def connection_status(self, workspace_ids: Sequence[str]) -> dict[str, FakeConnection]:
        self.calls["DescribeWorkspacesConnectionStatus"] += -(-len(workspace_ids) // 25)
        return {
            ws: FakeConnection(self.desks[ws].connection, self.desks[ws].last_user_connection)
            for ws in workspace_ids
            if ws in self.desks
        }

    def modify(self, workspace_id: str, *, autostop_minutes: int | None = None) -> None:
        self.calls["ModifyWorkspaceProperties"] += 1
        if workspace_id in self.refuse_modify:
            raise Refused(f"{workspace_id}: OperationInProgressException")
        self.modified.append((workspace_id, autostop_minutes))
        self.desks[workspace_id].autostop_minutes = autostop_minutes

    def start(self, workspace_ids: Iterable[str]) -> list[FakeFailure]:
        ids = list(workspace_ids)
        self.calls["StartWorkspaces"] += -(-len(ids) // 25)
        failures = []
        for ws in ids:
            if ws in self.fail_start or ws not in self.desks or self.desks[ws].state != "STOPPED":
                failures.append(FakeFailure(ws, "InvalidResourceState", "cannot start"))
                continue
            self.started.append(ws)
            self.desks[ws].state = "STARTING"
        return failures

    def rebuild(self, workspace_id: str) -> FakeFailure | None:
        self.calls["RebuildWorkspaces"] += 1
        if workspace_id not in self.desks:  # the API answers an unknown id with a failed item
            return FakeFailure(workspace_id, "ResourceNotFound.Workspace", "not found")
        # Never kinder than AWS: RebuildWorkspaces refuses a desk outside these states (API reference).
        allowed = {"AVAILABLE", "ERROR", "UNHEALTHY", "STOPPED", "REBOOTING"}
        if workspace_id in self.fail_rebuild or self.desks[workspace_id].state not in allowed:
            return FakeFailure(workspace_id, "InvalidResourceState", "cannot rebuild")
        self.rebuilt.append(workspace_id)
        self.desks[workspace_id].state = "REBUILDING"
        return None


class FakeTags:
    def __init__(self, fleet: FakeFleet) -> None:
        self.fleet = fleet
        self.calls: Counter[str] = Counter()

    def tags_of(self, workspace_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        self.calls["GetResources"] += -(-len(workspace_ids) // 100)
        desks = self.fleet.desks
        return {ws: dict(desks[ws].tags) for ws in workspace_ids if ws in desks and desks[ws].tags}

    def tagged_with(self, key: str) -> dict[str, dict[str, str]]:
        self.calls["GetResources"] += 1
        return {ws: dict(d.tags) for ws, d in self.fleet.desks.items() if key in d.tags}


class FakeObservations:
    def __init__(self) -> None:
        self.items: dict[str, Observation] = {}
        self.calls: Counter[str] = Counter()

    def get_many(self, workspace_ids: Sequence[str]) -> dict[str, Observation]:
        self.calls["BatchGetItem"] += -(-len(workspace_ids) // 100)
        return {ws: self.items[ws] for ws in workspace_ids if ws in self.items}

    def put(self, observation: Observation) -> bool:
        self.calls["PutItem"] += 1
        stored = self.items.get(observation.workspace_id)
        if stored is not None and stored.observed_at >= observation.observed_at:
            return False
        self.items[observation.workspace_id] = observation
        return True

    def last_connections(self, workspace_ids: Sequence[str]) -> dict[str, dt.datetime | None]:
        return {ws: o.last_user_connection for ws, o in self.get_many(workspace_ids).items()}


class FakeDesks:
    """Desk records: by workspace, by employee, conditional create, shift desks, all desks."""

    def __init__(self, desks: Iterable[Desk] = ()) -> None:
        self.records: dict[str, Desk] = {d.employee_id: d for d in desks}
        self.calls: Counter[str] = Counter()

    def by_workspace_ids(self, workspace_ids: Sequence[str]) -> dict[str, Desk]:
        self.calls["by_workspace_ids"] += 1
        wanted = set(workspace_ids)
        return {d.workspace_id: d for d in self.records.values() if d.workspace_id in wanted}

    def by_employee_ids(self, employee_ids: Iterable[str]) -> dict[str, Desk]:
        self.calls["by_employee_ids"] += 1
        return {e: self.records[e] for e in employee_ids if e in self.records}

    def create(self, desk: Desk) -> Desk:
        if desk.employee_id in self.records:
            raise StaleUpdate(f"desk {desk.employee_id} already exists")
        stored = desk.model_copy(update={"version": 1})
        self.records[desk.employee_id] = stored
        return stored

    def awaiting(self) -> list[Desk]:
        self.calls["awaiting"] += 1
        pending = (Lifecycle.SCHEDULED, Lifecycle.PROVISIONING)
        return [d for d in self.records.values() if d.workspace_id is None and d.lifecycle in pending]

    def shift_desks(self) -> list[Desk]:
        # DeskStore's ByShift index is sparse: a terminated or cancelled desk leaves it.
        over = (Lifecycle.TERMINATED, Lifecycle.CANCELLED)
        return [d for d in self.records.values() if d.shift is not None and d.prewarm and d.lifecycle not in over]

    def all_desks(self) -> list[Desk]:
        return list(self.records.values())


class FakeAlarms:
    def __init__(self, existing: dict[str, AlarmSpec | None] | None = None) -> None:
        self.alarms: dict[str, AlarmSpec | None] = dict(existing or {})
        self.puts: list[str] = []
        self.deletes: list[str] = []

    def existing(self, prefix: str) -> dict[str, AlarmSpec | None]:
        return {name: spec for name, spec in self.alarms.items() if name.startswith(prefix)}

    def put(self, spec: AlarmSpec) -> None:
        self.puts.append(spec.name)
        self.alarms[spec.name] = spec

    def delete(self, names: Sequence[str]) -> None:
        self.deletes += names
        for name in names:
            self.alarms.pop(name, None)


class FakeStartLog:
    def __init__(self) -> None:
        self.records: dict[str, StartRecord] = {}
        self.conflicts = 0

    def get_many(self, employee_ids: Sequence[str]) -> dict[str, StartRecord]:
        return {e: self.records[e] for e in employee_ids if e in self.records}

    def put(self, record: StartRecord) -> bool:
        stored = self.records.get(record.employee_id)
        if stored is not None and stored.version != record.version - 1:
            self.conflicts += 1
            return False
        self.records[record.employee_id] = record
        return True


def desk_record(employee_id: str, workspace_id: str | None, **changes: Any) -> Desk:
    fields: dict[str, Any] = {
        "employee_id": employee_id,
        "lifecycle": Lifecycle.READY,
        "site": "amiens-cc",
        "profile": "agent",
        "directory_id": DIRECTORY,
        "bundle_id": BUNDLE,
        "username": f"user-{employee_id}",
        "running_mode": "AUTO_STOP",
        "autostop_hours": 1,
        "workspace_id": workspace_id,
        "created_at": NOW - dt.timedelta(days=90),
        "updated_at": NOW - dt.timedelta(days=90),
        "ready_at": NOW - dt.timedelta(days=90),
    }
    return Desk.model_validate(fields | changes)


def shift(
    timezone: str = "Europe/Paris", days: Sequence[str] = ("mon", "tue", "wed", "thu", "fri"), start: str = "08:00"
) -> Shift:
    return Shift.model_validate({"timezone": timezone, "days": list(days), "start": start, "end": "16:00"})


def policy(**sections: Any) -> Policy:
    """The packaged default policy, with top-level keys replaced (`prewarm={...}`, `dry_run=True`)."""
    document = yaml.safe_load(files("autopilot.domain").joinpath("default_policy.yaml").read_text(encoding="utf-8"))
    document.update(sections)
    return Policy.model_validate(document)


@dataclass
class World:
    fleet: FakeFleet = field(default_factory=FakeFleet)
    observations: FakeObservations = field(default_factory=FakeObservations)
    desks: FakeDesks = field(default_factory=FakeDesks)
    alarms: FakeAlarms = field(default_factory=FakeAlarms)
    bus: FakeBus = field(default_factory=FakeBus)
    tags: FakeTags = field(init=False)

    def __post_init__(self) -> None:
        self.tags = FakeTags(self.fleet)

    def sweep(
        self,
        now: dt.datetime = NOW,
        *,
        rules: Policy | None = None,
        directories: tuple[str, ...] = (DIRECTORY,),
        whole_account: bool = False,
    ) -> SweepReport:
        self.bus.events.clear()
        self.fleet.calls.clear()
        self.observations.calls.clear()
        self.desks.calls.clear()
        return sweep(
            rules or policy(),
            directory_ids=list(directories),
            sites_by_directory={DIRECTORY: ["amiens-cc"], OTHER_DIRECTORY: ["paris-hq"]},
            alarm_prefix=PREFIX,
            ports=SweepPorts(
                fleet=self.fleet,
                observations=self.observations,
                desks=self.desks,
                tags=self.tags,
                alarms=self.alarms,
                bus=self.bus,
                refused=Refused,
            ),
            now=now,
            whole_account=whole_account,
        )
