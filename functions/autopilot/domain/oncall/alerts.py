"""The on-call contract (docs/runbook.md): what each alert says, how severe it is, which thread it joins.

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
import json
from dataclasses import dataclass, replace

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
    UnusedDesksFound,
)
from autopilot.domain.kernel.errors import InvalidInput
from autopilot.domain.oncall.alert import UNROUTED_HR_EVENTS_ALARM_SUFFIX, Alert, Kind, Links, _context, _scrub, _when
from autopilot.domain.oncall.fleet_alerts import (
    _feed_held,
    _feed_rejected,
    _fleet_report,
    _policy_error,
    _provisioning_failed,
    _running_modes,
    _unused_desks,
)
from autopilot.domain.oncall.incident_alerts import _escalation, _incident_opened, _remediation_step, _resolved
from autopilot.domain.oncall.ports import IncidentReader, NotifyPorts, ThreadState


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
