"""Moving an existing fleet in (issue 15, points 1 and 2), on the local cloud with a 300-desk call centre whose
desks carry the ManagedBy tag: adoption converges whatever comes first, roster or sweep (one record per
WorkSpace, linked to its employee, no message to anyone, a leaver stopped like any other), and the switch from
the dry-run week to live does exactly what the dry run reported.

What "the dry run reported" means: the `dry_run` entries of the desks' histories (`autopilot desks`, the desk
history; each names the WorkSpaces call it stood for: CreateWorkspaces, StopWorkspaces, TerminateWorkspaces),
which every function writes where it would have acted (provisioning, lifecycle, transfers)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest

from autopilot.adapters.desk_store import DeskStore
from autopilot.adapters.observation_store import ObservationStore
from autopilot.domain.kernel.desks import Desk, Lifecycle
from localcloud.scenario import open_world
from localcloud.world import LocalCloud
from tests.scenarios.conftest import SCENARIOS

EMPLOYEES = [f"E{n:05d}" for n in range(1, 301)]
# WorkSpaces calls that change a desk (the dry run's "nothing that changes a desk is called").
CHANGING = (
    "CreateWorkspaces",
    "StopWorkspaces",
    "StartWorkspaces",
    "TerminateWorkspaces",
    "RebootWorkspaces",
    "RebuildWorkspaces",
    "RestoreWorkspace",
    "ModifyWorkspaceProperties",
    "ModifyWorkspaceState",
    "MigrateWorkspace",
)
LIVE_KINDS = {"create_requested": "CreateWorkspaces", "stopped": "StopWorkspaces", "terminated": "TerminateWorkspaces"}


@contextmanager
def _world(name: str) -> Iterator[tuple[LocalCloud, dict[str, Any], DeskStore]]:
    with open_world(SCENARIOS / name) as cloud:
        table = boto3.resource("dynamodb", region_name=cloud.region).Table(cloud.physical("StateTable"))
        yield cloud, cloud.report(), DeskStore(table)


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _workspace_of(report: dict[str, Any]) -> dict[str, str]:
    return {desk["user"]: desk["workspace_id"] for desk in report["workspaces"]}


def _changing_calls(report: dict[str, Any]) -> dict[str, int]:
    calls = {op: report["api_calls"].get(f"workspaces:{op}", 0) for op in CHANGING}
    return {op: count for op, count in calls.items() if count}


@pytest.mark.parametrize("scenario", ["adoption_roster_first.yaml", "adoption_sweep_first.yaml"])
def test_a_tagged_fleet_is_adopted_once_linked_silently_and_a_leaver_is_stopped(scenario: str) -> None:
    with _world(scenario) as (cloud, report, store):
        desks: list[Desk] = sorted(store.all_desks(), key=lambda d: d.employee_id)
        observations = ObservationStore(boto3.resource("dynamodb", region_name=cloud.region), store._table.name)
        owners = observations.get_many([d.workspace_id or "" for d in desks])
    workspace_of = _workspace_of(report)

    # One record per WorkSpace, each the employee HR named (agent001 is E00001), all managed.
    assert [d.employee_id for d in desks] == EMPLOYEES
    assert [d.workspace_id for d in desks] == [workspace_of[f"agent{n:03d}"] for n in range(1, 301)]
    assert {d.origin for d in desks} == {"adopted"}
    assert {owners[d.workspace_id or ""].employee_id == d.employee_id for d in desks} == {True}
    # Nobody is told anything: the desks were theirs already.
    assert report["emails"] == []
    assert [a for a in report["alerts"] if "UnmanagedDesk" in a["message"]] == []
    # The leaver's desk is stopped on the last day, by the automation; nothing else is changed.
    leaver = desks[-1]
    assert leaver.lifecycle is Lifecycle.STOPPED
    assert {d.lifecycle for d in desks[:-1]} == {Lifecycle.READY}
    # A hire's first attempt creates without looking first (issue 14: no lookup per hire): CreateWorkspaces, one
    # call per 25 hires, answers ResourceExists.WorkSpace for a user who has a desk, and that desk is taken over.
    # No desk is made; the only desk-changing call that acts is the leaver's stop.
    assert [t for t in report["timeline"] if t["kind"] == "created"] == []
    assert len(report["workspaces"]) == 300
    assert report["api_calls"].get("workspaces:CreateWorkspaces", 0) == 12
    assert {op: n for op, n in _changing_calls(report).items() if op != "CreateWorkspaces"} == {"StopWorkspaces": 1}
    stopped = [t for t in report["timeline"] if t["kind"] == "transition" and t["to"] == "STOPPING"]
    assert workspace_of["agent300"] in {t["workspace_id"] for t in stopped}
    assert [i for i in report["invocations"] if not i["ok"]] == []
    assert report["dead_letters"] == []


def test_switching_the_dry_run_week_to_live_does_exactly_what_the_dry_run_reported() -> None:
    with _world("adoption_dry_run_week.yaml") as (_, report, store):
        employees = [*EMPLOYEES, "E00301", "E00302"]
        histories = {employee: store.history(employee) for employee in employees}
        desks = {d.employee_id: d for d in store.all_desks()}
    (switch,) = [_at(t["time"]) for t in report["timeline"] if t["kind"] == "policy"]

    reported = {
        (employee, entry["detail"]["action"])
        for employee, history in histories.items()
        for entry in history
        if entry["kind"] == "dry_run" and _at(entry["at"]) < switch
    }
    done_live = {
        (employee, LIVE_KINDS[entry["kind"]])
        for employee, history in histories.items()
        for entry in history
        if entry["kind"] in LIVE_KINDS and _at(entry["at"]) >= switch
    }
    # The dry run: every desk recorded and linked, two creates and one stop reported, nothing called.
    assert reported == {("E00301", "CreateWorkspaces"), ("E00302", "CreateWorkspaces"), ("E00300", "StopWorkspaces")}
    assert {desks[e].origin for e in EMPLOYEES} == {"adopted"}
    assert {desks[e].workspace_id for e in EMPLOYEES} == {
        ws for user, ws in _workspace_of(report).items() if user.startswith("agent")
    }
    created = [t for t in report["timeline"] if t["kind"] == "created"]
    assert {_at(t["time"]) >= switch for t in created} == {True}
    # Live: exactly what was reported, nothing more.
    assert done_live == reported
    assert sorted(t["user"] for t in created) == ["newhire301", "newhire302"]
    assert _changing_calls(report) == {"CreateWorkspaces": 1, "StopWorkspaces": 1}
    assert sorted(to for e in report["emails"] for to in e["to"]) == [
        "newhire301@example.com",
        "newhire302@example.com",
    ]
    assert {_at(t["time"]) >= switch for t in report["timeline"] if t["kind"] == "email"} == {True}
    assert desks["E00300"].lifecycle is Lifecycle.STOPPED
    assert [i for i in report["invocations"] if not i["ok"]] == []
