"""The remediation adapters against moto: GetMetricData batching at 500 series a call, incident conditional
writes (one open incident per desk and per directory), and alert threads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import time_machine
from moto import mock_aws

from autopilot.adapters.alert_threads import AlertThreads
from autopilot.adapters.desk_store import DeskStore
from autopilot.adapters.incident_store import IncidentStore
from autopilot.adapters.metrics_query import ConnectionMetrics
from autopilot.contracts.outputs import StepRecord
from autopilot.domain.incidents.incidents import DeskActions, open_desk_incident, open_directory_incident
from autopilot.domain.incidents.triage import metric_calls
from autopilot.domain.kernel.errors import StaleUpdate
from tests.support.aws import create_table_from_template

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
DIR = "d-0123456789"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with time_machine.travel(NOW, tick=False), mock_aws():
        yield


@pytest.fixture
def table(aws: None) -> Any:
    return create_table_from_template(boto3.resource("dynamodb"), "StateTable", "state")


def ws(n: int) -> str:
    return f"ws-{n:09d}"


# --- GetMetricData ---------------------------------------------------------------------------------------
def _put_failures(cloudwatch: Any, failing: dict[str, tuple[int, int]], at: dt.datetime) -> None:
    data = []
    for workspace_id, (failures, attempts) in failing.items():
        for name, value in (("ConnectionFailure", failures), ("ConnectionAttempt", attempts)):
            data.append(
                {
                    "MetricName": name,
                    "Dimensions": [{"Name": "WorkspaceId", "Value": workspace_id}],
                    "Timestamp": at,
                    "Value": value,
                    "Unit": "Count",
                }
            )
    for start in range(0, len(data), 1000):
        cloudwatch.put_metric_data(Namespace="AWS/WorkSpaces", MetricData=data[start : start + 1000])


def _count_calls(client: Any) -> list[int]:
    """Series per GetMetricData call actually sent."""
    sizes: list[int] = []
    client.meta.events.register(
        "provide-client-params.cloudwatch.GetMetricData",
        lambda params, **_: sizes.append(len(params["MetricDataQueries"])),
    )
    return sizes


def test_a_thousand_desk_directory_is_triaged_in_two_calls_of_at_most_500_series(aws: None) -> None:
    cloudwatch = boto3.client("cloudwatch")
    desks = [ws(n) for n in range(1000)]
    failing = {ws(n): (n % 7 + 1, n % 7 + 3) for n in range(0, 1000, 33)}
    _put_failures(cloudwatch, failing, NOW - dt.timedelta(minutes=4))
    _put_failures(cloudwatch, {ws(0): (2, 2)}, NOW - dt.timedelta(minutes=1))
    _put_failures(cloudwatch, {ws(0): (50, 50)}, NOW - dt.timedelta(hours=2))  # outside the window
    sizes = _count_calls(cloudwatch)
    metrics = ConnectionMetrics(cloudwatch)

    counts = metrics.connection_counts(desks, NOW - dt.timedelta(minutes=15), NOW)

    assert sizes == [500, 500]
    assert metrics.calls == metric_calls(len(desks)) == 2
    assert counts[ws(0)].failures == 1 + 2
    assert counts[ws(0)].attempts is None  # would cost two more calls: the runbook acts on failures alone
    assert counts[ws(33)].failures == 33 % 7 + 1
    assert counts[ws(1)].failures == 0
    assert len(counts) == 1000


def test_attempts_come_along_when_they_cost_no_extra_call(aws: None) -> None:
    cloudwatch = boto3.client("cloudwatch")
    _put_failures(cloudwatch, {ws(0): (2, 5)}, NOW - dt.timedelta(minutes=1))
    sizes = _count_calls(cloudwatch)

    counts = ConnectionMetrics(cloudwatch).connection_counts([ws(0)], NOW - dt.timedelta(minutes=15), NOW)

    assert sizes == [2]
    assert (counts[ws(0)].failures, counts[ws(0)].attempts) == (2, 5)


def test_asking_desk_by_desk_costs_one_call_per_desk(aws: None) -> None:
    """The approach the batching replaces, measured the same way (a hundred desks keep the test fast)."""
    cloudwatch = boto3.client("cloudwatch")
    sizes = _count_calls(cloudwatch)
    metrics = ConnectionMetrics(cloudwatch)
    for n in range(100):
        metrics.connection_counts([ws(n)], NOW - dt.timedelta(minutes=15), NOW)
    batched = ConnectionMetrics(cloudwatch)
    batched.connection_counts([ws(n) for n in range(100)], NOW - dt.timedelta(minutes=15), NOW)
    assert (metrics.calls, batched.calls) == (100, 1)
    assert len(sizes) == 101


# --- incidents -------------------------------------------------------------------------------------------
def _incident(workspace_id: str = "ws-abcdefgh1", at: dt.datetime = NOW) -> Any:
    return open_desk_incident(
        workspace_id=workspace_id, directory_id=DIR, employee_id="e-1", cause="connection_failure", at=at
    )


def test_a_desk_has_at_most_one_open_incident(table: Any) -> None:
    store = IncidentStore(table)
    first, created = store.open(_incident())
    second, created_again = store.open(_incident(at=NOW + dt.timedelta(minutes=5)))
    assert created
    assert not created_again
    assert second.incident_id == first.incident_id
    assert store.open_for("ws-abcdefgh1") == first
    assert store.get(_incident(at=NOW + dt.timedelta(minutes=5)).incident_id) is None


def test_opening_the_same_incident_twice_returns_it(table: Any) -> None:
    store = IncidentStore(table)
    store.open(_incident())
    again, created = store.open(_incident())
    assert not created
    assert again.incident_id == _incident().incident_id


def test_a_directory_has_its_own_open_incident_beside_its_desks(table: Any) -> None:
    store = IncidentStore(table)
    store.open(_incident())
    outage = open_directory_incident(
        directory_id=DIR, at=NOW, failing_ids=["ws-abcdefgh1"], desks_in_directory=4, failures=9
    )
    _, created = store.open(outage)
    assert created
    outage_found = store.open_for(DIR)
    assert outage_found is not None
    assert outage_found.scope == "directory"
    assert {i.scope for i in store.open_in_directory(DIR)} == {"desk", "directory"}


def test_a_write_based_on_a_stale_read_is_refused(table: Any) -> None:
    store = IncidentStore(table)
    opened, _ = store.open(_incident())
    store.save(opened.noted(NOW, "note", "first writer"))
    with pytest.raises(StaleUpdate):
        store.save(opened.noted(NOW, "note", "second writer"))
    assert store.get(opened.incident_id).timeline[-1].detail == "first writer"  # type: ignore[union-attr]


def test_resolving_frees_the_desk_for_a_new_incident(table: Any) -> None:
    store = IncidentStore(table)
    opened, _ = store.open(_incident())
    store.resolve(opened.resolved("login", NOW + dt.timedelta(minutes=3)))
    assert store.open_for("ws-abcdefgh1") is None
    assert store.open_in_directory(DIR) == []
    stored = table.get_item(Key={"pk": f"INC#{opened.incident_id}", "sk": "INC"})["Item"]
    assert stored["status"] == "RESOLVED"
    assert int(stored["expires_at"]) > NOW.timestamp()
    later, created = store.open(_incident(at=NOW + dt.timedelta(hours=1)))
    assert created
    assert later.incident_id != opened.incident_id


def test_the_step_and_the_action_history_are_written_together(table: Any) -> None:
    store = IncidentStore(table)
    opened, _ = store.open(_incident())
    actions = store.actions("ws-abcdefgh1").recorded("reboot", NOW)
    step = StepRecord(action="reboot", outcome="requested", at=NOW)
    store.save(opened.with_step(step), actions)
    assert store.actions("ws-abcdefgh1").reboots == [NOW]
    # A second writer with the same (now stale) history is refused, incident write included.
    with pytest.raises(StaleUpdate):
        store.save(store.get(opened.incident_id).noted(NOW, "x"), DeskActions(workspace_id="ws-abcdefgh1"))  # type: ignore[union-attr]
    assert store.get(opened.incident_id).timeline[-1].kind == "step"  # type: ignore[union-attr]


def test_incidents_never_show_up_as_desks(table: Any) -> None:
    IncidentStore(table).open(_incident())
    assert DeskStore(table).by_workspace("ws-abcdefgh1") is None


# --- alert threads ---------------------------------------------------------------------------------------
def test_a_thread_is_new_then_updated_and_a_repeat_is_a_duplicate(table: Any) -> None:
    threads = AlertThreads(table)
    assert threads.claim("inc-1", "opened", NOW) == "new"
    assert threads.claim("inc-1", "opened", NOW) == "duplicate"
    assert threads.claim("inc-1", "resolved", NOW) == "update"
    assert threads.claim("inc-2", "opened", NOW) == "new"


def test_a_released_key_can_be_sent_again(table: Any) -> None:
    threads = AlertThreads(table)
    threads.claim("inc-1", "opened", NOW)
    threads.release("inc-1", "opened")
    assert threads.claim("inc-1", "opened", NOW) == "new"
