"""Functions run in-process as Lambda runs them (environment, context, captured output), with every AWS call
they make counted and faults injected where a scenario asks for them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from localcloud.world import LocalCloud, LocalCloudError
from tests.integration.fake_handlers.world import world_from_test_template

pytestmark = pytest.mark.usefixtures("socket_disabled")


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    yield from world_from_test_template()


def test_function_runs_with_its_template_environment_and_a_lambda_context(cloud: LocalCloud) -> None:
    invocation = cloud.invoke("BusyFunction", {})

    assert invocation.ok, invocation.error
    result = invocation.result
    assert result["function_name"] == "workspaces-autopilot-dev-BusyFunction"
    assert result["arn"] == "arn:aws:lambda:eu-west-1:123456789012:function:workspaces-autopilot-dev-BusyFunction"
    assert result["memory"] == 1024
    assert result["remaining"] == 30_000
    assert result["request_id"] == invocation.request_id
    assert result["env"] == {
        "AWS_LAMBDA_FUNCTION_NAME": "workspaces-autopilot-dev-BusyFunction",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "BUS_NAME": "world-test",
        "STAGE": "test",
    }


def test_function_output_is_captured_per_invocation_not_printed(
    cloud: LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    invocation = cloud.invoke("BusyFunction", {})

    captured = capsys.readouterr()
    assert "printed by the function" not in captured.out + captured.err
    assert "printed by the function" in invocation.logs


def test_every_api_call_a_function_makes_is_counted_and_the_worlds_own_are_not(cloud: LocalCloud) -> None:
    cloud.publish({"EventBusName": "world-test", "Source": "test.app", "DetailType": "Notify Someone", "Detail": {}})
    cloud.invoke("BusyFunction", {})

    assert dict(cloud.api_calls) == {
        "sns:Publish": 1,
        "sesv2:SendEmail": 1,
        "sqs:ListQueues": 2,
        "workspaces:DescribeWorkspaces": 1,
    }


def test_throttled_call_is_retried_by_the_sdk_and_counted_once(cloud: LocalCloud) -> None:
    cloud.throttle("DescribeWorkspaces", times=2)

    invocation = cloud.invoke("BusyFunction", {})

    assert invocation.ok, invocation.error
    assert cloud.api_calls["workspaces:DescribeWorkspaces"] == 1
    assert cloud.emulator.api_calls["DescribeWorkspaces"] == 3  # two throttled attempts, then the answer


def test_crash_after_a_named_call_fails_the_invocation_after_the_call_took_effect(cloud: LocalCloud) -> None:
    cloud.crash("ChainFunction", after="events:PutEvents")

    cloud.publish({"EventBusName": "world-test", "Source": "test.app", "DetailType": "Chain Started", "Detail": {}})

    # Then: the event went out (the call succeeded) but the function failed, and Lambda retries it a minute later
    first, happened = cloud.invocations
    assert (first.function, first.ok) == ("ChainFunction", False)
    assert first.error == "RuntimeError: injected crash in ChainFunction after events:PutEvents"
    assert happened.function == "HappenedFunction"
    cloud.advance(dt.timedelta(minutes=2))
    assert [(i.function, i.ok, i.attempt) for i in cloud.invocations if i.function == "ChainFunction"] == [
        ("ChainFunction", False, 1),
        ("ChainFunction", True, 2),
    ]


def test_world_is_deterministic(cloud: LocalCloud) -> None:
    def run_once(world: LocalCloud) -> list[object]:
        world.publish({"EventBusName": "world-test", "Source": "test.app", "DetailType": "Chain Started", "Detail": {}})
        world.advance(dt.timedelta(minutes=6))
        return [(i.function, i.request_id, i.time) for i in world.invocations] + [
            entry.get("id") for entry in world.timeline if entry["kind"] == "event"
        ]

    first = run_once(cloud)
    cloud.close()
    for again in world_from_test_template():
        assert run_once(again) == first


def test_a_second_world_is_refused_while_one_runs(cloud: LocalCloud) -> None:
    cloud.invoke("BusyFunction", {})

    with pytest.raises(LocalCloudError, match="another LocalCloud is running"):
        LocalCloud().start()

    assert len(cloud.invocations) == 1  # the running world was not reset
    assert cloud.invoke("BusyFunction", {}).ok
