"""Following created desks to READY: one describe for the pass, the welcome e-mail for a desk the automation
created, then one publish of `WorkSpace Ready` for the pass before each desk is saved READY."""

from __future__ import annotations

from autopilot.contracts.outputs import ProvisioningFailed, WorkSpaceReady
from autopilot.domain.hr.provision_pass import BROKEN_STATES, CHECK_DELAY, READY_STATES, READY_TIMEOUT, PassBase
from autopilot.domain.hr.welcome import WelcomeNotSent, build_welcome
from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot.domain.kernel.errors import AwsRefused, StaleUpdate
from autopilot.domain.kernel.workspace import WorkspaceInfo


class Following(PassBase):
    """The part of a pass that follows desks to READY."""

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
