"""What must stay true of a scenario when the local cloud turns hostile (issue 18 point 5).

A hostile run of a scenario is compared with its calm run (the same scenario, same tail): duplicated, reordered
and delayed deliveries and throttled WorkSpaces calls may change when things happen and how many calls are
made, never what the automation achieves:

- no lost hire: every user who has a desk in the calm run has one in the hostile run;
- no second desk for a user: a user never has more live desks than one (or than the calm run has, a transfer);
- one open incident per desk: a desk never has two incidents open at once, nor more incidents than calm;
- no remediation in a systemic outage, nothing acted on in a dry run: a WorkSpaces action the calm run never
  called (reboot, rebuild, stop, terminate...) is not called in the hostile run either;
- every pre-warmed desk AVAILABLE when its shift starts: a login that found its desk AVAILABLE in the calm run
  finds it AVAILABLE in the hostile run;
- nothing sent twice: no person gets more e-mails than in the calm run; no letter in a dead-letter queue the
  calm run leaves empty.

`problems(calm, hostile)` lists each broken invariant in one line; an empty list means the run holds.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from localcloud.story import login_waits

# WorkSpaces calls that change a desk (the automation "acting").
ACTIONS = (
    "CreateWorkspaces",
    "TerminateWorkspaces",
    "RebootWorkspaces",
    "RebuildWorkspaces",
    "RestoreWorkspace",
    "MigrateWorkspace",
    "ModifyWorkspaceProperties",
    "ModifyWorkspaceState",
    "StartWorkspaces",
    "StopWorkspaces",
)
_GONE = {"TERMINATING", "TERMINATED"}


def live_desks(report: dict[str, Any]) -> Counter[str]:
    """Live desks per user (user names are case-insensitive in WorkSpaces)."""
    return Counter(desk["user"].lower() for desk in report["workspaces"] if desk["state"] not in _GONE)


def incidents_per_desk(report: dict[str, Any]) -> Counter[str]:
    ids: dict[str, set[str]] = {}
    for alert in report["alerts"]:
        if alert.get("incident_id") and alert.get("workspace_id"):
            ids.setdefault(alert["workspace_id"], set()).add(alert["incident_id"])
    users = {desk["workspace_id"]: desk["user"].lower() for desk in report["workspaces"]}
    return Counter({users.get(desk, desk): len(found) for desk, found in ids.items()})


def overlapping_incidents(report: dict[str, Any]) -> list[str]:
    """Desks that had a second incident opened while another was still open (timeline order)."""
    open_by_desk: dict[str, set[str]] = {}
    closed: set[str] = set()
    found = []
    for entry in report["timeline"]:
        if entry["kind"] != "alert" or not entry.get("incident_id") or not entry.get("workspace_id"):
            continue
        desk, incident = entry["workspace_id"], entry["incident_id"]
        if entry.get("alert_kind") == "incident_resolved":
            closed.add(incident)
            open_by_desk.get(desk, set()).discard(incident)
            continue
        if incident in closed:
            continue
        still_open = open_by_desk.setdefault(desk, set())
        if still_open and incident not in still_open:
            found.append(f"{desk}: {sorted(still_open)} open when {incident} opened")
        still_open.add(incident)
    return found


def problems(calm: dict[str, Any], hostile: dict[str, Any]) -> list[str]:
    found: list[str] = []
    calm_desks, hostile_desks = live_desks(calm), live_desks(hostile)
    lost = sorted(user for user in calm_desks if hostile_desks[user] == 0)
    if lost:
        found.append(f"lost hire: no desk for {lost}")
    doubled = sorted(user for user, count in hostile_desks.items() if count > max(1, calm_desks[user]))
    if doubled:
        found.append(f"second desk for {doubled}")
    calm_incidents, hostile_incidents = incidents_per_desk(calm), incidents_per_desk(hostile)
    more = sorted(desk for desk, count in hostile_incidents.items() if count > calm_incidents[desk])
    if more:
        found.append(f"more incidents than the calm run for {more}")
    found += [f"two open incidents on {line}" for line in overlapping_incidents(hostile)]
    for action in ACTIONS:
        name = f"workspaces:{action}"
        if calm["api_calls"].get(name, 0) == 0 and hostile["api_calls"].get(name, 0) > 0:
            found.append(f"{action} called {hostile['api_calls'][name]} time(s); the calm run never calls it")
    calm_waits = {(w["time"], w["user"]): w for w in login_waits(calm["timeline"])}
    for wait in login_waits(hostile["timeline"]):
        before = calm_waits.get((wait["time"], wait["user"]))
        if before is not None and before["waited_s"] == 0 and wait["waited_s"] != 0:
            found.append(f"{wait['user']} at {wait['time']}: desk {wait['state_before']}, AVAILABLE in the calm run")
    calm_mail = Counter(tuple(mail["to"]) for mail in calm["emails"])
    hostile_mail = Counter(tuple(mail["to"]) for mail in hostile["emails"])
    extra = sorted(", ".join(to) for to, count in hostile_mail.items() if count > calm_mail[to])
    if extra:
        found.append(f"more e-mails than the calm run to {extra}")
    # A queue the calm run also fills may get a copy twice (a rule target delivers at least once): only a
    # dead-letter queue the calm run leaves empty says something failed that should not have.
    calm_queues = {letter["queue"] for letter in calm["dead_letters"]}
    new_queues = sorted({letter["queue"] for letter in hostile["dead_letters"]} - calm_queues)
    if new_queues:
        found.append(f"dead letters in {new_queues}, which the calm run leaves empty")
    return found
