"""What a scenario meant for the people in it, read from the world it leaves: how long each login waited and in
what state the desk was, and what the automation did, one line per capability (the demo prints both)."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any

from localcloud.clock import parse_instant
from localcloud.world import LocalCloud

_LOGIN_STEP = re.compile(r"^login user=(\S+)")


def login_waits(timeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each `login` step: the desk's state at that moment, whether pre-warm had started it, and the seconds
    until the session existed (0: the desk was AVAILABLE; None: the login was refused or failed)."""
    state: dict[str, str] = {}  # workspace id -> state; seeded desks are AVAILABLE until a transition says more
    user_desk: dict[str, str] = {}
    prewarmed: set[str] = set()
    login_steps: set[tuple[str, str]] = set()  # (time, user) of login steps, to tell a login start from pre-warm
    for entry in timeline:
        if "workspace_id" in entry and "user" in entry:
            user_desk.setdefault(entry["user"], entry["workspace_id"])
    waits = []
    for index, entry in enumerate(timeline):
        kind = entry["kind"]
        if kind == "created":
            state[entry["workspace_id"]] = entry.get("state", "PENDING")
        elif kind == "transition":
            desk = entry["workspace_id"]
            state[desk] = entry["to"]
            if entry["to"] == "STARTING":
                user = next((u for u, d in user_desk.items() if d == desk), None)
                if (entry["time"], user) not in login_steps:
                    prewarmed.add(desk)
            elif entry["to"] in {"STOPPING", "STOPPED"}:
                prewarmed.discard(desk)
        elif kind == "step" and (match := _LOGIN_STEP.match(str(entry["step"]))):
            user = match.group(1)
            login_steps.add((entry["time"], user))
            desk = user_desk.get(user)
            if desk is None:
                continue
            before = state.get(desk, "AVAILABLE")
            waits.append(
                {
                    "time": entry["time"],
                    "user": user,
                    "workspace_id": desk,
                    "state_before": before,
                    "prewarmed": before == "AVAILABLE" and desk in prewarmed,
                    "waited_s": _waited(timeline[index + 1 :], desk, parse_instant(entry["time"])),
                }
            )
    return waits


def _waited(rest: list[dict[str, Any]], desk: str, asked: dt.datetime) -> int | None:
    for entry in rest:
        if entry.get("workspace_id") != desk:
            continue
        if entry["kind"] == "login":
            return int((parse_instant(entry["time"]) - asked).total_seconds())
        if entry["kind"] in {"login_refused", "login_failed"}:
            return None
    return None


def _results(cloud: LocalCloud, function: str) -> list[dict[str, Any]]:
    return [i.result for i in cloud.invocations if i.function == function and i.ok and isinstance(i.result, dict)]


def automation_summary(cloud: LocalCloud) -> list[str]:
    """One line per thing the automation did, ids only (no names or e-mail addresses)."""
    report_timeline = cloud.sorted_timeline()
    lines = []
    hr = Counter(str(result.get("action")) for result in _results(cloud, "HrEventsFunction"))
    if hr:
        lines.append("HR events: " + ", ".join(f"{action} {count}" for action, count in sorted(hr.items())))
    created = [entry for entry in report_timeline if entry["kind"] == "created"]
    if created:
        lines.append(
            f"provisioning: {len(created)} desk(s) created, {len(cloud.emails())} welcome e-mail(s) sent when ready"
        )
    started = sorted(
        {
            str(desk.get("workspace_id")) if isinstance(desk, dict) else str(desk)
            for result in _results(cloud, "PrewarmFunction")
            for desk in result.get("started", [])
        }
    )
    if started:
        lines.append(f"pre-warm: started {len(started)} desk(s) before the shift ({', '.join(started)})")
    threads: dict[str, list[str]] = {}
    for alert in cloud.alerts():
        threads.setdefault(str(alert.get("incident_id") or alert.get("kind")), []).append(str(alert["kind"]))
    for thread, kinds in threads.items():
        lines.append(f"on-call thread {thread}: {' → '.join(kinds)}")
    reboots = cloud.api_calls.get("workspaces:RebootWorkspaces", 0)
    if reboots:
        lines.append(f"runbook: {reboots} reboot(s)")
    stops = [e for e in report_timeline if e["kind"] == "transition" and e["to"] == "STOPPING"]
    if stops:
        lines.append(f"stopped: {len(stops)} desk(s) (AutoStop after the idle timeout, or a leaver's stop timer)")
    lifecycle = [i for i in cloud.invocations if i.function == "LifecycleFunction"]
    if lifecycle:
        lines.append(f"lifecycle: {len(lifecycle)} timer batch(es) run (a leaver's desk stopped, kept for retention)")
    for result in _results(cloud, "OptimizerFunction"):
        lines.append(
            f"optimiser: {result.get('desks', 0)} desk(s) looked at, {result.get('to_always_on', 0)} to ALWAYS_ON, "
            f"{result.get('to_auto_stop', 0)} to AUTO_STOP, estimated saving "
            f"{float(result.get('estimated_monthly_saving') or 0):.2f}/month"
            + (" (dry run: nothing changed)" if result.get("dry_run") else "")
        )
    return lines
