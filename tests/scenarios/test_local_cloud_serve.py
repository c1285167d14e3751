"""`autopilot-local serve`: the local cloud as an AWS endpoint on loopback. The AWS CLI and boto3 talk to it as to
AWS: a hire put with `aws events put-events` becomes a desk that `aws workspaces describe-workspaces` and
boto3 see; the control API moves the virtual clock; SIGINT stops it cleanly."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
AWS = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
pytestmark = pytest.mark.server
HIRE = {
    "schema_version": 1,
    "employee_id": "E555",
    "username": "served",
    "email": "served@example.com",
    "given_name": "Sam",
    "family_name": "Served",
    "department": "finance",
    "role": "accountant",
    "site": "paris-hq",
    "start_date": "2026-01-05",
}
ENV = {
    **os.environ,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


@contextmanager
def _serve() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`autopilot-local serve` on a free loopback port, its clock at the start of the default world."""
    process = subprocess.Popen(
        [sys.executable, "-m", "localcloud.cli", "serve", "--port", "0"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=ENV,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()  # "autopilot-local: serving http://127.0.0.1:PORT (clock virtual); …"
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, line
        yield match.group(0), process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# Each test owns the server it changes (the hire test counts desks from an empty world, the SIGINT test stops
# its server), so any test passes alone and in any order; the read-only tests share one with the hire built.
@pytest.fixture
def served() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    with _serve() as server:
        yield server


@pytest.fixture(scope="module")
def served_with_a_desk() -> Iterator[str]:
    """A server where HIRE was put on the HR bus and its desk built (22 minutes on the virtual clock)."""
    with _serve() as (url, _):
        events = boto3.client(
            "events", endpoint_url=url, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        entry = {"Source": "hr.feed", "DetailType": "Employee Hired", "Detail": json.dumps(HIRE)}
        put = events.put_events(Entries=[{**entry, "EventBusName": "workspaces-autopilot-dev-hr"}])
        assert put["FailedEntryCount"] == 0
        _control(url, "advance", {"by": "22m"})
        yield url


def _aws(url: str, *args: str) -> object:
    assert AWS, "awscli is a dev dependency (pyproject.toml)"
    done = subprocess.run(
        [AWS, "--endpoint-url", url, "--output", "json", *args],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def _control(url: str, action: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(f"{url}/_localcloud/{action}", data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=300) as response:
        answer: dict[str, object] = json.loads(response.read())
        return answer


def test_a_hire_put_with_the_aws_cli_becomes_a_desk_seen_by_the_aws_cli_and_boto3(
    served: tuple[str, subprocess.Popen[str]],
) -> None:
    url, _ = served
    entries = [
        {
            "Source": "hr.feed",
            "DetailType": "Employee Hired",
            "Detail": json.dumps(HIRE),
            "EventBusName": "workspaces-autopilot-dev-hr",
        }
    ]

    put = _aws(url, "events", "put-events", "--entries", json.dumps(entries))
    assert isinstance(put, dict)
    assert put["FailedEntryCount"] == 0
    assert _control(url, "advance", {"by": "2m"})["now"] == "2026-01-05T09:02:00Z"

    described = _aws(url, "workspaces", "describe-workspaces")
    assert isinstance(described, dict)
    assert [(w["UserName"], w["State"]) for w in described["Workspaces"]] == [("served", "PENDING")]
    workspaces = boto3.client(
        "workspaces", endpoint_url=url, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    assert [w["UserName"] for w in workspaces.describe_workspaces()["Workspaces"]] == ["served"]

    # Twenty minutes later the emulator has built it.
    _control(url, "advance", {"by": "20m"})
    described = _aws(url, "workspaces", "describe-workspaces")
    assert isinstance(described, dict)
    assert described["Workspaces"][0]["State"] == "AVAILABLE"


def test_a_scenario_step_through_the_control_api(served_with_a_desk: str) -> None:
    url = served_with_a_desk

    answer = _control(url, "step", {"login": {"user": "served"}})

    assert answer["step"] == "login user=served"


def _autopilot(url: str, *args: str) -> object:
    done = subprocess.run(
        [sys.executable, "-m", "autopilot_ops.cli", "-q", "--endpoint-url", url, *args],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_operator_cli_answers_against_the_served_cloud(served_with_a_desk: str) -> None:
    url = served_with_a_desk

    desks = _autopilot(url, "desks", "--json")
    status = _autopilot(url, "status", "E555", "--json")

    assert isinstance(desks, list)
    assert [(desk["employee_id"], desk["lifecycle"]) for desk in desks] == [("E555", "READY")]
    assert isinstance(status, dict)
    assert status["desk"]["username"] == "served"


def test_sigint_stops_the_server_cleanly(served: tuple[str, subprocess.Popen[str]]) -> None:
    _, process = served

    process.send_signal(signal.SIGINT)

    assert process.wait(timeout=120) == 0
    assert process.stderr is not None
    assert "autopilot-local: stopped" in process.stderr.read()
