"""What a hire's desk is to be, pure: the CreateWorkspaces request a desk record and the policy make, whether a
create was already attempted, and the back-off between attempts. Read by provisioning and by the operator's plan."""

from __future__ import annotations

from dataclasses import dataclass

from autopilot.contracts.timers import TimerFired
from autopilot.domain.kernel.desks import Desk
from autopilot.domain.kernel.policy import Policy
from autopilot.domain.kernel.workspace import EMPLOYEE_TAG, PROFILE_TAG, DeskSpec

BACKOFF_BASE = 60
BACKOFF_MAX = 900
# A SCHEDULED desk with one of these origins has had a CreateWorkspaces attempted (the lease records "created"
# before the call) or had a WorkSpace before a failure: it is reconciled against AWS before any new create.
OUR_ORIGINS = frozenset({"created", "adopted"})


@dataclass(frozen=True)
class ProvisionWork:
    """One message of the provisioning queue (timer None when the body was not a valid TimerFired)."""

    message_id: str
    timer: TimerFired | None
    error: str | None = None


def create_attempted(desk: Desk) -> bool:
    """The desk record carries the create intent: a WorkSpace may exist for it, so look before creating."""
    return desk.origin in OUR_ORIGINS


def desk_spec(desk: Desk, policy: Policy) -> DeskSpec:
    """The CreateWorkspaces request of a desk: everything from the recorded policy decision."""
    return DeskSpec(
        key=desk.employee_id,
        directory_id=desk.directory_id,
        username=desk.username,
        bundle_id=desk.bundle_id,
        running_mode=desk.running_mode,
        autostop_minutes=(desk.autostop_hours or 1) * 60 if desk.running_mode == "AUTO_STOP" else None,
        compute=desk.compute,
        root_volume_gb=desk.root_volume_gb,
        user_volume_gb=desk.user_volume_gb,
        tags={**policy.tags, EMPLOYEE_TAG: desk.employee_id, PROFILE_TAG: desk.profile},
    )


def backoff_seconds(attempts: int) -> int:
    return int(min(BACKOFF_MAX, BACKOFF_BASE * 2 ** max(0, attempts - 1)))
