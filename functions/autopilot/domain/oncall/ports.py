"""The ports of on-call: the incident store read for context, the alert threads (one claim per alert, so a
redelivered event never pages twice), the notifier (SNS) and the directory's user names."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, Protocol

from autopilot.domain.incidents.incidents import Incident

ThreadState = Literal["new", "update", "duplicate"]


# --- ports -----------------------------------------------------------------------------------------------
class IncidentReader(Protocol):
    def get(self, incident_id: str) -> Incident | None: ...


class Threads(Protocol):
    def claim(self, thread_id: str, key: str, at: dt.datetime) -> ThreadState: ...
    def release(self, thread_id: str, key: str) -> None: ...


class Notifier(Protocol):
    def publish(self, *, subject: str, default: str, email: str, attributes: dict[str, str]) -> str: ...


class UserNames(Protocol):
    def user_name(self, *, workspace_id: str | None, employee_id: str | None) -> str | None: ...


@dataclass
class NotifyPorts:
    incidents: IncidentReader
    threads: Threads
    notifier: Notifier
    # The directory user name of a desk (its desk record); read only when the policy allows names in alerts.
    users: UserNames | None = None
