"""A provisioning batch (up to 25 queue messages) -> reconcile, ONE CreateWorkspaces, follow desks to READY.

Per desk, every pass of a message does what the desk record says is next:

    SCHEDULED     take a short lease (conditional write) that also records the create intent (origin
                  "created") before any CreateWorkspaces. A first attempt goes straight into the batch's one
                  CreateWorkspaces call, without a lookup; a user who already has a desk is answered
                  ResourceExists.WorkSpace and that desk is taken over as it is (see `_take_over_existing`: no
                  welcome e-mail, no `WorkSpace Ready`, READY at once). A desk whose record already carried the
                  intent (a retry, a pass that died after CreateWorkspaces) is reconciled first,
                  DescribeWorkspaces(DirectoryId, UserName): a desk found is ours. In dry run every hire is looked
                  up (nothing is created): reported once as `dry_run` in the desk's history, looked at again every
                  15 minutes.
                  Per-item failures: a user not yet in the directory is retried until the end of the start
                  date; other codes are retried with a growing delay up to onboarding.max_create_attempts;
                  then FAILED + `Provisioning Failed` (the AWS error code, a generic reason). A call AWS refuses
                  for good (AwsRefused: AccessDenied, a validation error) is not retried: FAILED at once, with
                  the code and what to fix.
    PROVISIONING  one DescribeWorkspaces for the batch's desks: AVAILABLE -> welcome e-mail, `WorkSpace Ready`,
                  READY (the address is erased); still pending -> the message comes back in 5 minutes;
                  not AVAILABLE after 2 hours, or ERROR -> FAILED + alert.
    anything else nothing to do (cancelled, already ready, leaving...).

A pass reads its desks with one BatchGetItem, publishes its events with one publish (10 a PutEvents) and writes
its audit entries with one BatchWriteItem; only the conditional desk writes go one by one (they cannot be batched).

Exactly once: the lease is a conditional write, so of two concurrent passes only one calls AWS; a pass that
died after CreateWorkspaces leaves the lease, which expires before SQS redelivers the message, and the retry
finds the desk with DescribeWorkspaces instead of creating a second one. Only such retries pay a lookup per
hire; a first attempt costs no DescribeWorkspaces by user (docs/performance.md).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from autopilot.contracts.outputs import DomainEvent, ProvisioningFailed, WorkSpaceReady
from autopilot.contracts.timers import TimerFired
from autopilot.domain.hr.plan import BACKOFF_BASE, ProvisionWork, backoff_seconds, create_attempted, desk_spec
from autopilot.domain.hr.ports import (
    DeskOwners,
    DeskRecords,
    RegistrationCodes,
    ResourceTags,
    WelcomeMailer,
    WorkSpacesFleet,
)
from autopilot.domain.hr.schedule import site_timezone, start_deadline, timer_name
from autopilot.domain.hr.welcome import WelcomeNotSent, build_welcome
from autopilot.domain.kernel.batch import BatchResult
from autopilot.domain.kernel.desks import Desk, Lifecycle, is_unnamed_adoption
from autopilot.domain.kernel.errors import AwsRefused, StaleUpdate
from autopilot.domain.kernel.outbox import AuditEntry, DomainEventPublisher
from autopilot.domain.kernel.policy import Policy
from autopilot.domain.kernel.timers import ProvisioningRequeue
from autopilot.domain.kernel.workspace import ItemFailure, WorkspaceInfo

LEASE = dt.timedelta(minutes=5)  # shorter than the queue's visibility timeout (6 minutes)
FIRST_CHECK_DELAY = 900  # a new WorkSpace takes about 20 minutes: look first after 15 (SQS's longest delay)
CHECK_DELAY = 300
READY_TIMEOUT = dt.timedelta(hours=2)
MISSING_USER_RETRY = dt.timedelta(hours=1)  # AD sync lag: look again every hour until the end of the start date
HOP_TOLERANCE = dt.timedelta(seconds=30)
MAX_DELAY = 900  # SQS's longest DelaySeconds: a longer wait is several hops that call nothing
MISSING_USER = "ResourceNotFound.User"
ALREADY_EXISTS = "ResourceExists.WorkSpace"
# States a new desk reaches only after it was AVAILABLE (an AutoStop desk nobody logs in to stops).
READY_STATES = frozenset({"AVAILABLE", "STOPPING", "STOPPED", "STARTING"})
BROKEN_STATES = frozenset({"ERROR", "TERMINATING", "TERMINATED", "SUSPENDED"})
DRY_RUN_MARK = "DryRun"  # last_error of a hire whose CreateWorkspaces a dry run reported


@dataclass(frozen=True)
class ProvisionPorts:
    desks: DeskRecords
    fleet: WorkSpacesFleet
    bus: DomainEventPublisher
    requeue: ProvisioningRequeue
    mailer: WelcomeMailer
    codes: RegistrationCodes
    tags: ResourceTags  # an existing desk is managed when it carries the ManagedBy tag
    owners: DeskOwners  # fleet_watch's memory of who owns a desk, corrected when a hire takes an adopted desk over
    # What the adapters raise when a whole call failed in a way worth retrying (throttling after botocore's
    # retries, 5xx, a timeout): the messages concerned are reported failed and SQS redelivers them. A refusal
    # for good (AwsRefused) is never retried: the desks concerned are FAILED and on-call is told once.
    transient: tuple[type[Exception], ...] = ()


class _Pass:
    """One batch: collects requeues per delay and the batch result while desks move on."""

    def __init__(self, policy: Policy, ports: ProvisionPorts, now: dt.datetime) -> None:
        self.policy = policy
        self.ports = ports
        self.now = now
        self.result = BatchResult()
        self.requeues: dict[int, list[tuple[str, TimerFired]]] = defaultdict(list)
        self.audit: list[AuditEntry] = []  # written together at the end of the pass (BatchWriteItem)
        self.ready: list[tuple[str, Desk, WorkspaceInfo, str]] = []  # published together, then saved READY
        self.events: list[DomainEvent] = []  # published with the WorkSpace Ready events
        self.owners: list[tuple[str, str, str]] = []  # (workspace, unnamed record, hire) merged in this pass

    # --- entry ----------------------------------------------------------------------------------------
    def run(self, work: Sequence[ProvisionWork]) -> BatchResult:
        primary: dict[str, str] = {}
        timers: dict[str, TimerFired] = {}
        for item in work:
            timer = item.timer
            if timer is None or timer.kind != "provision" or timer.employee_id is None:
                self.result.failed.append(item.message_id)  # bad input: redelivered, then the DLQ alarm
                self.result.decide("-", "invalid_message", message_id=item.message_id, error=item.error or "")
                continue
            if timer.employee_id in primary:
                self.result.decide(timer.employee_id, "duplicate_message", message_id=item.message_id)
                continue
            primary[timer.employee_id] = item.message_id
            timers[timer.employee_id] = timer
        try:
            desks = self.ports.desks.get_many(list(primary))
        except self.ports.transient:
            self.result.failed += list(primary.values())
            return self.result
        creates: list[tuple[str, Desk, bool]] = []
        checks: list[tuple[str, Desk]] = []
        claimed: set[tuple[str, str]] = set()
        for employee_id, message_id in primary.items():
            desk = desks.get(employee_id)
            if desk is None:
                self.result.decide(employee_id, "no_desk")
            elif desk.lifecycle is Lifecycle.SCHEDULED and timers[employee_id].due - self.now > HOP_TOLERANCE:
                # A wait longer than SQS allows: one more hop, no AWS call.
                wait = timers[employee_id].due - self.now
                self.requeues[min(MAX_DELAY, int(wait.total_seconds()))].append((message_id, timers[employee_id]))
                self.result.decide(employee_id, "not_yet", due=timers[employee_id].due.isoformat())
            elif desk.lifecycle is Lifecycle.SCHEDULED:
                user = (desk.directory_id, desk.username.lower())
                if user in claimed:  # two hires with one user name: one at a time
                    self._requeue(message_id, desk, BACKOFF_BASE, "retry")
                    continue
                leased = self._lease(message_id, desk)
                if leased is not None:
                    claimed.add(user)
                    creates.append((message_id, leased, create_attempted(desk)))
            elif desk.lifecycle is Lifecycle.PROVISIONING and desk.workspace_id is not None:
                checks.append((message_id, desk))
            else:
                self.result.decide(employee_id, "nothing_to_do", lifecycle=desk.lifecycle.value)
        followed = self._reconcile_and_create(creates)
        self._follow(checks, followed)
        self._publish_ready()
        self.ports.desks.record_events(self.audit)
        for workspace_id, previous, employee_id in self.owners:
            self.ports.owners.reassign(workspace_id, previous=previous, employee_id=employee_id)
        self._flush_requeues()
        return self.result

    # --- SCHEDULED ------------------------------------------------------------------------------------
    def _lease(self, message_id: str, desk: Desk) -> Desk | None:
        started = desk.provisioning_started_at
        if started is not None and self.now - started < LEASE:
            # Another pass holds the lease; its own message is redelivered if it dies.
            self.result.decide(desk.employee_id, "in_flight_elsewhere")
            return None
        if self.policy.dry_run:
            # Nothing is created: the desk is only looked up (read-only), so an existing desk is still recorded.
            return desk
        try:
            # origin "created" from now on: if we die after CreateWorkspaces, the desk found later is ours.
            return self.ports.desks.save(
                desk.with_changes(at=self.now, provisioning_started_at=self.now, origin="created")
            )
        except StaleUpdate:
            # Someone changed the desk since it was read: redeliver and decide again from a fresh read, so a
            # concurrent writer that was not a provisioning pass cannot leave the desk SCHEDULED for ever.
            self.result.decide(desk.employee_id, "lost_race")
            self.result.failed.append(message_id)
            return None

    def _reconcile_and_create(self, creates: list[tuple[str, Desk, bool]]) -> list[tuple[str, Desk, WorkspaceInfo]]:
        followed: list[tuple[str, Desk, WorkspaceInfo]] = []
        to_create: list[tuple[str, Desk]] = []
        existing: list[tuple[str, Desk, WorkspaceInfo]] = []
        ours: dict[str, bool] = {}
        for message_id, desk, attempted in creates:
            ours[desk.employee_id] = attempted
            if not attempted and not self.policy.dry_run:
                to_create.append((message_id, desk))  # first attempt: nothing of ours can exist yet
                continue
            try:
                found = self.ports.fleet.find(desk.directory_id, desk.username)
            except self.ports.transient:
                self.result.failed.append(message_id)
                continue
            except AwsRefused as refused:
                self._refused(message_id, desk, refused)
                continue
            if found is None:
                if self.policy.dry_run:
                    self._dry_run_create(message_id, desk)
                else:
                    to_create.append((message_id, desk))
                continue
            if attempted:
                adopted = self._adopt(message_id, desk, found, origin="created")
                if adopted is not None:
                    followed.append((message_id, adopted, found))
            else:
                existing.append((message_id, desk, found))
        followed += self._take_over_existing(existing)
        if not to_create:
            return followed
        try:
            outcome = self.ports.fleet.create([desk_spec(desk, self.policy) for _, desk in to_create])
        except self.ports.transient:
            # Throttled past botocore's retries (or the service failed): SQS redelivers these messages.
            self.result.failed += [message_id for message_id, _ in to_create]
            for _, desk in to_create:
                self.result.decide(desk.employee_id, "create_call_failed")
            return followed
        except AwsRefused as refused:
            for message_id, desk in to_create:
                self._refused(message_id, desk, refused)
            return followed
        failures: dict[str, ItemFailure] = {failure.key: failure for failure in outcome.failed}
        for message_id, desk in to_create:
            workspace_id = outcome.created.get(desk.employee_id)
            if workspace_id is not None:
                self._created(message_id, desk, workspace_id)
            elif desk.employee_id in failures:
                refreshed = self._create_failed(
                    message_id, desk, failures[desk.employee_id], ours=ours[desk.employee_id]
                )
                if refreshed is not None:
                    followed.append(refreshed)
            else:
                self.result.failed.append(message_id)
        return followed

    def _take_over_existing(
        self, existing: list[tuple[str, Desk, WorkspaceInfo]]
    ) -> list[tuple[str, Desk, WorkspaceInfo]]:
        """Hires whose user already has a desk the automation did not create (a fleet being moved in): the hire's
        record takes the desk over, as it is. The desk is managed (origin `adopted`) when it carries the policy's
        ManagedBy tag or fleet_watch adopted it already; else it is only recorded (origin `found`, never stopped or
        terminated). A record fleet_watch made for the desk before HR named its user (employee id = workspace id)
        is replaced by the hire's: one record per WorkSpace, whatever came first."""
        if not existing:
            return []
        try:
            tags = self.ports.tags.tags_of([found.workspace_id for _, _, found in existing])
        except self.ports.transient:
            self.result.failed += [message_id for message_id, _, _ in existing]
            return []
        except AwsRefused as refused:
            for message_id, desk, _ in existing:
                self._refused(message_id, desk, refused)
            return []
        key, value = self.policy.managed_tag
        followed: list[tuple[str, Desk, WorkspaceInfo]] = []
        for message_id, desk, found in existing:
            holder = self.ports.desks.by_workspace(found.workspace_id)
            if holder is not None and holder.employee_id != desk.employee_id:
                if not is_unnamed_adoption(holder):
                    self._fail(
                        message_id,
                        desk,
                        "WorkSpaceOfAnotherEmployee",
                        f"the user's WorkSpace {found.workspace_id} is recorded for employee {holder.employee_id}",
                    )
                    continue
                try:
                    self.ports.desks.delete(holder)  # first: a crash after it leaves the hire SCHEDULED, redone
                except StaleUpdate:
                    self.result.failed.append(message_id)
                    continue
                self._audit(desk, "merged", {"workspace_id": found.workspace_id, "replaces": holder.employee_id})
                self.owners.append((found.workspace_id, holder.employee_id, desk.employee_id))
            managed = tags.get(found.workspace_id, {}).get(key) == value or (
                holder is not None and holder.origin == "adopted"
            )
            adopted = self._adopt(message_id, desk, found, origin="adopted" if managed else "found")
            if adopted is not None:
                followed.append((message_id, adopted, found))
        return followed

    def _dry_run_create(self, message_id: str, desk: Desk) -> None:
        """Dry run: CreateWorkspaces is reported, not called, and asked again later, so that switching dry run off
        creates exactly the desks the dry run reported (and nothing is lost while it lasts)."""
        spec = desk_spec(desk, self.policy)
        if desk.last_error != DRY_RUN_MARK:  # reported once, not at every look
            self._audit(
                desk,
                "dry_run",
                {"action": "CreateWorkspaces", "directory_id": spec.directory_id, "bundle_id": spec.bundle_id},
            )
            try:
                self.ports.desks.save(desk.with_changes(at=self.now, last_error=DRY_RUN_MARK))
            except StaleUpdate:
                self.result.failed.append(message_id)
                return
        self.result.decide(desk.employee_id, "dry_run_create", bundle_id=spec.bundle_id)
        self._requeue(message_id, desk, MAX_DELAY, "retry")

    def _adopt(self, message_id: str, desk: Desk, found: WorkspaceInfo, *, origin: str) -> Desk | None:
        changes: dict[str, Any] = {"workspace_id": found.workspace_id, "origin": origin}
        if origin != "created":
            # Recorded as it is: adoption changes nothing on the desk.
            minutes = found.autostop_minutes if found.running_mode == "AUTO_STOP" else None
            changes |= {
                "bundle_id": found.bundle_id or desk.bundle_id,
                "running_mode": found.running_mode,
                "compute": found.compute,
                "autostop_hours": max(1, minutes // 60) if minutes else None,
                "provisioning_started_at": None,
                "email": None,  # no welcome e-mail for a desk the user already has
            }
        try:
            adopted = self.ports.desks.save(desk.moved_to(Lifecycle.PROVISIONING, at=self.now, **changes))
        except StaleUpdate:
            self.result.failed.append(message_id)
            return None
        self._audit(desk, "adopted", {"workspace_id": found.workspace_id, "origin": origin, "state": found.state})
        self.result.decide(desk.employee_id, "adopted", workspace_id=found.workspace_id, origin=origin)
        return adopted

    def _created(self, message_id: str, desk: Desk, workspace_id: str) -> None:
        try:
            desk = self.ports.desks.save(
                desk.moved_to(
                    Lifecycle.PROVISIONING,
                    at=self.now,
                    workspace_id=workspace_id,
                    provisioning_started_at=self.now,
                    last_error=None,
                )
            )
        except StaleUpdate:
            # Changed meanwhile (a departure?): the retry reads it again and adopts the desk if still wanted.
            self.result.failed.append(message_id)
            return
        self._audit(desk, "create_requested", {"workspace_id": workspace_id, "bundle_id": desk.bundle_id})
        self.result.decide(desk.employee_id, "created", workspace_id=workspace_id)
        self._requeue(message_id, desk, FIRST_CHECK_DELAY, "ready")

    def _create_failed(
        self, message_id: str, desk: Desk, failure: ItemFailure, *, ours: bool
    ) -> tuple[str, Desk, WorkspaceInfo] | None:
        code = failure.code  # never the message: AWS puts the user name in it
        if code == ALREADY_EXISTS:
            # The user already has a desk: made before us (a first attempt does not look first), or between our
            # DescribeWorkspaces and CreateWorkspaces. Adopt it rather than fail; it is ours only if a create
            # of ours may have made it.
            try:
                found = self.ports.fleet.find(desk.directory_id, desk.username)
            except self.ports.transient:
                found = None
            except AwsRefused as refused:
                self._refused(message_id, desk, refused)
                return None
            if found is None:
                self.result.failed.append(message_id)
                return None
            if not ours:
                taken = self._take_over_existing([(message_id, desk, found)])
                return taken[0] if taken else None
            adopted = self._adopt(message_id, desk, found, origin="created")
            return (message_id, adopted, found) if adopted is not None else None
        if code == MISSING_USER:
            deadline = start_deadline(desk.start_date or self.now.date(), site_timezone(self.policy, desk.site))
            if self.now >= deadline:
                self._fail(
                    message_id, desk, code, "the user is still not in the directory at the end of the start date"
                )
                return None
            self._release(message_id, desk, attempts=desk.attempts, code=code)
            self.result.decide(desk.employee_id, "user_not_in_directory_yet")
            retry_at = min(self.now + MISSING_USER_RETRY, deadline)
            self._requeue(message_id, desk, int((retry_at - self.now).total_seconds()), "retry")
            return None
        attempts = desk.attempts + 1
        if attempts >= self.policy.onboarding.max_create_attempts:
            self._fail(message_id, desk, code, f"CreateWorkspaces failed {attempts} times", attempts=attempts)
            return None
        self._release(message_id, desk, attempts=attempts, code=code)
        self.result.decide(desk.employee_id, "create_failed_will_retry", error_code=code, attempts=attempts)
        self._requeue(message_id, desk, backoff_seconds(attempts), "retry")
        return None

    def _release(self, message_id: str, desk: Desk, *, attempts: int, code: str) -> None:
        try:
            self.ports.desks.save(
                desk.with_changes(at=self.now, provisioning_started_at=None, attempts=attempts, last_error=code)
            )
        except StaleUpdate:
            self.result.failed.append(message_id)

    # --- PROVISIONING ---------------------------------------------------------------------------------
    def _follow(self, checks: list[tuple[str, Desk]], followed: list[tuple[str, Desk, WorkspaceInfo]]) -> None:
        if checks:
            try:
                infos = {
                    info.workspace_id: info
                    for info in self.ports.fleet.describe([d.workspace_id or "" for _, d in checks])
                }
            except self.ports.transient:
                self.result.failed += [message_id for message_id, _ in checks]
                infos = None
            except AwsRefused as refused:
                for message_id, desk in checks:
                    self._refused(message_id, desk, refused)
                infos = None
            if infos is not None:
                for message_id, desk in checks:
                    self._check(message_id, desk, infos.get(desk.workspace_id or ""))
        for message_id, desk, info in followed:
            self._check(message_id, desk, info)

    def _check(self, message_id: str, desk: Desk, info: WorkspaceInfo | None) -> None:
        if info is not None and (info.state in READY_STATES or desk.origin != "created"):
            # A desk taken over as it is is ready whatever its state: its health is remediation's business.
            self._ready(message_id, desk, info)
            return
        if info is not None and info.state in BROKEN_STATES:
            self._fail(message_id, desk, f"WorkspaceState.{info.state}", f"the new WorkSpace went {info.state}")
            return
        started = desk.provisioning_started_at or desk.updated_at
        if self.now - started >= READY_TIMEOUT:
            hours = int(READY_TIMEOUT.total_seconds() // 3600)
            self._fail(message_id, desk, "ReadinessTimeout", f"the new WorkSpace was not AVAILABLE after {hours} hours")
            return
        self.result.decide(desk.employee_id, "waiting", state=info.state if info is not None else "UNKNOWN")
        self._requeue(message_id, desk, CHECK_DELAY, "ready")

    def _ready(self, message_id: str, desk: Desk, info: WorkspaceInfo) -> None:
        """The welcome e-mail now; `WorkSpace Ready` and the READY write with the others of the pass."""
        onboarding = self.policy.onboarding
        welcome = "not_wanted" if desk.origin == "created" else "existing_desk"
        # Only a desk the automation created is announced: a desk the user already has (adopted, found) is not.
        if onboarding.welcome_email and desk.email and desk.origin == "created":
            try:
                code = self.ports.codes.registration_code(desk.directory_id)
                message = build_welcome(
                    desk, registration_code=code, client_download_url=onboarding.client_download_url
                )
                self.ports.mailer.send(message, sender=onboarding.sender)
                welcome = "sent"
            except (WelcomeNotSent, AwsRefused) as exc:
                # Refused for good (not a throttle): the desk is ready all the same; on-call sends it by hand.
                welcome = "refused"
                reason = (
                    f"the desk is READY but the welcome e-mail could not be sent ({exc.remedy}); send it by hand"
                    if isinstance(exc, AwsRefused)
                    else "the desk is READY but SES refused the welcome e-mail; send it by hand"
                )
                self.events.append(
                    ProvisioningFailed(
                        employee_id=desk.employee_id,
                        directory_id=desk.directory_id,
                        error_code=f"WelcomeEmail.{exc.code}",
                        reason=reason,
                        attempts=0,
                    )
                )
            except self.ports.transient:
                self.result.failed.append(message_id)  # redelivered: the desk is still PROVISIONING
                return
        self.ready.append((message_id, desk, info, welcome))

    def _publish_ready(self) -> None:
        """One publish for the pass's ready desks (10 a PutEvents), then each desk READY. Published first: a crash
        in between repeats `WorkSpace Ready` on redelivery, it never loses it."""
        ready_events = [
            WorkSpaceReady(
                workspace_id=info.workspace_id,
                employee_id=desk.employee_id,
                directory_id=desk.directory_id,
                ready_at=self.now,
                provisioning_seconds=self._lead_seconds(desk),
            )
            for _, desk, info, _ in self.ready
            if desk.origin == "created"  # a new desk; an existing one taken over is not news
        ]
        if ready_events or self.events:
            self.ports.bus.publish([*self.events, *ready_events])
        for message_id, desk, info, welcome in self.ready:
            try:
                self.ports.desks.save(
                    desk.moved_to(Lifecycle.READY, at=self.now, ready_at=self.now, email=None, last_error=None)
                )
            except StaleUpdate:
                self.result.failed.append(message_id)
                continue
            self._audit(desk, "ready", {"workspace_id": info.workspace_id, "welcome": welcome})
            if desk.origin != "created":
                self.result.decide(desk.employee_id, "taken_over", workspace_id=info.workspace_id, origin=desk.origin)
                continue
            self.result.decide(
                desk.employee_id,
                "ready",
                workspace_id=info.workspace_id,
                welcome=welcome,
                lead_seconds=self._lead_seconds(desk),
            )

    def _lead_seconds(self, desk: Desk) -> int:
        return max(0, int((self.now - (desk.provisioning_started_at or desk.created_at)).total_seconds()))

    # --- shared ---------------------------------------------------------------------------------------
    def _refused(self, message_id: str, desk: Desk, refused: AwsRefused) -> None:
        """AWS refused a call for good: FAILED once, with the code and what to fix; the message is not retried."""
        self.result.decide(desk.employee_id, "refused", aws_action=refused.action, error_code=refused.code)
        self._fail(message_id, desk, refused.code, refused.remedy)

    def _fail(self, message_id: str, desk: Desk, code: str, reason: str, *, attempts: int | None = None) -> None:
        tries = desk.attempts if attempts is None else attempts
        try:
            # The address goes too: a retry is a new Employee Hired, which brings it again.
            self.ports.desks.save(
                desk.moved_to(Lifecycle.FAILED, at=self.now, last_error=code, attempts=tries, email=None)
            )
        except StaleUpdate:
            self.result.failed.append(message_id)
            return
        self.ports.bus.publish(
            [
                ProvisioningFailed(
                    employee_id=desk.employee_id,
                    directory_id=desk.directory_id,
                    error_code=code,
                    reason=reason,
                    attempts=tries,
                )
            ]
        )
        self._audit(desk, "failed", {"error_code": code})
        self.result.decide(desk.employee_id, "failed", error_code=code)

    def _audit(self, desk: Desk, kind: str, detail: dict[str, Any]) -> None:
        self.audit.append(AuditEntry(desk.employee_id, self.now, kind, detail))

    def _requeue(self, message_id: str, desk: Desk, delay: int, prefix: str) -> None:
        """Back on the queue; the timer's `due` is when to act (later than SQS can delay: hops)."""
        timer = TimerFired(
            kind="provision",
            name=timer_name(prefix, desk.employee_id),
            due=self.now + dt.timedelta(seconds=delay),
            employee_id=desk.employee_id,
        )
        self.requeues[min(MAX_DELAY, delay)].append((message_id, timer))

    def _flush_requeues(self) -> None:
        for delay, entries in sorted(self.requeues.items()):
            try:
                self.ports.requeue.requeue([timer for _, timer in entries], delay_seconds=delay)
            except self.ports.transient:
                self.result.failed += [message_id for message_id, _ in entries]


def provision_batch(
    work: Sequence[ProvisionWork], *, policy: Policy, ports: ProvisionPorts, now: dt.datetime
) -> BatchResult:
    """Run one provisioning batch; the result says which messages SQS must redeliver."""
    return _Pass(policy, ports, now).run(work)
