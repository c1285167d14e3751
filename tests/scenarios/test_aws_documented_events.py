"""Issue 14, point 3: events exactly as AWS documents them (events/aws/), and each with a field AWS might add (at
the top of its `detail` and in its envelope), run through their functions on the local cloud without a failure.
A failure there would be retried, dead-lettered and paged as a critical automation failure, and the work (a
login resolving an incident, an alarm triaged, a roster ingested) lost."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud.world import LocalCloud

pytestmark = pytest.mark.usefixtures("socket_disabled")  # everything runs in-process

AWS_EVENTS = Path(__file__).resolve().parents[2] / "events" / "aws"
EVENTS = AWS_EVENTS.parent
# Each documented sample and the functions whose rules subscribe to its kind of event.
FUNCTIONS = {
    "workspaces_access.json": ("SessionsFunction",),
    "workspaces_access_2018.json": ("SessionsFunction",),
    "cloudwatch_alarm_state_change.json": ("RemediateFunction", "NotifyFunction"),
    "s3_object_created.json": ("HrFeedIngestFunction",),
}
ROSTER = b"employee_id,username,email,given_name,family_name,department,role,site,start_date\n"
ADDED = {"surpriseField": {"added": "by AWS", "nested": [1, 2]}}


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def with_detail_field(event: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(event)
    changed["detail"].update(ADDED)
    return changed


def with_envelope_field(event: dict[str, Any]) -> dict[str, Any]:
    return {**copy.deepcopy(event), **ADDED}


VARIANTS = {
    "as documented": lambda e: e,
    "detail field added": with_detail_field,
    "envelope field added": with_envelope_field,
}
CASES = [
    (name, function, variant)
    for name, functions in sorted(FUNCTIONS.items())
    for function in functions
    for variant in VARIANTS
]


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(start="2026-12-07T08:00:00Z") as world:
        yield world


def test_every_documented_sample_is_run() -> None:
    assert {path.name for path in AWS_EVENTS.glob("*.json")} == set(FUNCTIONS)


@pytest.mark.parametrize(("name", "function", "variant"), CASES)
def test_an_event_as_aws_documents_it_runs_without_a_failure(
    cloud: LocalCloud, name: str, function: str, variant: str
) -> None:
    event = VARIANTS[variant](load(AWS_EVENTS / name))

    invocation = cloud.invoke(function, event)

    assert invocation.ok, invocation.error
    # The payload is never logged (the login's client IP address, the alarm's reason): only its id.
    assert "192.0.2.3" not in invocation.logs
    assert "surpriseField" not in invocation.logs


def test_the_documented_login_is_read_not_dropped(cloud: LocalCloud) -> None:
    # ws-xyskdga is no desk of ours: nothing to record, but the event was read, not refused or dropped.
    invocation = cloud.invoke("SessionsFunction", with_detail_field(load(AWS_EVENTS / "workspaces_access.json")))

    assert invocation.ok, invocation.error
    assert invocation.result == {"workspace_id": "ws-xyskdga", "last_login_recorded": False, "resolved_incident": None}


@pytest.mark.parametrize("function", ["RemediateFunction", "NotifyFunction"])
def test_the_documented_alarm_about_an_ec2_instance_is_dropped_and_counted(cloud: LocalCloud, function: str) -> None:
    invocation = cloud.invoke(function, load(AWS_EVENTS / "cloudwatch_alarm_state_change.json"))

    assert invocation.ok, invocation.error
    assert invocation.result == {"dropped": "AlarmStateChange", "event_id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92"}
    assert '"AwsEventDropped"' in invocation.logs
    assert '"kind": "AlarmStateChange"' in invocation.logs or '"kind":"AlarmStateChange"' in invocation.logs


def test_a_login_with_fields_aws_added_still_records_it_on_our_desk(cloud: LocalCloud) -> None:
    [workspace_id] = cloud.seed_desks(["jdoe"], site="paris-hq", profile="office")
    cloud.advance(dt.timedelta(minutes=10))  # fleet_watch's sweep adopts the desk: it has a record now
    login = with_envelope_field(with_detail_field(load(AWS_EVENTS / "workspaces_access.json")))
    login["detail"]["workspaceId"] = workspace_id
    login["detail"]["loginTime"] = cloud.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    login["account"] = cloud.account_id
    seen, letters = len(cloud.invocations), len(cloud.dead_letters())

    # Delivered as AWS would: on the default bus, through the rule, as an async invocation.
    cloud.deliver(login)
    cloud.advance(dt.timedelta(minutes=5))

    runs = [i for i in cloud.invocations[seen:] if i.function == "SessionsFunction"]
    assert [(i.ok, i.result["last_login_recorded"]) for i in runs] == [(True, True)]
    assert len(cloud.dead_letters()) == letters


def test_our_connection_failure_alarm_with_fields_aws_added_is_still_triaged(cloud: LocalCloud) -> None:
    alarm = with_envelope_field(with_detail_field(load(EVENTS / "alarm_connection_failure_alarm.json")))
    alarm["detail"]["state"]["surpriseField"] = "added inside the state too"

    invocation = cloud.invoke("RemediateFunction", alarm)

    assert invocation.ok, invocation.error
    assert invocation.result["trigger"] == "AlarmTrigger"


def test_our_roster_notification_with_fields_aws_added_is_still_ingested(cloud: LocalCloud) -> None:
    # Put with the world's own client: no notification of its own, the test delivers one.
    cloud.client("s3").put_object(Bucket=cloud.feed_bucket, Key="rosters/2026-12-07.csv", Body=ROSTER)
    notification = with_envelope_field(with_detail_field(load(EVENTS / "s3_roster_object_created.json")))
    notification["detail"]["bucket"] = {"name": cloud.feed_bucket, "aws-generated-tags": {"k": "v"}}
    notification["detail"]["object"] = {"key": "rosters/2026-12-07.csv", "size": 21, "event-version": "1.1"}

    invocation = cloud.invoke("HrFeedIngestFunction", notification)

    assert invocation.ok, invocation.error
    assert "dropped" not in invocation.result


def test_the_documented_notification_for_another_bucket_is_dropped_and_counted(cloud: LocalCloud) -> None:
    invocation = cloud.invoke("HrFeedIngestFunction", load(AWS_EVENTS / "s3_object_created.json"))

    assert invocation.ok, invocation.error
    assert invocation.result == {"dropped": "ObjectCreated", "event_id": "17793124-05d4-b198-2fde-7ededc63b103"}
    assert '"AwsEventDropped"' in invocation.logs


@pytest.mark.parametrize(
    "datapoints",
    [
        pytest.param([{"timestamp": "2026-12-07T07:45:00"}], id="a time without its offset"),
        pytest.param([{"timestamp": "07/12/26 07:45:00"}], id="a time in another format"),
        pytest.param({"timestamp": "2026-12-07T07:45:00.000+0000"}, id="an object instead of a list"),
        pytest.param(6, id="a number instead of a list"),
    ],
)
def test_evaluated_datapoints_aws_writes_differently_do_not_fail_the_triage(cloud: LocalCloud, datapoints: Any) -> None:
    # reasonData is a JSON string inside the event: its content is a hint for the window, never a reason to fail.
    alarm = load(EVENTS / "alarm_connection_failure_alarm.json")
    reason = json.loads(alarm["detail"]["state"]["reasonData"])
    reason["evaluatedDatapoints"] = datapoints
    alarm["detail"]["state"]["reasonData"] = json.dumps(reason)

    invocation = cloud.invoke("RemediateFunction", alarm)

    assert invocation.ok, invocation.error
    assert invocation.result["trigger"] == "AlarmTrigger"
