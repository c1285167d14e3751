"""EventBridge delivery in the local cloud: the template's own rules and patterns decide who gets an event."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from localcloud.world import LocalCloud, LocalCloudError, check_pattern_filters
from tests.integration.fake_handlers.world import ran, world_from_test_template

pytestmark = pytest.mark.usefixtures("socket_disabled")


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    yield from world_from_test_template()


def _invoked(cloud: LocalCloud) -> list[str]:
    return [invocation.function for invocation in cloud.invocations]


def test_event_reaches_exactly_the_functions_whose_patterns_match(cloud: LocalCloud) -> None:
    # When: a PutEvents entry on the test bus
    cloud.publish(
        {"EventBusName": "world-test", "Source": "test.app", "DetailType": "Thing Happened", "Detail": {"n": 1}}
    )

    # Then: only the function whose rule matches runs, once, with the envelope EventBridge builds
    assert _invoked(cloud) == ["HappenedFunction"]
    (event,) = ran(cloud, "HappenedFunction")
    assert event["detail"] == {"n": 1}
    assert event["account"] == "123456789012"
    assert event["region"] == "eu-west-1"
    assert event["time"] == "2026-12-01T05:00:00Z"
    assert cloud.invocations[0].trigger == "rule:HappenedFunctionHappened"


def test_event_from_another_account_or_source_reaches_no_function(cloud: LocalCloud) -> None:
    cloud.deliver(
        {"source": "test.app", "detail-type": "Thing Happened", "account": "999999999999", "detail": {}},
        bus="world-test",
    )
    cloud.publish({"EventBusName": "world-test", "Source": "intruder", "DetailType": "Thing Happened", "Detail": {}})

    assert cloud.invocations == []
    assert [entry["targets"] for entry in cloud.timeline if entry["kind"] == "event"] == [[], []]


def test_event_on_another_bus_reaches_no_function(cloud: LocalCloud) -> None:
    cloud.publish({"Source": "test.app", "DetailType": "Thing Happened", "Detail": {}})  # default bus

    assert cloud.invocations == []


def test_prefix_pattern_selects_alarm_names(cloud: LocalCloud) -> None:
    alarm = {"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change"}
    cloud.deliver({**alarm, "detail": {"alarmName": "world-test-watch-d-1234567890"}})
    cloud.deliver({**alarm, "detail": {"alarmName": "other-watch-d-1234567890"}})

    assert _invoked(cloud) == ["AlarmFunction"]


def test_events_a_function_publishes_are_routed_after_it_returns(cloud: LocalCloud) -> None:
    cloud.publish({"EventBusName": "world-test", "Source": "test.app", "DetailType": "Chain Started", "Detail": {}})

    assert _invoked(cloud) == ["ChainFunction", "HappenedFunction"]
    (event,) = ran(cloud, "HappenedFunction")
    assert event["detail"]["because"]


def test_rule_with_a_queue_target_sends_the_event_to_the_queue(cloud: LocalCloud) -> None:
    cloud.publish({"EventBusName": "world-test", "Source": "test.app", "DetailType": "Parcel Sent", "Detail": {"p": 7}})

    messages = boto3.client("sqs").receive_message(QueueUrl=cloud.queue_url("TargetQueue"))["Messages"]
    assert [json.loads(m["Body"])["detail"] for m in messages] == [{"p": 7}]
    assert cloud.invocations == []


def test_envelope_goes_to_the_bus_whose_rules_match_it(cloud: LocalCloud) -> None:
    cloud.publish({"source": "test.app", "detail-type": "Thing Happened", "detail": {"n": 2}})

    assert _invoked(cloud) == ["HappenedFunction"]


def test_failed_async_invocation_is_retried_then_recorded_on_the_failure_destination(cloud: LocalCloud) -> None:
    cloud.publish({"EventBusName": "world-test", "Source": "test.app", "DetailType": "Doomed", "Detail": {}})
    assert [(i.function, i.ok, i.attempt) for i in cloud.invocations] == [("DoomedFunction", False, 1)]

    # Then: one retry a minute later (MaximumRetryAttempts 1), then the invocation record on the destination
    cloud.advance(dt.timedelta(minutes=5))
    assert [(i.ok, i.attempt, i.time) for i in cloud.invocations if i.function == "DoomedFunction"] == [
        (False, 1, "2026-12-01T05:00:00Z"),
        (False, 2, "2026-12-01T05:01:00Z"),
    ]
    (letter,) = cloud.dead_letters()
    assert letter["queue"] == "AsyncFailureDLQ"
    assert letter["reason"] == "RetriesExhausted after 2 attempts: ValueError: cannot handle Doomed"
    body = json.loads(
        boto3.client("sqs").receive_message(QueueUrl=cloud.queue_url("AsyncFailureDLQ"))["Messages"][0]["Body"]
    )
    assert body["requestContext"]["condition"] == "RetriesExhausted"
    assert body["requestContext"]["functionArn"].endswith(":function:workspaces-autopilot-dev-DoomedFunction:$LATEST")
    assert body["responseContext"]["functionError"] == "Unhandled"
    assert body["requestPayload"]["detail-type"] == "Doomed"


def test_put_events_entry_refused_by_eventbridge_is_an_error(cloud: LocalCloud) -> None:
    with pytest.raises(LocalCloudError, match="MalformedDetail"):
        cloud.publish({"EventBusName": "world-test", "Source": "test.app", "DetailType": "X", "Detail": "{not json"})


def test_unknown_function_is_named_with_the_known_ones(cloud: LocalCloud) -> None:
    with pytest.raises(LocalCloudError, match=r"unknown function 'nope'.*HappenedFunction"):
        cloud.invoke("nope", {})


@pytest.mark.parametrize(
    "pattern",
    [
        {"source": [{"begins-with": "hr"}]},
        {"$or": [{"source": [{"anything-but": {"starts": "x"}}]}]},
    ],
)
def test_a_pattern_filter_eventbridge_does_not_know_is_refused(pattern: dict[str, Any]) -> None:
    # moto's matcher would let it match every event; EventBridge refuses the pattern.
    with pytest.raises(ValueError, match="unknown filter"):
        check_pattern_filters(pattern)


def test_the_hr_catch_all_pattern_s_filters_are_known() -> None:
    pattern = {
        "$or": [
            {"source": [{"anything-but": ["hr.feed"]}]},
            {"detail-type": [{"anything-but": ["Employee Hired"]}]},
            {"detail": {"name": [{"prefix": {"equals-ignore-case": "x"}}, {"exists": True}, {"numeric": [">", 1]}]}},
        ]
    }
    check_pattern_filters(pattern)
