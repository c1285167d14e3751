"""Triage: which alarm, which window, which desks are failing, and when it is the directory's problem."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autopilot.domain.incidents.triage import (
    AlarmSubject,
    Counts,
    alarm_subject,
    alarm_window,
    is_systemic,
    metric_calls,
    still_failing,
    triage,
)
from autopilot.domain.kernel.policy import Remediation, Systemic

pytestmark = pytest.mark.usefixtures("socket_disabled")

PREFIX = "workspaces-autopilot-dev-connection-failure-"
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
RULES = Remediation()


def subject_of(name: str, directory: str | None, workspace: str | None) -> AlarmSubject:
    found = alarm_subject(name, PREFIX, directory, workspace)
    assert found is not None
    return found


def test_the_directory_comes_from_the_dimension_first() -> None:
    subject = subject_of(PREFIX + "d-9999999999", "d-0123456789", None)
    assert (subject.directory_id, subject.workspace_id) == ("d-0123456789", None)


def test_without_a_dimension_the_directory_is_the_alarm_name_suffix() -> None:
    assert subject_of(PREFIX + "d-0123456789", None, None).directory_id == "d-0123456789"


def test_a_per_desk_alarm_names_its_desk() -> None:
    subject = subject_of(PREFIX + "ws-abcdefgh1", None, "ws-abcdefgh1")
    assert subject.workspace_id == "ws-abcdefgh1"
    assert subject_of(PREFIX + "ws-abcdefgh1", None, None).workspace_id == "ws-abcdefgh1"


@pytest.mark.parametrize("name", [PREFIX + "corp.example.com", "someone-elses-alarm", PREFIX])
def test_an_alarm_without_a_directory_has_no_subject(name: str) -> None:
    # Nothing to act on: the handler drops the alarm event and counts it (handlers/aws_events.py).
    assert alarm_subject(name, PREFIX, None, None) is None


def test_a_workspace_dimension_that_is_no_desk_id_has_no_subject() -> None:
    assert alarm_subject(PREFIX + "d-0123456789", PREFIX, None, "i-12345678901234567") is None


def test_ids_as_aws_documents_them_are_subjects() -> None:
    # Shorter than botocore's request patterns allow (AWS's sample login names ws-xyskdga; events/aws/).
    assert alarm_subject("any", PREFIX, None, "ws-xyskdga") == AlarmSubject(
        directory_id=None, workspace_id="ws-xyskdga"
    )
    assert subject_of(PREFIX + "d-123456789", None, None).directory_id == "d-123456789"


def test_the_window_covers_the_evaluated_datapoints_and_at_least_fifteen_minutes() -> None:
    window = alarm_window(state_at=NOW, now=NOW + dt.timedelta(minutes=1), period=300)
    assert window.start == NOW - dt.timedelta(minutes=15)
    assert window.end == NOW + dt.timedelta(minutes=1)
    long = alarm_window(
        state_at=NOW, now=NOW, period=300, evaluated=[NOW - dt.timedelta(minutes=30), NOW - dt.timedelta(minutes=5)]
    )
    assert long.start == NOW - dt.timedelta(minutes=30)
    assert long.end > NOW


def test_failing_means_at_least_failures_to_act() -> None:
    result = triage({"ws-a": Counts(3, 3), "ws-b": Counts(2, 9), "ws-c": Counts(0, 4)}, 10, RULES)
    assert list(result.failing) == ["ws-a"]
    assert list(result.watched) == ["ws-b"]
    assert result.failures == 3


@pytest.mark.parametrize(
    ("failing", "desks", "expected"),
    [(30, 100, True), (20, 100, True), (19, 100, False), (4, 10, False), (5, 10, True), (5, 0, False)],
)
def test_systemic_needs_the_percentage_and_the_minimum(failing: int, desks: int, expected: bool) -> None:
    assert is_systemic(failing, desks, RULES) is expected


@given(
    failing=st.integers(min_value=0, max_value=2000),
    extra=st.integers(min_value=0, max_value=2000),
    percent=st.floats(min_value=1, max_value=100),
    min_desks=st.integers(min_value=1, max_value=50),
)
def test_systemic_agrees_with_its_definition(failing: int, extra: int, percent: float, min_desks: int) -> None:
    rules = Remediation(systemic=Systemic(percent=percent, min_desks=min_desks))
    desks = failing + extra
    expected = desks > 0 and failing >= min_desks and failing / desks * 100 >= percent - 1e-9
    assert is_systemic(failing, desks, rules) is expected


def test_at_a_recheck_a_sick_desk_or_new_failures_mean_still_failing() -> None:
    assert still_failing(Counts(0, 0), "UNHEALTHY", RULES)
    assert still_failing(Counts(3, 3), "AVAILABLE", RULES)
    assert not still_failing(Counts(2, 5), "AVAILABLE", RULES)


def test_metric_calls_are_the_series_over_five_hundred() -> None:
    assert [metric_calls(n) for n in (0, 1, 500, 501, 2000)] == [0, 1, 1, 2, 4]
