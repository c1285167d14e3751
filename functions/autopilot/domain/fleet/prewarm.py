"""Pre-warmed shifts, and desks that fail to come back.

Every 5 minutes `prewarm` looks at the desks of shift workers (READY desks whose profile pre-warms and whose
HR data has a shift). A desk whose shift starts within `policy.prewarm.minutes_before_shift` (or started less
than `GRACE` ago) on a working day that is not a policy holiday is started with StartWorkspaces, 25 a call:

- AVAILABLE or STARTING (the user is already on it, or logging in), ADMIN_MAINTENANCE or MAINTENANCE: left
  alone, and looked at again at the next tick of the window;
- STOPPED: started, once per shift: a start record (`pk=PREWARM#<employee_id>`) keeps the shift's local date,
  so the next ticks of the same window do nothing;
- a start WorkSpaces refuses (a StartWorkspaces FailedRequests item) is recorded as a failed `start` step with
  the AWS error code (never the message: it may carry the user name), status `start_refused`, and tried again
  at the next tick of the window. When the shift has started and the start is still refused, on-call is told
  once: an `Incident Escalated` on `inc-start-<workspace_id>-<yyyymmdd>`, status `start_failed`, and the desk is
  left to a human for that shift;
- any other state (PENDING, STOPPING, UNHEALTHY, ERROR…): cannot be started; reported, retried next tick.

A started desk that is not AVAILABLE `policy.prewarm.start_timeout_minutes` after the start and is stuck
STARTING, ERROR, UNHEALTHY or IMPAIRED has failed its start. It is rebuilt (RebuildWorkspaces, one a call) only
in a state AWS rebuilds from (ERROR, UNHEALTHY: `REBUILDABLE`) and when `policy.remediation.rebuild` and
`policy.prewarm.rebuild_failed_starts` allow it and no user is connected; a desk stuck STARTING or IMPAIRED is
escalated without a call AWS would refuse. On-call hears of it through a
`Remediation Step` on incident `inc-start-<workspace_id>-<yyyymmdd>` (the shift's local date); an `Incident
Escalated` follows when the rebuild is refused, not allowed, or the desk is still not AVAILABLE
`REBUILD_TIMEOUT` later; an `Incident Resolved` when the rebuilt desk comes back. A started desk found in
another state (STOPPED again, in maintenance, gone) is no longer watched: rebuilding is destructive, and only a
start that visibly failed justifies it.

dry_run: decisions are logged, recorded and published with outcome `dry_run`; nothing is started or rebuilt.
Start and rebuild never change a desk's running mode.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from autopilot.contracts.outputs import (
    DomainEvent,
    IncidentEscalated,
    IncidentResolved,
    RemediationStep,
    StepOutcome,
    StepRecord,
)
from autopilot.domain.fleet.ports import (
    OpenIncidents,
    PrewarmDeskState,
    PrewarmEvents,
    PrewarmFleet,
    ShiftDesks,
    StartLog,
    StartRecord,
)
from autopilot.domain.fleet.shifts import ShiftOccurrence, due_shift
from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.domain.kernel.policy import Policy

GRACE = dt.timedelta(minutes=30)
REBUILD_TIMEOUT = dt.timedelta(minutes=60)
LEAVE_ALONE = frozenset({"AVAILABLE", "STARTING", "ADMIN_MAINTENANCE", "MAINTENANCE"})
STARTABLE = "STOPPED"
# Not AVAILABLE after the timeout and in one of these: the start failed. Other states are not ours to fix.
STUCK = frozenset({"STARTING", "ERROR", "UNHEALTHY", "IMPAIRED"})
# Rebuild is accepted only from these states ("You cannot rebuild a WorkSpace unless its state is AVAILABLE,
# ERROR, UNHEALTHY, STOPPED, or REBOOTING": RebuildWorkspaces API reference and botocore's workspaces model).
REBUILDABLE = frozenset({"AVAILABLE", "ERROR", "UNHEALTHY", "STOPPED", "REBOOTING"})
# Start records that still need watching.
WATCHED = frozenset({"started", "rebuilding"})
# A start refused this shift and not reported yet: tried again at the next tick of the window.
REFUSED = "start_refused"


class NoIncidents:
    def open_for(self, subject: str) -> object | None:
        return None


@dataclass(frozen=True)
class PrewarmPorts:
    desks: ShiftDesks
    fleet: PrewarmFleet
    log: StartLog
    bus: PrewarmEvents
    # The remediation runbook's incidents: a desk it already works on is left to it (one actor per sick desk).
    incidents: OpenIncidents = field(default_factory=NoIncidents)


@dataclass
class PrewarmReport:
    shift_desks: int = 0
    due: int = 0
    started: list[str] = field(default_factory=list)
    left_alone: list[str] = field(default_factory=list)
    not_startable: list[str] = field(default_factory=list)
    start_failed: list[str] = field(default_factory=list)
    came_up: list[str] = field(default_factory=list)
    rebuilt: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    skipped_connected: list[str] = field(default_factory=list)
    skipped_incident: list[str] = field(default_factory=list)
    stopped_watching: list[str] = field(default_factory=list)
    dry_run: bool = False


def due_desks(
    policy: Policy, desks: Iterable[Desk], records: Mapping[str, StartRecord], now: dt.datetime
) -> list[tuple[Desk, ShiftOccurrence]]:
    """Shift workers' desks whose start window is open and that were not started for this shift yet."""
    lead = dt.timedelta(minutes=policy.prewarm.minutes_before_shift)
    holidays = frozenset(policy.prewarm.holidays)
    due: list[tuple[Desk, ShiftOccurrence]] = []
    for desk in desks:
        if desk.lifecycle != Lifecycle.READY or not desk.prewarm or desk.shift is None or not desk.workspace_id:
            continue
        occurrence = due_shift(desk.shift, now, lead=lead, grace=GRACE, holidays=holidays)
        if occurrence is None or not _employed_on(desk, occurrence.local_date):
            continue
        record = records.get(desk.employee_id)
        if record is not None and record.workspace_id == desk.workspace_id and record.shift_date >= occurrence.key:
            retry = record.status == REFUSED and record.shift_date == occurrence.key
            if not retry:
                continue
        due.append((desk, occurrence))
    return due


def _employed_on(desk: Desk, local_date: dt.date) -> bool:
    """A desk is made lead_days before the start date and kept until after the last day: only shifts from the
    start date to the last day (both in the site's local calendar, as HR writes them) are pre-warmed."""
    if desk.start_date is not None and local_date < desk.start_date:
        return False
    return desk.last_day is None or local_date <= desk.last_day


def tick(policy: Policy, ports: PrewarmPorts, now: dt.datetime) -> PrewarmReport:
    report = PrewarmReport(dry_run=policy.dry_run)
    desks = [d for d in ports.desks.shift_desks() if d.lifecycle == Lifecycle.READY and d.workspace_id]
    report.shift_desks = len(desks)
    if not desks:
        return report
    records = ports.log.get_many([d.employee_id for d in desks])
    due = due_desks(policy, desks, records, now)
    report.due = len(due)
    watched = [r for r in records.values() if r.status in WATCHED]
    ids = sorted({d.workspace_id for d, _ in due if d.workspace_id} | {r.workspace_id for r in watched})
    states = {info.workspace_id: info for info in ports.fleet.describe(ids)} if ids else {}
    events: list[DomainEvent] = []
    _watch_starts(policy, watched, states, ports, now, report, events)
    _start(policy, due, records, states, ports, now, report, events)
    ports.bus.publish(events)
    return report


def _start(
    policy: Policy,
    due: Sequence[tuple[Desk, ShiftOccurrence]],
    records: Mapping[str, StartRecord],
    states: Mapping[str, PrewarmDeskState],
    ports: PrewarmPorts,
    now: dt.datetime,
    report: PrewarmReport,
    events: list[DomainEvent],
) -> None:
    to_start: dict[str, tuple[Desk, ShiftOccurrence]] = {}
    for desk, occurrence in due:
        ws = desk.workspace_id or ""
        info = states.get(ws)
        if info is not None and info.state in LEAVE_ALONE:
            report.left_alone.append(ws)
        elif info is None or info.state != STARTABLE:
            report.not_startable.append(ws)
        else:
            to_start[ws] = (desk, occurrence)
    if not to_start:
        return
    failed: dict[str, str] = {}
    if not policy.dry_run:
        failed = {failure.key: failure.code for failure in ports.fleet.start(sorted(to_start))}
    for ws, (desk, occurrence) in sorted(to_start.items()):
        previous = records.get(desk.employee_id)
        # The refusals of this shift so far (kept on the record that follows them: the shift's history).
        same_shift = previous is not None and previous.status == REFUSED and previous.shift_date == occurrence.key
        refusals = previous.steps if previous is not None and same_shift else ()
        record = StartRecord(
            employee_id=desk.employee_id,
            workspace_id=ws,
            directory_id=desk.directory_id,
            shift_date=occurrence.key,
            status="dry_run" if policy.dry_run else "started",
            started_at=now,
            steps=refusals,
            version=previous.version if previous else 0,  # each write below is the next version
        )
        if ws not in failed:
            report.started.append(ws)
            ports.log.put(replace(record, version=record.version + 1))
            continue
        report.start_failed.append(ws)
        step = StepRecord(action="start", outcome="failed", at=now, reason=failed[ws])  # the code, never the message
        refused = replace(record, status=REFUSED, steps=(*refusals, step))
        if now < occurrence.starts_at:
            ports.log.put(replace(refused, version=refused.version + 1))  # the next tick of the window tries again
            continue
        reason = (
            f"the pre-warm start for the shift of {occurrence.key} (starting {occurrence.starts_at:%H:%M} UTC) "
            f"was refused by WorkSpaces ({failed[ws]}), {len(refused.steps)} time(s); the desk is not started"
        )
        _escalate(refused, reason, ports, now, report, events, status="start_failed")


def _step(outcome: StepOutcome, reason: str, now: dt.datetime) -> StepRecord:
    return StepRecord(action="rebuild", outcome=outcome, at=now, reason=reason)


def _watch_starts(
    policy: Policy,
    watched: Sequence[StartRecord],
    states: Mapping[str, PrewarmDeskState],
    ports: PrewarmPorts,
    now: dt.datetime,
    report: PrewarmReport,
    events: list[DomainEvent],
) -> None:
    timeout = dt.timedelta(minutes=policy.prewarm.start_timeout_minutes)
    stuck: list[StartRecord] = []
    for record in watched:
        info = states.get(record.workspace_id)
        state = info.state if info is not None else "MISSING"
        if record.status == "started":
            if state == "AVAILABLE":
                report.came_up.append(record.workspace_id)
                ports.log.put(replace(record, status="up", version=record.version + 1))
            elif now - record.started_at < timeout:
                continue
            elif state in STUCK:
                stuck.append(record)
            else:
                # STOPPED again, in maintenance, being rebuilt by someone else, gone: not a start that failed.
                report.stopped_watching.append(record.workspace_id)
                ports.log.put(replace(record, status="skipped", version=record.version + 1))
        elif record.status == "rebuilding" and record.rebuild_at is not None:
            if state == "AVAILABLE":
                report.resolved.append(record.workspace_id)
                events.append(_resolved(record, now))
                ports.log.put(replace(record, status="rebuilt", version=record.version + 1))
            elif now - record.rebuild_at >= REBUILD_TIMEOUT:
                reason = f"the rebuilt desk is still {state} {int(REBUILD_TIMEOUT.total_seconds() // 60)} minutes later"
                _escalate(record, reason, ports, now, report, events)
    if not stuck:
        return
    connections = ports.fleet.connection_status([r.workspace_id for r in stuck])
    allowed = policy.remediation.rebuild and policy.prewarm.rebuild_failed_starts
    for record in stuck:
        ws = record.workspace_id
        info = states.get(ws)
        state = info.state if info is not None else "MISSING"
        connection = connections.get(ws)
        if connection is not None and connection.state == "CONNECTED":
            # Someone works on it: never rebuild under a user. Nothing to escalate either.
            report.skipped_connected.append(ws)
            step = _step("skipped", "a user is connected", now)
            events.append(_remediation_step(record, step))
            ports.log.put(replace(record, status="skipped", steps=(*record.steps, step), version=record.version + 1))
            continue
        if ports.incidents.open_for(ws) is not None:
            report.skipped_incident.append(ws)
            step = _step("skipped", "an incident is open: the remediation runbook owns this desk", now)
            events.append(_remediation_step(record, step))
            ports.log.put(replace(record, status="skipped", steps=(*record.steps, step), version=record.version + 1))
            continue
        why = f"not AVAILABLE {policy.prewarm.start_timeout_minutes} minutes after the pre-warm start (state {state})"
        if not allowed:
            step = _step("skipped", f"{why}; the policy does not allow rebuilds", now)
            events.append(_remediation_step(record, step))
            _escalate(replace(record, steps=(*record.steps, step)), step.reason, ports, now, report, events)
            continue
        if state not in REBUILDABLE:
            # STARTING, IMPAIRED: AWS would refuse the rebuild; a human decides (reboot it, wait, or stop it).
            step = _step("skipped", f"{why}; WorkSpaces does not rebuild a desk in state {state}", now)
            events.append(_remediation_step(record, step))
            _escalate(replace(record, steps=(*record.steps, step)), step.reason, ports, now, report, events)
            continue
        if policy.dry_run:
            step = _step("dry_run", why, now)
            events.append(_remediation_step(record, step))
            ports.log.put(replace(record, status="skipped", steps=(*record.steps, step), version=record.version + 1))
            report.rebuilt.append(ws)
            continue
        failure = ports.fleet.rebuild(ws) if info is not None else None
        if info is None or failure is not None:
            # The AWS error code only, never its message: it can name the user.
            detail = failure.code if failure is not None else "the desk no longer exists"
            step = _step("failed", f"{why}; rebuild refused ({detail})", now)
            events.append(_remediation_step(record, step))
            _escalate(replace(record, steps=(*record.steps, step)), step.reason, ports, now, report, events)
            continue
        step = _step("requested", why, now)
        report.rebuilt.append(ws)
        events.append(_remediation_step(record, step, next_check_at=now + REBUILD_TIMEOUT))
        ports.log.put(
            replace(
                record, status="rebuilding", rebuild_at=now, steps=(*record.steps, step), version=record.version + 1
            )
        )


def _escalate(
    record: StartRecord,
    reason: str,
    ports: PrewarmPorts,
    now: dt.datetime,
    report: PrewarmReport,
    events: list[DomainEvent],
    status: str = "escalated",
) -> None:
    report.escalated.append(record.workspace_id)
    events.append(
        IncidentEscalated(
            incident_id=record.incident_id,
            scope="desk",
            directory_id=record.directory_id,
            workspace_id=record.workspace_id,
            employee_id=record.employee_id,
            reason=reason,
            steps=list(record.steps),
        )
    )
    ports.log.put(replace(record, status=status, version=record.version + 1))


def _remediation_step(
    record: StartRecord, step: StepRecord, next_check_at: dt.datetime | None = None
) -> RemediationStep:
    return RemediationStep(
        incident_id=record.incident_id,
        directory_id=record.directory_id,
        workspace_id=record.workspace_id,
        employee_id=record.employee_id,
        step=step,
        next_check_at=next_check_at,
    )


def _resolved(record: StartRecord, now: dt.datetime) -> IncidentResolved:
    return IncidentResolved(
        incident_id=record.incident_id,
        scope="desk",
        directory_id=record.directory_id,
        workspace_id=record.workspace_id,
        employee_id=record.employee_id,
        resolved_by="recheck",
        opened_at=record.rebuild_at or record.started_at,
        resolved_at=now,
        steps=list(record.steps),
    )
