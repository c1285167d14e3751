"""The runbook's rules, pure: which action comes next for a desk (reboot, rebuild, restore), what the policy's
limits allow now, and why a desk's runbook is exhausted."""

from __future__ import annotations

import datetime as dt

from autopilot.domain.incidents.incidents import DeskActions, Incident
from autopilot.domain.incidents.ports import Action
from autopilot.domain.kernel.policy import Remediation

RUNBOOK: tuple[Action, ...] = ("reboot", "rebuild", "restore")


# The states each action accepts (RebootWorkspaces, RebuildWorkspaces, RestoreWorkspace API references), minus
# STOPPED: a stopped desk is started by its user's login (or pre-warm), never rebuilt by this runbook.
ACTION_FROM: dict[str, frozenset[str]] = {
    "reboot": frozenset({"AVAILABLE", "UNHEALTHY", "REBOOTING"}),
    "rebuild": frozenset({"AVAILABLE", "ERROR", "UNHEALTHY", "REBOOTING"}),
    "restore": frozenset({"AVAILABLE", "ERROR", "UNHEALTHY"}),
}


def next_action(
    incident: Incident, history: DeskActions, rules: Remediation, now: dt.datetime, state: str | None = None
) -> Action | None:
    """The first runbook action not yet tried in this incident that the guard-rails allow now (and, given the
    desk's state, that WorkSpaces accepts in that state)."""
    attempted = {s.action for s in incident.steps}
    for action in RUNBOOK:
        if action in attempted or _allowed(action, history, rules, now) is not None:
            continue
        if state is None or state in ACTION_FROM[action]:
            return action
    return None


def _allowed(action: Action, history: DeskActions, rules: Remediation, now: dt.datetime) -> str | None:
    """None when the guard-rails allow `action` now, else why not."""
    cooldown = now - dt.timedelta(hours=rules.cooldown_hours)
    if action == "reboot":
        done = history.count_since("reboot", now - dt.timedelta(days=1))
        return None if done < rules.max_reboots_per_day else f"{done} reboots in 24 h (max {rules.max_reboots_per_day})"
    if action == "rebuild" and not rules.rebuild:
        return "rebuild disabled by policy"
    if action == "restore" and not rules.restore:
        return "restore not opted in"
    if history.count_since(action, cooldown):
        return f"one {action} per {rules.cooldown_hours} h (cooldown)"
    return None


def exhausted_reason(incident: Incident, history: DeskActions, rules: Remediation, now: dt.datetime) -> str:
    parts = []
    attempted = {s.action: s for s in incident.steps if s.action != "none"}
    for action in RUNBOOK:
        if action in attempted:
            step = attempted[action]
            parts.append(f"{action} {step.outcome} at {step.at:%H:%M} UTC")
        else:
            parts.append(f"{action} not allowed ({_allowed(action, history, rules, now)})")
    return "runbook exhausted, the desk still fails: " + "; ".join(parts)


def _without(history: DeskActions, action: Action, at: dt.datetime) -> DeskActions:
    """`history` without the `action` recorded at `at` (the undo of `DeskActions.recorded`)."""
    moments: list[dt.datetime] = list(getattr(history, f"{action}s"))
    if at in moments:
        del moments[len(moments) - 1 - moments[::-1].index(at)]
    return history.model_copy(update={f"{action}s": moments})
