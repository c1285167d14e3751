"""The fleet sweep: what changed since the last look, told once.

Every 5 minutes fleet_watch lists the desks of every directory of the policy (DescribeWorkspaces, pages of
25), asks the connection state of every desk (25 ids a call), reads the last observation of each desk
(BatchGetItem, 100 keys a call) and compares. Only desks that changed are published (`WorkSpace State Changed`)
and written back. For N desks a sweep costs ceil(N/25) describe calls, ceil(N/25) status calls, ceil(N/100)
batch reads, and one write per changed desk. (The describe floor holds when every directory registered in the
account belongs to the policy: the account is then listed in one go. Otherwise each policy directory is listed
on its own, which costs at most one page more per directory; see `list_whole_account`.)

What counts as a change:
- published and written: the state or the running mode changed, or the desk is seen for the first time;
- written only: the connection state, the AutoStop timeout or the compute changed, the last user connection
  moved forward by `LAST_LOGIN_GRANULARITY` or more (it ticks every sweep while a user is connected), or the
  sweep's own bookkeeping changed (owner, adoption, AutoStop tag memory, ring link).

Desks that disappeared. DescribeWorkspaces forgets a terminated desk, so a desk deleted outside the automation
simply stops being listed. To notice it without reading every observation, the observations form a ring: each
one keeps `next_id`, the id that followed it (sorted order, all swept directories together) at the last sweep.
A `next_id` that is not in this sweep points at a desk that vanished; its observation is read (and its own
`next_id` followed, for runs of vanished desks), reported, published with to_state `TERMINATED`, and marked
`gone`. The predecessors' links are rewritten, so each vanished desk is reported once. Reading vanished desks
costs one batch read per run length, only when something vanished; a desk of a directory the policy dropped is
not reported, just unlinked. A sweep that finds no desk at all reports nothing missing.

PROVISIONING -> AVAILABLE is published like any change: the provisioning function marks desks READY itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from autopilot.contracts.outputs import DomainEvent, WorkSpaceStateChanged
from autopilot.domain.fleet import adoption, autostop
from autopilot.domain.fleet.adoption import SeenDesk
from autopilot.domain.fleet.ports import (
    AutoStopTags,
    DeskLookup,
    DirectoryAlarms,
    Observation,
    Observations,
    SweepEvents,
    SweptConnection,
    SweptFleet,
)
from autopilot.domain.incidents.alarms import desired_alarms, reconcile
from autopilot.domain.kernel.desks import Lifecycle
from autopilot.domain.kernel.errors import StaleUpdate
from autopilot.domain.kernel.policy import Policy

LAST_LOGIN_GRANULARITY = dt.timedelta(hours=1)
MAX_MISSING_ROUNDS = 50  # batch reads spent following runs of vanished desks in one sweep
CONNECTION_STATES = frozenset({"CONNECTED", "DISCONNECTED", "UNKNOWN"})
GONE = "TERMINATED"


@dataclass(frozen=True)
class SweepPorts:
    fleet: SweptFleet
    observations: Observations
    desks: DeskLookup
    tags: AutoStopTags
    alarms: DirectoryAlarms
    bus: SweepEvents
    # The exception a desk-level refusal raises (ModifyWorkspaceProperties on a busy desk): reported, not fatal.
    refused: type[Exception]


@dataclass
class SweepReport:
    desks: int = 0
    by_state: dict[str, int] = field(default_factory=dict)  # WorkSpaces state -> desks (the dashboard's gauge)
    new: int = 0
    changed: list[str] = field(default_factory=list)
    written: int = 0
    stale: int = 0
    missing: list[str] = field(default_factory=list)
    missing_outside_automation: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    linked: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unmanaged: list[str] = field(default_factory=list)
    deferred: int = 0
    autostop_applied: list[str] = field(default_factory=list)
    autostop_failed: list[str] = field(default_factory=list)
    autostop_deferred: int = 0
    invalid_autostop_tags: list[str] = field(default_factory=list)
    alarms_put: list[str] = field(default_factory=list)
    alarms_deleted: list[str] = field(default_factory=list)
    dry_run: bool = False


# --- pure parts --------------------------------------------------------------------------------------------


def _later(first: dt.datetime | None, second: dt.datetime | None) -> dt.datetime | None:
    if first is None:
        return second
    if second is None:
        return first
    return max(first, second)


def observe(
    seen: SeenDesk, connection: SweptConnection | None, previous: Observation | None, now: dt.datetime
) -> Observation:
    """This sweep's observation of a desk, carrying over what the sweep remembers about it."""
    state = connection.state if connection is not None and connection.state in CONNECTION_STATES else None
    reported = connection.last_user_connection if connection is not None else None
    carried = previous if previous is not None and not previous.gone else None
    return Observation(
        workspace_id=seen.workspace_id,
        directory_id=seen.directory_id,
        state=seen.state,
        running_mode=seen.running_mode,
        observed_at=now,
        autostop_minutes=seen.autostop_minutes,
        compute=seen.compute,
        connection_state=state,
        last_user_connection=_later(
            previous.last_user_connection if previous else None,
            reported.astimezone(dt.UTC) if reported is not None else None,
        ),
        employee_id=carried.employee_id if carried else None,
        adoption=carried.adoption if carried else None,
        adoption_checked_at=carried.adoption_checked_at if carried else None,
        autostop_tag_hours=carried.autostop_tag_hours if carried else None,
    )


def state_changed(previous: Observation | None, current: Observation) -> bool:
    """Worth a `WorkSpace State Changed`: first sight, or another state or running mode."""
    return (
        previous is None
        or previous.gone
        or previous.state != current.state
        or previous.running_mode != current.running_mode
    )


def needs_write(previous: Observation | None, current: Observation) -> bool:
    if previous is None or previous.watched() != current.watched():
        return True
    if current.last_user_connection is None:
        return False
    if previous.last_user_connection is None:
        return True
    return current.last_user_connection - previous.last_user_connection >= LAST_LOGIN_GRANULARITY


def ring(workspace_ids: Sequence[str]) -> dict[str, str]:
    """Each id's successor in sorted order, the last one pointing back at the first."""
    ordered = sorted(workspace_ids)
    return {ws: ordered[(index + 1) % len(ordered)] for index, ws in enumerate(ordered)}


def needs_adoption_check(previous: Observation | None, now: dt.datetime) -> bool:
    if previous is None or previous.gone or previous.adoption is None:
        return True
    if previous.adoption == "managed":
        return False
    if previous.adoption == "dry_run":
        return True  # reported by an older release's dry run, never recorded: adopt it now
    checked = previous.adoption_checked_at
    return checked is None or now - checked >= adoption.RECHECK_UNMANAGED


def state_event(
    observation: Observation, from_state: str | None, to_state: str, now: dt.datetime
) -> WorkSpaceStateChanged:
    connection = observation.connection_state if to_state != GONE else None
    return WorkSpaceStateChanged(
        workspace_id=observation.workspace_id,
        directory_id=observation.directory_id,
        employee_id=observation.employee_id,
        from_state=from_state,
        to_state=to_state,
        running_mode=observation.running_mode,
        connection_state=connection,
        last_known_user_connection=observation.last_user_connection,
        observed_at=now,
    )


# --- the sweep ------------------------------------------------------------------------------------------------


def list_whole_account(policy_directories: Iterable[str], registered_directories: Iterable[str]) -> bool:
    """List the account in one paginated DescribeWorkspaces (ceil(N/25) calls for N desks) when every registered
    directory belongs to the policy; else list directory by directory (one page more per directory, at worst),
    so desks of directories the policy does not govern are never paid for."""
    return set(registered_directories) <= set(policy_directories)


def sweep(
    policy: Policy,
    *,
    directory_ids: Sequence[str],
    sites_by_directory: Mapping[str, list[str]],
    alarm_prefix: str,
    ports: SweepPorts,
    now: dt.datetime,
    whole_account: bool = False,
) -> SweepReport:
    report = SweepReport(dry_run=policy.dry_run)
    seen: dict[str, SeenDesk] = {}
    wanted = set(directory_ids)
    listings = [ports.fleet.in_account()] if whole_account else [ports.fleet.in_directory(d) for d in directory_ids]
    for listing in listings:
        for desk in listing:
            if desk.directory_id in wanted:
                seen[desk.workspace_id] = desk
    ids = sorted(seen)
    report.desks = len(ids)
    for workspace_id in ids:
        report.by_state[seen[workspace_id].state] = report.by_state.get(seen[workspace_id].state, 0) + 1
    statuses = ports.fleet.connection_status(ids) if ids else {}
    previous = ports.observations.get_many(ids) if ids else {}
    links = ring(ids) if ids else {}
    current = {ws: replace(observe(seen[ws], statuses.get(ws), previous.get(ws), now), next_id=links[ws]) for ws in ids}
    report.new = sum(1 for ws in ids if ws not in previous or previous[ws].gone)

    missing = _vanished(previous, seen, set(directory_ids), ports.observations)
    _adopt(policy, seen, previous, current, sites_by_directory, ports, now, report)
    _apply_autostop(policy, seen, previous, current, ports, report)

    events: list[DomainEvent] = []
    for ws in ids:
        before = previous.get(ws)
        if state_changed(before, current[ws]):
            report.changed.append(ws)
            from_state = None if before is None or before.gone else before.state
            events.append(state_event(current[ws], from_state, current[ws].state, now))
    gone = _report_missing(missing, ports.desks, report)
    events += [state_event(obs, obs.state, GONE, now) for obs in gone]
    # Publish before writing: a crash in between repeats an event (consumers converge) instead of losing it.
    ports.bus.publish(events)

    writes = [obs for ws, obs in current.items() if needs_write(previous.get(ws), obs)]
    writes += [
        replace(obs, state=GONE, observed_at=now, next_id=None, gone=True, connection_state=None) for obs in gone
    ]
    for observation in writes:
        if ports.observations.put(observation):
            report.written += 1
        else:
            report.stale += 1

    _reconcile_alarms(alarm_prefix, directory_ids, ports.alarms, report)
    return report


def _vanished(
    previous: Mapping[str, Observation],
    seen: Mapping[str, SeenDesk],
    directories: set[str],
    observations: Observations,
) -> dict[str, Observation]:
    """Observations of desks the ring says existed at the last sweep and that this sweep did not list."""
    found: dict[str, Observation] = {}
    frontier = {p.next_id for p in previous.values() if p.next_id and p.next_id not in seen and not p.gone}
    for _ in range(MAX_MISSING_ROUNDS):
        frontier -= found.keys()
        if not frontier:
            break
        fetched = observations.get_many(sorted(frontier))
        frontier = set()
        for ws, obs in fetched.items():
            if obs.gone:
                continue
            found[ws] = obs
            if obs.next_id and obs.next_id not in seen:
                frontier.add(obs.next_id)
    # A desk of a directory the policy no longer has is not missing: it is simply not watched any more.
    return {ws: obs for ws, obs in found.items() if obs.directory_id in directories}


def _report_missing(missing: Mapping[str, Observation], desks: DeskLookup, report: SweepReport) -> list[Observation]:
    if not missing:
        return []
    owners = {obs.employee_id for obs in missing.values() if obs.employee_id}
    records = desks.by_employee_ids(owners) if owners else {}
    for ws, obs in sorted(missing.items()):
        report.missing.append(ws)
        record = records.get(obs.employee_id) if obs.employee_id else None
        if record is None or record.lifecycle != Lifecycle.TERMINATED:
            report.missing_outside_automation.append(ws)
    return [missing[ws] for ws in sorted(missing)]


def _adopt(
    policy: Policy,
    seen: Mapping[str, SeenDesk],
    previous: Mapping[str, Observation],
    current: dict[str, Observation],
    sites_by_directory: Mapping[str, list[str]],
    ports: SweepPorts,
    now: dt.datetime,
    report: SweepReport,
) -> None:
    candidates = [
        ws
        for ws in sorted(seen)
        if seen[ws].state not in ("TERMINATING", "TERMINATED") and needs_adoption_check(previous.get(ws), now)
    ]
    if not candidates:
        return
    recorded = ports.desks.by_workspace_ids(candidates)
    for ws, desk in recorded.items():
        current[ws] = replace(current[ws], employee_id=desk.employee_id, adoption="managed", adoption_checked_at=None)
    rest = [ws for ws in candidates if ws not in recorded and seen[ws].state not in adoption.NOT_YET]
    report.deferred = sum(1 for ws in candidates if ws not in recorded and seen[ws].state in adoption.NOT_YET)
    if not rest:
        return
    tags = ports.tags.tags_of(rest)
    awaiting = adoption.awaiting_by_user(ports.desks.awaiting())
    desks = [seen[ws] for ws in rest]
    records = ports.desks.by_employee_ids(adoption.wanted_employee_ids(desks, tags, awaiting))
    decisions = adoption.plan(
        desks,
        tags=tags,
        awaiting=awaiting,
        records=records,
        policy=policy,
        sites_by_directory=sites_by_directory,
        last_logins={ws: current[ws].last_user_connection for ws in rest},
        now=now,
    )
    for decision in decisions.decisions:
        ws = decision.workspace_id
        if decision.outcome == "adopt" and decision.desk is not None:
            # Also in dry run: a record changes no desk, and the dry run's reports are then about the real fleet.
            try:
                ports.desks.create(decision.desk)
            except StaleUpdate:
                # Recorded meanwhile (provisioning, or a concurrent sweep): the record stands; link to it.
                report.linked.append(ws)
            else:
                report.adopted.append(ws)
            current[ws] = replace(
                current[ws], employee_id=decision.employee_id, adoption="managed", adoption_checked_at=None
            )
        elif decision.outcome == "link":
            report.linked.append(ws)
            current[ws] = replace(
                current[ws], employee_id=decision.employee_id, adoption="managed", adoption_checked_at=None
            )
        elif decision.outcome == "deferred":
            report.deferred += 1
        else:
            (report.duplicates if decision.outcome == "duplicate" else report.unmanaged).append(ws)
            current[ws] = replace(current[ws], adoption="unmanaged", adoption_checked_at=now)


def _apply_autostop(
    policy: Policy,
    seen: Mapping[str, SeenDesk],
    previous: Mapping[str, Observation],
    current: dict[str, Observation],
    ports: SweepPorts,
    report: SweepReport,
) -> None:
    managed = {ws for ws, obs in current.items() if obs.adoption == "managed" and obs.employee_id}
    if not managed:
        return
    tagged = ports.tags.tagged_with(autostop.TAG)
    in_scope = sorted(ws for ws in managed if ws in tagged or current[ws].autostop_tag_hours is not None)
    if not in_scope:
        return
    removed = [ws for ws in in_scope if ws not in tagged]
    owners = {current[ws].employee_id for ws in removed}
    records = ports.desks.by_employee_ids({o for o in owners if o}) if removed else {}
    views: list[autostop.AutoStopView] = []
    for ws in in_scope:
        tag_value = tagged.get(ws, {}).get(autostop.TAG)
        if tag_value is not None and autostop.parse_hours(tag_value) is None:
            report.invalid_autostop_tags.append(ws)
        owner = current[ws].employee_id
        record = records.get(owner) if owner else None
        views.append(
            autostop.AutoStopView(
                workspace_id=ws,
                state=seen[ws].state,
                running_mode=seen[ws].running_mode,
                autostop_minutes=seen[ws].autostop_minutes,
                tag_value=tag_value,
                previous_tag_hours=current[ws].autostop_tag_hours,
                recorded_hours=record.autostop_hours if record else None,
            )
        )
    changes, deferred = autostop.plan(views)
    report.autostop_deferred = deferred
    applied: set[str] = set()
    for change in changes:
        if policy.dry_run:
            report.autostop_applied.append(change.workspace_id)
            continue
        try:
            ports.fleet.modify(change.workspace_id, autostop_minutes=change.to_minutes)
        except ports.refused:
            report.autostop_failed.append(change.workspace_id)
        else:
            applied.add(change.workspace_id)
            report.autostop_applied.append(change.workspace_id)
    for view in views:
        ws = view.workspace_id
        tag_hours = autostop.parse_hours(view.tag_value)
        if tag_hours is not None:
            memory: int | None = tag_hours
        elif view.tag_value is not None:
            memory = view.previous_tag_hours  # an unreadable tag changes nothing
        else:
            # The tag is gone: remember it until the recorded (profile) hours are back on the desk.
            target = view.recorded_hours
            differs = target is not None and view.running_mode == "AUTO_STOP" and view.autostop_minutes != target * 60
            memory = view.previous_tag_hours if differs and ws not in applied else None
        current[ws] = replace(current[ws], autostop_tag_hours=memory)


def _reconcile_alarms(prefix: str, directory_ids: Sequence[str], alarms: DirectoryAlarms, report: SweepReport) -> None:
    plan = reconcile(desired_alarms(prefix, directory_ids), alarms.existing(prefix))
    for spec in plan.put:
        alarms.put(spec)
        report.alarms_put.append(spec.name)
    if plan.delete:
        alarms.delete(plan.delete)
        report.alarms_deleted.extend(plan.delete)
