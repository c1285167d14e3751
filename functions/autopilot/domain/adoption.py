"""Adoption of desks the automation did not create, so installing Autopilot on a running fleet is one step.

fleet_watch hands over every desk it sees for the first time (or that it found unmanaged more than a day ago)
and that has no desk record by workspace id. For each one:

1. The employee: the `AutopilotEmployeeId` tag, else the one roster employee with the desk's user name
   (case-insensitive), else a synthetic id: the workspace id itself (`ws-…`, so it cannot clash with an HR id
   and says where it came from).
2. If that employee already has a desk record, no second record is made: a record without a workspace (say
   SCHEDULED, after a crash mid-provisioning) or with this workspace is *linked* (the observation remembers the
   owner; provisioning completes its own record); a record holding another workspace makes this desk a
   *duplicate*, reported and left alone.
3. Otherwise the desk is adopted when it carries the policy's ManagedBy tag or matches a roster employee: a
   Desk record, origin `adopted`, lifecycle READY, the profile from the `AutopilotProfile` tag (when the policy
   knows it) or from the policy's rules (with the roster's department, role and site when known), and the
   running mode, compute and AutoStop timeout the desk has now (adoption changes nothing on the desk).
4. Anything else is reported as unmanaged (ids only) and looked at again a day later.

Desks still PENDING are not decided yet: provisioning may be about to record them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from autopilot.contracts.hr import Shift
from autopilot.domain.desks import Desk, Lifecycle
from autopilot.domain.policy import Policy

EMPLOYEE_TAG = "AutopilotEmployeeId"
PROFILE_TAG = "AutopilotProfile"
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


@dataclass(frozen=True)
class RosterEntry:
    """An employee of the roster (items `pk=ROSTER, sk=EMP#<employee_id>`, written by the feed ingest)."""

    employee_id: str
    username: str
    department: str = ""
    role: str = ""
    site: str = ""
    shift: Shift | None = None

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> RosterEntry | None:
        """Reads what it needs and tolerates the rest; None for an item without employee id or user name."""
        employee_id = str(item.get("employee_id") or str(item.get("sk", "")).removeprefix("EMP#"))
        username = str(item.get("username", ""))
        if not employee_id or not username:
            return None
        parsed_shift: Shift | None = None
        shift = item.get("shift")  # a map, or the JSON text of one (as the roster store writes it)
        try:
            if isinstance(shift, str):
                parsed_shift = Shift.model_validate_json(shift)
            elif isinstance(shift, Mapping):
                parsed_shift = Shift.model_validate(dict(shift))
        except ValueError:
            parsed_shift = None  # an unreadable shift only means: no pre-warm for this desk
        return cls(
            employee_id=employee_id,
            username=username,
            department=str(item.get("department", "")),
            role=str(item.get("role", "")),
            site=str(item.get("site", "")),
            shift=parsed_shift,
        )


def roster_by_username(entries: Sequence[RosterEntry]) -> dict[str, list[RosterEntry]]:
    index: dict[str, list[RosterEntry]] = {}
    for entry in entries:
        index.setdefault(entry.username.lower(), []).append(entry)
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
    seen: SeenDesk, tags: Mapping[str, str], roster: Mapping[str, list[RosterEntry]]
) -> tuple[str | None, RosterEntry | None, str]:
    """The employee a desk belongs to (tag first, then roster), the roster entry, and a note when unsure."""
    matches = roster.get(seen.username.lower(), []) if seen.username else []
    entry = matches[0] if len(matches) == 1 else None
    tagged = tags.get(EMPLOYEE_TAG, "").strip()
    if tagged:
        if _EMPLOYEE_ID.match(tagged):
            by_id = next((m for m in matches if m.employee_id == tagged), None)
            return tagged, by_id, ""
        note = f"tag {EMPLOYEE_TAG} is not a valid employee id"
    else:
        note = ""
    if len(matches) > 1:
        return None, None, f"{len(matches)} roster employees share this user name"
    if entry is not None:
        return entry.employee_id, entry, note
    return None, None, note


def wanted_employee_ids(
    desks: Sequence[SeenDesk], tags: Mapping[str, Mapping[str, str]], roster: Mapping[str, list[RosterEntry]]
) -> set[str]:
    """Employee ids whose desk records the decision needs (fetch them, then call `plan`)."""
    wanted = set()
    for seen in desks:
        employee_id, _, _ = claimed_employee(seen, tags.get(seen.workspace_id, {}), roster)
        wanted.add(employee_id or synthetic_employee_id(seen.workspace_id))
    return wanted


def _site_for(
    policy: Policy, sites_by_directory: Mapping[str, list[str]], seen: SeenDesk, entry: RosterEntry | None
) -> str:
    candidates = sites_by_directory.get(seen.directory_id, [])
    if entry is not None and entry.site in candidates:
        return entry.site
    return sorted(candidates)[0] if candidates else sorted(policy.sites)[0]


def _profile_for(policy: Policy, tags: Mapping[str, str], entry: RosterEntry | None, site: str) -> str:
    tagged = tags.get(PROFILE_TAG, "").strip()
    if tagged in policy.profiles:
        return tagged
    name, _ = policy.profile_for(
        department=entry.department if entry else "", role=entry.role if entry else "", site=site
    )
    return name


def decide(
    seen: SeenDesk,
    *,
    tags: Mapping[str, str],
    roster: Mapping[str, list[RosterEntry]],
    records: Mapping[str, Desk],
    policy: Policy,
    sites_by_directory: Mapping[str, list[str]],
    last_login: dt.datetime | None,
    now: dt.datetime,
) -> Decision:
    """What to do with one desk that has no record by workspace id (see the module note)."""
    if seen.state in NOT_YET:
        return Decision(seen.workspace_id, "deferred", reason=f"desk is {seen.state}")
    employee_id, entry, note = claimed_employee(seen, tags, roster)
    claimed = employee_id or synthetic_employee_id(seen.workspace_id)
    existing = records.get(claimed)
    if existing is not None:
        if existing.workspace_id in (None, seen.workspace_id):
            return Decision(seen.workspace_id, "link", claimed, reason=f"desk record exists ({existing.lifecycle})")
        return Decision(seen.workspace_id, "duplicate", claimed, reason="the employee's record holds another desk")
    key, value = policy.managed_tag
    managed = tags.get(key) == value
    if not managed and entry is None:
        return Decision(seen.workspace_id, "unmanaged", reason=note or "not tagged managed and no roster match")
    site = _site_for(policy, sites_by_directory, seen, entry)
    profile = _profile_for(policy, tags, entry, site)
    shift = entry.shift if entry else None
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
        shift=shift,
        prewarm=bool(shift is not None and policy.profiles[profile].prewarm),
        origin="adopted",
        created_at=now,
        updated_at=now,
        ready_at=now,
        last_login=last_login,
    )
    return Decision(seen.workspace_id, "adopt", claimed, reason="tagged managed" if managed else "roster", desk=desk)


def plan(
    desks: Sequence[SeenDesk],
    *,
    tags: Mapping[str, Mapping[str, str]],
    roster: Mapping[str, list[RosterEntry]],
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
            roster=roster,
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
