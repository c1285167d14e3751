"""In-memory fakes of the remediation, sessions and alert ports (no network, no AWS).

They keep the semantics the domain relies on: the incident store refuses a second open incident per desk or
directory and refuses writes based on a stale version; timers are named and a duplicate is a no-op; the
metrics fake sums datapoints inside the asked window."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from autopilot.contracts.timers import TimerFired
from autopilot.domain.incidents.incidents import DeskActions, Incident
from autopilot.domain.incidents.ports import Action, ActionFailure, Context, Ports
from autopilot.domain.incidents.triage import Counts
from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.domain.kernel.errors import AwsRefused, StaleUpdate
from autopilot.domain.kernel.policy import Policy, parse_policy
from autopilot.domain.oncall.ports import ThreadState
from tests.unit.fakes_bus import FakeBus

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


class FakeThrottled(Exception):
    """A whole WorkSpaces call failed (throttled past the SDK's retries): the fakes' transient error."""


DIRECTORY = "d-0123456789"
TARGET = "arn:aws:lambda:eu-west-1:123456789012:function:workspaces-autopilot-dev-remediate"
MANAGED = {"ManagedBy": "workspaces-autopilot"}
OPERATIONS: dict[Action, str] = {
    "reboot": "RebootWorkspaces",
    "rebuild": "RebuildWorkspaces",
    "restore": "RestoreWorkspace",
}
PER_CALL: dict[Action, int] = {"reboot": 25, "rebuild": 1, "restore": 1}  # desks per WorkSpaces call

POLICY_TEXT = """
version: 1
sites: {amiens-cc: {directory: cc.example.com}}
bundles: {standard: {name: "Standard with Windows 10"}}
profiles: {agent: {bundle: standard}}
rules: [{profile: agent}]
remediation:
  failures_to_act: 3
  recheck_minutes: 15
  max_reboots_per_day: 2
  rebuild: true
  restore: false
  cooldown_hours: 24
  systemic: {percent: 20, min_desks: 5}
"""


def policy(**remediation: Any) -> Policy:
    base = parse_policy(POLICY_TEXT)
    dry_run = remediation.pop("dry_run", False)
    systemic = remediation.pop("systemic", None)
    rules = base.remediation.model_copy(update=remediation)
    if systemic:
        rules = rules.model_copy(update={"systemic": rules.systemic.model_copy(update=systemic)})
    return base.model_copy(update={"remediation": rules, "dry_run": dry_run})


def ws(n: int) -> str:
    return f"ws-{n:09d}"


@dataclass
class FakeDesk:
    workspace_id: str
    directory_id: str
    state: str = "AVAILABLE"


@dataclass
class FakeConnection:
    state: str


class FakeFleet:
    def __init__(self) -> None:
        self.desks: dict[str, FakeDesk] = {}
        self.connected: set[str] = set()
        self.refuse: dict[tuple[str, str], ActionFailure] = {}
        self.actions: list[tuple[Action, str]] = []  # every desk acted on, in order
        self.calls: list[tuple[Action, list[str]]] = []  # every act_many call
        self.crash_after_next_action = False  # the call went through, then the function died
        self.throttle: dict[Action, int] = {}  # act_many calls of an action that fail as a whole (FakeThrottled)
        self.throttled: list[tuple[Action, list[str]]] = []  # the act_many calls that failed so
        self.deny: dict[Action, str] = {}  # act_many calls AWS refuses as a whole for good: action -> error code
        self.meanwhile: Callable[[], None] | None = None  # another writer, while the call is in flight
        self.after_action: dict[Action, str] = {"reboot": "REBOOTING", "rebuild": "REBUILDING", "restore": "RESTORING"}

    def add(self, n: int, *, directory: str = DIRECTORY, state: str = "AVAILABLE") -> str:
        workspace_id = ws(n)
        self.desks[workspace_id] = FakeDesk(workspace_id, directory, state)
        return workspace_id

    def settle(self, state: str = "AVAILABLE") -> None:
        """Every desk in a transient state after an action comes back."""
        for desk in self.desks.values():
            if desk.state in self.after_action.values():
                desk.state = state

    def in_directory(self, directory_id: str) -> Iterable[FakeDesk]:
        return [d for d in self.desks.values() if d.directory_id == directory_id]

    def describe(self, workspace_ids: Sequence[str]) -> Sequence[FakeDesk]:
        return [self.desks[w] for w in workspace_ids if w in self.desks]

    def connection_status(self, workspace_ids: Sequence[str]) -> Mapping[str, FakeConnection]:
        return {
            w: FakeConnection("CONNECTED" if w in self.connected else "DISCONNECTED")
            for w in workspace_ids
            if w in self.desks
        }

    def act_many(self, action: Action, workspace_ids: Sequence[str]) -> dict[str, ActionFailure]:
        if self.throttle.get(action):
            self.throttle[action] -= 1
            self.throttled.append((action, list(workspace_ids)))
            if self.meanwhile is not None:
                self.meanwhile()
            raise FakeThrottled(f"{action}: ThrottlingException: Rate exceeded")
        self.calls.append((action, list(workspace_ids)))
        if action in self.deny:
            raise AwsRefused(f"workspaces:{OPERATIONS[action]}", self.deny[action])
        refused: dict[str, ActionFailure] = {}
        for workspace_id in workspace_ids:
            self.actions.append((action, workspace_id))
            failure = self.refuse.get((action, workspace_id))
            if failure is None and workspace_id not in self.desks:  # as WorkSpaces: an unknown desk is refused
                failure = ActionFailure("ResourceNotFound.Workspace")
            if failure:
                refused[workspace_id] = failure
            else:
                self.desks[workspace_id].state = self.after_action[action]
        if self.meanwhile is not None:
            self.meanwhile()
        if self.crash_after_next_action:
            self.crash_after_next_action = False
            raise TimeoutError("Task timed out")
        return refused

    def api_calls(self, action: Action) -> int:
        """The WorkSpaces calls the adapter would make: RebootWorkspaces takes 25 desks, the others one."""
        per_call = PER_CALL[action]
        return sum(math.ceil(len(ids) / per_call) for done, ids in self.calls if done == action)


class FakeMetrics:
    def __init__(self) -> None:
        self.points: list[tuple[dt.datetime, str, int, int]] = []
        self.calls = 0

    def fail(self, workspace_id: str, failures: int, at: dt.datetime, attempts: int | None = None) -> None:
        self.points.append((at, workspace_id, failures, failures if attempts is None else attempts))

    def connection_counts(
        self, workspace_ids: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> Mapping[str, Counts]:
        self.calls += 1
        wanted = set(workspace_ids)
        totals: dict[str, list[int]] = {w: [0, 0] for w in workspace_ids}
        for at, w, failures, attempts in self.points:
            if w in wanted and start <= at < end:
                totals[w][0] += failures
                totals[w][1] += attempts
        # ConnectionMetrics reads attempts only while they fit in the calls failures need (250 desks).
        with_attempts = len(set(workspace_ids)) <= 250
        return {w: Counts(failures=f, attempts=a if with_attempts else None) for w, (f, a) in totals.items()}


class FakeTags:
    def __init__(self) -> None:
        self.tags: dict[str, dict[str, str]] = {}

    def tags_of(self, workspace_ids: Sequence[str]) -> Mapping[str, Mapping[str, str]]:
        return {w: self.tags[w] for w in workspace_ids if w in self.tags}


class FakeDesks:
    def __init__(self) -> None:
        self.desks: dict[str, Desk] = {}
        self.saves = 0
        self.lose_next_save = 0

    def add(self, employee_id: str, workspace_id: str, **changes: Any) -> Desk:
        fields: dict[str, Any] = {
            "employee_id": employee_id,
            "lifecycle": Lifecycle.READY,
            "site": "amiens-cc",
            "profile": "agent",
            "directory_id": DIRECTORY,
            "bundle_id": "wsb-standard01",
            "username": "agent",
            "running_mode": "AUTO_STOP",
            "workspace_id": workspace_id,
            "created_at": NOW - dt.timedelta(days=30),
            "updated_at": NOW - dt.timedelta(days=30),
            "version": 1,
        }
        desk = Desk.model_validate(fields | changes)
        self.desks[employee_id] = desk
        return desk

    def by_workspace(self, workspace_id: str) -> Desk | None:
        return next((d for d in self.desks.values() if d.workspace_id == workspace_id), None)

    def get(self, employee_id: str) -> Desk | None:
        return self.desks.get(employee_id)

    def save(self, desk: Desk) -> Desk:
        current = self.desks.get(desk.employee_id)
        if current is None:  # DeskStore's condition on `version` fails on a missing item
            raise StaleUpdate(f"desk {desk.employee_id} does not exist")
        if self.lose_next_save:
            self.lose_next_save -= 1
            # A concurrent writer got there first: bump the stored version.
            self.desks[desk.employee_id] = current.model_copy(update={"version": current.version + 1})
            raise StaleUpdate("lost the race")
        if current.version != desk.version:
            raise StaleUpdate("stale")
        self.saves += 1
        stored = desk.model_copy(update={"version": desk.version + 1})
        self.desks[desk.employee_id] = stored
        return stored


class FakeIncidents:
    def __init__(self) -> None:
        self.items: dict[str, Incident] = {}
        self.markers: dict[str, str] = {}
        self.history: dict[str, DeskActions] = {}
        self.writes = 0

    def open(self, incident: Incident) -> tuple[Incident, bool]:
        existing = self.open_for(incident.subject) or self.items.get(incident.incident_id)
        if existing is not None:  # the subject's open incident, or this one stored by an earlier attempt
            return existing, False
        stored = incident.model_copy(update={"version": 1})
        self.items[incident.incident_id] = stored
        self.markers[incident.subject] = incident.incident_id
        self.writes += 1
        return stored, True

    def get(self, incident_id: str) -> Incident | None:
        return self.items.get(incident_id)

    def open_for(self, subject: str) -> Incident | None:
        incident_id = self.markers.get(subject)
        return self.items[incident_id] if incident_id else None

    def open_in_directory(self, directory_id: str) -> list[Incident]:
        return [i for i in self.items.values() if i.is_open and i.directory_id == directory_id]

    def save(self, incident: Incident, actions: DeskActions | None = None) -> Incident:
        current = self.items.get(incident.incident_id)
        if current is None or current.version != incident.version:
            raise StaleUpdate(f"incident {incident.incident_id}: stale version {incident.version}")
        if actions is not None:
            known = self.history.get(actions.workspace_id, DeskActions(workspace_id=actions.workspace_id))
            if known.version != actions.version:
                raise StaleUpdate("actions: stale")
            self.history[actions.workspace_id] = actions.model_copy(update={"version": actions.version + 1})
        stored = incident.model_copy(update={"version": incident.version + 1})
        self.items[incident.incident_id] = stored
        self.writes += 1
        return stored

    def resolve(self, incident: Incident) -> Incident:
        stored = self.save(incident)
        if self.markers.get(incident.subject) == incident.incident_id:
            del self.markers[incident.subject]
        return stored

    def actions(self, workspace_id: str) -> DeskActions:
        return self.history.get(workspace_id, DeskActions(workspace_id=workspace_id))

    # --- test helpers ----------------------------------------------------------------------------------
    def only(self) -> Incident:
        assert len(self.items) == 1, list(self.items)
        return next(iter(self.items.values()))


class FakeTimers:
    def __init__(self) -> None:
        self.pending: dict[str, tuple[TimerFired, str]] = {}
        self.cancelled: list[str] = []

    def set(self, timer: TimerFired, *, target_arn: str) -> bool:
        if timer.name in self.pending:
            return False
        self.pending[timer.name] = (timer, target_arn)
        return True

    def cancel(self, name: str) -> bool:
        self.cancelled.append(name)
        return self.pending.pop(name, None) is not None

    def due(self, now: dt.datetime) -> list[TimerFired]:
        fired = sorted((t for t, _ in self.pending.values() if t.due <= now), key=lambda t: t.due)
        for timer in fired:
            del self.pending[timer.name]
        return fired


class FakeThreads:
    def __init__(self) -> None:
        self.sent: dict[str, set[str]] = {}

    def claim(self, thread_id: str, key: str, at: dt.datetime) -> ThreadState:
        keys = self.sent.setdefault(thread_id, set())
        if key in keys:
            return "duplicate"
        state: ThreadState = "update" if keys else "new"
        keys.add(key)
        return state

    def release(self, thread_id: str, key: str) -> None:
        self.sent.get(thread_id, set()).discard(key)


class FakeNotifier:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.fail_next = 0

    def publish(self, *, subject: str, default: str, email: str, attributes: dict[str, str]) -> str:
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("SNS unavailable")
        self.messages.append({"subject": subject, "default": default, "email": email, "attributes": attributes})
        return f"msg-{len(self.messages)}"


@dataclass
class World:
    """The runbook's ports, all fakes, and a clock the test moves."""

    fleet: FakeFleet = field(default_factory=FakeFleet)
    metrics: FakeMetrics = field(default_factory=FakeMetrics)
    desks: FakeDesks = field(default_factory=FakeDesks)
    tags: FakeTags = field(default_factory=FakeTags)
    incidents: FakeIncidents = field(default_factory=FakeIncidents)
    timers: FakeTimers = field(default_factory=FakeTimers)
    events: FakeBus = field(default_factory=FakeBus)
    now: dt.datetime = NOW
    policy: Policy = field(default_factory=policy)

    @property
    def ports(self) -> Ports:
        return Ports(
            fleet=self.fleet,
            metrics=self.metrics,
            desks=self.desks,
            tags=self.tags,
            incidents=self.incidents,
            timers=self.timers,
            events=self.events,
            transient=(FakeThrottled,),
        )

    @property
    def ctx(self) -> Context:
        return Context(policy=self.policy, now=self.now, recheck_target_arn=TARGET)

    def managed_desk(self, n: int, *, employee: str | None = None, state: str = "AVAILABLE") -> str:
        workspace_id = self.fleet.add(n, state=state)
        self.tags.tags[workspace_id] = dict(MANAGED)
        self.desks.add(employee or f"e-{n:04d}", workspace_id)
        return workspace_id

    def advance(self, minutes: int) -> None:
        self.now += dt.timedelta(minutes=minutes)
