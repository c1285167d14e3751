"""scenarios/optimizer_*.yaml through the scenario runner (what `autopilot-local run` does)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
scenario = pytest.importorskip("localcloud.scenario", reason="the scenario runner (localcloud/scenario.py) is missing")


def desk(report: dict[str, Any], user: str) -> dict[str, Any]:
    return next(ws for ws in report["workspaces"] if ws["user"] == user)


def optimizer_runs(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in report["invocations"] if i["function"] == "OptimizerFunction"]


def test_a_light_always_on_desk_goes_auto_stop_at_the_month_end() -> None:
    report = scenario.run_scenario(ROOT / "scenarios" / "optimizer_month_end.yaml")
    runs = optimizer_runs(report)
    assert [run["ok"] for run in runs] == [True] * 3  # 30 and 31 March, 1 April
    light = desk(report, "light")
    assert (light["running_mode"], light["autostop_minutes"]) == ("AUTO_STOP", 120)
    # One switch, two calls: running mode, then its AutoStop timeout (one property per call, issue 18).
    assert report["api_calls"]["workspaces:ModifyWorkspaceProperties"] == 2


def test_dry_run_changes_nothing() -> None:
    report = scenario.run_scenario(ROOT / "scenarios" / "optimizer_dry_run.yaml")
    runs = optimizer_runs(report)
    assert [run["ok"] for run in runs] == [True] * 3  # 30 and 31 March, 1 April
    assert report["api_calls"].get("workspaces:ModifyWorkspaceProperties", 0) == 0
    assert (desk(report, "heavy")["running_mode"], desk(report, "light")["running_mode"]) == ("AUTO_STOP", "ALWAYS_ON")
