"""In-memory fakes of the onboarding ports (domain/hr/ports.py), with the semantics the adapters promise:
conditional writes, one desk per user per directory, per-item failures, deterministic timer names."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from autopilot.contracts.hr import EmployeeDeparted, EmployeeHired, EmployeeTransferred
from autopilot.contracts.timers import TimerFired
from autopilot.domain.hr.feed_hold import FeedPorts
from autopilot.domain.hr.feed_record import FeedRecord
from autopilot.domain.hr.onboarding import HrPorts
from autopilot.domain.hr.ports import LifecyclePorts, ProvisionPorts
from autopilot.domain.hr.roster import RosterEntry
from autopilot.domain.hr.welcome import WelcomeMessage, WelcomeNotSent
from autopilot.domain.kernel.desks import Departure, Desk
from autopilot.domain.kernel.errors import InvalidInput, StaleUpdate, TransientAwsError
from autopilot.domain.kernel.outbox import AuditEntry
from autopilot.domain.kernel.policy import Policy, parse_policy
from autopilot.domain.kernel.resolution import Resolution
from autopilot.domain.kernel.workspace import CreateResult, DeskSpec, ItemFailure, WorkspaceInfo, WorkSpacesError
from tests.unit.fakes_bus import FakeBus

NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
DIRECTORIES = {"corp.example.com": "d-1111111111", "cc.example.com": "d-2222222222"}
BUNDLES = {"Standard with Windows 10": "wsb-standard01", "Power with Windows 10": "wsb-powerbndl1"}
BUNDLE_COMPUTE = {"wsb-standard01": "STANDARD", "wsb-powerbndl1": "POWER"}
TEST_POLICY = """
version: 1
sites:
  paris-hq: {directory: corp.example.com, timezone: Europe/Paris}
  amiens-cc: {directory: cc.example.com, timezone: Europe/Paris}
  mumbai: {directory: corp.example.com, timezone: Asia/Kolkata}
bundles:
  standard: {name: "Standard with Windows 10"}
  power: {name: "Power with Windows 10"}
profiles:
  agent: {bundle: standard, compute: STANDARD, running_mode: AUTO_STOP, autostop_hours: 1, prewarm: true}
  office: {bundle: standard, compute: STANDARD, running_mode: AUTO_STOP, autostop_hours: 2}
  analyst: {bundle: standard, compute: PERFORMANCE, running_mode: AUTO_STOP, autostop_hours: 3}
  lead: {bundle: standard, compute: STANDARD, running_mode: ALWAYS_ON}
  datasci: {bundle: power, compute: POWER, running_mode: AUTO_STOP, autostop_hours: 4}
rules:
  - {match: {department: call-center}, profile: agent}
  - {match: {role: data-scientist}, profile: datasci}
  - {match: {role: analyst}, profile: analyst}
  - {match: {role: team-lead}, profile: lead}
  - {profile: office}
onboarding: {lead_days: 2, max_create_attempts: 3, sender: it@example.com}
offboarding: {retention_days: 30, max_departures_per_feed: 3}
tags: {ManagedBy: workspaces-autopilot, CostCenter: it}
"""


def policy(**overrides: Any) -> Policy:
    base = parse_policy(TEST_POLICY)
    return base.model_copy(update=overrides) if overrides else base


def resolution() -> Resolution:
    return Resolution(
        directories={"paris-hq": "d-1111111111", "amiens-cc": "d-2222222222", "mumbai": "d-1111111111"},
        bundles={"standard": "wsb-standard01", "power": "wsb-powerbndl1"},
    )


def hire(employee_id: str = "e-1001", **changes: Any) -> EmployeeHired:
    fields: dict[str, Any] = {
        "employee_id": employee_id,
        "username": f"user{employee_id.replace('-', '')}",
        "email": f"{employee_id}@example.com",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "department": "finance",
        "role": "accountant",
        "site": "paris-hq",
        "start_date": dt.date(2026, 12, 10),
    }
    return EmployeeHired.model_validate(fields | changes)


def departure(employee_id: str = "e-1001", last_day: dt.date = dt.date(2026, 12, 20)) -> EmployeeDeparted:
    return EmployeeDeparted(employee_id=employee_id, last_day=last_day)


def transfer(employee_id: str = "e-1001", **changes: Any) -> EmployeeTransferred:
    fields: dict[str, Any] = {
        "employee_id": employee_id,
        "department": "finance",
        "role": "analyst",
        "site": "paris-hq",
        "effective_date": dt.date(2026, 12, 1),
    }
    return EmployeeTransferred.model_validate(fields | changes)


# --- stores ---------------------------------------------------------------------------------------------
class FakeDesks:
    def __init__(self) -> None:
        self.items: dict[str, Desk] = {}
        self.departures: dict[str, Departure] = {}  # DEPARTED items: departures received before the desk
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self.writes = 0
        self._history: dict[str, list[tuple[dt.datetime, int, dict[str, Any]]]] = defaultdict(list)
        self.fail_next_save = 0
        self.batch_reads = 0
        self.batch_writes = 0

    def get(self, employee_id: str) -> Desk | None:
        return self.items.get(employee_id)

    def by_workspace(self, workspace_id: str) -> Desk | None:
        return next((desk for desk in self.items.values() if desk.workspace_id == workspace_id), None)

    def delete(self, desk: Desk) -> None:
        current = self.items.get(desk.employee_id)
        if current is None or current.version != desk.version:
            raise StaleUpdate(f"desk {desk.employee_id} changed")
        del self.items[desk.employee_id]
        self.writes += 1

    def get_with_departure(self, employee_id: str) -> tuple[Desk | None, Departure | None]:
        return self.items.get(employee_id), self.departures.get(employee_id)

    def record_departure(self, departure: Departure) -> None:
        recorded = self.departures.get(departure.employee_id)
        if recorded is None or recorded.event_time < departure.event_time:  # the newest is kept
            self.departures[departure.employee_id] = departure

    def create(self, desk: Desk) -> Desk:
        if desk.employee_id in self.items:
            raise StaleUpdate(f"desk {desk.employee_id} already exists")
        stored = desk.model_copy(update={"version": 1})
        self.items[desk.employee_id] = stored
        self.writes += 1
        return stored

    def save(self, desk: Desk) -> Desk:
        current = self.items.get(desk.employee_id)
        if self.fail_next_save:
            self.fail_next_save -= 1
            raise StaleUpdate("injected")
        if current is None or current.version != desk.version:
            raise StaleUpdate(f"desk {desk.employee_id} changed")
        stored = desk.model_copy(update={"version": desk.version + 1})
        self.items[desk.employee_id] = stored
        self.writes += 1
        return stored

    def record_event(self, employee_id: str, *, at: dt.datetime, kind: str, detail: dict[str, Any]) -> None:
        self.events.append((employee_id, kind, detail))
        entry = {"at": at.isoformat(), "kind": kind, "detail": dict(detail)}
        self._history[employee_id].append((at, len(self._history[employee_id]), entry))

    def get_many(self, employee_ids: Sequence[str]) -> dict[str, Desk]:
        self.batch_reads += 1
        return {employee_id: self.items[employee_id] for employee_id in employee_ids if employee_id in self.items}

    def record_events(self, entries: Sequence[AuditEntry]) -> None:
        self.batch_writes += 1
        for entry in entries:
            self.record_event(entry.employee_id, at=entry.at, kind=entry.kind, detail=entry.detail)

    def history(self, employee_id: str, limit: int = 50) -> list[dict[str, Any]]:
        # Newest event time first (DeskStore's sort key is the time, then a sequence), not newest recorded first.
        newest_first = sorted(self._history[employee_id], key=lambda kept: kept[:2], reverse=True)
        return [entry for _, _, entry in newest_first[:limit]]

    def kinds(self, employee_id: str) -> list[str]:
        return [kind for who, kind, _ in self.events if who == employee_id]


class FakeOwners:
    """fleet_watch's owner memory: workspace id -> employee id."""

    def __init__(self) -> None:
        self.owner: dict[str, str] = {}

    def reassign(self, workspace_id: str, *, previous: str, employee_id: str) -> None:
        if self.owner.get(workspace_id) == previous:
            self.owner[workspace_id] = employee_id


class FakeTimers:
    """TimerScheduler: `pending` holds timers not yet due (by name, duplicates are no-ops), `fired` the due ones."""

    def __init__(self) -> None:
        self.pending: dict[str, TimerFired] = {}
        self.fired: list[TimerFired] = []
        self.cancelled: list[str] = []

    def schedule(self, timer: TimerFired, *, now: dt.datetime) -> None:
        if timer.due <= now:
            self.fired.append(timer)
        else:
            self.pending.setdefault(timer.name, timer)

    def cancel(self, name: str) -> bool:
        self.cancelled.append(name)
        return self.pending.pop(name, None) is not None


@dataclass
class FakeWorkspace:
    workspace_id: str
    directory_id: str
    username: str
    bundle_id: str
    state: str
    running_mode: str
    autostop_minutes: int | None
    compute: str | None
    tags: dict[str, str] = field(default_factory=dict)

    def info(self) -> WorkspaceInfo:
        return WorkspaceInfo(
            workspace_id=self.workspace_id,
            directory_id=self.directory_id,
            username=self.username,
            bundle_id=self.bundle_id,
            state=self.state,
            running_mode=self.running_mode,
            autostop_minutes=self.autostop_minutes,
            compute=self.compute,
        )


class Throttled(Exception):
    """Stands for botocore's ClientError(ThrottlingException) after its retries."""


class FakeFleet:
    """WorkSpaces: one live desk per (directory, user); CreateWorkspaces refuses a second one."""

    def __init__(self) -> None:
        self.desks: dict[str, FakeWorkspace] = {}
        self.calls: dict[str, int] = defaultdict(int)
        self.created_specs: list[DeskSpec] = []
        self.missing_users: set[str] = set()
        self.create_failures: dict[str, list[str]] = defaultdict(list)
        self.throttle: dict[str, int] = defaultdict(int)
        self.refuse: dict[str, str] = {}  # operation -> the AWS error code it is refused with (AwsRefused)
        self.by_user = 0  # DescribeWorkspaces(DirectoryId, UserName) lookups
        self.stop_failures: dict[str, str] = {}
        self._ids = itertools.count(1)

    def tags_of(self, workspace_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        return {ws: dict(self.desks[ws].tags) for ws in workspace_ids if ws in self.desks}

    def _call(self, operation: str) -> None:
        self.calls[operation] += 1
        if self.throttle[operation] > 0:
            self.throttle[operation] -= 1
            raise Throttled(operation)

    def seed(self, directory_id: str, username: str, bundle_id: str = "wsb-standard01", **fields: Any) -> str:
        workspace_id = f"ws-{next(self._ids):010d}"
        values: dict[str, Any] = {
            "state": "AVAILABLE",
            "running_mode": "AUTO_STOP",
            "autostop_minutes": 60,
            "compute": BUNDLE_COMPUTE.get(bundle_id, "STANDARD"),
        }
        self.desks[workspace_id] = FakeWorkspace(workspace_id, directory_id, username, bundle_id, **(values | fields))
        return workspace_id

    def live(self) -> list[FakeWorkspace]:
        return [desk for desk in self.desks.values() if desk.state not in ("TERMINATING", "TERMINATED")]

    def find(self, directory_id: str, username: str) -> WorkspaceInfo | None:
        self._call("DescribeWorkspaces")
        self.by_user += 1
        if self.refuse.get("DescribeWorkspaces"):
            raise WorkSpacesError("workspaces:DescribeWorkspaces", self.refuse["DescribeWorkspaces"])
        return self._lookup(directory_id, username)

    def _lookup(self, directory_id: str, username: str) -> WorkspaceInfo | None:
        for desk in self.live():
            if desk.directory_id == directory_id and desk.username.lower() == username.lower():
                return desk.info()
        return None

    def describe(self, workspace_ids: Sequence[str]) -> list[WorkspaceInfo]:
        for _ in range(0, len(workspace_ids), 25):
            self._call("DescribeWorkspaces")
        return [self.desks[ws].info() for ws in workspace_ids if ws in self.desks]

    def create(self, specs: Sequence[DeskSpec]) -> CreateResult:
        created: dict[str, str] = {}
        failed: list[ItemFailure] = []
        for start in range(0, len(specs), 25):
            self._call("CreateWorkspaces")
            if "CreateWorkspaces" in self.refuse:
                raise WorkSpacesError("workspaces:CreateWorkspaces", self.refuse["CreateWorkspaces"])
            for spec in specs[start : start + 25]:
                if self.create_failures[spec.username]:
                    failed.append(ItemFailure(spec.key, self.create_failures[spec.username].pop(0)))
                elif spec.username in self.missing_users:
                    failed.append(ItemFailure(spec.key, "ResourceNotFound.User"))
                elif self._lookup(spec.directory_id, spec.username) is not None:
                    failed.append(ItemFailure(spec.key, "ResourceExists.WorkSpace"))
                else:
                    self.created_specs.append(spec)
                    created[spec.key] = self.seed(
                        spec.directory_id,
                        spec.username,
                        spec.bundle_id,
                        state="PENDING",
                        running_mode=spec.running_mode,
                        autostop_minutes=spec.autostop_minutes,
                        compute=spec.compute or BUNDLE_COMPUTE.get(spec.bundle_id),
                        tags=dict(spec.tags),
                    )
        return CreateResult(created, failed)

    def stop(self, workspace_ids: Iterable[str]) -> list[ItemFailure]:
        self._call("StopWorkspaces")
        if "StopWorkspaces" in self.refuse:
            raise WorkSpacesError("workspaces:StopWorkspaces", self.refuse["StopWorkspaces"])
        failures = []
        for ws in workspace_ids:
            if ws in self.stop_failures:
                failures.append(ItemFailure(ws, self.stop_failures[ws]))
            elif ws not in self.desks:
                failures.append(ItemFailure(ws, "ResourceNotFound.Workspace"))
            elif self.desks[ws].running_mode == "ALWAYS_ON":  # StopWorkspaces: AutoStop or Manual desks only
                failures.append(ItemFailure(ws, "OperationNotSupported"))
            else:
                self.desks[ws].state = "STOPPED"
        return failures

    def terminate(self, workspace_ids: Iterable[str]) -> list[ItemFailure]:
        self._call("TerminateWorkspaces")
        if "TerminateWorkspaces" in self.refuse:
            raise WorkSpacesError("workspaces:TerminateWorkspaces", self.refuse["TerminateWorkspaces"])
        failures = []
        for ws in workspace_ids:
            if ws in self.desks:
                self.desks[ws].state = "TERMINATED"
            else:
                failures.append(ItemFailure(ws, "ResourceNotFound.Workspace"))
        return failures

    def modify(
        self,
        workspace_id: str,
        *,
        compute: str | None = None,
        autostop_minutes: int | None = None,
        running_mode: str | None = None,
    ) -> None:
        self._call("ModifyWorkspaceProperties")
        if "ModifyWorkspaceProperties" in self.refuse:
            code = self.refuse.pop("ModifyWorkspaceProperties")
            raise WorkSpacesError("workspaces:ModifyWorkspaceProperties", code)
        desk = self.desks[workspace_id]
        desk.compute = compute or desk.compute
        desk.running_mode = running_mode or desk.running_mode
        desk.autostop_minutes = autostop_minutes or desk.autostop_minutes
        if desk.running_mode == "ALWAYS_ON":
            desk.autostop_minutes = None

    def migrate(self, workspace_id: str, bundle_id: str) -> str:
        self._call("MigrateWorkspace")
        source = self.desks[workspace_id]
        source.state = "TERMINATING"
        return self.seed(
            source.directory_id,
            source.username,
            bundle_id,
            state="PENDING",
            running_mode=source.running_mode,
            autostop_minutes=source.autostop_minutes,
        )


class FakeRequeue:
    def __init__(self) -> None:
        self.sent: list[tuple[int, TimerFired]] = []

    def requeue(self, timers: Sequence[TimerFired], *, delay_seconds: int) -> None:
        self.sent += [(delay_seconds, timer) for timer in timers]

    def take(self) -> list[tuple[int, TimerFired]]:
        sent, self.sent = self.sent, []
        return sent


class FakeMailer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, WelcomeMessage]] = []
        self.refuse: str | None = None
        self.throttle = 0

    def send(self, message: WelcomeMessage, *, sender: str) -> str:
        if self.throttle:
            self.throttle -= 1
            raise TransientAwsError("SES SendEmail: Throttling")
        if self.refuse:
            raise WelcomeNotSent(self.refuse)
        self.sent.append((sender, message))
        return f"msg-{len(self.sent)}"


class FakeCatalog:
    def default_compute(self, bundle_id: str) -> str | None:
        return BUNDLE_COMPUTE.get(bundle_id)


class FakeCodes:
    def registration_code(self, directory_id: str) -> str:
        if directory_id not in DIRECTORIES.values():  # as WorkSpacesLookups: no code for an unregistered directory
            raise InvalidInput(f"directory {directory_id} is not registered with WorkSpaces (no registration code)")
        return f"REG+{directory_id[-4:]}"


# --- roster feed ----------------------------------------------------------------------------------------
class FakeRoster:
    def __init__(self) -> None:
        self.entries: dict[str, RosterEntry] = {}
        self.accepted: tuple[str, dt.datetime] | None = None

    def load(self) -> dict[str, RosterEntry]:
        return dict(self.entries)

    def apply(self, upserts: Sequence[RosterEntry], deletes: Sequence[str]) -> None:
        for entry in upserts:
            self.entries[entry.employee_id] = entry
        for employee_id in deletes:
            self.entries.pop(employee_id, None)

    def accepted_at(self) -> dt.datetime | None:
        return self.accepted[1] if self.accepted else None

    def mark_accepted(self, feed_id: str, at: dt.datetime) -> None:
        self.accepted = (feed_id, at)


class FakeFeeds:
    def __init__(self) -> None:
        self.items: dict[str, FeedRecord] = {}

    def get(self, feed_id: str) -> FeedRecord | None:
        return self.items.get(feed_id)

    def create(self, record: FeedRecord) -> FeedRecord:
        if record.feed_id in self.items:
            raise StaleUpdate("exists")
        stored = record.model_copy(update={"version": 1})
        self.items[record.feed_id] = stored
        return stored

    def save(self, record: FeedRecord) -> FeedRecord:
        current = self.items.get(record.feed_id)
        if current is None or current.version != record.version:
            raise StaleUpdate("changed")
        stored = record.model_copy(update={"version": record.version + 1})
        self.items[record.feed_id] = stored
        return stored


class FakeFiles:
    def __init__(self) -> None:
        self.files: dict[tuple[str, str, str | None], str] = {}

    def read(self, bucket: str, key: str, version_id: str | None) -> str:
        if (bucket, key, version_id) not in self.files:  # as S3RosterFiles on NoSuchKey / NoSuchVersion
            raise InvalidInput(f"roster {key} is no longer in bucket {bucket}")
        return self.files[(bucket, key, version_id)]


class FakeRawSink:
    def __init__(self) -> None:
        self.entries: list[dict[str, str]] = []

    def put_raw(self, entries: Sequence[dict[str, str]]) -> None:
        self.entries.extend(entries)

    def types(self) -> list[str]:
        return [entry["DetailType"] for entry in self.entries]


class FakeQueue:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def send(self, bodies: Sequence[dict[str, Any]], *, delay_seconds: int = 0) -> None:
        self.bodies.extend(bodies)


# --- bundles of ports -------------------------------------------------------------------------------------
@dataclass
class World:
    desks: FakeDesks = field(default_factory=FakeDesks)
    bus: FakeBus = field(default_factory=FakeBus)
    timers: FakeTimers = field(default_factory=FakeTimers)
    fleet: FakeFleet = field(default_factory=FakeFleet)
    requeue: FakeRequeue = field(default_factory=FakeRequeue)
    mailer: FakeMailer = field(default_factory=FakeMailer)
    roster: FakeRoster = field(default_factory=FakeRoster)
    feeds: FakeFeeds = field(default_factory=FakeFeeds)
    files: FakeFiles = field(default_factory=FakeFiles)
    hr_bus: FakeRawSink = field(default_factory=FakeRawSink)
    rejects: FakeQueue | None = field(default_factory=FakeQueue)
    owners: FakeOwners = field(default_factory=FakeOwners)

    @property
    def hr(self) -> HrPorts:
        return HrPorts(desks=self.desks, bus=self.bus, timers=self.timers)

    @property
    def provision(self) -> ProvisionPorts:
        return ProvisionPorts(
            desks=self.desks,
            fleet=self.fleet,
            bus=self.bus,
            requeue=self.requeue,
            mailer=self.mailer,
            codes=FakeCodes(),
            tags=self.fleet,
            owners=self.owners,
            transient=(Throttled, TransientAwsError),
        )

    @property
    def lifecycle(self) -> LifecyclePorts:
        return LifecyclePorts(
            desks=self.desks,
            fleet=self.fleet,
            bus=self.bus,
            timers=self.timers,
            bundles=FakeCatalog(),
            tags=self.fleet,
            transient=(Throttled,),
        )

    @property
    def feed(self) -> FeedPorts:
        return FeedPorts(
            feeds=self.feeds,
            roster=self.roster,
            files=self.files,
            hr_bus=self.hr_bus,
            bus=self.bus,
            hr_source="hr.feed",
            rejects=self.rejects,
        )
