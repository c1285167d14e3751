"""Issue 6 end to end on the local cloud: the scenarios in scenarios/remediation_*.yaml, asserted on their
report (alerts as on-call gets them, WorkSpaces API calls, invocations)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from localcloud.scenario import run_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def run(name: str) -> dict[str, Any]:
    report = run_scenario(SCENARIOS / name)
    failed = [i for i in report["invocations"] if not i["ok"] and i["function"] != "SessionsFunction"]
    assert failed == [], failed
    return report


def ours(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Alerts of the on-call contract (the topic also carries CloudWatch's own alarm-action messages)."""
    return [a for a in report["alerts"] if a["kind"]]


def kinds(report: dict[str, Any]) -> list[str]:
    return [a["kind"] for a in ours(report)]


def calls(report: dict[str, Any], operation: str) -> int:
    return int(report["api_calls"].get(f"workspaces:{operation}", 0))


def test_a_reboot_fixes_a_desk() -> None:
    report = run("remediation_reboot_fixes.yaml")
    assert kinds(report) == ["connection_failure", "remediation_step", "incident_resolved"]
    assert len({a["incident_id"] for a in ours(report)}) == 1
    assert calls(report, "RebootWorkspaces") == 1
    assert calls(report, "RebuildWorkspaces") == 0
    assert "re-check found the desk healthy" in ours(report)[-1]["message"]


def test_reboot_fails_then_rebuild_fixes_it() -> None:
    report = run("remediation_rebuild_fixes.yaml")
    assert kinds(report) == ["connection_failure", "remediation_step", "remediation_step", "incident_resolved"]
    assert (calls(report, "RebootWorkspaces"), calls(report, "RebuildWorkspaces")) == (1, 1)


def test_everything_fails_and_it_escalates() -> None:
    report = run("remediation_escalates.yaml")
    assert kinds(report).count("connection_failure") == 1
    (escalation,) = [a for a in ours(report) if a["kind"] == "escalation"]
    assert escalation["severity"] == "critical"
    assert escalation["employee_id"]
    assert kinds(report)[-1] == "escalation"
    assert calls(report, "RebootWorkspaces") == 1
    assert calls(report, "RebuildWorkspaces") == 1
    assert calls(report, "RestoreWorkspace") == 1


def test_a_connected_user_means_no_action_and_an_alert() -> None:
    report = run("remediation_connected_user.yaml")
    assert kinds(report)[:2] == ["connection_failure", "remediation_step"]
    assert "connected" in ours(report)[1]["subject"]
    assert calls(report, "RebootWorkspaces") == 0
    assert calls(report, "RebuildWorkspaces") == 0


def test_thirty_of_a_hundred_desks_failing_gives_one_page_and_no_reboot() -> None:
    report = run("remediation_systemic.yaml")
    assert kinds(report) == ["systemic_outage", "incident_resolved"]
    page = ours(report)[0]
    assert page["severity"] == "critical"
    assert "30 of 100 desks" in page["subject"]
    assert calls(report, "RebootWorkspaces") == 0
    assert calls(report, "RebuildWorkspaces") == 0


def test_a_login_resolves_an_incident() -> None:
    report = run("remediation_login_resolves.yaml")
    assert kinds(report) == ["connection_failure", "remediation_step", "incident_resolved"]
    assert "logged in successfully" in ours(report)[-1]["message"]


def test_a_repeated_alarm_does_not_page_again() -> None:
    report = run("remediation_repeated_alarm.yaml")
    alarms = [t for t in report["timeline"] if t["kind"] == "alarm" and t["state"] == "ALARM"]
    assert len(alarms) >= 2  # the alarm did fire twice
    assert kinds(report).count("connection_failure") == 1
    assert calls(report, "RebootWorkspaces") == 1


def test_a_message_on_a_dlq_pages() -> None:
    report = run("remediation_dlq_pages.yaml")
    assert any(letter for letter in report["dead_letters"])
    (page,) = [a for a in ours(report) if a["kind"] == "automation_failure"]
    assert page["severity"] == "critical"
    assert "async-failure-dlq" in page["subject"]
