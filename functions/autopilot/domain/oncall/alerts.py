"""The on-call contract (DESIGN.md "Alerts"): what each alert says, how severe it is, which thread it joins.

Every message on the on-call topic has message attributes `kind`, `severity` (info | warning | critical) and,
when known, `workspace_id`, `employee_id`, `incident_id` and `directory_id`, plus `thread` (`new` for the first
message of a thread, `update` after), so subscriptions can filter (a pager: critical, or warning and new).
The default body is the custom-notification JSON of Amazon Q Developer in chat applications
(https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html) with `metadata.threadId` = the
incident id, so one incident is one chat thread; e-mail gets a plain-text variant of the same content.
A message already sent to a thread (same thread, same key) is never sent again: a repeat updates nothing
and pages nobody. Ids only: never a person's name or e-mail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol
from urllib.parse import quote

from autopilot.contracts.outputs import (
    DomainEvent,
    FeedHeld,
    FeedRejected,
    FleetReportPublished,
    IncidentEscalated,
    IncidentOpened,
    IncidentResolved,
    PolicyRejected,
    ProvisioningFailed,
    RemediationStep,
    RunningModesOptimised,
    Severity,
    StepRecord,
    UnusedDesksFound,
)
from autopilot.domain.incidents.incidents import Incident
from autopilot.domain.kernel.errors import InvalidInput
from autopilot.domain.kernel.incident_ids import START_INCIDENT_PREFIX

Kind = Literal[
    "connection_failure",
    "remediation_step",
    "escalation",
    "systemic_outage",
    "incident_resolved",
    "provisioning_failed",
    "policy_error",
    "feed_held",
    "feed_rejected",
    "unused_desks",
    "fleet_report",
    "running_modes",
    "automation_failure",
]
KINDS: tuple[Kind, ...] = (
    "connection_failure",
    "remediation_step",
    "escalation",
    "systemic_outage",
    "incident_resolved",
    "provisioning_failed",
    "policy_error",
    "feed_held",
    "feed_rejected",
    "unused_desks",
    "fleet_report",
    "running_modes",
    "automation_failure",
)
SEVERITY: dict[Kind, Severity] = {
    "connection_failure": "warning",
    "remediation_step": "info",
    "escalation": "critical",
    "systemic_outage": "critical",
    "incident_resolved": "info",
    "provisioning_failed": "warning",
    "policy_error": "critical",
    "feed_held": "warning",
    "feed_rejected": "warning",
    "unused_desks": "info",
    "fleet_report": "info",
    "running_modes": "info",
    "automation_failure": "critical",
}
ThreadState = Literal["new", "update", "duplicate"]
# The template parameter RunbookBaseUrl's default; set it to where your copy of the repository is browsable.
DEFAULT_RUNBOOK_BASE_URL = "https://github.com/workspaces-autopilot/workspaces-autopilot/blob/main"
SUBJECT_LIMIT = 100  # SNS Subject: at most 100 ASCII characters, no line breaks
LIST_LIMIT = 20
# template.yaml's UnroutedHrEventsAlarm: HR events no rule routes wait in UnroutedHrEventsQueue (nothing to redrive).
UNROUTED_HR_EVENTS_ALARM_SUFFIX = "-automation-unrouted-hr-events"
_EMAIL = re.compile(r"[^@\s<>\"']+@[^@\s<>\"']+\.[A-Za-z]{2,63}")


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


@dataclass(frozen=True)
class Links:
    """Where an alert points: the runbook where on-call can open it, the console of the account's region."""

    region: str
    account: str
    # Where the repository is browsable (template parameter RunbookBaseUrl): links are absolute, so they can be
    # clicked in chat and e-mail; `docs/runbook.md#<kind>` is appended.
    runbook_base_url: str = DEFAULT_RUNBOOK_BASE_URL

    def runbook_for(self, kind: Kind) -> str:
        return f"{self.runbook_base_url.rstrip('/')}/docs/runbook.md#{kind}"

    def desk_console(self, workspace_id: str) -> str:
        return (
            f"https://{self.region}.console.aws.amazon.com/workspaces/v2/workspaces/{workspace_id}?region={self.region}"
        )

    def directory_console(self, directory_id: str) -> str:
        return (
            f"https://{self.region}.console.aws.amazon.com/workspaces/v2/directories/{directory_id}"
            f"?region={self.region}"
        )

    def alarm_console(self, alarm_name: str) -> str:
        return (
            f"https://{self.region}.console.aws.amazon.com/cloudwatch/home?region={self.region}"
            f"#alarmsV2:alarm/{quote(alarm_name, safe='')}"
        )

    def desk_arn(self, workspace_id: str) -> str:
        return f"arn:aws:workspaces:{self.region}:{self.account}:workspace/{workspace_id}"

    def directory_arn(self, directory_id: str) -> str:
        return f"arn:aws:workspaces:{self.region}:{self.account}:directory/{directory_id}"

    def alarm_arn(self, alarm_name: str) -> str:
        return f"arn:aws:cloudwatch:{self.region}:{self.account}:alarm:{alarm_name}"


# --- the alert -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Alert:
    kind: Kind
    severity: Severity
    title: str
    description: str  # client-markdown
    next_steps: list[str]
    thread_id: str
    key: str  # what makes this message distinct within its thread
    event_type: str
    workspace_id: str | None = None
    employee_id: str | None = None
    incident_id: str | None = None
    directory_id: str | None = None
    related_resources: list[str] = field(default_factory=list)
    context: dict[str, str] = field(default_factory=dict)

    @property
    def alert_id(self) -> str:
        return hashlib.sha256(f"{self.thread_id}|{self.key}".encode()).hexdigest()[:32]

    @property
    def subject(self) -> str:
        text = f"[{self.severity.upper()}] {self.title}"
        text = "".join(c for c in text if 32 <= ord(c) < 127)
        return text if len(text) <= SUBJECT_LIMIT else text[: SUBJECT_LIMIT - 3] + "..."

    def chat_body(self) -> dict[str, Any]:
        """Amazon Q Developer in chat applications custom notification (version 1.0, source custom)."""
        return {
            "version": "1.0",
            "source": "custom",
            "id": self.alert_id,
            "content": {
                "textType": "client-markdown",
                "title": self.title,
                "description": self.description,
                "nextSteps": self.next_steps,
                "keywords": [self.kind, self.severity],
            },
            "metadata": {
                "threadId": self.thread_id,
                "summary": self.subject,
                "eventType": self.kind,
                "relatedResources": self.related_resources,
                "additionalContext": {"kind": self.kind, "severity": self.severity, **self.context},
            },
        }

    def plain_text(self) -> str:
        """The e-mail variant: the same facts without markdown."""
        lines = [f"{self.severity.upper()} - {self.kind}", "", self.title, "", _unmarkdown(self.description), ""]
        lines.append("Next steps:")
        lines += [f"  {n}. {_unmarkdown(step)}" for n, step in enumerate(self.next_steps, start=1)]
        lines.append("")
        lines += [f"{name}: {value}" for name, value in sorted(self.context.items())]
        return "\n".join(lines).strip() + "\n"

    def attributes(self, thread: ThreadState) -> dict[str, str]:
        values = {
            "kind": self.kind,
            "severity": self.severity,
            "workspace_id": self.workspace_id,
            "employee_id": self.employee_id,
            "incident_id": self.incident_id,
            "directory_id": self.directory_id,
            "thread": thread,
        }
        return {name: value for name, value in values.items() if value}


# --- triggers --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EventTrigger:
    """A domain event from the autopilot bus, with its envelope's time."""

    event: DomainEvent
    time: dt.datetime


@dataclass(frozen=True)
class AutomationAlarm:
    """A state change of one of the automation's own alarms (a DLQ with messages, a function's errors)."""

    alarm_name: str
    state: str
    previous_state: str | None
    reason: str
    description: str | None
    at: dt.datetime


AlertTrigger = EventTrigger | AutomationAlarm


@dataclass(frozen=True)
class Delivery:
    kind: Kind | None
    thread: ThreadState | None  # None: nothing to send for this trigger
    message_id: str | None = None


def notify(
    trigger: AlertTrigger, ports: NotifyPorts, links: Links, now: dt.datetime, *, user_names: bool = False
) -> Delivery:
    """Turn one trigger into at most one message on the on-call topic; a repeat in a thread sends nothing.

    `user_names` (policy `alerts.user_names`) adds the desk's directory user name to the text on-call reads (chat,
    e-mail), never to the subject or the message attributes, which pagers and filters see."""
    alert = (
        alert_for_alarm(trigger, links)
        if isinstance(trigger, AutomationAlarm)
        else alert_for_event(trigger.event, trigger.time, ports.incidents, links)
    )
    if alert is None:
        return Delivery(kind=None, thread=None)
    if user_names and ports.users is not None and (alert.workspace_id or alert.employee_id):
        name = ports.users.user_name(workspace_id=alert.workspace_id, employee_id=alert.employee_id)
        if name:
            alert = replace(
                alert, description=f"{alert.description}\n**User** `{name}`", context={**alert.context, "user": name}
            )
    thread = ports.threads.claim(alert.thread_id, alert.key, now)
    if thread == "duplicate":
        return Delivery(kind=alert.kind, thread=thread)
    sent = False
    try:
        message_id = ports.notifier.publish(
            subject=alert.subject,
            default=json.dumps(alert.chat_body(), ensure_ascii=False),
            email=alert.plain_text(),
            attributes=alert.attributes(thread),
        )
        sent = True
    finally:
        if not sent:  # let the retry send it: an unsent alert must not count as sent
            ports.threads.release(alert.thread_id, alert.key)
    return Delivery(kind=alert.kind, thread=thread, message_id=message_id)


# --- alerts for domain events ----------------------------------------------------------------------------
def alert_for_event(event: DomainEvent, time: dt.datetime, incidents: IncidentReader, links: Links) -> Alert:
    if isinstance(event, IncidentOpened):
        return _incident_opened(event, incidents.get(event.incident_id), links)
    if isinstance(event, RemediationStep):
        return _remediation_step(event, incidents.get(event.incident_id), links)
    if isinstance(event, IncidentEscalated):
        return _escalation(event, incidents.get(event.incident_id), links)
    if isinstance(event, IncidentResolved):
        return _resolved(event, links)
    if isinstance(event, ProvisioningFailed):
        return _provisioning_failed(event, links)
    if isinstance(event, PolicyRejected):
        return _policy_error(event, links)
    if isinstance(event, FeedHeld):
        return _feed_held(event, links)
    if isinstance(event, FeedRejected):
        return _feed_rejected(event, links)
    if isinstance(event, UnusedDesksFound):
        return _unused_desks(event, time, links)
    if isinstance(event, FleetReportPublished):
        return _fleet_report(event, links)
    if isinstance(event, RunningModesOptimised):
        return _running_modes(event, links)
    raise InvalidInput(f"notify: no alert is defined for {event.DETAIL_TYPE!r} (remove it from the notify rule)")


NO_HR_RECORD = "no HR record (adopted desk)"


def _hr_id(employee_id: str | None, workspace_id: str | None) -> str | None:
    """The HR employee id, or None. Adoption records a desk no roster or HR event claims under its WorkSpace id
    (adoption.synthetic_employee_id): that is not an employee, and `employee ws-…` misleads on-call."""
    return None if employee_id is not None and employee_id == workspace_id else employee_id


def _who(employee_id: str | None, workspace_id: str | None) -> str:
    if employee_id is not None and employee_id == workspace_id:
        return NO_HR_RECORD
    return f"employee {employee_id or 'unknown'}"


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


def _context(**values: object) -> dict[str, str]:
    return {name: _when(v) if isinstance(v, dt.datetime) else str(v) for name, v in values.items() if v is not None}


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
    return Alert(
        kind="connection_failure",
        severity=SEVERITY["connection_failure"],
        title=f"Users cannot connect to desk {event.workspace_id} ({_who(event.employee_id, event.workspace_id)})",
        description=description,
        next_steps=[first, *_desk_links("connection_failure", event.workspace_id, event.directory_id, links)],
        thread_id=event.incident_id,
        key="opened",
        event_type=event.DETAIL_TYPE,
        workspace_id=event.workspace_id,
        employee_id=_hr_id(event.employee_id, event.workspace_id),
        incident_id=event.incident_id,
        directory_id=event.directory_id,
        related_resources=_resources(event.workspace_id, event.directory_id, links),
        context=_context(
            incident_id=event.incident_id,
            workspace_id=event.workspace_id,
            employee_id=_hr_id(event.employee_id, event.workspace_id),
            directory_id=event.directory_id,
            cause=event.cause,
            failures=event.failures,
            opened_at=event.opened_at,
        ),
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
    return Alert(
        kind="remediation_step",
        severity=SEVERITY["remediation_step"],
        title=title,
        description=description,
        next_steps=[
            "Nothing to do unless the incident escalates.",
            *_desk_links("remediation_step", event.workspace_id, event.directory_id, links),
        ],
        thread_id=event.incident_id,
        key=f"step:{step.action}:{step.outcome}:{step.at.isoformat()}",
        event_type=event.DETAIL_TYPE,
        workspace_id=event.workspace_id,
        employee_id=_hr_id(event.employee_id, event.workspace_id),
        incident_id=event.incident_id,
        directory_id=event.directory_id,
        related_resources=_resources(event.workspace_id, event.directory_id, links),
        context=_context(
            incident_id=event.incident_id,
            workspace_id=event.workspace_id,
            employee_id=_hr_id(event.employee_id, event.workspace_id),
            directory_id=event.directory_id,
            action=step.action,
            outcome=step.outcome,
            at=step.at,
            next_check_at=event.next_check_at,
        ),
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
    return Alert(
        kind="escalation",
        severity=SEVERITY["escalation"],
        title=f"Escalated: desk {event.workspace_id or event.directory_id} needs a human "
        f"({_who(event.employee_id, event.workspace_id)})",
        description=description,
        next_steps=[
            "Open the desk in the console, look at its state and recent changes; contact the employee by id "
            "through the service desk if needed.",
            _after_escalation(event.incident_id),
            *_desk_links("escalation", event.workspace_id, event.directory_id, links),
        ],
        thread_id=event.incident_id,
        key="escalated",
        event_type=event.DETAIL_TYPE,
        workspace_id=event.workspace_id,
        employee_id=_hr_id(event.employee_id, event.workspace_id),
        incident_id=event.incident_id,
        directory_id=event.directory_id,
        related_resources=_resources(event.workspace_id, event.directory_id, links),
        context=_context(
            incident_id=event.incident_id,
            workspace_id=event.workspace_id,
            employee_id=_hr_id(event.employee_id, event.workspace_id),
            directory_id=event.directory_id,
            reason=event.reason,
        ),
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
    return Alert(
        kind="incident_resolved",
        severity=SEVERITY["incident_resolved"],
        title=f"Resolved: {subject}",
        description=description,
        next_steps=["Nothing to do.", *_desk_links("incident_resolved", event.workspace_id, event.directory_id, links)],
        thread_id=event.incident_id,
        key="resolved",
        event_type=event.DETAIL_TYPE,
        workspace_id=event.workspace_id,
        employee_id=_hr_id(event.employee_id, event.workspace_id),
        incident_id=event.incident_id,
        directory_id=event.directory_id,
        related_resources=_resources(event.workspace_id, event.directory_id, links),
        context=_context(
            incident_id=event.incident_id,
            workspace_id=event.workspace_id,
            employee_id=_hr_id(event.employee_id, event.workspace_id),
            directory_id=event.directory_id,
            resolved_by=event.resolved_by,
            opened_at=event.opened_at,
            resolved_at=event.resolved_at,
        ),
    )


def _provisioning_failed(event: ProvisioningFailed, links: Links) -> Alert:
    directory = f" in directory `{event.directory_id}`" if event.directory_id else ""
    description = "\n".join(
        (
            f"**Employee** `{event.employee_id}`{directory}: no desk could be created after {event.attempts} "
            "attempt(s).",
            f"**Error** `{event.error_code}`: {_scrub(event.reason)}",
        )
    )
    steps = [
        "Fix the cause (user missing in the directory, bundle or directory not usable, quota), then re-publish "
        "the employee's Employee Hired event: provisioning is idempotent.",
        f"Runbook: {links.runbook_for('provisioning_failed')}",
    ]
    if event.directory_id:
        steps.append(f"Directory in the console: {links.directory_console(event.directory_id)}")
    return Alert(
        kind="provisioning_failed",
        severity=SEVERITY["provisioning_failed"],
        title=f"Provisioning failed for employee {event.employee_id} ({event.error_code})",
        description=description,
        next_steps=steps,
        thread_id=f"provisioning-{event.employee_id}",
        key=f"{event.error_code}:{event.attempts}",
        event_type=event.DETAIL_TYPE,
        employee_id=event.employee_id,
        directory_id=event.directory_id,
        related_resources=[links.directory_arn(event.directory_id)] if event.directory_id else [],
        context=_context(
            employee_id=event.employee_id,
            directory_id=event.directory_id,
            error_code=event.error_code,
            attempts=event.attempts,
        ),
    )


def _policy_error(event: PolicyRejected, links: Links) -> Alert:
    errors = "\n".join(f"- `{_scrub(e)}`" for e in event.errors[:LIST_LIMIT])
    fingerprint = hashlib.sha256("\n".join(event.errors).encode()).hexdigest()[:16]
    return Alert(
        kind="policy_error",
        severity=SEVERITY["policy_error"],
        title=f"Policy refused: the automation acts on nothing until {event.parameter} is fixed",
        description=f"**Parameter** `{event.parameter}` failed validation:\n{errors}",
        next_steps=[
            "Fix the keys listed (docs/policy.md), validate locally, then update the SSM parameter; functions "
            "pick it up within 5 minutes.",
            f"Runbook: {links.runbook_for('policy_error')}",
        ],
        thread_id=f"policy-{event.parameter}",
        key=fingerprint,
        event_type=event.DETAIL_TYPE,
        context=_context(parameter=event.parameter, errors=len(event.errors)),
    )


def _feed_held(event: FeedHeld, links: Links) -> Alert:
    too_many = []
    if event.departures > event.threshold:
        too_many.append(
            f"offboard {event.departures} employees, more than `offboarding.max_departures_per_feed` "
            f"({event.threshold})"
        )
    if event.max_hires is not None and event.hires > event.max_hires:
        too_many.append(f"hire {event.hires} employees, more than `onboarding.max_hires_per_feed` ({event.max_hires})")
    counted = (
        f"{event.departures} departures (threshold {event.threshold})"
        if event.departures > event.threshold or event.max_hires is None
        else f"{event.hires} hires (threshold {event.max_hires})"
    )
    return Alert(
        kind="feed_held",
        severity=SEVERITY["feed_held"],
        title=f"HR feed held: {counted}",
        description=(
            f"**Feed** `{event.feed_id}` held {_when(event.held_at)}: it would "
            f"{' and '.join(too_many) or 'exceed a limit'}. Nothing from this feed was applied."
        ),
        next_steps=[
            "Confirm with HR that the departures and hires are real (not a truncated or wrong export): "
            "`autopilot plan FILE` lists every row the file would apply. Then `autopilot feed release ID`, or "
            "`autopilot feed discard ID` and ask HR for a corrected file.",
            f"Runbook: {links.runbook_for('feed_held')}",
        ],
        thread_id=f"feed-{event.feed_id}",
        key="held",
        event_type=event.DETAIL_TYPE,
        context=_context(
            feed_id=event.feed_id,
            departures=event.departures,
            threshold=event.threshold,
            hires=event.hires,
            max_hires=event.max_hires,
            held_at=event.held_at,
        ),
    )


def _feed_rejected(event: FeedRejected, links: Links) -> Alert:
    return Alert(
        kind="feed_rejected",
        severity=SEVERITY["feed_rejected"],
        title="HR feed rejected: nothing from the file was applied",
        description=f"**Feed** `{event.feed_id}` rejected {_when(event.rejected_at)}: {event.reason}.",
        next_steps=[
            "Ask HR for the file again with the fix named above, and upload it again (the same key is fine: the "
            "feed bucket is versioned, so the new version is a new feed).",
            "The dead letter on AsyncFailureDLQ carries the same reason: `autopilot dlq list`.",
            f"Runbook: {links.runbook_for('feed_rejected')}",
        ],
        thread_id=f"feed-{event.feed_id}",
        key="rejected",
        event_type=event.DETAIL_TYPE,
        context=_context(feed_id=event.feed_id, rejected_at=event.rejected_at),
    )


def _unused_desks(event: UnusedDesksFound, time: dt.datetime, links: Links) -> Alert:
    lines = [
        f"- `{d.workspace_id}` {_who(d.employee_id, d.workspace_id)}: "
        + (f"last login {_when(d.last_login)}" if d.last_login else "never logged in")
        + (f" ({d.idle_days} days)" if d.idle_days is not None else "")
        for d in event.desks[:LIST_LIMIT]
    ]
    more = [f"- … and {len(event.desks) - LIST_LIMIT} more"] if len(event.desks) > LIST_LIMIT else []
    fingerprint = hashlib.sha256(",".join(sorted(d.workspace_id for d in event.desks)).encode()).hexdigest()[:16]
    return Alert(
        kind="unused_desks",
        severity=SEVERITY["unused_desks"],
        title=f"{len(event.desks)} desks unused for {event.unused_days}+ days",
        description="\n".join([f"Desks without a login for {event.unused_days} days or more:", *lines, *more]),
        next_steps=[
            "Ask the owners' managers whether the desks are still needed; terminate or downsize those that are not.",
            f"Runbook: {links.runbook_for('unused_desks')}",
        ],
        thread_id=f"unused-desks-{time:%Y-%m-%d}",
        key=fingerprint,
        event_type=event.DETAIL_TYPE,
        related_resources=[links.desk_arn(d.workspace_id) for d in event.desks[:LIST_LIMIT]],
        context=_context(desks=len(event.desks), unused_days=event.unused_days),
    )


def _fleet_report(event: FleetReportPublished, links: Links) -> Alert:
    # The link is presigned: it carries its own short-lived authorisation and no identity but the signer's key id.
    return Alert(
        kind="fleet_report",
        severity=SEVERITY["fleet_report"],
        title=f"Weekly fleet report: {event.desks} desks ({event.generated_at:%Y-%m-%d})",
        description="\n".join(
            [
                f"The fleet report of {_when(event.generated_at)} is ready: [open the report]({event.url})",
                f"Stored as `{event.report_key}` in the report bucket (stack output `ReportBucketName`).",
            ]
        ),
        next_steps=[
            "Look at the trends: desks by state, incidents and their outcomes, build times, unused desks, AutoStop "
            "hours against the break-even.",
            "The link expires (7 days at most); later, download the key from the report bucket or run "
            "`autopilot report --html FILE`.",
            f"Runbook: {links.runbook_for('fleet_report')}",
        ],
        thread_id=f"fleet-report-{event.generated_at:%Y-%m-%d}",
        key=event.report_key,
        event_type=event.DETAIL_TYPE,
        context=_context(report_key=event.report_key, desks=event.desks, url=event.url),
    )


# --- alerts for the automation's own alarms --------------------------------------------------------------
def alert_for_alarm(alarm: AutomationAlarm, links: Links) -> Alert | None:
    """ALARM pages (critical); the return to OK is an update in the same thread; other changes say nothing."""
    if alarm.state == "ALARM":
        severity: Severity = "critical"
        title = f"Automation failure: {alarm.alarm_name}"
        lead = f"**Alarm** `{alarm.alarm_name}` in ALARM since {_when(alarm.at)}."
    elif alarm.state == "OK" and alarm.previous_state == "ALARM":
        severity = "info"
        title = f"Automation recovered: {alarm.alarm_name}"
        lead = f"**Alarm** `{alarm.alarm_name}` back to OK at {_when(alarm.at)}."
    else:
        return None
    what = alarm.description or ""
    if alarm.alarm_name.endswith(UNROUTED_HR_EVENTS_ALARM_SUFFIX):
        hint = (
            "Events reached the HR bus that no rule routes (a source, detail-type or account hr_events does not "
            "expect): read them in the unrouted HR events queue, fix the publisher or the stack's HrAccountId / "
            "HrEventSource, then have HR send them again."
        )
    elif "dlq" in alarm.alarm_name:
        hint = (
            "Messages wait in a dead-letter queue: read one (ids only), fix the cause, then redrive the queue "
            "(SQS console: Start DLQ redrive) so nothing is lost."
        )
    else:
        hint = (
            'A function fails: open its log group (Logs Insights: `level = "ERROR"`), fix the cause; failed '
            "invocations land in the async-failure DLQ for a redrive."
        )
    return Alert(
        kind="automation_failure",
        severity=severity,
        title=title,
        description="\n".join(p for p in (lead, _scrub(what), f"**Reason**: {_scrub(alarm.reason)}") if p),
        next_steps=[
            hint,
            f"Runbook: {links.runbook_for('automation_failure')}",
            f"Alarm in the console: {links.alarm_console(alarm.alarm_name)}",
        ],
        thread_id=f"automation-{alarm.alarm_name}",
        key=f"{alarm.state}:{alarm.at.isoformat()}",
        event_type="CloudWatch Alarm State Change",
        related_resources=[links.alarm_arn(alarm.alarm_name)],
        context=_context(alarm=alarm.alarm_name, state=alarm.state, at=alarm.at),
    )


# --- formatting ------------------------------------------------------------------------------------------
def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "unknown"
    return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def _scrub(text: str) -> str:
    """Defence in depth: an e-mail address that slipped into an error text never reaches on-call."""
    return _EMAIL.sub("<redacted>", text)


def _unmarkdown(text: str) -> str:
    return text.replace("**", "").replace("`", "")


def _running_modes(event: RunningModesOptimised, links: Links) -> Alert:
    mode = "decided (dry run: nothing changed)" if event.dry_run else "applied"
    lines = [
        f"{event.desks} managed desks looked at for {event.month}"
        + (f" (and the close of {event.closed_month})" if event.closed_month else "")
        + f": {event.to_always_on} to ALWAYS_ON, {event.to_auto_stop} to AUTO_STOP, {mode}.",
        f"Changed {event.changed}, refused {event.failed}, deferred {event.deferred}, skipped {event.skipped}.",
        f"Estimated saving: {event.estimated_monthly_saving:.2f} a month at list prices.",
    ]
    if event.failed_workspace_ids:
        lines.append("Refused: " + ", ".join(f"`{ws}`" for ws in event.failed_workspace_ids[:LIST_LIMIT]))
    return Alert(
        kind="running_modes",
        severity=SEVERITY["running_modes"],
        title=f"Running modes {event.month}: {event.to_always_on} to ALWAYS_ON, {event.to_auto_stop} to AUTO_STOP",
        description="\n".join(lines),
        next_steps=[
            "Read the month's report: `autopilot running-modes --month " + event.month + "`.",
            f"Runbook: {links.runbook_for('running_modes')}",
        ],
        thread_id=f"running-modes-{event.month}",
        key=f"{event.ran_at:%Y-%m-%d}:{event.changed}:{event.failed}:{event.to_always_on}:{event.to_auto_stop}",
        event_type=event.DETAIL_TYPE,
        related_resources=[links.desk_arn(ws) for ws in event.changed_workspace_ids[:LIST_LIMIT]],
        context=_context(
            month=event.month,
            desks=event.desks,
            changed=event.changed,
            failed=event.failed,
            dry_run=event.dry_run,
            estimated_monthly_saving=round(event.estimated_monthly_saving, 2),
        ),
    )
