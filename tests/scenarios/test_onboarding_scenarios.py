"""Issue 4 end to end on the local cloud: the scenarios in scenarios/onboarding_*.yaml (and a few built here
with a policy variant), asserted on their report and, where the report does not show it, on the state table."""

from __future__ import annotations

import collections
import datetime as dt
import json
from pathlib import Path
from typing import Any

import aws_xray_sdk.core  # noqa: F401  # its recorder opens a UDP socket at import: do it before sockets are blocked
import boto3
import pytest
import yaml

from autopilot.adapters.desk_store import DeskStore
from autopilot.adapters.policy_source import packaged_policy_text
from autopilot.domain.kernel.desks import Desk, Lifecycle
from autopilot_ops import feeds
from autopilot_ops.backend import world_backend
from localcloud.scenario import run_scenario
from localcloud.world import LocalCloud

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
ROSTERS = SCENARIOS / "rosters"


def run(name: str | dict[str, Any]) -> dict[str, Any]:
    return run_scenario(SCENARIOS / name if isinstance(name, str) else name)


def calls(report: dict[str, Any], operation: str) -> int:
    return int(report["api_calls"].get(f"workspaces:{operation}", 0))


def alerts(report: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [alert for alert in report["alerts"] if alert["kind"] == kind]


def failed_invocations(report: dict[str, Any], function: str) -> list[dict[str, Any]]:
    return [i for i in report["invocations"] if i["function"] == function and not i["ok"]]


def desk_of(report: dict[str, Any], user: str) -> dict[str, Any]:
    [desk] = [w for w in report["workspaces"] if w["user"] == user]
    return desk


def hire(employee_id: str, username: str, start_date: str, **changes: str) -> dict[str, Any]:
    detail = {
        "employee_id": employee_id,
        "username": username,
        "email": f"{username}@example.com",
        "given_name": "Given",
        "family_name": "Family",
        "department": "finance",
        "role": "accountant",
        "site": "paris-hq",
        "start_date": start_date,
    }
    return {"publish": {"source": "hr.feed", "detail-type": "Employee Hired", "detail": detail | changes}}


def depart(employee_id: str, last_day: str) -> dict[str, Any]:
    detail = {"employee_id": employee_id, "last_day": last_day}
    return {"publish": {"source": "hr.feed", "detail-type": "Employee Departed", "detail": detail}}


def policy_file(tmp_path: Path, **sections: dict[str, Any] | bool) -> str:
    """The packaged policy with some keys changed, as a file a scenario can name."""
    document = yaml.safe_load(packaged_policy_text())
    for key, value in sections.items():
        document[key] = {**document.get(key, {}), **value} if isinstance(value, dict) else value
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return str(path)


# --- hires ------------------------------------------------------------------------------------------------
def test_sixty_hires_get_the_desk_of_their_profile_in_three_create_calls() -> None:
    report = run("onboarding_sixty_hires.yaml")

    assert len(report["workspaces"]) == 60
    assert calls(report, "CreateWorkspaces") == 3  # ceil(60 / 25)
    assert len(report["emails"]) == 60
    assert report["alerts"] == []
    by_profile: dict[str, set[tuple[Any, ...]]] = collections.defaultdict(set)
    for desk in report["workspaces"]:
        by_profile[desk["tags"]["AutopilotProfile"]].add(
            (desk["bundle_id"], desk["compute_type"], desk["running_mode"], desk["autostop_minutes"])
        )
        assert desk["tags"]["ManagedBy"] == "workspaces-autopilot"
        assert desk["tags"]["AutopilotEmployeeId"].startswith("E")
    assert {profile: len(desks) for profile, desks in by_profile.items()} == {
        "agent": 1,
        "office": 1,
        "datasci": 1,
        "test": 1,
    }
    [(standard, *agent)] = by_profile["agent"]
    [(power, *datasci)] = by_profile["datasci"]
    [(office_bundle, *office)] = by_profile["office"]
    [(test_bundle, *test)] = by_profile["test"]
    assert standard == office_bundle == test_bundle != power
    assert agent == ["STANDARD", "AUTO_STOP", 60]
    assert office == ["STANDARD", "AUTO_STOP", 120]
    assert datasci == ["POWER", "AUTO_STOP", 240]
    assert test == ["VALUE", "AUTO_STOP", 60]
    agents = [d for d in report["workspaces"] if d["tags"]["AutopilotProfile"] == "agent"]
    others = [d for d in report["workspaces"] if d["tags"]["AutopilotProfile"] != "agent"]
    assert len({d["directory_id"] for d in agents}) == len({d["directory_id"] for d in others}) == 1
    assert agents[0]["directory_id"] != others[0]["directory_id"]  # amiens-cc has its own directory


def test_a_hire_delivered_four_times_creates_one_desk() -> None:
    report = run("onboarding_duplicate_hires.yaml")

    assert [d["user"] for d in report["workspaces"]] == ["ndupuis"]
    assert calls(report, "CreateWorkspaces") == 1
    assert len(report["emails"]) == 1
    assert report["alerts"] == []


def test_a_crash_after_create_workspaces_still_makes_one_desk() -> None:
    report = run("onboarding_crash_after_create.yaml")

    assert len(failed_invocations(report, "ProvisionFunction")) == 1  # the crash happened
    assert calls(report, "CreateWorkspaces") == 1
    assert desk_of(report, "pmartin")["state"] in ("AVAILABLE", "STOPPED")
    assert len(report["emails"]) == 1


def test_throttling_is_absorbed_and_the_desk_is_made() -> None:
    report = run("onboarding_throttling.yaml")

    assert calls(report, "CreateWorkspaces") == 2  # the first call gave up after botocore's 5 attempts
    assert desk_of(report, "lgarnier")["state"] in ("AVAILABLE", "STOPPED")
    assert len(report["emails"]) == 1
    assert report["dead_letters"] == []


def test_an_access_denied_create_is_reported_once_with_its_code_and_not_retried() -> None:
    report = run("onboarding_access_denied.yaml")

    assert calls(report, "CreateWorkspaces") == 1  # a permanent refusal: no redelivery
    assert report["dead_letters"] == []
    assert failed_invocations(report, "ProvisionFunction") == []
    [alert] = alerts(report, "provisioning_failed")
    assert alert["employee_id"] == "E20011"
    assert "AccessDeniedException" in alert["subject"]
    assert "workspaces:CreateWorkspaces" in alert["message"]  # what to fix: the role lacks this action
    assert "injected by the local cloud" not in alert["message"]  # AWS's message is never copied
    assert "mdurand" not in alert["message"]
    assert report["workspaces"] == []


def test_failed_requests_are_retried_then_alerted_with_the_aws_code() -> None:
    report = run("onboarding_failed_requests.yaml")

    assert [d["user"] for d in report["workspaces"]] == ["rbonnet"]
    [alert] = alerts(report, "provisioning_failed")
    assert alert["employee_id"] == "E20005"
    assert "ResourceLimitExceeded" in alert["subject"]
    assert "tleroy" not in alert["message"]  # AWS's message names the user: not copied
    assert calls(report, "CreateWorkspaces") == 5  # max_create_attempts of the default policy


def test_a_user_missing_from_the_directory_is_retried_until_the_start_date() -> None:
    report = run("onboarding_missing_user.yaml")

    assert [d["user"] for d in report["workspaces"]] == ["cfabre"]
    [alert] = alerts(report, "provisioning_failed")
    assert alert["employee_id"] == "E20007"
    assert "ResourceNotFound.User" in alert["subject"]
    assert calls(report, "CreateWorkspaces") < 60  # hourly retries, not a busy loop


def test_a_departure_before_the_start_date_means_no_desk() -> None:
    report = run("onboarding_departure_before_start.yaml")

    assert report["workspaces"] == []
    assert calls(report, "CreateWorkspaces") == 0
    assert report["alerts"] == []


# --- offboarding --------------------------------------------------------------------------------------------
def test_a_departure_stops_then_terminates_and_a_rehire_keeps_the_desk(tmp_path: Path) -> None:
    report = run(
        {
            "name": "onboarding - departure, retention, rehire",
            "start": "2026-12-01T05:00:00Z",
            "policy": policy_file(tmp_path, offboarding={"retention_days": 1}),
            "steps": [
                hire("E50001", "leaver", "2026-12-01"),
                hire("E50002", "stayer", "2026-12-01"),
                {"advance": "1h"},
                depart("E50001", "2026-12-01"),
                depart("E50002", "2026-12-01"),
                {"advance": "12h"},
                hire("E50002", "stayer", "2026-12-01"),  # rehired before termination
                {"advance": "2d"},
            ],
        }
    )

    users = {d["user"]: d["state"] for d in report["workspaces"]}
    assert users.get("leaver") in (None, "TERMINATED", "TERMINATING")
    assert users["stayer"] in ("AVAILABLE", "STOPPED")
    assert calls(report, "TerminateWorkspaces") == 1
    assert report["alerts"] == []


def _desks(cloud: LocalCloud) -> list[Desk]:
    table_name = str(cloud.functions_env("TABLE_NAME"))
    table = boto3.session.Session(region_name=cloud.region).resource("dynamodb").Table(table_name)
    return list(DeskStore(table).all_desks())


def _held_feed(cloud: LocalCloud) -> str:
    table_name = cloud.functions_env("TABLE_NAME")
    items = cloud.client("dynamodb").scan(TableName=table_name)["Items"]
    [feed_id] = [item["feed_id"]["S"] for item in items if item.get("status", {}).get("S") == "HELD"]
    return feed_id


def test_a_mass_departure_is_held_then_released_by_an_operator() -> None:
    with LocalCloud(start="2026-12-01T05:00:00Z") as cloud:
        cloud.put_object("rosters/staff.csv", (ROSTERS / "onboarding_staff_30.csv").read_bytes())
        cloud.advance(dt.timedelta(hours=1))
        cloud.put_object("rosters/staff.csv", (ROSTERS / "onboarding_staff_2.csv").read_bytes())
        cloud.advance(dt.timedelta(hours=1))

        held = cloud.report()
        [alert] = alerts(held, "feed_held")
        assert "28 departures" in alert["subject"]
        assert {desk.lifecycle for desk in _desks(cloud)} == {Lifecycle.READY}
        assert calls(held, "StopWorkspaces") == calls(held, "TerminateWorkspaces") == 0

        # The operator's `autopilot feed release ID`, against this world.
        outcome = feeds.release(world_backend(cloud), _held_feed(cloud))
        cloud.settle()
        cloud.advance(dt.timedelta(hours=1))

        assert (outcome["status"], outcome["departures"]) == ("RELEASED", 28)
        lifecycles = collections.Counter(desk.lifecycle for desk in _desks(cloud))
        assert lifecycles == {Lifecycle.LEAVING: 28, Lifecycle.READY: 2}


def test_a_malformed_roster_row_is_dead_lettered_with_its_line_and_the_others_proceed() -> None:
    report = run("onboarding_malformed_roster.yaml")

    assert sorted(d["user"] for d in report["workspaces"]) == ["ok1", "ok3"]
    [dead] = [d for d in report["dead_letters"] if d["queue"] == "AsyncFailureDLQ"]
    assert "line=3" in dead["body"]
    assert dead["reason"].startswith("sent by a function: email:")  # the field is named, never its value
    assert "not-an-address" not in str(report["dead_letters"])
    assert alerts(report, "automation_failure")


@pytest.mark.parametrize(
    ("roster", "fix"),
    [
        ("onboarding_semicolon.csv", "the delimiter is a semicolon"),
        ("onboarding_empty.csv", "the file is empty"),
        ("onboarding_latin1.csv", "save it as UTF-8"),
    ],
)
def test_a_roster_refused_as_a_whole_is_dead_lettered_and_alerted_with_its_fix(roster: str, fix: str) -> None:
    # Issue 15: the first attempt failed, the retry answered REJECTED with status ok: no dead letter, no alert.
    report = run(
        {
            "name": f"a refused roster: {roster}",
            "start": "2026-12-01T05:00:00Z",
            "steps": [{"upload_roster": f"scenarios/rosters/{roster}"}, {"advance": "1h"}],
        }
    )

    assert report["workspaces"] == []
    [dead] = [d for d in report["dead_letters"] if d["queue"] == "AsyncFailureDLQ"]
    assert fix in dead["reason"]
    [alert] = alerts(report, "feed_rejected")
    assert fix in alert["message"]
    assert alerts(report, "automation_failure")  # the dead letter pages as well
    assert "Hélène" not in json.dumps(report["alerts"]) + json.dumps(report["dead_letters"])
    assert failed_invocations(report, "HrFeedIngestFunction") == []


def test_a_rejected_roster_is_listed_by_feed_held_with_its_reason() -> None:
    # Issue 15: `autopilot feed held` showed nothing for a rejected file.
    from autopilot_ops import feeds
    from autopilot_ops.backend import world_backend

    with LocalCloud(start="2026-12-01T05:00:00Z") as cloud:
        cloud.put_object("rosters/staff.csv", (ROSTERS / "onboarding_semicolon.csv").read_bytes())
        cloud.advance(dt.timedelta(minutes=30))

        [listed] = feeds.held(world_backend(cloud))

    assert listed["status"] == "REJECTED"
    assert "the delimiter is a semicolon" in listed["reason"]


def test_a_mass_hire_is_held_like_a_mass_departure(tmp_path: Path) -> None:
    report = run(
        {
            "name": "a mass hire",
            "start": "2026-12-01T05:00:00Z",
            "policy": policy_file(tmp_path, onboarding={"max_hires_per_feed": 20}),
            "steps": [{"upload_roster": "scenarios/rosters/onboarding_staff_30.csv"}, {"advance": "1h"}],
        }
    )

    [alert] = alerts(report, "feed_held")
    assert "30 hires" in alert["subject"]
    assert report["workspaces"] == []
    assert calls(report, "CreateWorkspaces") == 0


# --- transfers ----------------------------------------------------------------------------------------------
def test_a_transfer_up_waits_six_hours_after_creation_and_a_transfer_down_applies_at_once() -> None:
    report = run("onboarding_transfer_up_down.yaml")

    desk = desk_of(report, "ablanc")
    assert desk["compute_type"] == "VALUE"
    assert desk["autostop_minutes"] == 60
    assert calls(report, "ModifyWorkspaceProperties") == 2
    assert report["alerts"] == []


def test_a_transfer_to_a_profile_with_another_bundle_migrates_the_desk() -> None:
    report = run(
        {
            "name": "onboarding - transfer to data science",
            "start": "2026-12-01T05:00:00Z",
            "steps": [
                hire("E50003", "mover", "2026-12-01"),
                {"advance": "1h"},
                {
                    "publish": {
                        "source": "hr.feed",
                        "detail-type": "Employee Transferred",
                        "detail": {
                            "employee_id": "E50003",
                            "department": "research",
                            "role": "data-scientist",
                            "site": "paris-hq",
                            "effective_date": "2026-12-01",
                        },
                    }
                },
                {"advance": "2h"},
            ],
        }
    )

    assert calls(report, "MigrateWorkspace") == 1
    live = [d for d in report["workspaces"] if d["user"] == "mover" and d["state"] not in ("TERMINATED", "TERMINATING")]
    [desk] = live
    assert (desk["compute_type"], desk["autostop_minutes"]) == ("POWER", 240)


# --- dry run ------------------------------------------------------------------------------------------------
def test_dry_run_decides_everything_and_changes_no_desk(tmp_path: Path) -> None:
    with LocalCloud(start="2026-12-01T05:00:00Z", policy=policy_file(tmp_path, dry_run=True)) as cloud:
        cloud.publish(hire("E50004", "dryrun", "2026-12-01")["publish"])
        cloud.advance(dt.timedelta(hours=1))
        report = cloud.report()
        [desk] = _desks(cloud)

    assert report["workspaces"] == []
    assert calls(report, "CreateWorkspaces") == 0
    assert desk.lifecycle is Lifecycle.SCHEDULED


# --- HR in another account (issue 14, point 2) -------------------------------------------------------------
def test_with_hr_in_another_account_a_published_hire_and_a_roster_s_rows_all_become_desks() -> None:
    report = run("onboarding_hr_in_another_account.yaml")

    assert sorted(d["user"] for d in report["workspaces"]) == ["jdupont", "staff001", "staff002"]
    hr_events = [e for e in report["timeline"] if e["kind"] == "event" and e["bus"].endswith("-hr")]
    assert len(hr_events) == 3  # the published hire and the roster's two rows
    assert all(e["targets"] == ["HrEventsFunction"] for e in hr_events)
    assert [d for d in report["dead_letters"] if d["queue"] == "UnroutedHrEventsQueue"] == []
    assert report["alerts"] == []


def test_the_hr_bus_refuses_an_account_its_policy_does_not_name() -> None:
    # Given HR in 210987654321, when 999999999999 puts a hire on the HR bus, then PutEvents refuses it.
    scenario = yaml.safe_load((SCENARIOS / "onboarding_hr_in_another_account.yaml").read_text(encoding="utf-8"))
    scenario["steps"] = [{"publish": {**scenario["steps"][0]["publish"], "account": "999999999999"}}]
    report = run(scenario)

    [refused] = [e for e in report["timeline"] if e["kind"] == "put_events_refused"]
    assert refused["error"] == "AccessDeniedException"
    assert [e for e in report["timeline"] if e["kind"] == "step_failed"]
    assert report["workspaces"] == []


def test_the_hr_bus_refuses_another_source_from_the_hr_account() -> None:
    scenario = yaml.safe_load((SCENARIOS / "onboarding_hr_in_another_account.yaml").read_text(encoding="utf-8"))
    event = {"source": "hr.other", "detail-type": "Employee Hired", "detail": {"employee_id": "E1"}}
    scenario["steps"] = [{"publish": {**scenario["steps"][0]["publish"], "event": event}}]
    report = run(scenario)

    [refused] = [e for e in report["timeline"] if e["kind"] == "put_events_refused"]
    assert refused["error"] == "NotAuthorizedForSourceException"


def test_an_event_nobody_routes_on_the_hr_bus_pages_on_call() -> None:
    report = run("hr_unrouted_event_pages.yaml")

    [parked] = [d for d in report["dead_letters"] if d["queue"] == "UnroutedHrEventsQueue"]
    assert "Employee Promoted" in parked["body"]
    [page] = [a for a in alerts(report, "automation_failure") if "unrouted-hr-events" in a["subject"]]
    assert page["severity"] == "critical"
    assert not [i for i in report["invocations"] if i["function"] == "HrEventsFunction"]
