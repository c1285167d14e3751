"""Whose input is it? AWS's events are read tolerantly (what we act on is checked, loosely; the rest ignored) and
one that cannot be acted on is dropped with its id, counted and answered normally. HR's events are ours: strict,
except that the day names HR systems write in shifts are accepted and normalised (issue 14, point 3)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from autopilot.contracts.aws import AlarmStateChangeEvent, ObjectCreatedEvent, WorkSpacesAccessEvent
from autopilot.contracts.hr import EmployeeHiredEvent, EmployeeTransferredEvent, Shift
from autopilot.domain.kernel.errors import InvalidInput
from autopilot.handlers import aws_events

EVENTS = Path(__file__).resolve().parents[2] / "events"
AWS_SAMPLES = {
    "aws/workspaces_access.json": WorkSpacesAccessEvent,
    "aws/workspaces_access_2018.json": WorkSpacesAccessEvent,
    "aws/cloudwatch_alarm_state_change.json": AlarmStateChangeEvent,
    "aws/s3_object_created.json": ObjectCreatedEvent,
    "workspaces_access.json": WorkSpacesAccessEvent,
    "alarm_connection_failure_alarm.json": AlarmStateChangeEvent,
    "alarm_connection_failure_ok.json": AlarmStateChangeEvent,
    "alarm_automation_dlq.json": AlarmStateChangeEvent,
    "s3_roster_object_created.json": ObjectCreatedEvent,
}
LOGIN = "aws/workspaces_access.json"


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return document


def shift(days: list[Any]) -> dict[str, Any]:
    return {"timezone": "Europe/Paris", "days": days, "start": "08:00", "end": "16:00"}


# --- AWS's events: tolerant ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(AWS_SAMPLES))
def test_an_aws_event_with_fields_aws_added_everywhere_parses(name: str) -> None:
    event = load(name)
    event["surpriseEnvelopeField"] = {"x": 1}
    event["detail"]["surpriseDetailField"] = [1, "two"]
    for value in event["detail"].values():
        if isinstance(value, dict):
            value["surpriseNestedField"] = None

    assert AWS_SAMPLES[name].model_validate(event).id == load(name)["id"]


def test_the_desk_id_aws_documents_is_accepted() -> None:
    # ws-xyskdga: seven characters, where botocore's WorkspaceId request pattern wants eight or more.
    assert WorkSpacesAccessEvent.model_validate(load(LOGIN)).detail.workspace_id == "ws-xyskdga"


def test_a_login_is_read_for_its_desk_and_time_only() -> None:
    detail = WorkSpacesAccessEvent.model_validate(load(LOGIN)).detail
    # The client's IP address is personal data and never acted on: the model does not even hold it.
    assert "192.0.2.3" not in repr(detail)
    assert detail.plain_directory_id == "d-123456789"


@pytest.mark.parametrize(
    "breakage",
    [
        pytest.param(lambda d: d.pop("workspaceId"), id="desk id missing"),
        pytest.param(lambda d: d.update(workspaceId=12345678), id="desk id not a string"),
        pytest.param(lambda d: d.update(workspaceId="i-12345678901234567"), id="not a desk id"),
        pytest.param(lambda d: d.update(workspaceId="ws-a b"), id="desk id with a space"),
        pytest.param(lambda d: d.pop("loginTime"), id="login time missing"),
        pytest.param(lambda d: d.update(loginTime="yesterday"), id="login time not a time"),
    ],
)
def test_a_login_without_what_we_act_on_is_refused_by_the_model(breakage: Any) -> None:
    event = load(LOGIN)
    breakage(event["detail"])
    with pytest.raises(ValidationError):
        WorkSpacesAccessEvent.model_validate(event)


def test_fields_we_do_not_use_may_change_type() -> None:
    event = load(LOGIN)
    event["detail"].update(clientIpAddress={"v4": "192.0.2.3"}, clientVersion=5, actionType="somethingNew")
    alarm = load("aws/cloudwatch_alarm_state_change.json")
    alarm["detail"]["configuration"]["metrics"][0]["returnData"] = "true"
    alarm["detail"]["state"]["reasonData"] = "not json"
    roster = load("aws/s3_object_created.json")
    roster["detail"]["object"]["size"] = "5"
    roster["detail"]["request-id"] = None

    assert WorkSpacesAccessEvent.model_validate(event)
    assert AlarmStateChangeEvent.model_validate(alarm).detail.state.reason_data is None
    assert ObjectCreatedEvent.model_validate(roster).detail.object.key == "example-key"


# --- the drop path ------------------------------------------------------------------------------------------


class RecordingLogger:
    def __init__(self) -> None:
        self.warnings: list[tuple[str, dict[str, Any]]] = []

    def warning(self, message: str, extra: dict[str, Any]) -> None:
        self.warnings.append((message, extra))


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> RecordingLogger:
    recorder = RecordingLogger()
    monkeypatch.setattr(aws_events, "logger", recorder)
    return recorder


def emitted_metrics(output: str) -> list[dict[str, Any]]:
    """The embedded-metric-format documents Powertools printed."""
    return [json.loads(line) for line in output.splitlines() if line.startswith("{") and '"_aws"' in line]


def test_an_aws_event_that_cannot_be_acted_on_is_dropped_with_its_id_and_counted(
    recorded: RecordingLogger, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "workspaces-autopilot")  # as the template's Globals set it
    event = load(LOGIN)
    event["detail"]["workspaceId"] = 42

    outcome = aws_events.read(event, WorkSpacesAccessEvent, "WorkSpacesAccess")

    assert outcome == aws_events.Dropped(kind="WorkSpacesAccess", event_id="64ca0eda-9751-dc55-c41a-1bd50b4fc9b7")
    assert outcome.as_response() == {"dropped": "WorkSpacesAccess", "event_id": "64ca0eda-9751-dc55-c41a-1bd50b4fc9b7"}
    [(message, extra)] = recorded.warnings
    assert message == "aws event dropped"
    assert extra == {
        "event_id": "64ca0eda-9751-dc55-c41a-1bd50b4fc9b7",
        "kind": "WorkSpacesAccess",
        "problems": ["detail.workspaceId: string_type"],
    }
    [metric] = emitted_metrics(capsys.readouterr().out)
    assert metric["AwsEventDropped"] == [1.0]
    assert (metric["kind"], metric["service"]) == ("WorkSpacesAccess", "workspaces-autopilot")
    definition = metric["_aws"]["CloudWatchMetrics"][0]
    assert definition["Namespace"] == "WorkSpacesAutopilot"
    assert definition["Dimensions"] == [["kind", "service"]]  # what the dashboard's SEARCH expects
    assert definition["Metrics"] == [{"Name": "AwsEventDropped", "Unit": "Count"}]


def test_a_dropped_event_is_logged_without_its_payload(recorded: RecordingLogger) -> None:
    event = load(LOGIN)
    event["detail"]["workspaceId"] = "jdoe@example.com"  # a value that is personal data
    event["detail"]["loginTime"] = "jdoe"

    aws_events.read(event, WorkSpacesAccessEvent, "WorkSpacesAccess")

    logged = json.dumps(recorded.warnings)
    assert "jdoe" not in logged
    assert "192.0.2.3" not in logged
    assert "detail.loginTime" in logged
    assert "detail.workspaceId" in logged


def test_a_dropped_event_without_an_id_is_still_logged_and_counted(recorded: RecordingLogger) -> None:
    event = load(LOGIN)
    event["id"] = 7
    event["detail"] = "junk"

    outcome = aws_events.read(event, WorkSpacesAccessEvent, "WorkSpacesAccess")

    assert outcome == aws_events.Dropped(kind="WorkSpacesAccess", event_id=None)
    assert [extra["event_id"] for _, extra in recorded.warnings] == [None]


@pytest.mark.parametrize(
    "event",
    [
        pytest.param([1, 2], id="not an object"),
        pytest.param({**load(LOGIN), "source": "hr.feed"}, id="another source"),
        pytest.param({**load(LOGIN), "detail-type": "AWS API Call via CloudTrail"}, id="another detail-type"),
        pytest.param(load("aws/cloudwatch_alarm_state_change.json"), id="another AWS event"),
    ],
)
def test_an_event_that_is_not_the_aws_event_subscribed_to_is_refused(event: Any, recorded: RecordingLogger) -> None:
    with pytest.raises(InvalidInput, match="not the AWS event this function subscribes to"):
        aws_events.read(event, WorkSpacesAccessEvent, "WorkSpacesAccess")
    assert recorded.warnings == []


def test_an_aws_event_that_can_be_acted_on_is_not_dropped(recorded: RecordingLogger) -> None:
    event = load(LOGIN)
    event["detail"]["brandNewField"] = True

    outcome = aws_events.read(event, WorkSpacesAccessEvent, "WorkSpacesAccess")

    assert isinstance(outcome, WorkSpacesAccessEvent)
    assert recorded.warnings == []


# --- HR's events: ours, strict ------------------------------------------------------------------------------


@pytest.mark.parametrize("day", ["mon", "MON", "Mon", "Monday", "monday", "MONDAY", " monday "])
def test_the_day_names_hr_systems_send_are_normalised(day: str) -> None:
    assert Shift.model_validate(shift([day])).days == ["mon"]


def test_a_whole_week_in_hr_spellings_is_the_canonical_week() -> None:
    days = ["Monday", "TUE", "wednesday", "Thu", "FRIDAY", "sat", "Sunday"]
    assert Shift.model_validate(shift(days)).days == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@pytest.mark.parametrize("day", ["Mo", "Mondays", "lundi", "tues", "thurs", "", "1", 1, None])
def test_a_day_name_that_is_no_day_is_still_refused_naming_the_accepted_ones(day: Any) -> None:
    with pytest.raises(ValidationError) as failure:
        Shift.model_validate(shift([day]))
    assert "days" in str(failure.value)
    assert "'mon', 'tue', 'wed', 'thu', 'fri', 'sat' or 'sun'" in str(failure.value)


def test_a_hire_whose_shift_uses_full_day_names_is_accepted_with_canonical_days() -> None:
    hire = load("hr_employee_hired_agent_shift.json")
    hire["detail"]["shift"]["days"] = ["Monday", "Tuesday", "WED"]

    assert EmployeeHiredEvent.model_validate(hire).detail.shift is not None
    assert EmployeeHiredEvent.model_validate(hire).detail.shift.days == ["mon", "tue", "wed"]  # type: ignore[union-attr]


def test_hr_events_stay_strict_about_unknown_fields() -> None:
    hire = load("hr_employee_hired_agent_shift.json")
    hire["detail"]["shift"]["nightly"] = True
    transfer = copy.deepcopy(load("hr_employee_transferred.json"))
    transfer["surprise"] = 1

    with pytest.raises(ValidationError, match="nightly"):
        EmployeeHiredEvent.model_validate(hire)
    with pytest.raises(ValidationError, match="surprise"):
        EmployeeTransferredEvent.model_validate(transfer)
