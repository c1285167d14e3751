"""Fleet watch and AutoStop end to end on the local cloud (issue 5's done-when): pre-warmed shifts, weekends,
holidays and daylight saving, stuck starts, per-desk AutoStop tags, adoption of an existing fleet, a desk
deleted outside the automation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import aws_xray_sdk.core  # noqa: F401  # its recorder opens a UDP socket at import: do it before sockets are blocked
import boto3

from autopilot.adapters.desk_store import DeskStore
from localcloud.scenario import run_scenario
from localcloud.world import LocalCloud

ROOT = Path(__file__).resolve().parents[2]
MINE = ("FleetWatchFunction", "PrewarmFunction", "ReportFunction")


def _scenario(name: str) -> dict[str, Any]:
    return run_scenario(ROOT / "scenarios" / name)


def _transitions(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in report["timeline"] if t.get("kind") == "transition"]


def _starts(report: dict[str, Any]) -> list[str]:
    """When desks went STOPPED -> STARTING (to the minute, UTC)."""
    return [t["time"][:16] for t in _transitions(report) if (t["from"], t["to"]) == ("STOPPED", "STARTING")]


def _my_functions_ok(invocations: list[dict[str, Any]]) -> None:
    failed = [i for i in invocations if i["function"] in MINE and not i["ok"]]
    assert failed == []


def test_a_call_centre_agents_desk_stops_at_night_and_is_available_before_the_next_shift() -> None:
    report = _scenario("fleet_prewarm_shift.yaml")
    assert report["clock"] == "2026-12-01T06:50:00Z"  # Tuesday, 10 minutes before 08:00 in Paris
    (desk,) = report["workspaces"]
    assert desk["state"] == "AVAILABLE"
    assert desk["running_mode"] == "AUTO_STOP"
    night = [(t["from"], t["to"]) for t in _transitions(report) if "2026-11-30T15:00" <= t["time"] < "2026-12-01T06:40"]
    assert night == [("AVAILABLE", "STOPPING"), ("STOPPING", "STOPPED")]
    assert "2026-12-01T06:40" in _starts(report)
    _my_functions_ok(report["invocations"])


def test_no_start_on_saturday_sunday_or_a_policy_holiday() -> None:
    report = _scenario("fleet_weekend_holiday.yaml")
    # Friday 4, Monday 7, Wednesday 9 December; not Saturday 5, Sunday 6 or the holiday on Tuesday 8.
    assert _starts(report) == ["2026-12-04T06:40", "2026-12-07T06:40", "2026-12-09T06:40"]
    _my_functions_ok(report["invocations"])


def test_the_right_local_time_across_a_daylight_saving_change() -> None:
    report = _scenario("fleet_dst.yaml")
    # 08:00 Paris is 07:00 UTC before 29 March 2026 and 06:00 UTC after: started 20 minutes before each.
    assert _starts(report) == ["2026-03-27T06:40", "2026-03-30T05:40", "2026-03-31T05:40"]
    _my_functions_ok(report["invocations"])


def test_stuck_starts_are_rebuilt_and_reported() -> None:
    report = _scenario("fleet_stuck_start.yaml")
    by_user = {desk["user"]: desk for desk in report["workspaces"]}
    failed_desk = by_user["ccagent4"]["workspace_id"]
    stuck_desk = by_user["ccagent5"]["workspace_id"]
    # ERROR after the start: rebuilt (remediation saw it first), reported, AVAILABLE before the shift.
    assert by_user["ccagent4"]["state"] == "AVAILABLE"
    assert any(
        (t["workspace_id"], t["from"], t["to"]) == (failed_desk, "ERROR", "REBUILDING") for t in _transitions(report)
    )
    steps = [a for a in report["alerts"] if a["kind"] == "remediation_step" and a["workspace_id"] == failed_desk]
    assert steps
    # Stuck STARTING: pre-warm's rebuild is refused by WorkSpaces, so on-call gets the step and an escalation.
    incident = f"inc-start-{stuck_desk}-20261201"
    kinds = sorted(a["kind"] for a in report["alerts"] if a["incident_id"] == incident)
    assert kinds == ["escalation", "remediation_step"]
    assert all(desk["running_mode"] == "AUTO_STOP" for desk in report["workspaces"])
    _my_functions_ok(report["invocations"])


# --- scenarios that look inside the world (desk records, function results) -------------------------------


def _results(cloud: LocalCloud, function: str) -> list[dict[str, Any]]:
    return [i.result for i in cloud.invocations if i.function == function and i.ok]


def _desk_store(cloud: LocalCloud) -> DeskStore:
    resource = boto3.resource("dynamodb", region_name=cloud.region)
    return DeskStore(resource.Table(cloud.physical("StateTable")))


def test_a_fleet_of_existing_desks_is_adopted() -> None:
    with LocalCloud(start="2026-12-01T05:00:00Z") as cloud:
        agents = cloud.seed_desks([f"agent{n:03d}" for n in range(300)], site="amiens-cc", profile="agent")
        bundle = cloud.bundles["standard"]
        stranger = cloud.emulator.seed_workspace(cloud.directories["paris-hq"], "contractor", bundle, tags={})
        cloud.advance(dt.timedelta(minutes=6))
        (first,) = _results(cloud, "FleetWatchFunction")
        assert first["adopted_count"] == 300
        assert first["unmanaged"] == [stranger]
        records = [d for d in _desk_store(cloud).all_desks() if d.origin == "adopted"]
        assert sorted(d.workspace_id or "" for d in records) == sorted(agents)
        assert {d.profile for d in records} == {"agent"}
        cloud.advance(dt.timedelta(minutes=5))
        second = _results(cloud, "FleetWatchFunction")[-1]
        assert (second["adopted_count"], second["changed_count"], second["written"]) == (0, 0, 0)


def test_a_desk_deleted_outside_the_automation_is_reported() -> None:
    with LocalCloud(start="2026-12-01T05:00:00Z") as cloud:
        desks = cloud.seed_desks(["agent1", "agent2", "agent3"], site="amiens-cc", profile="agent")
        cloud.advance(dt.timedelta(minutes=6))
        cloud.client("workspaces").terminate_workspaces(TerminateWorkspaceRequests=[{"WorkspaceId": desks[1]}])
        cloud.advance(dt.timedelta(minutes=10))
        reported = [r for r in _results(cloud, "FleetWatchFunction") if r["missing"]]
        assert [r["missing"] for r in reported] == [[desks[1]]]  # reported once
        assert reported[0]["missing_outside_automation"] == [desks[1]]


def test_a_per_desk_autostop_tag_is_applied() -> None:
    with LocalCloud(start="2026-12-01T05:00:00Z") as cloud:
        (desk,) = cloud.seed_desks(["agent1"], site="amiens-cc", profile="agent")  # 1 hour AutoStop
        cloud.advance(dt.timedelta(minutes=1))
        cloud.client("workspaces").create_tags(ResourceId=desk, Tags=[{"Key": "AutopilotAutoStopHours", "Value": "3"}])
        cloud.advance(dt.timedelta(minutes=5))
        assert cloud.emulator.workspace(desk)["autostop_minutes"] == 180
        assert cloud.emulator.workspace(desk)["running_mode"] == "AUTO_STOP"
        cloud.advance(dt.timedelta(hours=2))
        assert cloud.emulator.workspace(desk)["state"] == "AVAILABLE"  # the profile's 1 hour no longer applies
        cloud.advance(dt.timedelta(hours=1, minutes=10))
        assert cloud.emulator.workspace(desk)["state"] == "STOPPED"


def test_removing_the_tag_puts_the_profile_hours_back() -> None:
    with LocalCloud(start="2026-12-01T05:00:00Z") as cloud:
        (desk,) = cloud.seed_desks(["agent1"], site="amiens-cc", profile="agent")
        workspaces = cloud.client("workspaces")
        workspaces.create_tags(ResourceId=desk, Tags=[{"Key": "AutopilotAutoStopHours", "Value": "2"}])
        cloud.advance(dt.timedelta(minutes=6))
        assert cloud.emulator.workspace(desk)["autostop_minutes"] == 120
        workspaces.delete_tags(ResourceId=desk, TagKeys=["AutopilotAutoStopHours"])
        cloud.advance(dt.timedelta(minutes=5))
        assert cloud.emulator.workspace(desk)["autostop_minutes"] == 60
