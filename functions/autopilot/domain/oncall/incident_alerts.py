"""Alerts for the incident capability's events: opened (a desk or a directory), a remediation step, an
escalation, a resolution, with what was tried and what happens next."""

from __future__ import annotations

from collections.abc import Sequence

from autopilot.contracts.outputs import IncidentEscalated, IncidentOpened, IncidentResolved, RemediationStep, StepRecord
from autopilot.domain.incidents.incidents import Incident
from autopilot.domain.kernel.incident_ids import START_INCIDENT_PREFIX
from autopilot.domain.oncall.alert import LIST_LIMIT, SEVERITY, Alert, Kind, Links, _context, _when


def _incident_opened(event: IncidentOpened, incident: Incident | None, links: Links) -> Alert:
    if event.scope == "directory":
        return _systemic(event, incident, links)
    cause = {
        "connection_failure": f"{event.failures} connection failures",
        "unhealthy": "the desk reported UNHEALTHY",
        "error": "the desk is in ERROR",
        "failed_start": "the desk failed to start",
    }[event.cause]
    steps = incident.steps if incident else []
    description = "\n".join(
        part
        for part in (
            _desk_facts(event.workspace_id, event.employee_id, event.directory_id),
            f"**Detected** {_when(event.opened_at)}: {cause}.",
            _tried(steps),
            _waiting_phrase(incident),
        )
        if part
    )
    first = (
        "No action needed yet: the automation runs the runbook (reboot, re-check, rebuild…) and escalates "
        "if it cannot fix the desk."
    )
    return _desk_thread_alert(
        event,
        "connection_failure",
        links,
        title=f"Users cannot connect to desk {event.workspace_id} ({_who(event.employee_id, event.workspace_id)})",
        description=description,
        first_steps=[first],
        key="opened",
        cause=event.cause,
        failures=event.failures,
        opened_at=event.opened_at,
    )


def _systemic(event: IncidentOpened, incident: Incident | None, links: Links) -> Alert:
    failing_ids = incident.failing_ids if incident else []
    shown = ", ".join(f"`{ws}`" for ws in failing_ids[:LIST_LIMIT])
    more = f" and {event.failing_desks - LIST_LIMIT} more" if event.failing_desks > LIST_LIMIT else ""
    description = "\n".join(
        part
        for part in (
            f"**Directory** `{event.directory_id}`: **{event.failing_desks} of {event.desks_in_directory} desks** "
            f"fail to connect ({event.failures} failures), detected {_when(event.opened_at)}.",
            "**Automation**: no desk is rebooted or rebuilt while the directory is failing; the incident "
            "resolves when the directory's ConnectionFailure alarm returns to OK.",
            f"**Failing desks**: {shown}{more}" if shown else "",
        )
        if part
    )
    return Alert(
        kind="systemic_outage",
        severity=SEVERITY["systemic_outage"],
        title=f"Directory outage: {event.failing_desks} of {event.desks_in_directory} desks of {event.directory_id} "
        "cannot connect",
        description=description,
        next_steps=[
            "Check what the desks share: the directory (domain controllers, DNS, trust), the VPC and its "
            "network path, and the AWS Health Dashboard for WorkSpaces in this region.",
            *_desk_links("systemic_outage", None, event.directory_id, links),
        ],
        thread_id=event.incident_id,
        key="opened",
        event_type=event.DETAIL_TYPE,
        incident_id=event.incident_id,
        directory_id=event.directory_id,
        related_resources=[links.directory_arn(event.directory_id)],
        context=_context(
            incident_id=event.incident_id,
            directory_id=event.directory_id,
            failing_desks=event.failing_desks,
            desks_in_directory=event.desks_in_directory,
            opened_at=event.opened_at,
        ),
    )


def _remediation_step(event: RemediationStep, incident: Incident | None, links: Links) -> Alert:
    step = event.step
    if step.action == "none":
        title = f"No action on desk {event.workspace_id}: {step.reason or 'held'}"
    else:
        title = f"{step.action.capitalize()} {step.outcome.replace('_', ' ')} on desk {event.workspace_id}"
    next_check = f"**Next**: re-check at {_when(event.next_check_at)}." if event.next_check_at else ""
    description = "\n".join(
        part
        for part in (
            _desk_facts(event.workspace_id, event.employee_id, event.directory_id),
            f"**Step** {_when(step.at)}: {_step_phrase(step)}.",
            _tried(incident.steps if incident else [step]),
            next_check,
        )
        if part
    )
    return _desk_thread_alert(
        event,
        "remediation_step",
        links,
        title=title,
        description=description,
        first_steps=["Nothing to do unless the incident escalates."],
        key=f"step:{step.action}:{step.outcome}:{step.at.isoformat()}",
        action=step.action,
        outcome=step.outcome,
        at=step.at,
        next_check_at=event.next_check_at,
    )


def _after_escalation(incident_id: str) -> str:
    if incident_id.startswith(START_INCIDENT_PREFIX):
        return (
            "Pre-warm will not start this desk again for this shift: start it from the console now (or "
            "`aws workspaces start-workspaces`), then act on the AWS error code in the reason."
        )
    return (
        "The incident resolves by itself on the employee's next successful login (or the alarm returning "
        "to OK); the automation will not act on this desk again in this incident."
    )


def _escalation(event: IncidentEscalated, incident: Incident | None, links: Links) -> Alert:
    steps = incident.steps if incident and incident.steps else event.steps
    description = "\n".join(
        (
            _desk_facts(event.workspace_id, event.employee_id, event.directory_id),
            f"**Why a human**: {event.reason}.",
            _tried(steps),
        )
    )
    return _desk_thread_alert(
        event,
        "escalation",
        links,
        title=f"Escalated: desk {event.workspace_id or event.directory_id} needs a human "
        f"({_who(event.employee_id, event.workspace_id)})",
        description=description,
        first_steps=[
            "Open the desk in the console, look at its state and recent changes; contact the employee by id "
            "through the service desk if needed.",
            _after_escalation(event.incident_id),
        ],
        key="escalated",
        reason=event.reason,
    )


def _resolved(event: IncidentResolved, links: Links) -> Alert:
    how = {
        "alarm_ok": "the ConnectionFailure alarm returned to OK",
        "login": "the employee logged in successfully",
        "recheck": "the re-check found the desk healthy with no new connection failures",
        "operator": "an operator closed it",
    }[event.resolved_by]
    minutes = int((event.resolved_at - event.opened_at).total_seconds() // 60)
    subject = f"desk {event.workspace_id}" if event.scope == "desk" else f"directory {event.directory_id}"
    description = "\n".join(
        (
            _desk_facts(event.workspace_id, event.employee_id, event.directory_id),
            f"**Resolved** {_when(event.resolved_at)} after {minutes} min: {how}.",
            _tried(event.steps),
        )
    )
    return _desk_thread_alert(
        event,
        "incident_resolved",
        links,
        title=f"Resolved: {subject}",
        description=description,
        first_steps=["Nothing to do."],
        key="resolved",
        resolved_by=event.resolved_by,
        opened_at=event.opened_at,
        resolved_at=event.resolved_at,
    )


def _desk_thread_alert(
    event: IncidentOpened | RemediationStep | IncidentEscalated | IncidentResolved,
    kind: Kind,
    links: Links,
    *,
    title: str,
    description: str,
    first_steps: list[str],
    key: str,
    **context: object,
) -> Alert:
    """An alert in a desk incident's thread: the desk's ids, links and context are the same for every event of it."""
    employee_id = _hr_id(event.employee_id, event.workspace_id)
    return Alert(
        kind=kind,
        severity=SEVERITY[kind],
        title=title,
        description=description,
        next_steps=[*first_steps, *_desk_links(kind, event.workspace_id, event.directory_id, links)],
        thread_id=event.incident_id,
        key=key,
        event_type=event.DETAIL_TYPE,
        workspace_id=event.workspace_id,
        employee_id=employee_id,
        incident_id=event.incident_id,
        directory_id=event.directory_id,
        related_resources=_resources(event.workspace_id, event.directory_id, links),
        context=_context(
            incident_id=event.incident_id,
            workspace_id=event.workspace_id,
            employee_id=employee_id,
            directory_id=event.directory_id,
            **context,
        ),
    )


def _tried(steps: Sequence[StepRecord]) -> str:
    if not steps:
        return "**Automation so far**: nothing yet."
    lines = [f"- {_when(s.at)}: {_step_phrase(s)}" for s in steps[-LIST_LIMIT:]]
    return "**Automation so far**:\n" + "\n".join(lines)


def _step_phrase(step: StepRecord) -> str:
    if step.action == "none":
        return f"no action ({step.reason})" if step.reason else "no action"
    phrase = f"{step.action} {step.outcome}"
    return f"{phrase} ({step.reason})" if step.reason else phrase


def _waiting_phrase(incident: Incident | None) -> str:
    if incident is None:
        return ""
    if not incident.is_open:
        return f"**Now**: resolved at {_when(incident.resolved_at)} (by {incident.resolved_by})."
    if incident.waiting == "recheck" and incident.next_check_at:
        return f"**Next**: the automation re-checks the desk at {_when(incident.next_check_at)}."
    if incident.waiting == "human":
        return f"**Next**: a human — {incident.escalation_reason}."
    if incident.waiting == "desk":
        return "**Next**: nothing automatic until the desk changes (or the incident resolves)."
    return ""


def _who(employee_id: str | None, workspace_id: str | None) -> str:
    if employee_id is not None and employee_id == workspace_id:
        return NO_HR_RECORD
    return f"employee {employee_id or 'unknown'}"


def _hr_id(employee_id: str | None, workspace_id: str | None) -> str | None:
    """The HR employee id, or None. Adoption records a desk no roster or HR event claims under its WorkSpace id
    (adoption.synthetic_employee_id): that is not an employee, and `employee ws-…` misleads on-call."""
    return None if employee_id is not None and employee_id == workspace_id else employee_id


def _desk_facts(workspace_id: str | None, employee_id: str | None, directory_id: str) -> str:
    desk = f"**Desk** `{workspace_id}`" if workspace_id else "**Desk** (none)"
    if employee_id is not None and employee_id == workspace_id:
        employee = f"**Employee** {NO_HR_RECORD}"
    else:
        employee = f"**Employee** `{employee_id}`" if employee_id else "**Employee** unknown (desk not in the records)"
    return f"{desk} · {employee} · **Directory** `{directory_id}`"


def _desk_links(kind: Kind, workspace_id: str | None, directory_id: str, links: Links) -> list[str]:
    steps = [f"Runbook: {links.runbook_for(kind)}"]
    if workspace_id:
        steps.append(f"Desk in the console: {links.desk_console(workspace_id)}")
    else:
        steps.append(f"Directory in the console: {links.directory_console(directory_id)}")
    return steps


def _resources(workspace_id: str | None, directory_id: str, links: Links) -> list[str]:
    resources = [links.desk_arn(workspace_id)] if workspace_id else []
    return [*resources, links.directory_arn(directory_id)]


NO_HR_RECORD = "no HR record (adopted desk)"
