"""`autopilot-local generate-event KIND`: every trigger the project handles, with the fields users change,
valid against its contract model, and accepted by the function that receives it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import SqsModel
from click.testing import CliRunner
from pydantic import BaseModel

from autopilot.contracts.catalogue import (
    AlarmStateChangeEvent,
    EmployeeDepartedEvent,
    EmployeeHiredEvent,
    EmployeeTransferredEvent,
    ObjectCreatedEvent,
    ScheduledTickEvent,
    TimerFiredEvent,
    WorkSpacesAccessEvent,
)
from localcloud.cli import main

pytestmark = pytest.mark.usefixtures("socket_disabled")

CASES: list[tuple[list[str], type[BaseModel], str]] = [
    (
        [
            "hr-hire",
            "--employee-id",
            "E777",
            "--username",
            "jdoe",
            "--email",
            "jdoe@example.com",
            "--site",
            "paris-hq",
            "--start-date",
            "2026-12-14",
            "--time",
            "2026-12-07T09:00:00Z",
        ],
        EmployeeHiredEvent,
        "HrEventsFunction",
    ),
    (["hr-hire", "--shift", "--employee-id", "E778", "--username", "shifty"], EmployeeHiredEvent, "HrEventsFunction"),
    (["hr-departure", "--employee-id", "E777", "--last-day", "2027-01-29"], EmployeeDepartedEvent, "HrEventsFunction"),
    (
        [
            "hr-transfer",
            "--employee-id",
            "E777",
            "--department",
            "qa",
            "--role",
            "tester",
            "--effective-date",
            "2027-01-04",
        ],
        EmployeeTransferredEvent,
        "HrEventsFunction",
    ),
    (["roster-created", "--key", "rosters/2026-12-07.csv"], ObjectCreatedEvent, "HrFeedIngestFunction"),
    (
        ["login", "--workspace-id", "ws-abc12345x", "--directory-id", "d-1234567890", "--time", "2026-12-07T07:41:37Z"],
        WorkSpacesAccessEvent,
        "SessionsFunction",
    ),
    (["alarm", "--directory-id", "d-1234567890"], AlarmStateChangeEvent, "RemediateFunction"),
    (["alarm", "--directory-id", "d-1234567890", "--state", "OK"], AlarmStateChangeEvent, "RemediateFunction"),
    (["schedule", "--task", "fleet_watch"], ScheduledTickEvent, "FleetWatchFunction"),
    (["schedule", "--task", "prewarm"], ScheduledTickEvent, "PrewarmFunction"),
    (["schedule", "--task", "unused_desks"], ScheduledTickEvent, "ReportFunction"),
    (["schedule", "--task", "optimize_running_modes"], ScheduledTickEvent, "OptimizerFunction"),
    (
        [
            "timer",
            "--timer-kind",
            "recheck",
            "--incident-id",
            "inc-20261207-ws-abc12345x",
            "--workspace-id",
            "ws-abc12345x",
        ],
        TimerFiredEvent,
        "RemediateFunction",
    ),
    (["sqs", "--timer-kind", "provision", "--employee-id", "E777"], SqsModel, "ProvisionFunction"),
    (["sqs", "--timer-kind", "stop", "--employee-id", "E777"], SqsModel, "LifecycleFunction"),
]


def _generate(args: list[str]) -> Any:
    result = CliRunner().invoke(main, ["generate-event", *args])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize(("args", "model", "function"), CASES, ids=lambda value: str(value)[:40])
def test_generated_event_is_valid_against_its_contract(args: list[str], model: type[BaseModel], function: str) -> None:
    event = _generate(args)

    model.model_validate(event)
    if model is SqsModel:
        for record in event["Records"]:
            TimerFiredEvent.model_validate_json(record["body"])


def test_options_reach_the_fields() -> None:
    hire = _generate(CASES[0][0])["detail"]
    assert (hire["employee_id"], hire["username"], hire["site"], hire["start_date"]) == (
        "E777",
        "jdoe",
        "paris-hq",
        "2026-12-14",
    )
    login = _generate(CASES[5][0])["detail"]
    assert (login["workspaceId"], login["directoryId"]) == ("ws-abc12345x", "domain/d-1234567890")
    alarm = _generate(CASES[6][0])["detail"]
    assert alarm["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"] == {"DirectoryId": "d-1234567890"}
    batch = _generate(CASES[14][0])
    assert json.loads(batch["Records"][0]["body"])["detail"]["employee_id"] == "E777"
    assert batch["Records"][0]["eventSourceARN"].endswith(":workspaces-autopilot-dev-lifecycle")


def test_a_value_the_contract_refuses_names_the_field() -> None:
    result = CliRunner().invoke(main, ["generate-event", "hr-hire", "--start-date", "next tuesday"])

    assert result.exit_code == 1
    assert "detail.start_date" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(("args", "model", "function"), CASES, ids=lambda value: str(value)[:40])
def test_generated_event_is_accepted_by_its_function(args: list[str], model: type[BaseModel], function: str) -> None:
    event = _generate(args)

    # A roster notification needs the roster in the bucket: --object puts it there first.
    roster = ["--object", "scenarios/rosters/onboarding_staff_2.csv"] if args[0] == "roster-created" else []

    result = CliRunner().invoke(main, ["invoke", function, "-e", "-", *roster], input=json.dumps(event))

    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert "errorType" not in answer, answer
    assert answer.get("batchItemFailures", []) == []
