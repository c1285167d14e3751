"""What every handler's composition root shares: the policy (refused loudly when invalid) and its resolution."""

from __future__ import annotations

from typing import Any

from autopilot.adapters.bus import EventBus
from autopilot.adapters.policy_source import load_policy
from autopilot.adapters.workspaces import WorkSpaces
from autopilot.contracts.outputs import PolicyRejected
from autopilot.domain.kernel.errors import PolicyError
from autopilot.domain.kernel.policy import Policy
from autopilot.domain.kernel.resolution import Resolution, resolve
from autopilot.observability import logger

_resolutions: dict[int, tuple[Policy, Resolution]] = {}


def account_of(context: Any) -> str:
    """The account id, from the invoked function's ARN (no STS call)."""
    return str(context.invoked_function_arn.split(":")[4])


def current_policy(
    parameter_name: str, bus: EventBus, workspaces: WorkSpaces | None = None
) -> tuple[Policy, Resolution | None]:
    """The validated policy (and its AWS ids when `workspaces` is given).

    An invalid policy publishes `Policy Rejected` (on-call gets a `policy_error` alert) and raises, so nothing
    is acted on and the triggering event is retried or dead-lettered rather than lost."""
    try:
        policy = load_policy(parameter_name)
        if workspaces is None:
            return policy, None
        cached = _resolutions.get(id(policy))
        if cached is not None and cached[0] is policy:
            return policy, cached[1]
        resolution = resolve(policy, directories_by_name=workspaces.directories(), bundles_by_name=workspaces.bundles())
    except PolicyError as exc:
        logger.error("policy refused", extra={"parameter": parameter_name, "errors": exc.errors})
        bus.publish([PolicyRejected(parameter=parameter_name, errors=exc.errors)])
        raise
    _resolutions.clear()  # the policy object changes when Parameters' cache refreshes: keep one entry
    _resolutions[id(policy)] = (policy, resolution)
    return policy, resolution
