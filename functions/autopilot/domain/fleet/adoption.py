"""Adoption of desks the automation did not create, so installing Autopilot on a running fleet is one step.

fleet_watch hands over every desk it sees for the first time (or that it found unmanaged more than a day ago)
and that has no desk record by workspace id. For each one:

1. The employee: the `AutopilotEmployeeId` tag, else the one hire (a SCHEDULED or PROVISIONING desk record with
   no WorkSpace yet: a roster row or an `Employee Hired`) for the desk's directory and user name (case-
   insensitive; the user name is read from the desk record, the one place it is kept: docs/security.md), else a
   synthetic id: the workspace id itself (`ws-…`, so it cannot clash with an HR id and says where it came from).
2. If that employee already has a desk record, no second record is made: a record without a workspace (say
   SCHEDULED, a hire not provisioned yet) or with this workspace is *linked* (the observation remembers the
   owner; provisioning completes the hire's record, taking the desk over as it is); a record holding another
   workspace makes this desk a *duplicate*, reported and left alone.
3. Otherwise the desk is adopted when it carries the policy's ManagedBy tag: a Desk record, origin `adopted`,
   lifecycle READY, the profile from the `AutopilotProfile` tag (when the policy knows it) or from the policy's
   rules, and the running mode, compute and AutoStop timeout the desk has now (adoption changes nothing on the
   desk, and tells the user nothing). When HR names the user later, the hire's record replaces this one
   (provisioning.py, `_take_over_existing`): one record per WorkSpace whatever comes first.
4. Anything else is reported as unmanaged (ids only) and looked at again a day later.

Desks still PENDING are not decided yet: provisioning may be about to record them. Adoption writes records
only, so it is done in dry run too.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.domain.kernel.policy import Policy
from autopilot.domain.kernel.workspace import EMPLOYEE_TAG, PROFILE_TAG

RECHECK_UNMANAGED = dt.timedelta(days=1)
NOT_YET = frozenset({"PENDING", "TERMINATING", "TERMINATED"})
_EMPLOYEE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class SeenDesk(Protocol):
    """A desk as DescribeWorkspaces shows it (the WorkSpaces adapter's WorkspaceInfo fits)."""

    @property
    def workspace_id(self) -> str: ...
    @property
    def directory_id(self) -> str: ...
    @property
    def username(self) -> str: ...
    @property
    def bundle_id(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def running_mode(self) -> str: ...
    @property
    def autostop_minutes(self) -> int | None: ...
    @property
    def compute(self) -> str | None: ...


UserKey = tuple[str, str]  # (directory id, user name in lower case): how WorkSpaces names a desk's user


def user_key(directory_id: str, username: str) -> UserKey:
    return directory_id, username.lower()


def awaiting_by_user(records: Sequence[Desk]) -> dict[UserKey, list[Desk]]:
    """Desk records HR asked for that hold no WorkSpace yet (a hire not provisioned), by their user."""
    index: dict[UserKey, list[Desk]] = {}
    for desk in records:
        if desk.workspace_id is None and desk.lifecycle in (Lifecycle.SCHEDULED, Lifecycle.PROVISIONING):
            index.setdefault(user_key(desk.directory_id, desk.username), []).append(desk)
    return index


Outcome = Literal["adopt", "link", "duplicate", "unmanaged", "deferred"]


@dataclass(frozen=True)
class Decision:
    workspace_id: str
    outcome: Outcome
    employee_id: str | None = None
    reason: str = ""
    desk: Desk | None = None  # the record to create, for "adopt"


@dataclass
class AdoptionPlan:
    decisions: list[Decision] = field(default_factory=list)

    def of(self, outcome: Outcome) -> list[Decision]:
        return [d for d in self.decisions if d.outcome == outcome]


def synthetic_employee_id(workspace_id: str) -> str:
    return workspace_id[:64]


def claimed_employee(
    seen: SeenDesk, tags: Mapping[str, str], awaiting: Mapping[UserKey, list[Desk]]
) -> tuple[str | None, str]:
    """The employee a desk belongs to (the tag first, then a hire awaiting a desk for this user), and a note when
    unsure."""
    tagged = tags.get(EMPLOYEE_TAG, "").strip()
    note = ""
    if tagged:
        if _EMPLOYEE_ID.match(tagged):
            return tagged, ""
        note = f"tag {EMPLOYEE_TAG} is not a valid employee id"
    matches = awaiting.get(user_key(seen.directory_id, seen.username), []) if seen.username else []
    if len(matches) > 1:
        return None, f"{len(matches)} hires await a desk for this user"
    if matches:
        return matches[0].employee_id, note
    return None, note


def wanted_employee_ids(
    desks: Sequence[SeenDesk], tags: Mapping[str, Mapping[str, str]], awaiting: Mapping[UserKey, list[Desk]]
) -> set[str]:
    """Employee ids whose desk records the decision needs (fetch them, then call `plan`)."""
    wanted = set()
    for seen in desks:
        employee_id, _ = claimed_employee(seen, tags.get(seen.workspace_id, {}), awaiting)
        wanted.add(employee_id or synthetic_employee_id(seen.workspace_id))
    return wanted


def _site_for(policy: Policy, sites_by_directory: Mapping[str, list[str]], seen: SeenDesk) -> str:
    candidates = sites_by_directory.get(seen.directory_id, [])
    return sorted(candidates)[0] if candidates else sorted(policy.sites)[0]


def _profile_for(policy: Policy, tags: Mapping[str, str], site: str) -> str:
    tagged = tags.get(PROFILE_TAG, "").strip()
    if tagged in policy.profiles:
        return tagged
    name, _ = policy.profile_for(department="", role="", site=site)
    return name


def decide(
    seen: SeenDesk,
    *,
    tags: Mapping[str, str],
    awaiting: Mapping[UserKey, list[Desk]],
    records: Mapping[str, Desk],
    policy: Policy,
    sites_by_directory: Mapping[str, list[str]],
    last_login: dt.datetime | None,
    now: dt.datetime,
) -> Decision:
    """What to do with one desk that has no record by workspace id (see the module note)."""
    if seen.state in NOT_YET:
        return Decision(seen.workspace_id, "deferred", reason=f"desk is {seen.state}")
    employee_id, note = claimed_employee(seen, tags, awaiting)
    claimed = employee_id or synthetic_employee_id(seen.workspace_id)
    existing = records.get(claimed)
    if existing is not None:
        if existing.workspace_id in (None, seen.workspace_id):
            return Decision(seen.workspace_id, "link", claimed, reason=f"desk record exists ({existing.lifecycle})")
        return Decision(seen.workspace_id, "duplicate", claimed, reason="the employee's record holds another desk")
    key, value = policy.managed_tag
    managed = tags.get(key) == value
    if not managed:
        return Decision(seen.workspace_id, "unmanaged", reason=note or "not tagged managed and no hire awaits it")
    site = _site_for(policy, sites_by_directory, seen)
    profile = _profile_for(policy, tags, site)
    minutes = seen.autostop_minutes if seen.running_mode == "AUTO_STOP" else None
    desk = Desk(
        employee_id=claimed,
        lifecycle=Lifecycle.READY,
        site=site,
        profile=profile,
        directory_id=seen.directory_id,
        bundle_id=seen.bundle_id,
        username=seen.username,
        running_mode=seen.running_mode,
        compute=seen.compute,
        autostop_hours=max(1, minutes // 60) if minutes else None,
        workspace_id=seen.workspace_id,
        origin="adopted",
        created_at=now,
        updated_at=now,
        ready_at=now,
        last_login=last_login,
    )
    return Decision(seen.workspace_id, "adopt", claimed, reason="tagged managed", desk=desk)


def plan(
    desks: Sequence[SeenDesk],
    *,
    tags: Mapping[str, Mapping[str, str]],
    awaiting: Mapping[UserKey, list[Desk]],
    records: Mapping[str, Desk],
    policy: Policy,
    sites_by_directory: Mapping[str, list[str]],
    last_logins: Mapping[str, dt.datetime | None],
    now: dt.datetime,
) -> AdoptionPlan:
    """Decisions for every desk; two desks claiming one employee: the first (by workspace id) wins."""
    result = AdoptionPlan()
    claimed: set[str] = set()
    for seen in sorted(desks, key=lambda d: d.workspace_id):
        decision = decide(
            seen,
            tags=tags.get(seen.workspace_id, {}),
            awaiting=awaiting,
            records=records,
            policy=policy,
            sites_by_directory=sites_by_directory,
            last_login=last_logins.get(seen.workspace_id),
            now=now,
        )
        if decision.outcome == "adopt" and decision.employee_id in claimed:
            decision = Decision(
                seen.workspace_id, "duplicate", decision.employee_id, "another desk claims the employee"
            )
        if decision.outcome == "adopt" and decision.employee_id:
            claimed.add(decision.employee_id)
        result.decisions.append(decision)
    return result
