"""Fault injection on the local cloud (issue 7, the gaps test_fault_injection.py leaves): StopWorkspaces on a desk
still running at the end of its user's last day (throttled past the SDK's retries, FailedRequests, a crash after
it), the other crash points of offboarding (departure handling, the switch of an AlwaysOn desk to AutoStop, the
desk writes), TerminateWorkspaces past the SDK's retries and refused on every delivery, FailedRequests on the
batch operations nobody else refuses (StartWorkspaces, RebuildWorkspaces), and every other WorkSpaces operation
the project calls throttled past the SDK's retries (MigrateWorkspace and RestoreWorkspace included).

After each: no desk lost or duplicated (at most one live WorkSpace per user), the state converges (stopped on
the last day, terminated after the retention), and a failure that persists is visible as an alert or a dead
letter. "Past the SDK's retries" means as many ThrottlingException answers in a row as one call makes attempts
(autopilot.adapters.aws.RETRY_CONFIG): the call gives up and the queue or Lambda's async retries take over."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aws_xray_sdk.core  # noqa: F401  # its recorder opens a UDP socket at import: do it before sockets are blocked
import pytest
import yaml

from autopilot.adapters.aws import RETRY_CONFIG
from autopilot.adapters.policy_source import packaged_policy_text
from autopilot.domain.kernel.desks import Lifecycle
from localcloud.scenario import open_world
from localcloud.template import load
from localcloud.world import LocalCloud
from tests.scenarios.test_fault_injection import (
    SCENARIOS,
    assert_no_duplicates,
    depart,
    desk_record,
    failed,
    hire,
    kinds,
    live_desks,
    outcome,
)

# One SDK call makes this many attempts before it gives up; so many throttles in a row defeat exactly one call.
ATTEMPTS = int(RETRY_CONFIG.retries["total_max_attempts"])
# Receives of a lifecycle message before SQS moves it to the LifecycleDLQ.
RECEIVES = int(load()["Resources"]["LifecycleQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"])

START = "2026-12-01T20:00:00Z"
EMPLOYEE, USER = "E70001", "stayson"
# The stop timer: 23:00 in Paris on the last day (policy.offboarding.stop_at_local), 22:00 UTC in winter. The lifecycle
# queue's batching window holds the message 20 s, so 10 s after it nothing but the lifecycle function is due: a
# fault injected then hits it, not the five-minute sweeps (fleet_watch, prewarm) that call the same operations.
STOP_DUE = dt.datetime(2026, 12, 1, 22, 0, tzinfo=dt.UTC)
INJECT_STOP = STOP_DUE + dt.timedelta(seconds=10)
# The terminate timer, one day later (the one-day retention below), injected the same way.
INJECT_TERMINATE = INJECT_STOP + dt.timedelta(days=1)
AFTER_RETENTION = STOP_DUE + dt.timedelta(days=1, hours=1)

# How a desk is still AVAILABLE when its stop comes due: its user is connected (AutoStop never stops a desk in
# use), or its profile is AlwaysOn (offboarding switches it to AutoStop first: StopWorkspaces refuses AlwaysOn).
CONNECTED, ALWAYS_ON = "connected", "always_on"


# --- helpers ------------------------------------------------------------------------------------------------
def policy(tmp_path: Path, *, always_on: bool) -> Path:
    """The packaged policy with a one-day retention; `always_on`: the office profile (a finance hire's) AlwaysOn."""
    document = yaml.safe_load(packaged_policy_text())
    document["offboarding"] = {**document["offboarding"], "retention_days": 1}
    if always_on:
        office = {k: v for k, v in document["profiles"]["office"].items() if k != "autostop_hours"}
        document["profiles"]["office"] = {**office, "running_mode": "ALWAYS_ON"}
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


@contextmanager
def running_desk(tmp_path: Path, how: str = CONNECTED) -> Iterator[LocalCloud]:
    """A hire whose desk is AVAILABLE at 21:00 and will still be at the end of the day (see CONNECTED, ALWAYS_ON)."""
    with LocalCloud(start=START, policy=policy(tmp_path, always_on=how == ALWAYS_ON)) as cloud:
        cloud.publish(hire(EMPLOYEE, USER))
        cloud.advance(dt.timedelta(hours=1))
        if how == CONNECTED:
            assert cloud.login(USER)["ok"]
        assert state(cloud) == "AVAILABLE"
        yield cloud


def leave_today(cloud: LocalCloud, *, until: dt.datetime = INJECT_STOP) -> None:
    """The user's last day is today: the departure is published and the clock moves to `until`."""
    cloud.publish(depart(EMPLOYEE))
    advance_to(cloud, until)


def advance_to(cloud: LocalCloud, moment: dt.datetime) -> None:
    cloud.advance(moment - cloud.now())


@contextmanager
def stop_due(tmp_path: Path, how: str = CONNECTED) -> Iterator[LocalCloud]:
    """The departure is scheduled and the stop is about to reach the lifecycle function, the desk still running."""
    with running_desk(tmp_path, how) as cloud:
        leave_today(cloud)
        assert state(cloud) == "AVAILABLE"
        assert calls(cloud, "StopWorkspaces") == 0
        yield cloud


def state(cloud: LocalCloud) -> str | None:
    """The state of the user's live WorkSpace (None once it is terminated)."""
    live = [w["state"] for w in cloud.workspaces() if w["user"] == USER and w["state"] != "TERMINATED"]
    return live[0] if live else None


def lifecycle(cloud: LocalCloud) -> Lifecycle:
    record = desk_record(cloud, EMPLOYEE)
    assert record is not None
    return record.lifecycle


def calls(cloud: LocalCloud, operation: str) -> int:
    return int(cloud.emulator.api_calls.get(operation, 0))


def throttles_left(cloud: LocalCloud, operation: str) -> int:
    return int(cloud.emulator.fleet.throttles.get(operation, 0))


def lifecycle_item_failures(cloud: LocalCloud) -> int:
    """Lifecycle batches that reported a failed message (redelivered by SQS after its visibility timeout)."""
    results = [i.result for i in cloud.invocations if i.function == "LifecycleFunction" and i.ok]
    return sum(1 for result in results if isinstance(result, dict) and result.get("batchItemFailures"))


def dead_letter_queues(cloud: LocalCloud) -> list[str]:
    return [letter["queue"] for letter in cloud.dead_letters()]


def assert_stopped_then_terminated(cloud: LocalCloud) -> None:
    """The desk stopped on the last day and is terminated after the retention, with no failure left behind."""
    assert state(cloud) == "STOPPED"
    assert lifecycle(cloud) is Lifecycle.STOPPED
    advance_to(cloud, AFTER_RETENTION)
    assert live_desks(cloud)[USER] == 0
    assert lifecycle(cloud) is Lifecycle.TERMINATED
    assert calls(cloud, "TerminateWorkspaces") == 1
    assert cloud.dead_letters() == []
    assert "automation_failure" not in kinds(cloud)
    assert_no_duplicates(cloud)


def assert_visible_then_terminated(cloud: LocalCloud, queue: str = "LifecycleDLQ") -> None:
    """A failure that outlived every redelivery is a dead letter and an automation_failure alert; the desk
    is still terminated after the retention (the terminate timer is independent of the stop)."""
    assert dead_letter_queues(cloud) == [queue]
    assert "automation_failure" in kinds(cloud)
    advance_to(cloud, AFTER_RETENTION)
    assert live_desks(cloud)[USER] == 0
    assert lifecycle(cloud) is Lifecycle.TERMINATED
    assert_no_duplicates(cloud)


# --- StopWorkspaces ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("how", [CONNECTED, ALWAYS_ON])
def test_a_stop_throttled_past_the_sdk_retries_is_redelivered_and_the_desk_stops(tmp_path: Path, how: str) -> None:
    with stop_due(tmp_path, how) as cloud:
        cloud.throttle("StopWorkspaces", times=ATTEMPTS)
        cloud.advance(dt.timedelta(minutes=30))  # the message reappears after the queue's visibility timeout

        assert throttles_left(cloud, "StopWorkspaces") == 0
        assert calls(cloud, "StopWorkspaces") == ATTEMPTS + 1  # one call gave up; the redelivery's call stopped it
        assert lifecycle_item_failures(cloud) == 1
        assert_stopped_then_terminated(cloud)


def test_a_stop_throttled_on_every_delivery_is_dead_lettered_and_the_desk_is_still_terminated(tmp_path: Path) -> None:
    with stop_due(tmp_path) as cloud:
        cloud.throttle("StopWorkspaces", times=ATTEMPTS * RECEIVES)
        cloud.advance(dt.timedelta(hours=1))

        assert throttles_left(cloud, "StopWorkspaces") == 0
        assert lifecycle(cloud) is Lifecycle.LEAVING
        assert_visible_then_terminated(cloud)


def test_a_failed_stop_request_is_redelivered_and_the_desk_stops(tmp_path: Path) -> None:
    with stop_due(tmp_path) as cloud:
        workspace_id = cloud.desk_of(USER).workspace_id
        cloud.fail_requests("StopWorkspaces", [workspace_id], "InternalError", times=1)
        cloud.advance(dt.timedelta(minutes=30))

        assert calls(cloud, "StopWorkspaces") == 2
        assert lifecycle_item_failures(cloud) == 1
        assert_stopped_then_terminated(cloud)


def test_a_stop_refused_on_every_delivery_is_dead_lettered_and_the_desk_is_still_terminated(tmp_path: Path) -> None:
    with stop_due(tmp_path) as cloud:
        workspace_id = cloud.desk_of(USER).workspace_id
        cloud.fail_requests("StopWorkspaces", [workspace_id], "InvalidResourceState.Workspace", times=RECEIVES)
        cloud.advance(dt.timedelta(hours=1))

        assert calls(cloud, "StopWorkspaces") == RECEIVES
        assert lifecycle(cloud) is Lifecycle.LEAVING
        assert_visible_then_terminated(cloud)


def test_a_stop_refused_by_iam_is_reported_once_not_dead_lettered_and_the_desk_still_terminated(
    tmp_path: Path,
) -> None:
    with stop_due(tmp_path) as cloud:
        cloud.refuse("StopWorkspaces", "AccessDeniedException", times=RECEIVES)
        cloud.advance(dt.timedelta(hours=1))

        assert calls(cloud, "StopWorkspaces") == 1  # a redelivery would get the same answer: none
        assert lifecycle_item_failures(cloud) == 0
        assert cloud.dead_letters() == []
        assert kinds(cloud).count("provisioning_failed") == 1  # once, with the code and what to fix
        assert lifecycle(cloud) is Lifecycle.LEAVING
        advance_to(cloud, AFTER_RETENTION)
        assert live_desks(cloud)[USER] == 0  # the terminate timer still ends the desk
        assert lifecycle(cloud) is Lifecycle.TERMINATED


# A crash (or a timeout) of the lifecycle function right after each call of the stop: the message is redelivered,
# the retry reads the desk again and finishes the work without stopping it twice.
@pytest.mark.parametrize(
    ("how", "after"),
    [
        (CONNECTED, "workspaces:StopWorkspaces"),
        (ALWAYS_ON, "workspaces:StopWorkspaces"),
        (ALWAYS_ON, "workspaces:ModifyWorkspaceProperties"),  # switched to AutoStop, not yet stopped
        (CONNECTED, "dynamodb:PutItem"),  # the desk record written STOPPED, the audit entry not yet
    ],
)
def test_a_crash_during_the_stop_stops_the_desk_once(tmp_path: Path, how: str, after: str) -> None:
    with stop_due(tmp_path, how) as cloud:
        cloud.crash("LifecycleFunction", after)
        cloud.advance(dt.timedelta(minutes=30))

        assert failed(cloud, "LifecycleFunction") == 1
        assert calls(cloud, "StopWorkspaces") == 1
        # The switch to AutoStop is two calls, running mode then timeout (one property per call, issue 18); a
        # crash after the first leaves the desk AUTO_STOP, and the retry goes straight to the stop.
        switches = {ALWAYS_ON: 1 if after == "workspaces:ModifyWorkspaceProperties" else 2}
        assert calls(cloud, "ModifyWorkspaceProperties") == switches.get(how, 0)
        assert_stopped_then_terminated(cloud)


@pytest.mark.parametrize("times", [ATTEMPTS, ATTEMPTS * RECEIVES], ids=["once", "every_delivery"])
def test_the_switch_to_autostop_throttled_past_the_sdk_retries_is_redelivered_or_dead_lettered(
    tmp_path: Path, times: int
) -> None:
    with stop_due(tmp_path, ALWAYS_ON) as cloud:
        cloud.throttle("ModifyWorkspaceProperties", times=times)
        cloud.advance(dt.timedelta(hours=1))

        assert throttles_left(cloud, "ModifyWorkspaceProperties") == 0
        if times == ATTEMPTS:
            assert calls(cloud, "StopWorkspaces") == 1
            assert_stopped_then_terminated(cloud)
        else:
            assert calls(cloud, "StopWorkspaces") == 0
            assert_visible_then_terminated(cloud)


def test_describe_throttled_past_the_sdk_retries_in_the_stop_is_redelivered(tmp_path: Path) -> None:
    with stop_due(tmp_path) as cloud:
        cloud.throttle("DescribeWorkspaces", times=ATTEMPTS)
        cloud.advance(dt.timedelta(minutes=30))

        assert throttles_left(cloud, "DescribeWorkspaces") == 0
        assert calls(cloud, "StopWorkspaces") == 1
        assert lifecycle_item_failures(cloud) == 1  # the stop's read was the throttled call
        assert_stopped_then_terminated(cloud)


# --- departure handling (HrEventsFunction) ----------------------------------------------------------------------
# A crash after each write of the departure: Lambda retries the event a minute later; the retry finds the desk
# LEAVING with the same last day (a duplicate) and sets the timers again (same names: a no-op where they exist).
@pytest.mark.parametrize(
    "after",
    [
        "scheduler:CreateSchedule",  # the desk LEAVING and its stop timer set; the terminate timer not yet
        "events:PutEvents",  # everything done but the idempotency record
    ],
)
def test_a_crash_while_scheduling_the_departure_still_stops_and_terminates_once(tmp_path: Path, after: str) -> None:
    with running_desk(tmp_path) as cloud:
        cloud.crash("HrEventsFunction", after)
        leave_today(cloud, until=STOP_DUE + dt.timedelta(hours=1))

        assert failed(cloud, "HrEventsFunction") == 1
        assert calls(cloud, "StopWorkspaces") == 1
        assert_stopped_then_terminated(cloud)


# --- TerminateWorkspaces ------------------------------------------------------------------------------------------
@contextmanager
def terminate_due(tmp_path: Path) -> Iterator[LocalCloud]:
    """The desk stopped on the last day; its terminate is about to reach the lifecycle function."""
    with stop_due(tmp_path) as cloud:
        advance_to(cloud, INJECT_TERMINATE)
        assert state(cloud) == "STOPPED"
        assert calls(cloud, "TerminateWorkspaces") == 0
        yield cloud


def test_a_terminate_throttled_past_the_sdk_retries_is_redelivered_and_the_desk_terminated(tmp_path: Path) -> None:
    with terminate_due(tmp_path) as cloud:
        cloud.throttle("TerminateWorkspaces", times=ATTEMPTS)
        cloud.advance(dt.timedelta(minutes=30))

        assert throttles_left(cloud, "TerminateWorkspaces") == 0
        assert calls(cloud, "TerminateWorkspaces") == ATTEMPTS + 1
        assert live_desks(cloud)[USER] == 0
        assert lifecycle(cloud) is Lifecycle.TERMINATED
        assert cloud.dead_letters() == []


def test_a_terminate_refused_on_every_delivery_is_dead_lettered_and_the_desk_kept(tmp_path: Path) -> None:
    with terminate_due(tmp_path) as cloud:
        workspace_id = cloud.desk_of(USER).workspace_id
        cloud.fail_requests("TerminateWorkspaces", [workspace_id], "InternalError", times=RECEIVES)
        cloud.advance(dt.timedelta(hours=1))

        assert calls(cloud, "TerminateWorkspaces") == RECEIVES
        assert state(cloud) == "STOPPED"  # nothing lost: the desk waits for an operator
        assert lifecycle(cloud) is Lifecycle.STOPPED
        assert dead_letter_queues(cloud) == ["LifecycleDLQ"]
        assert "automation_failure" in kinds(cloud)
        assert_no_duplicates(cloud)


def test_a_crash_after_the_terminated_desk_is_written_terminates_once(tmp_path: Path) -> None:
    with terminate_due(tmp_path) as cloud:
        cloud.crash("LifecycleFunction", "dynamodb:PutItem")
        cloud.advance(dt.timedelta(minutes=30))

        assert failed(cloud, "LifecycleFunction") == 1
        assert calls(cloud, "TerminateWorkspaces") == 1
        assert live_desks(cloud)[USER] == 0
        assert lifecycle(cloud) is Lifecycle.TERMINATED
        assert cloud.dead_letters() == []


# --- departures from the roster (HrFeedIngestFunction) ----------------------------------------------------------
ROSTER_HEADER = "employee_id,username,email,given_name,family_name,department,role,site,start_date\n"
ROSTER_ROWS = {
    "E71001": "E71001,rosterleaver,rosterleaver@example.com,G,F,finance,accountant,paris-hq,2026-12-01\n",
    "E71002": "E71002,rosterstayer,rosterstayer@example.com,G,F,finance,accountant,paris-hq,2026-12-01\n",
}


# A crash of the roster ingest after it published the diff (the departure is on the bus, the roster not yet saved)
# or after it saved the new roster (the feed's record not yet completed): S3's event is retried, the diff is made
# again or finds nothing new; the departure is handled once either way.
@pytest.mark.parametrize("after", ["events:PutEvents", "dynamodb:BatchWriteItem"])
def test_a_crash_while_ingesting_a_roster_departure_stops_and_terminates_once(tmp_path: Path, after: str) -> None:
    policy_path = policy(tmp_path, always_on=False)
    with LocalCloud(start=START, policy=policy_path) as cloud:
        cloud.put_object("rosters/staff.csv", ROSTER_HEADER + "".join(ROSTER_ROWS.values()))
        cloud.advance(dt.timedelta(hours=1))
        assert cloud.login("rosterleaver")["ok"]  # still at work when the day ends: the stop has a desk to stop
        cloud.crash("HrFeedIngestFunction", after)
        cloud.put_object("rosters/staff.csv", ROSTER_HEADER + ROSTER_ROWS["E71002"])
        advance_to(cloud, STOP_DUE + dt.timedelta(hours=1))

        assert failed(cloud, "HrFeedIngestFunction") == 1
        assert calls(cloud, "StopWorkspaces") == 1
        leaver = desk_record(cloud, "E71001")
        assert leaver is not None
        assert leaver.lifecycle is Lifecycle.STOPPED
        advance_to(cloud, AFTER_RETENTION)
        assert live_desks(cloud)["rosterleaver"] == 0
        assert live_desks(cloud)["rosterstayer"] == 1
        assert calls(cloud, "TerminateWorkspaces") == 1
        assert cloud.dead_letters() == []
        assert_no_duplicates(cloud)


# --- every other operation, throttled past the SDK's retries ------------------------------------------------------
def transfer_to_data_science() -> dict[str, Any]:
    """A hire who moves to data science, whose profile has another bundle: MigrateWorkspace."""
    detail = {
        "employee_id": "E70002",
        "department": "research",
        "role": "data-scientist",
        "site": "paris-hq",
        "effective_date": "2026-12-01",
    }
    return {
        "name": "transfer to another bundle",
        "start": "2026-12-01T05:00:00Z",
        "steps": [
            {"publish": hire("E70002", "mover")},
            {"advance": "1h"},
            {"publish": {"source": "hr.feed", "detail-type": "Employee Transferred", "detail": detail}},
            {"advance": "3h"},
        ],
    }


def scenario_document(scenario: str) -> dict[str, Any]:
    if scenario == "transfer_to_data_science":
        return transfer_to_data_science()
    document: dict[str, Any] = yaml.safe_load((SCENARIOS / scenario).read_text(encoding="utf-8"))
    return document


_CLEAN: dict[str, dict[str, Any]] = {}


def clean_end(scenario: str) -> dict[str, Any]:
    """The scenario's outcome without faults (run once per test session)."""
    if scenario not in _CLEAN:
        with open_world(scenario_document(scenario)) as cloud:
            _CLEAN[scenario] = outcome(cloud)
    return _CLEAN[scenario]


# Each operation with the scenario that calls it and, in the comment, who gets the throttled call (the first caller).
PAST_THE_RETRIES = [
    ("onboarding_transfer_up_down.yaml", "DescribeWorkspaces"),  # provisioning's reconciliation: item retried
    ("onboarding_transfer_up_down.yaml", "DescribeWorkspaceDirectories"),  # the hire's policy resolution: async retry
    ("onboarding_transfer_up_down.yaml", "DescribeWorkspaceBundles"),  # same
    ("onboarding_transfer_up_down.yaml", "ModifyWorkspaceProperties"),  # the transfer: message redelivered
    ("remediation_reboot_fixes.yaml", "DescribeWorkspacesConnectionStatus"),  # a fleet_watch sweep: dead letter
    ("fleet_prewarm_shift.yaml", "StartWorkspaces"),  # prewarm's tick: async retry
    ("transfer_to_data_science", "MigrateWorkspace"),  # the transfer: message redelivered
]


@pytest.mark.parametrize(("scenario", "operation"), PAST_THE_RETRIES)
def test_an_operation_throttled_past_the_sdk_retries_ends_as_the_clean_run_or_visibly(
    scenario: str, operation: str
) -> None:
    expected = clean_end(scenario)
    document = scenario_document(scenario)
    document["steps"] = [{"throttle": {"operation": operation, "times": ATTEMPTS}}, *document["steps"]]
    with open_world(document) as cloud:
        assert throttles_left(cloud, operation) == 0
        assert calls(cloud, operation) > ATTEMPTS  # one call gave up, a retry was answered
        got = outcome(cloud)
        assert got["desks"] == expected["desks"]
        assert_no_duplicates(cloud)
    extra = [letter for letter in got["dead_letters"] if letter not in expected["dead_letters"]]
    if extra:  # a failure nobody retries any more is on-call's, and it says what happened
        assert all("ThrottlingException" in letter["reason"] for letter in extra), extra
        assert "automation_failure" in got["alerts"]
        assert [k for k in got["alerts"] if k != "automation_failure"] == expected["alerts"]
    else:
        assert got["alerts"] == expected["alerts"]


# The runbook's actions: remediate stores the step as requested before the call (so a crash after the call never
# acts twice), and the throttled call fails the invocation; Lambda's retry then finds the step taken.
RUNBOOK_ACTIONS = [
    ("remediation_reboot_fixes.yaml", "RebootWorkspaces"),  # on the alarm
    ("remediation_rebuild_fixes.yaml", "RebuildWorkspaces"),  # on the first re-check
    ("remediation_escalates.yaml", "RestoreWorkspace"),  # on the second re-check (restore opted in)
]


@pytest.mark.parametrize(("scenario", "operation"), RUNBOOK_ACTIONS)
def test_a_runbook_action_throttled_past_the_sdk_retries_is_made_on_the_retry_or_reported(
    scenario: str, operation: str
) -> None:
    document = scenario_document(scenario)
    document["steps"] = [{"throttle": {"operation": operation, "times": ATTEMPTS}}, *document["steps"]]
    with open_world(document) as cloud:
        assert throttles_left(cloud, operation) == 0
        assert failed(cloud, "RemediateFunction") >= 1  # the call gave up and failed the invocation
        made = calls(cloud, operation) > ATTEMPTS
        reported = any("Throttling" in alert["message"] for alert in cloud.alerts()) or any(
            "Throttling" in letter["reason"] for letter in cloud.dead_letters()
        )
        assert made or reported, f"{operation} was never made, and on-call was told it was requested"
        assert_no_duplicates(cloud)


# --- FailedRequests on StartWorkspaces and RebuildWorkspaces ------------------------------------------------------
SHIFT = "fleet_prewarm_shift.yaml"
SHIFT_USER = "ccagent1"
SHIFT_STARTS = dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.UTC)  # Tuesday 08:00 in Amiens
# Alerts of the clean shift scenario (the optimiser's and the weekly report's summaries).
SHIFT_ALERTS = ("running_modes", "fleet_report")


@contextmanager
def shift_tomorrow() -> Iterator[LocalCloud]:
    """fleet_prewarm_shift.yaml up to the end of Monday's shift: the desk stops in the night."""
    document = scenario_document(SHIFT)
    steps = document["steps"]
    assert "disconnect" in steps[4]
    with open_world({**document, "steps": steps[:5]}) as cloud:
        yield cloud


def test_a_failed_prewarm_start_is_retried_at_the_next_tick_and_the_desk_is_ready_for_the_shift() -> None:
    with shift_tomorrow() as cloud:
        workspace_id = cloud.desk_of(SHIFT_USER).workspace_id
        cloud.fail_requests("StartWorkspaces", [workspace_id], "InternalError", times=1)
        starts_before = calls(cloud, "StartWorkspaces")
        advance_to(cloud, SHIFT_STARTS)

        assert calls(cloud, "StartWorkspaces") == starts_before + 2  # refused, then started five minutes later
        assert cloud.emulator.workspace(workspace_id)["state"] == "AVAILABLE"
        assert cloud.dead_letters() == []
        assert_no_duplicates(cloud)


def test_a_prewarm_start_refused_for_the_whole_window_is_visible() -> None:
    with shift_tomorrow() as cloud:
        workspace_id = cloud.desk_of(SHIFT_USER).workspace_id
        cloud.fail_requests("StartWorkspaces", [workspace_id], "InvalidResourceState.Workspace", times=100)
        starts_before = calls(cloud, "StartWorkspaces")
        advance_to(cloud, SHIFT_STARTS + dt.timedelta(hours=1))  # the window closed 30 minutes after the start

        assert calls(cloud, "StartWorkspaces") > starts_before + 1  # refused at every tick of the window
        assert cloud.emulator.workspace(workspace_id)["state"] == "STOPPED"
        unexpected = [kind for kind in kinds(cloud) if kind not in SHIFT_ALERTS]
        assert unexpected or cloud.dead_letters(), "the refused pre-warm reached no one"


def test_a_refused_rebuild_escalates_to_on_call() -> None:
    document = scenario_document("remediation_rebuild_fixes.yaml")
    refusal = {"operation": "RebuildWorkspaces", "users": ["agent001"], "error_code": "InvalidResourceState.Workspace"}
    document["steps"] = [{"fail_requests": refusal}, *document["steps"]]
    with open_world(document) as cloud:
        assert calls(cloud, "RebuildWorkspaces") == 1
        assert "escalation" in kinds(cloud)  # restore is not opted in: the runbook ends with a human
        assert "incident_resolved" not in kinds(cloud)
        assert cloud.dead_letters() == []
        assert_no_duplicates(cloud)


# --- MigrateWorkspace, crash after it -------------------------------------------------------------------------
def test_a_crash_after_migrate_keeps_the_new_desk_recorded_and_it_is_terminated_at_departure(tmp_path: Path) -> None:
    with LocalCloud(start="2026-12-01T05:00:00Z", policy=policy(tmp_path, always_on=False)) as cloud:
        cloud.publish(hire("E70002", "mover"))
        cloud.advance(dt.timedelta(hours=1))
        cloud.crash("LifecycleFunction", "workspaces:MigrateWorkspace")
        for step in transfer_to_data_science()["steps"][2:]:
            if "publish" in step:
                cloud.publish(step["publish"])
        cloud.advance(dt.timedelta(hours=3))

        assert failed(cloud, "LifecycleFunction") == 1
        assert calls(cloud, "MigrateWorkspace") == 1
        new_desk = cloud.desk_of("mover").workspace_id
        record = desk_record(cloud, "E70002")
        assert record is not None
        cloud.publish(depart("E70002"))
        advance_to(cloud, AFTER_RETENTION)
        assert live_desks(cloud)["mover"] == 0 or cloud.dead_letters(), "the migrated desk outlived its user"
        assert record.workspace_id == new_desk
