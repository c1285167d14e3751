"""Alerts for the other capabilities' events: provisioning failures, a refused policy, a held or rejected HR
feed, unused desks, the weekly fleet report and the running-modes optimiser."""

from __future__ import annotations

import datetime as dt
import hashlib

from autopilot.contracts.outputs import (
    FeedHeld,
    FeedRejected,
    FleetReportPublished,
    PolicyRejected,
    ProvisioningFailed,
    RunningModesOptimised,
    UnusedDesksFound,
)
from autopilot.domain.oncall.alert import LIST_LIMIT, SEVERITY, Alert, Links, _context, _scrub, _when
from autopilot.domain.oncall.incident_alerts import _who


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
