"""`autopilot --local SCENARIO COMMAND`: the scenario runs in a fresh local cloud, then the command runs against
the world it leaves; a scenario that cannot run is bad input (exit 2, one line)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from autopilot_ops.cli import main

ROOT = Path(__file__).resolve().parents[2]


def assert_bad_input(result: Result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("autopilot: "), result.stderr
    for word in words:
        assert word in lines[0]


@pytest.fixture
def small_scenario(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "two desks",
                "start": "2026-12-01T08:00:00Z",
                "fleet": [{"count": 2, "user_prefix": "agent", "site": "amiens-cc", "profile": "agent"}],
                "steps": [{"advance": "6m"}],
            }
        ),
        encoding="utf-8",
    )
    return path


def test_local_runs_the_scenario_then_the_command(small_scenario: Path) -> None:
    result = CliRunner().invoke(main, ["--local", str(small_scenario), "desks", "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 2
    assert "local cloud [1/1]" in result.stderr


def test_local_with_a_missing_or_invalid_scenario_is_bad_input(tmp_path: Path) -> None:
    missing = CliRunner().invoke(main, ["--local", str(tmp_path / "nope.yaml"), "desks"])
    assert_bad_input(missing, "no such scenario file")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nstart: 2026-12-01T08:00:00Z\nsteps: [{fly: 1h}]\n", encoding="utf-8")
    assert_bad_input(CliRunner().invoke(main, ["--local", str(broken), "desks"]), "unknown step 'fly'")


def test_local_runs_the_scenario_with_its_stack_parameters() -> None:
    # The CLI's own copy of the scenario runner built the world without the scenario's `parameters`, so a hire
    # put by the HR account (HrAccountId) was refused by the HR bus and `status` found no desk (exit 2).
    scenario = ROOT / "scenarios" / "onboarding_hr_in_another_account.yaml"
    result = CliRunner().invoke(main, ["--local", str(scenario), "--quiet", "status", "E10234", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["desk"]["employee_id"] == "E10234"


def test_local_with_an_unknown_stack_parameter_is_bad_input(tmp_path: Path) -> None:
    scenario = tmp_path / "typo.yaml"
    document = {"name": "typo", "start": "2026-12-01T08:00:00Z", "parameters": {"HrAcountId": "210987654321"}}
    scenario.write_text(yaml.safe_dump(document), encoding="utf-8")
    result = CliRunner().invoke(main, ["--local", str(scenario), "desks"])
    assert_bad_input(result, "parameters", "HrAcountId")
