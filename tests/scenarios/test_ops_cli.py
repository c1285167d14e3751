"""The operator CLI against the local cloud: every command, its --json output and its error path.

One world is built for the module from the scenario below (a fleet adopted, a roster accepted, a hire for
later, a departure, a sick desk that recovered and one still sick, two held mass departures, a login lost to a
crash in the dead-letter queue); the read-only commands run against it in-process. A command that changes the
world runs on a world of its own, built from the same scenario (TestActionsOnAWorldOfTheirOwn), so that no test
depends on which ran before it. `--local SCENARIO` itself is tested in test_ops_local.py (one world at a time)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from autopilot_ops.backend import Backend, world_backend
from autopilot_ops.cli import Session, main
from localcloud.scenario import open_world
from localcloud.world import LocalCloud

ROOT = Path(__file__).resolve().parents[2]
POLICY = """
version: 1
sites:
  paris-hq: {directory: corp.example.com, timezone: Europe/Paris}
  amiens-cc: {directory: cc.example.com, timezone: Europe/Paris}
bundles:
  standard: {name: "Standard with Windows 10"}
  power: {name: "Power with Windows 10", monthly_price: 90.0, hourly_price: 0.80}
profiles:
  agent: {bundle: standard, compute: STANDARD, running_mode: AUTO_STOP, autostop_hours: 1, prewarm: true}
  office: {bundle: standard, running_mode: AUTO_STOP, autostop_hours: 2}
  datasci: {bundle: power, compute: POWER, running_mode: AUTO_STOP, autostop_hours: 4}
rules:
  - {match: {department: call-center}, profile: agent}
  - {match: {role: data-scientist}, profile: datasci}
  - {profile: office}
offboarding: {retention_days: 30, max_departures_per_feed: 2}
"""
HEADER = "employee_id,username,email,given_name,family_name,department,role,site,start_date"
STAFF = [
    "E50001,staff001,staff001@example.com,Ann,One,finance,accountant,paris-hq,2026-12-02",
    "E50002,staff002,staff002@example.com,Bob,Two,finance,accountant,paris-hq,2026-12-02",
    "E50003,staff003,staff003@example.com,Cid,Three,data,data-scientist,paris-hq,2026-12-02",
    "E50004,staff004,staff004@example.com,Dee,Four,call-center,agent,amiens-cc,2026-12-02",
]


def hr_event(detail_type: str, **detail: Any) -> dict[str, Any]:
    return {"publish": {"source": "hr.feed", "detail-type": detail_type, "detail": {"schema_version": 1, **detail}}}


def write_scenario(folder: Path) -> Path:
    (folder / "policy.yaml").write_text(POLICY, encoding="utf-8")
    (folder / "roster1.csv").write_text("\n".join([HEADER, *STAFF]) + "\n", encoding="utf-8")
    (folder / "roster2.csv").write_text("\n".join([HEADER, STAFF[3]]) + "\n", encoding="utf-8")
    (folder / "roster3.csv").write_text("\n".join([HEADER, STAFF[0]]) + "\n", encoding="utf-8")
    hire = {
        "employee_id": "E50099",
        "username": "later01",
        "email": "later01@example.com",
        "given_name": "Lou",
        "family_name": "Later",
        "department": "finance",
        "role": "accountant",
        "site": "paris-hq",
        "start_date": "2026-12-20",
    }
    scenario = {
        "name": "operator CLI fleet",
        "start": "2026-12-01T04:00:00Z",
        "policy": str(folder / "policy.yaml"),
        "fleet": [
            {"count": 3, "user_prefix": "agent", "site": "amiens-cc", "profile": "agent"},
            {"count": 2, "user_prefix": "clerk", "site": "paris-hq", "profile": "office"},
        ],
        "steps": [
            {"advance": "10m"},
            {"upload_roster": {"file": str(folder / "roster1.csv"), "key": "rosters/staff.csv"}},
            hr_event("Employee Hired", **hire),
            {"set_state": {"user": "agent001", "state": "UNHEALTHY"}},
            {"advance": "40m"},
            hr_event("Employee Departed", employee_id="E50002", last_day="2026-12-10"),
            {"upload_roster": {"file": str(folder / "roster2.csv"), "key": "rosters/staff.csv"}},
            {"upload_roster": {"file": str(folder / "roster3.csv"), "key": "rosters/other.csv"}},
            {"crash": {"function": "SessionsFunction", "after": "dynamodb:Query", "times": 3}},
            {"login": {"user": "clerk001"}},
            {"advance": "90m"},
            {"set_state": {"user": "agent002", "state": "UNHEALTHY"}},
            {"advance": "6m"},
        ],
    }
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalCloud, Backend, Path]]:
    folder = tmp_path_factory.mktemp("ops")
    with open_world(write_scenario(folder)) as cloud:
        yield cloud, world_backend(cloud), folder


@pytest.fixture
def cloud(world: tuple[LocalCloud, Backend, Path]) -> LocalCloud:
    return world[0]


@pytest.fixture
def folder(world: tuple[LocalCloud, Backend, Path]) -> Path:
    return world[2]


@pytest.fixture
def cli(world: tuple[LocalCloud, Backend, Path]) -> Any:
    def run(*args: str) -> Result:
        return CliRunner().invoke(main, list(args), obj=Session(backend=world[1], quiet=True))

    return run


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_bad_input(result: Result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("autopilot: "), result.stderr
    for word in words:
        assert word in lines[0]
    assert result.stdout == ""


def workspace_of(cloud: LocalCloud, user: str) -> str:
    return cloud.desk_of(user).workspace_id


# ======================================================================== read-only


def test_status_shows_the_desk_its_timers_and_its_history(cli: Any) -> None:
    data = as_json(cli("status", "E50002", "--json"))
    assert data["desk"]["lifecycle"] == "LEAVING"
    assert "email" not in data["desk"]
    assert data["workspace"]["state"] == "AVAILABLE"
    assert {timer["name"] for timer in data["timers"]} == {"stop-E50002", "terminate-E50002"}
    assert data["timers"][0]["due"].startswith("2026-12-10")
    assert [entry["kind"] for entry in data["history"]][:2] == ["offboarding_scheduled", "ready"]
    assert data["incident"] is None


def test_status_of_a_workspace_id_shows_its_open_incident_and_recheck_timer(cli: Any, cloud: LocalCloud) -> None:
    data = as_json(cli("status", workspace_of(cloud, "agent002"), "--json"))
    incident = data["incident"]
    assert incident["status"] == "OPEN"
    assert incident["cause"] == "unhealthy"
    assert [step["action"] for step in incident["steps"]] == ["reboot"]
    assert any(timer["name"].startswith(f"recheck-{incident['incident_id']}-") for timer in data["timers"])


def test_status_of_a_hire_not_yet_built_shows_its_provisioning_timer(cli: Any) -> None:
    data = as_json(cli("status", "E50099", "--json"))
    assert data["desk"]["lifecycle"] == "SCHEDULED"
    assert [timer["name"] for timer in data["timers"]] == ["provision-E50099"]


def test_status_reads_as_text_without_json(cli: Any) -> None:
    result = cli("status", "E50002")
    assert result.exit_code == 0
    assert "LEAVING" in result.stdout
    assert "stop-E50002" in result.stdout
    assert "offboarding_scheduled" in result.stdout


def test_status_finds_a_desk_by_its_directory_user_name(cli: Any) -> None:
    # Issue 15: `status helpline003` answered `no desk for helpline003`.
    data = as_json(cli("status", "staff002", "--json"))
    assert (data["desk"]["employee_id"], data["desk"]["username"]) == ("E50002", "staff002")
    assert as_json(cli("status", "STAFF002", "--json"))["desk"]["employee_id"] == "E50002"  # AD names ignore case
    assert "user staff002" in cli("status", "staff002").stdout


def test_desks_show_the_user_name(cli: Any) -> None:
    text = cli("desks").stdout
    assert "staff002" in text
    assert "user" in text


def test_status_of_an_unknown_id_is_one_line_and_exit_2(cli: Any) -> None:
    assert_bad_input(cli("status", "E404", "--json"), "no desk for E404")


def test_desks_filter_by_state_site_and_profile(cli: Any) -> None:
    ready_agents = as_json(cli("desks", "--state", "ready", "--site", "amiens-cc", "--json"))
    assert len(ready_agents) == 4
    assert {d["profile"] for d in ready_agents} == {"agent"}
    datasci = as_json(cli("desks", "--profile", "datasci", "--json"))
    assert [d["employee_id"] for d in datasci] == ["E50003"]
    everyone = as_json(cli("desks", "--json"))
    assert len(everyone) == 10
    assert all("email" not in d for d in everyone)
    assert "E50099" in cli("desks").stdout


def test_desks_with_an_unknown_state_is_bad_input(cli: Any) -> None:
    assert_bad_input(cli("desks", "--state", "SLEEPING"), "--state SLEEPING", "READY")


def test_incidents_lists_open_and_resolved_ones(cli: Any, cloud: LocalCloud) -> None:
    every = as_json(cli("incidents", "--json"))
    assert {(i["subject"], i["status"]) for i in every} == {
        (workspace_of(cloud, "agent001"), "RESOLVED"),
        (workspace_of(cloud, "agent002"), "OPEN"),
    }
    only_open = as_json(cli("incidents", "--open", "--json"))
    assert [i["subject"] for i in only_open] == [workspace_of(cloud, "agent002")]
    text = cli("incidents").stdout
    assert "RESOLVED" in text
    assert all(i["incident_id"] in text for i in every)  # whole ids: the table is where they are copied from
    assert "…" not in text


def test_an_ambiguous_incident_prefix_is_refused_listing_the_candidates(cli: Any) -> None:
    every = sorted(i["incident_id"] for i in as_json(cli("incidents", "--json")))
    assert_bad_input(cli("incident", "ack", "inc-ws"), "ambiguous", *every)


def test_incidents_with_an_unknown_option_is_one_line_and_exit_2(cli: Any) -> None:
    assert_bad_input(cli("incidents", "--closed"), "--closed")


def test_feed_held_lists_the_mass_departures_waiting_for_a_person(cli: Any) -> None:
    held = as_json(cli("feed", "held", "--json"))
    assert len(held) == 2
    assert {feed["file"].rsplit("/", 1)[-1] for feed in held} == {"staff.csv", "other.csv"}
    assert all(feed["status"] == "HELD" and feed["departures"] == 3 for feed in held)
    assert "HELD" in cli("feed", "held").stdout


def test_dlq_list_says_what_failed_why_and_where_it_goes_back(cli: Any, cloud: LocalCloud) -> None:
    data = as_json(cli("dlq", "list", "--json"))
    assert data["counts"]["AsyncFailureDLQ"] == 1
    (letter,) = data["messages"]
    assert letter["queue"] == "AsyncFailureDLQ"
    assert "WorkSpaces Access" in letter["what"]
    assert workspace_of(cloud, "clerk001") in letter["what"]
    assert letter["why"].startswith("RetriesExhausted after 3 attempts: RuntimeError: injected crash")
    assert letter["redrive_to"] == "workspaces-autopilot-dev-sessions"
    # listing leaves the message where it was, visible
    assert as_json(cli("dlq", "list", "--json"))["counts"]["AsyncFailureDLQ"] == 1


def test_dlq_list_of_an_unknown_queue_is_bad_input(cli: Any) -> None:
    assert_bad_input(cli("dlq", "list", "--queue", "nope"), "--queue nope", "AsyncFailureDLQ")


def test_plan_shows_desks_given_stopped_resized_and_the_monthly_cost(cli: Any, folder: Path) -> None:
    roster = folder / "plan.csv"
    roster.write_text(
        "\n".join(
            [
                HEADER + ",last_day",
                "E50001,staff001,staff001@example.com,Ann,One,finance,data-scientist,paris-hq,2026-12-02,",
                STAFF[1] + ",2026-12-10",
                STAFF[3] + ",",
                "E50010,new010,new010@example.com,Eve,Ten,call-center,agent,amiens-cc,2026-12-15,",
                "E50011,new011,new011@example.com,Fay,Eleven,legal,lawyer,lyon,2026-12-15,",
                "E50012,new012,not-an-address,Gus,Twelve,legal,lawyer,paris-hq,2026-12-15,",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    data = as_json(cli("plan", str(roster), "--json"))
    hires = {h["employee_id"]: h for h in data["hires"]}
    assert hires["E50010"]["action"] == "new desk"
    assert hires["E50010"]["profile"] == "agent"
    assert hires["E50010"]["provision_on"] == "2026-12-13"
    assert "not in the policy" in hires["E50011"]["action"]
    departures = {d["employee_id"]: d for d in data["departures"]}
    assert departures["E50003"]["action"] == "stop, then terminate"
    assert departures["E50003"]["terminate_on"] == "2026-12-31"
    assert departures["E50003"]["monthly_saving"] == 9.75 * 1 + 0.8 * 80  # the policy's bundle price wins
    (transfer,) = data["transfers"]
    assert transfer["employee_id"] == "E50001"
    assert transfer["to_profile"] == "datasci"
    assert "MigrateWorkspace" in transfer["action"]
    assert data["rejected_rows"][0]["line"] == 7
    assert data["rejected_rows"][0]["errors"][0].startswith("email:")
    assert data["held"] is False
    cost = data["cost"]
    assert cost["after_monthly"] == pytest.approx(cost["current_monthly"] + cost["delta_monthly"])
    human = cli("plan", str(roster)).stdout
    assert "Monthly cost" in human
    for key, heading in (("hires", "Hires"), ("departures", "Departures"), ("transfers", "Transfers")):
        assert f"{heading}: {len(data[key])}" in human
    assert any("E50010" in line and "amiens-cc" in line and "2026-12-13" in line for line in human.splitlines())


def test_plan_of_a_file_that_would_be_held_says_which_rows_it_would_not_apply(cli: Any, folder: Path) -> None:
    document = yaml.safe_load((folder / "policy.yaml").read_text(encoding="utf-8"))
    document["onboarding"] = {**document.get("onboarding", {}), "max_hires_per_feed": 1}
    tight = folder / "tight.yaml"
    tight.write_text(yaml.safe_dump(document), encoding="utf-8")
    roster = folder / "two-hires.csv"
    new = [
        "E50020,new020,new020@example.com,Eve,Twenty,finance,accountant,paris-hq,2026-12-15",
        "E50021,new021,new021@example.com,Fay,Twentyone,finance,accountant,paris-hq,2026-12-15",
    ]
    roster.write_text("\n".join([HEADER, *STAFF, *new]) + "\n", encoding="utf-8")

    data = as_json(cli("plan", str(roster), "--policy", str(tight), "--json"))

    assert data["held"] is True
    assert data["held_because"] == "2 hires > onboarding.max_hires_per_feed 1"
    assert data["not_applied"]["hires"] == ["E50020", "E50021"]
    assert all(h["action"].startswith("not applied while the file is held") for h in data["hires"])
    assert "would be HELD" in cli("plan", str(roster), "--policy", str(tight)).stdout


def test_plan_of_a_missing_or_unreadable_roster_is_bad_input(cli: Any, folder: Path) -> None:
    assert_bad_input(cli("plan", str(folder / "missing.csv")), "missing.csv")
    bad = folder / "bad.csv"
    bad.write_text("employee_id,bundle\nE1,wsb-1\n", encoding="utf-8")
    assert_bad_input(cli("plan", str(bad), "--json"), "bad header", "bundle")


def test_policy_check_maps_each_sample_and_resolves_against_the_account(cli: Any, folder: Path) -> None:
    data = as_json(
        cli("policy", "check", str(folder / "policy.yaml"), "--sample", str(ROOT / "events"), "--resolve", "--json")
    )
    assert data["valid"] is True
    hires = {s["file"].rsplit("/", 1)[-1]: s for s in data["samples"] if s["detail_type"] == "Employee Hired"}
    assert hires["hr_employee_hired_datasci.json"]["profile"] == "datasci"
    assert hires["hr_employee_hired_office.json"]["directory"] == "corp.example.com"


def test_policy_check_against_an_account_without_its_directory_names_the_key(cli: Any, folder: Path) -> None:
    other = folder / "other-directory.yaml"
    other.write_text(POLICY.replace("cc.example.com", "elsewhere.example.com"), encoding="utf-8")
    result = cli("policy", "check", str(other), "--resolve")
    assert result.exit_code == 2
    assert "sites.amiens-cc.directory: no registered directory named 'elsewhere.example.com'" in result.stderr


def test_report_writes_one_html_page_with_its_charts(cli: Any, folder: Path) -> None:
    page = folder / "fleet.html"
    data = as_json(cli("report", "--html", str(page), "--json"))
    assert data["desks_total"] == 10
    assert data["incident_outcomes"]["recheck"] == 1
    assert data["incident_outcomes"]["open"] == 1
    assert data["provisioning_lead_time"]["desks"] == 4
    assert len(data["autostop_usage"]) >= 9
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert html.count('class="chart"') >= 3


def test_report_to_a_folder_that_does_not_exist_is_bad_input(cli: Any, folder: Path) -> None:
    assert_bad_input(cli("report", "--html", str(folder / "no" / "such" / "dir.html")), "cannot write")


# ============================================================ refusals among the actions (they change nothing)


def test_incident_ack_of_an_unknown_incident_is_bad_input(cli: Any) -> None:
    assert_bad_input(cli("incident", "ack", "inc-nope-20261201000000"), "no incident inc-nope")


def test_feed_release_without_a_terminal_asks_for_yes(cli: Any) -> None:
    assert_bad_input(cli("feed", "release", "feed-any"), "--yes")


def test_dlq_redrive_dry_run_changes_nothing(cli: Any) -> None:
    data = as_json(cli("dlq", "redrive", "--dry-run", "--json"))
    assert data["dry_run"] is True
    assert len(data["sent"]) == 1
    assert as_json(cli("dlq", "list", "--json"))["counts"]["AsyncFailureDLQ"] == 1


def test_running_modes_with_a_bad_month_is_bad_input(cli: Any) -> None:
    assert_bad_input(cli("running-modes", "--month", "2026-13"), "--month 2026-13")


# ======================================================================== policy publish (last: it changes the policy)
