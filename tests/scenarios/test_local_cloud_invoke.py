"""`autopilot-local invoke` with `sam local invoke`'s flags and streams, run as a user runs it: a subprocess, the
event from a file or a pipe, the function's JSON result alone on stdout, its logs on stderr or in --log-file,
SAM CLI's exit statuses (docs/local-cloud.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from localcloud.cli import main

ROOT = Path(__file__).resolve().parents[2]
TICK = ROOT / "events" / "scheduled_fleet_watch.json"


def _run(*args: str, stdin: str | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "localcloud.cli", "invoke", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=900,
        check=False,
    )


def _log_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_event_from_a_pipe_gives_the_result_alone_on_stdout_and_the_logs_on_stderr() -> None:
    # Given the event on stdin (`cat event.json | autopilot-local invoke FleetWatchFunction -e -`)
    done = _run("FleetWatchFunction", "-e", "-", stdin=TICK.read_text(encoding="utf-8"))

    # Then stdout is the result and nothing else (`| jq` works), and the logs are on stderr.
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["desks"] == 0
    logs = _log_lines(done.stderr)
    assert any(line.get("message") == "fleet swept" for line in logs)  # Powertools' structured log
    assert any("_aws" in line for line in logs)  # the EMF metrics


def test_log_file_takes_the_logs_and_stdout_keeps_the_result(tmp_path: Path) -> None:
    log = tmp_path / "invoke.log"

    done = _run("fleet_watch", "-e", str(TICK), "--log-file", str(log))

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["desks"] == 0
    assert any(line.get("message") == "fleet swept" for line in _log_lines(log.read_text(encoding="utf-8")))
    assert "fleet swept" not in done.stderr


def test_template_env_vars_and_parameter_overrides_reach_the_function(tmp_path: Path) -> None:
    # Given a copy of the template with another memory size, SAM's env-vars file and a parameter override
    text = (ROOT / "template.yaml").read_text(encoding="utf-8")
    sweeper = "      Timeout: 300\n      MemorySize: 1024\n"
    assert text.count(sweeper) == 1  # the fleet-watch function's sizing
    copy = tmp_path / "template.yaml"
    copy.write_text(text.replace(sweeper, "      Timeout: 300\n      MemorySize: 256\n"), encoding="utf-8")
    for folder in ("functions", "layers"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    env_vars = tmp_path / "env.json"
    env_vars.write_text(
        json.dumps(
            {
                "Parameters": {"POWERTOOLS_SERVICE_NAME": "everyone", "NOT_IN_TEMPLATE": "ignored"},
                "FleetWatchFunction": {"POWERTOOLS_SERVICE_NAME": "sweeper-under-test"},
            }
        ),
        encoding="utf-8",
    )

    done = _run(
        "FleetWatchFunction",
        "-t",
        str(copy),
        "-e",
        str(TICK),
        "--env-vars",
        str(env_vars),
        "--parameter-overrides",
        "Stage=prod",
        "LogRetentionDays=30",
    )

    assert done.returncode == 0, done.stderr
    json.loads(done.stdout)
    swept = next(line for line in _log_lines(done.stderr) if line.get("message") == "fleet swept")
    assert swept["service"] == "sweeper-under-test"  # the function's own env-vars object wins
    assert swept["function_name"] == "workspaces-autopilot-prod-fleet-watch"  # Stage=prod
    assert swept["function_memory_size"] == 256  # read from the template given with -t


def test_no_event_invokes_with_an_empty_event_and_a_function_error_is_exit_status_0() -> None:
    # SAM CLI exits 0 when the function raised (aws/aws-sam-cli#1081): the error payload is the result.
    done = _run("FleetWatchFunction", "--no-event", "--parameter-overrides", "ParameterKey=Stage,ParameterValue=dev")

    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["errorType"] == "ValidationError"
    assert payload["errorMessage"]
    assert "Traceback" not in done.stdout


def _assert_user_error(result: Any, *fragments: str) -> None:
    assert result.exit_code == 1, result.output  # SAM CLI's UserException
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_without_an_event_the_error_says_one_is_needed_and_which_samples_fit() -> None:
    result = CliRunner().invoke(main, ["invoke", "LifecycleFunction"])

    _assert_user_error(
        result,
        "LifecycleFunction needs an event",
        "-e -",
        "--no-event",
        "events/sqs_lifecycle_batch.json",
        "events/timer_stop.json",
    )


def test_unknown_function_names_the_functions_that_exist() -> None:
    result = CliRunner().invoke(main, ["invoke", "teleport", "-e", str(TICK)])

    _assert_user_error(result, "unknown function 'teleport'", "FleetWatchFunction", "ProvisionFunction")


def test_missing_function_names_the_functions_that_exist() -> None:
    result = CliRunner().invoke(main, ["invoke", "-e", str(TICK)])

    _assert_user_error(result, "give the function to invoke", "SessionsFunction")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["-e", "nowhere.json"], ["nowhere.json: no such event file"]),
        (["--parameter-overrides", "Stage"], ["'Stage' is not a valid format"]),
        (["--parameter-overrides", "Teleport=yes"], ["unknown template parameter(s): Teleport"]),
        (["-t", "nowhere.yaml"], ["nowhere.yaml: no such template file"]),
    ],
)
def test_bad_input_is_one_line_and_exit_status_1(args: list[str], fragments: list[str]) -> None:
    event = [] if "-e" in args else ["-e", str(TICK)]
    result = CliRunner().invoke(main, ["invoke", "FleetWatchFunction", *event, *args])

    _assert_user_error(result, *fragments)


def test_env_vars_in_the_wrong_shape_is_exit_status_1(tmp_path: Path) -> None:
    env_vars = tmp_path / "env.json"
    env_vars.write_text('{"Parameters": "DEBUG"}', encoding="utf-8")

    result = CliRunner().invoke(main, ["invoke", "FleetWatchFunction", "-e", str(TICK), "--env-vars", str(env_vars)])

    _assert_user_error(result, "Environment variables 'Parameters' in incorrect format")


def test_unknown_option_is_a_usage_error_exit_status_2() -> None:
    assert CliRunner().invoke(main, ["invoke", "FleetWatchFunction", "--teleport"]).exit_code == 2


@pytest.mark.parametrize(("flags", "enforced"), [((), True), (("--no-iam",), False)])
def test_invoke_enforces_iam_unless_told_not_to(
    monkeypatch: pytest.MonkeyPatch, flags: tuple[str, ...], enforced: bool
) -> None:
    from localcloud import invoking

    seen: list[bool] = []
    real = invoking.LocalCloud

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["iam"])
        return real(*args, **kwargs)

    monkeypatch.setattr(invoking, "LocalCloud", spy)
    result = CliRunner().invoke(main, ["invoke", "FleetWatchFunction", "-e", str(TICK), *flags])
    assert result.exit_code == 0, result.output
    assert seen == [enforced]
