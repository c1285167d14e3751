"""The ports of the incident capability (remediation runbook, sessions): what each adapter is for, named by its
use. Adapters satisfy them structurally (adapters.runbook_fleet, adapters.incident_store, ...); unit tests give
in-memory fakes (tests/unit/fakes_remediation.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from autopilot.contracts.outputs import DomainEvent
from autopilot.contracts.timers import TimerFired
from autopilot.domain.incidents.incidents import DeskActions, Incident
from autopilot.domain.incidents.triage import Counts
from autopilot.domain.kernel.desks import Desk
from autopilot.domain.kernel.policy import Policy, Remediation

Action = Literal["reboot", "rebuild", "restore"]


@dataclass(frozen=True)
class ActionFailure:
    """WorkSpaces refused an action for this desk (FailedRequests, or a refusal of a single-desk call)."""

    code: str  # AWS's error code only: its message can name the user and is never carried
    remedy: str = ""  # what on-call must fix, when AWS refused the whole call for good (AwsRefused.remedy)


# --- ports -----------------------------------------------------------------------------------------------
class DeskState(Protocol):
    """A desk as DescribeWorkspaces shows it (the WorkSpaces adapter's WorkspaceInfo fits)."""

    @property
    def workspace_id(self) -> str: ...
    @property
    def directory_id(self) -> str: ...
    @property
    def state(self) -> str: ...


class ConnectionState(Protocol):
    @property
    def state(self) -> str: ...


class RemediationFleet(Protocol):
    def in_directory(self, directory_id: str) -> Iterable[DeskState]: ...
    def describe(self, workspace_ids: Sequence[str]) -> Sequence[DeskState]: ...
    def connection_status(self, workspace_ids: Sequence[str]) -> Mapping[str, ConnectionState]: ...
    def act_many(self, action: Action, workspace_ids: Sequence[str]) -> Mapping[str, ActionFailure]:
        """Take `action` on every desk, in as few WorkSpaces calls as the API allows; the desks it refused."""
        ...


class Metrics(Protocol):
    def connection_counts(
        self, workspace_ids: Sequence[str], start: dt.datetime, end: dt.datetime
    ) -> Mapping[str, Counts]: ...


class IncidentDesks(Protocol):
    def by_workspace(self, workspace_id: str) -> Desk | None: ...


class Tags(Protocol):
    def tags_of(self, workspace_ids: Sequence[str]) -> Mapping[str, Mapping[str, str]]: ...


class IncidentStore(Protocol):
    def open(self, incident: Incident) -> tuple[Incident, bool]: ...
    def get(self, incident_id: str) -> Incident | None: ...
    def open_for(self, subject: str) -> Incident | None: ...
    def open_in_directory(self, directory_id: str) -> list[Incident]: ...
    def save(self, incident: Incident, actions: DeskActions | None = None) -> Incident: ...
    def resolve(self, incident: Incident) -> Incident: ...
    def actions(self, workspace_id: str) -> DeskActions: ...


class TimerPort(Protocol):
    def set(self, timer: TimerFired, *, target_arn: str) -> bool: ...
    def cancel(self, name: str) -> bool: ...


class Events(Protocol):
    def publish(self, events: Sequence[DomainEvent]) -> None: ...


@dataclass
class Ports:
    fleet: RemediationFleet
    metrics: Metrics
    desks: IncidentDesks
    tags: Tags
    incidents: IncidentStore
    timers: TimerPort
    events: Events
    # Errors of an act_many call that failed as a whole and may work on a retry (throttling, 5xx).
    transient: tuple[type[Exception], ...] = ()


@dataclass(frozen=True)
class Context:
    policy: Policy
    now: dt.datetime
    recheck_target_arn: str  # the remediate function itself (re-check timers invoke it)

    @property
    def rules(self) -> Remediation:
        return self.policy.remediation


class LoginDesks(Protocol):
    def by_workspace(self, workspace_id: str) -> Desk | None: ...
    def get(self, employee_id: str) -> Desk | None: ...
    def save(self, desk: Desk) -> Desk: ...
