"""Each scenario step does what docs/local-cloud.md says, observed through the report."""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest

from localcloud.scenario import ScenarioError, open_world, run_scenario
from tests.scenarios.conftest import ROOT, SCENARIOS

pytestmark = pytest.mark.usefixtures("socket_disabled")  # everything runs in-process


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    roster = tmp_path_factory.mktemp("rosters") / "december.csv"
    roster.write_text("employee_id,username\n", encoding="utf-8")
    return run_scenario(
        {
            "name": "every step",
            "start": "2026-12-01T08:00:00Z",
            "policy": str((SCENARIOS / "policies" / "media_measurement.yaml").relative_to(ROOT)),
            "fleet": [
                {"user": "jdoe", "site": "paris-hq", "profile": "office"},
                {"count": 2, "user_prefix": "helpline", "site": "amiens-cc", "profile": "agent"},
            ],
            "steps": [
                {"set_state": {"user": "jdoe", "state": "UNHEALTHY"}},
                {"connection_failures": {"user": "helpline001", "count": 6}},
                {"missing_user": {"user": "newbie", "for": "30m"}},
                {"login": {"user": "nobody"}},
                {"upload_roster": str(roster)},
                {"throttle": {"operation": "DescribeWorkspaces", "times": 2}},
                {"advance": "40m"},
            ],
        }
    )


def _kinds(report: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [entry for entry in report["timeline"] if entry["kind"] == kind]


def test_fleet_is_seeded_with_the_profiles_settings_and_tags(report: dict[str, Any]) -> None:
    desks = {desk["user"]: desk for desk in report["workspaces"]}
    assert set(desks) == {"jdoe", "helpline001", "helpline002"}
    assert desks["helpline001"]["autostop_minutes"] == 60
    assert desks["jdoe"]["autostop_minutes"] == 120
    assert desks["helpline001"]["tags"] == {
        "ManagedBy": "workspaces-autopilot",
        "CostCenter": "it-workplace",
        "AutopilotProfile": "agent",
    }
    assert desks["jdoe"]["directory_id"] != desks["helpline001"]["directory_id"]


def test_set_state_forces_the_desk_into_the_state(report: dict[str, Any]) -> None:
    (transition, *_) = _kinds(report, "transition")
    assert (transition["time"], transition["from"], transition["to"]) == (
        "2026-12-01T08:00:00Z",
        "AVAILABLE",
        "UNHEALTHY",
    )


def test_connection_failures_and_missing_user_are_recorded(report: dict[str, Any]) -> None:
    (failures,) = _kinds(report, "connection_failures")
    assert failures["count"] == 6
    (synced,) = _kinds(report, "user_synced")
    assert (synced["user"], synced["time"]) == ("newbie", "2026-12-01T08:30:00Z")


def test_a_step_for_a_user_without_a_desk_is_recorded_and_the_scenario_goes_on(report: dict[str, Any]) -> None:
    (failed,) = _kinds(report, "step_failed")
    assert failed["step"] == "login user=nobody"
    assert "has no WorkSpace" in failed["reason"]
    assert report["clock"] == "2026-12-01T08:40:00Z"


def test_uploaded_roster_reaches_the_feed_ingest_function(report: dict[str, Any]) -> None:
    triggers = {(i["function"], i["trigger"]) for i in report["invocations"]}
    assert ("HrFeedIngestFunction", "rule:HrFeedIngestFunctionRosterDropped") in triggers
    (event,) = [e for e in _kinds(report, "event") if e["detail_type"] == "Object Created"]
    assert event["targets"] == ["HrFeedIngestFunction"]


def test_open_world_leaves_the_world_running_for_a_look_around() -> None:
    scenario = {
        "name": "look around",
        "start": "2026-12-01T08:00:00Z",
        "fleet": [{"user": "jdoe", "site": "paris-hq", "profile": "office"}],
        "steps": [{"disconnect": {"user": "jdoe"}}],
    }

    with open_world(scenario) as cloud:
        desk = cloud.desk_of("jdoe")
        answer = boto3.client("workspaces").describe_workspaces(WorkspaceIds=[desk.workspace_id])
        assert answer["Workspaces"][0]["State"] == "AVAILABLE"
        cloud.advance(dt.timedelta(hours=3))  # the world still runs: AutoStop after 2 hours
        assert cloud.report()["workspaces"][0]["state"] == "STOPPED"


def test_an_unknown_stack_parameter_is_bad_input_naming_parameters() -> None:
    scenario = {"name": "x", "start": "2026-12-01T05:00:00Z", "parameters": {"HrAcountId": "210987654321"}}
    with pytest.raises(ScenarioError, match=r"<scenario>: parameters: unknown template parameter.*HrAcountId"):
        run_scenario(scenario)


def test_a_function_s_events_carry_this_account_and_a_cross_account_put_carries_the_sender_s() -> None:
    hired = {"source": "hr.feed", "detail-type": "Employee Hired", "detail": {"employee_id": "E1"}}
    scenario = {
        "name": "accounts",
        "start": "2026-12-01T05:00:00Z",
        "parameters": {"HrAccountId": "210987654321"},
        "steps": [{"publish": {"event": hired, "account": "210987654321", "bus": "HrEventBus"}}],
    }
    with open_world(scenario) as cloud:
        cloud.publish_from(cloud.account_id, hired, bus="HrEventBus")  # this account: a plain PutEvents
        [from_hr, from_here] = [e for e in cloud.timeline if e["kind"] == "event" and e["bus"].endswith("-hr")]
        assert (from_hr["account"], from_here["account"]) == ("210987654321", cloud.account_id)
        assert from_hr["targets"] == from_here["targets"] == ["HrEventsFunction"]
        roster = (ROOT / "scenarios" / "rosters" / "onboarding_staff_2.csv").read_bytes()
        cloud.put_object("rosters/staff.csv", roster)  # hr_feed_ingest puts the rows' hires: this account
        rows = [e for e in cloud.timeline if e["kind"] == "event" and e["bus"].endswith("-hr")][2:]
        assert len(rows) == 2
        assert {e["account"] for e in rows} == {cloud.account_id}
