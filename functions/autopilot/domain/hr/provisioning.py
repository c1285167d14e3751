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
from collections.abc import Mapping, Sequence
from typing import Any

from autopilot.contracts.timers import TimerFired
from autopilot.domain.hr.plan import (
    BACKOFF_BASE,
    ProvisionWork,
    backoff_seconds,
    create_attempted,
    desk_spec,
)
from autopilot.domain.hr.ports import ProvisionPorts
from autopilot.domain.hr.provision_pass import (
    ALREADY_EXISTS,
    DRY_RUN_MARK,
    FIRST_CHECK_DELAY,
    HOP_TOLERANCE,
    LEASE,
    MAX_DELAY,
    MISSING_USER,
    MISSING_USER_RETRY,
)
from autopilot.domain.hr.readiness import Following
from autopilot.domain.hr.schedule import site_timezone, start_deadline
from autopilot.domain.kernel.batch import BatchResult
from autopilot.domain.kernel.desks import Desk, Lifecycle, is_unnamed_adoption
from autopilot.domain.kernel.errors import AwsRefused, StaleUpdate
from autopilot.domain.kernel.policy import Policy
from autopilot.domain.kernel.workspace import EMPLOYEE_TAG, ItemFailure, WorkspaceInfo


class _Pass(Following):
    """One batch: collects requeues per delay and the batch result while desks move on."""

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
        maybe_ours: list[tuple[str, Desk, WorkspaceInfo]] = []
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
            (maybe_ours if attempted else existing).append((message_id, desk, found))
        followed += self._take_over(maybe_ours, existing)
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

    def _take_over(
        self, maybe_ours: list[tuple[str, Desk, WorkspaceInfo]], existing: list[tuple[str, Desk, WorkspaceInfo]]
    ) -> list[tuple[str, Desk, WorkspaceInfo]]:
        """The desks found for hires: `maybe_ours` after a create of ours was attempted, `existing` before any.
        A desk found after an attempt is ours only if it carries the hire's AutopilotEmployeeId tag (our
        CreateWorkspaces sets it in the same request): the attempt may have failed before any desk was made
        (throttled past the SDK's retries, or the pass died after its lease), and the user's desk be one they had
        all along, to be taken over as it is and not announced (found by hostile mode, docs/local-cloud.md)."""
        candidates = maybe_ours + existing
        if not candidates:
            return []
        try:
            tags = self.ports.tags.tags_of([found.workspace_id for _, _, found in candidates])
        except self.ports.transient:
            self.result.failed += [message_id for message_id, _, _ in candidates]
            return []
        except AwsRefused as refused:
            for message_id, desk, _ in candidates:
                self._refused(message_id, desk, refused)
            return []
        followed: list[tuple[str, Desk, WorkspaceInfo]] = []
        not_ours = list(existing)
        for message_id, desk, found in maybe_ours:
            if tags.get(found.workspace_id, {}).get(EMPLOYEE_TAG) != desk.employee_id:
                not_ours.append((message_id, desk, found))
                continue
            adopted = self._adopt(message_id, desk, found, origin="created")
            if adopted is not None:
                followed.append((message_id, adopted, found))
        return followed + self._take_over_existing(not_ours, tags)

    def _take_over_existing(
        self, existing: list[tuple[str, Desk, WorkspaceInfo]], tags: Mapping[str, Mapping[str, str]]
    ) -> list[tuple[str, Desk, WorkspaceInfo]]:
        """Hires whose user already has a desk the automation did not create (a fleet being moved in): the hire's
        record takes the desk over, as it is. The desk is managed (origin `adopted`) when it carries the policy's
        ManagedBy tag or fleet_watch adopted it already; else it is only recorded (origin `found`, never stopped or
        terminated). A record fleet_watch made for the desk before HR named its user (employee id = workspace id)
        is replaced by the hire's: one record per WorkSpace, whatever came first."""
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
            candidate = [(message_id, desk, found)]
            taken = self._take_over(candidate, []) if ours else self._take_over([], candidate)
            return taken[0] if taken else None
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


def provision_batch(
    work: Sequence[ProvisionWork], *, policy: Policy, ports: ProvisionPorts, now: dt.datetime
) -> BatchResult:
    """Run one provisioning batch; the result says which messages SQS must redeliver."""
    return _Pass(policy, ports, now).run(work)
