"""Issue 3's done-when: an AUTO_STOP fleet desk stops after its user disconnects, and a later login starts it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from localcloud.cli import main
from tests.scenarios.conftest import SCENARIOS

pytestmark = pytest.mark.usefixtures("socket_disabled")  # everything runs in-process

REPORT_KEYS = {"clock", "workspaces", "alerts", "emails", "dead_letters", "invocations", "api_calls", "timeline"}


def _desk_transitions(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(e["time"][11:19], e["from"], e["to"]) for e in report["timeline"] if e["kind"] == "transition"]


def test_autostop_desk_stops_after_its_user_disconnects_and_starts_when_they_log_in(
    autostop_report: dict[str, Any],
) -> None:
    assert _desk_transitions(autostop_report) == [
        ("19:00:00", "AVAILABLE", "STOPPING"),  # one hour (the agent profile's AutoStop) after the 18:00 disconnect
        ("19:03:00", "STOPPING", "STOPPED"),
        ("20:00:00", "STOPPED", "STARTING"),  # the night shift's login
        ("20:01:30", "STARTING", "AVAILABLE"),
        ("23:00:00", "AVAILABLE", "STOPPING"),
        ("23:03:00", "STOPPING", "STOPPED"),
    ]
    (desk,) = autostop_report["workspaces"]
    assert (desk["user"], desk["state"], desk["running_mode"], desk["autostop_minutes"]) == (
        "night-agent",
        "STOPPED",
        "AUTO_STOP",
        60,
    )
    assert desk["tags"] == {"ManagedBy": "workspaces-autopilot", "AutopilotProfile": "agent"}


def test_the_login_on_a_stopped_desk_sends_workspaces_access_once_it_is_up(autostop_report: dict[str, Any]) -> None:
    logins = [e["time"] for e in autostop_report["timeline"] if e["kind"] == "login"]
    sessions = [i for i in autostop_report["invocations"] if i["function"] == "SessionsFunction"]

    assert logins == ["2026-12-01T16:00:00Z", "2026-12-01T20:01:30Z"]
    assert [s["trigger"] for s in sessions] == ["rule:SessionsFunctionLogin"] * 2


def test_report_has_the_documented_keys_and_a_time_ordered_timeline(autostop_report: dict[str, Any]) -> None:
    assert set(autostop_report) == REPORT_KEYS
    assert autostop_report["clock"] == "2026-12-01T23:30:00Z"
    times = [entry["time"] for entry in autostop_report["timeline"]]
    assert times == sorted(times)
    assert all(set(i) == {"function", "trigger", "ok", "error"} for i in autostop_report["invocations"])
    assert autostop_report["api_calls"]["workspaces:DescribeWorkspaces"] > 0


def test_cli_run_json_prints_one_report_on_stdout() -> None:
    result = CliRunner().invoke(main, ["run", str(SCENARIOS / "autostop_night.yaml"), "--json"])

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == REPORT_KEYS
    assert report["workspaces"][0]["state"] == "STOPPED"
    assert "[8/8]" in result.stderr  # progress goes to stderr


def test_cli_run_prints_a_readable_timeline() -> None:
    result = CliRunner().invoke(main, ["run", str(SCENARIOS / "autostop_night.yaml")])

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("19:00" in line and "AVAILABLE -> STOPPING" in line for line in lines)
    assert any("20:01:30" in line and "STARTING -> AVAILABLE" in line for line in lines)
