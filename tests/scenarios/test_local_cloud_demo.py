"""`autopilot-local demo` (`make demo`): the seed's day runs and shows what it promises: the pre-warmed and the
cold login side by side, a hire with a ready desk and a welcome e-mail, a connection failure fixed by the
runbook in one on-call thread, a leaver, the optimiser's line."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from localcloud.cli import main

pytestmark = pytest.mark.usefixtures("socket_disabled")


@pytest.fixture(scope="module")
def demo() -> dict[str, Any]:
    as_json = CliRunner().invoke(main, ["demo", "--json"])
    assert as_json.exit_code == 0, as_json.stderr
    report: dict[str, Any] = json.loads(as_json.stdout)
    return report


def test_the_pre_warmed_agent_waits_for_nothing_and_the_other_agent_waits_for_the_start(
    demo: dict[str, Any],
) -> None:
    report = demo
    logins = {login["user"]: login for login in report["logins"]}
    warm, cold = logins["cmoreau"], logins["helpline001"]
    assert warm["time"] == cold["time"]  # the same 08:00 shift start
    assert (warm["state_before"], warm["prewarmed"], warm["waited_s"]) == ("AVAILABLE", True, 0)
    assert (cold["state_before"], cold["prewarmed"], cold["waited_s"]) == ("STOPPED", False, 90)
    assert any(line.startswith("pre-warm: started 1 desk(s)") for line in report["automation"])


def test_the_hire_finds_a_ready_desk_and_a_welcome_email(demo: dict[str, Any]) -> None:
    report = demo
    desks = {desk["user"]: desk for desk in report["workspaces"]}
    hire = desks["lgarnier"]  # the HR hire became a desk with the data-science profile
    assert (hire["compute_type"], hire["bundle_id"], hire["tags"]["AutopilotProfile"]) == (
        "POWER",
        "wsb-0123456789",
        "datasci",
    )
    assert sorted(mail["to"][0] for mail in report["emails"]) == [
        "camille.moreau@example.com",
        "lea.garnier@example.com",
    ]
    first_login = next(login for login in report["logins"] if login["user"] == "lgarnier")
    assert (first_login["state_before"], first_login["waited_s"]) == ("AVAILABLE", 0)


def test_the_connection_failure_is_fixed_by_the_runbook_in_one_thread(demo: dict[str, Any]) -> None:
    report = demo
    kinds = [(alert["kind"], alert["incident_id"]) for alert in report["alerts"]]
    assert [kind for kind, _ in kinds] == ["connection_failure", "remediation_step", "incident_resolved"]
    assert len({incident for _, incident in kinds}) == 1
    assert report["api_calls"]["workspaces:RebootWorkspaces"] == 1


def test_the_leavers_desk_is_stopped_after_the_last_day(demo: dict[str, Any]) -> None:
    report = demo
    desks = {desk["user"]: desk for desk in report["workspaces"]}
    assert desks["jleroy"]["state"] == "STOPPED"
    stop = [
        entry
        for entry in report["timeline"]
        if entry["kind"] == "transition" and entry["workspace_id"] == desks["jleroy"]["workspace_id"]
    ]
    # Connected all day, so not AutoStop: the stop timer at 19:00 in Paris (18:00 UTC) stopped it.
    assert [(entry["time"][11:16], entry["to"]) for entry in stop] == [("18:00", "STOPPING"), ("18:03", "STOPPED")]
    assert "HR events: offboarding_scheduled 1, scheduled 2" in report["automation"]


def test_the_optimiser_says_its_line_and_nothing_failed(demo: dict[str, Any]) -> None:
    report = demo
    assert any(line.startswith("optimiser: ") for line in report["automation"])
    assert all(invocation["ok"] for invocation in report["invocations"]), [
        i for i in report["invocations"] if not i["ok"]
    ]


def test_the_readable_demo_shows_both_logins_side_by_side() -> None:
    result = CliRunner().invoke(main, ["demo"])

    assert result.exit_code == 0, result.stderr
    table = result.stdout[result.stdout.index("Logins: what each user waited for") :]
    assert "AVAILABLE (pre-warmed)" in table
    assert "no wait" in table
    assert "90 s" in table
    assert "What the automation did" in result.stdout
