"""`autopilot-local demo` (`make demo`): the demo scenario runs and shows what it promises."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from localcloud.cli import main

pytestmark = pytest.mark.usefixtures("socket_disabled")


def test_demo_shows_the_three_use_cases() -> None:
    result = CliRunner().invoke(main, ["demo", "--json"])

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    desks = {desk["user"]: desk for desk in report["workspaces"]}
    hire = desks["lgarnier"]  # the HR hire became a desk with the data-science profile
    assert (hire["compute_type"], hire["bundle_id"], hire["tags"]["AutopilotProfile"]) == (
        "POWER",
        "wsb-0123456789",
        "datasci",
    )
    assert [mail["to"] for mail in report["emails"]] == [["lea.garnier@example.com"]]
    assert desks["amartin"]["state"] == "STOPPED"  # AutoStop in the night
    assert desks["helpline001"]["state"] == "AVAILABLE"  # started by the morning login
    # The desk nobody could connect to: one incident, rebooted, resolved in the same thread.
    kinds = [(alert["kind"], alert["incident_id"]) for alert in report["alerts"]]
    assert [kind for kind, _ in kinds] == ["connection_failure", "remediation_step", "incident_resolved"]
    assert len({incident for _, incident in kinds}) == 1
    assert report["api_calls"]["workspaces:RebootWorkspaces"] == 1
    assert all(invocation["ok"] for invocation in report["invocations"]), [
        i for i in report["invocations"] if not i["ok"]
    ]
