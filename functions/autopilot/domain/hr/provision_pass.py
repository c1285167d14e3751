"""The state of one provisioning pass and what every step shares: failing a desk once with its reason,
requeueing a message with its delay, the audit trail written together at the end (docs/onboarding.md)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from autopilot.contracts.outputs import DomainEvent, ProvisioningFailed
from autopilot.contracts.timers import TimerFired
from autopilot.domain.hr.ports import ProvisionPorts
from autopilot.domain.hr.schedule import timer_name
from autopilot.domain.kernel.batch import BatchResult
from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.domain.kernel.errors import AwsRefused, StaleUpdate
from autopilot.domain.kernel.outbox import AuditEntry
from autopilot.domain.kernel.policy import Policy
from autopilot.domain.kernel.workspace import WorkspaceInfo

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


class PassBase:
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
