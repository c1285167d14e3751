"""`autopilot-local`: bad input is one clear line and exit status 2, never a traceback; a function failing
inside a scenario is in the report, not a CLI error; `invoke` is the Docker-free `sam local invoke`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from localcloud.cli import main

pytestmark = pytest.mark.usefixtures("socket_disabled")  # everything runs in-process

TICK = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "Scheduled Event",
    "source": "aws.scheduler",
    "account": "123456789012",
    "time": "2026-12-01T05:05:00Z",
    "region": "eu-west-1",
    "resources": ["arn:aws:scheduler:eu-west-1:123456789012:schedule/default/sweep"],
    "detail": {"schema_version": 1, "task": "fleet_watch"},
}


def _cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _assert_bad_input(result: Result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


SCENARIO_HEAD = "name: bad\nstart: 2026-12-01T05:00:00Z\n"


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ("steps:\n  - advance: 1h\n  - dance: {}\n", ["bad.yaml", "steps[1]", "unknown step 'dance'"]),
        ("steps:\n  - advance: [1h\n", ["bad.yaml", "not valid YAML", "line 4"]),
        ("steps:\n  - publish: events/does-not-exist.json\n", ["steps[0] (publish)", "events/does-not-exist.json"]),
        ("steps:\n  - login: {name: jdoe}\n", ["bad.yaml: steps[0] (login)", "user: Field required"]),
        ("fleet:\n  - {user: a, site: moon, profile: office}\n", ["bad.yaml: fleet[0].site", "unknown site 'moon'"]),
        ("steps:\n  - invoke: {function: teleport}\n", ["steps[0] (invoke): function", "unknown function 'teleport'"]),
        ("steps:\n  - crash: {function: nope, after: CreateWorkspaces}\n", ["steps[0] (crash): function"]),
    ],
)
def test_bad_scenario_is_one_line_and_exit_status_2(tmp_path: Path, body: str, fragments: list[str]) -> None:
    scenario = _write(tmp_path / "bad.yaml", SCENARIO_HEAD + body)

    _assert_bad_input(_cli("run", str(scenario), "--json"), *fragments)


def test_malformed_event_file_is_named_with_the_step(tmp_path: Path) -> None:
    event = _write(tmp_path / "event.json", '{"source": "hr.feed", "detail-type": ')
    scenario = _write(tmp_path / "bad.yaml", SCENARIO_HEAD + f"steps:\n  - advance: 1m\n  - publish: {event}\n")

    _assert_bad_input(_cli("run", str(scenario)), "event.json: not valid JSON", "steps[1] (publish)")


def test_invalid_policy_file_is_named_with_the_key(tmp_path: Path) -> None:
    policy = _write(tmp_path / "policy.yaml", "version: 1\nsites: {}\n")
    scenario = _write(tmp_path / "bad.yaml", SCENARIO_HEAD + f"policy: {policy}\nsteps: []\n")

    _assert_bad_input(_cli("run", str(scenario)), "policy.yaml", "sites:")


def test_missing_scenario_file_is_bad_input(tmp_path: Path) -> None:
    _assert_bad_input(_cli("run", str(tmp_path / "nowhere.yaml")), "nowhere.yaml: no such scenario file")


def test_function_failure_inside_a_scenario_is_in_the_report_not_an_error(tmp_path: Path) -> None:
    scenario = _write(
        tmp_path / "fails.yaml",
        SCENARIO_HEAD + "steps:\n  - invoke: {function: sessions, event: {not: an event}}\n",
    )

    result = _cli("run", str(scenario), "--json")

    assert result.exit_code == 0, result.stderr
    (invocation,) = json.loads(result.stdout)["invocations"]
    assert invocation["function"] == "SessionsFunction"
    assert invocation["trigger"] == "invoke"
    assert invocation["ok"] is False
    assert invocation["error"]


def test_invoke_prints_the_handlers_json_result(tmp_path: Path) -> None:
    event = _write(tmp_path / "tick.json", json.dumps(TICK))

    result = _cli("invoke", "fleet_watch", "-e", str(event))

    assert result.exit_code == 0, result.stderr
    json.loads(result.stdout)  # the handler's result, as JSON


def test_invoke_accepts_the_logical_id_and_a_function_error_is_its_result_with_status_0(tmp_path: Path) -> None:
    # As `sam local invoke` (aws/aws-sam-cli#1081): the error payload is the result, the exit status stays 0.
    event = _write(tmp_path / "wrong.json", json.dumps({**TICK, "detail": {"task": "dance"}}))

    result = _cli("invoke", "FleetWatchFunction", "-e", str(event))

    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["errorType"]
    assert "Traceback" not in result.stdout


def _assert_invoke_refused(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output  # SAM CLI's UserException
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_invoke_unknown_function_is_refused(tmp_path: Path) -> None:
    event = _write(tmp_path / "tick.json", json.dumps(TICK))

    _assert_invoke_refused(_cli("invoke", "teleport", "-e", str(event)), "unknown function 'teleport'")


def test_invoke_malformed_event_file_is_refused(tmp_path: Path) -> None:
    event = _write(tmp_path / "tick.json", "{")

    _assert_invoke_refused(_cli("invoke", "fleet_watch", "-e", str(event)), "tick.json: not valid JSON")
