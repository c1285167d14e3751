"""Deliveries AWS makes for the template (localcloud/iam_delivery.py), authorised by the template's own queue,
topic, key and Lambda policies and its schedule roles: what the template relies on is allowed, nothing more."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from localcloud.iam import principal_matches
from localcloud.iam_delivery import Deliveries, mapping_refusals
from localcloud.iam_world import encryption_keys
from localcloud.intrinsics import Resolver
from localcloud.world import expanded_template

pytestmark = pytest.mark.usefixtures("socket_disabled")

ACCOUNT = "123456789012"
OTHER = "210987654321"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return expanded_template()


def _deliveries(template: dict[str, Any]) -> tuple[Deliveries, Resolver]:
    resolver = Resolver(template)
    return Deliveries(resolver, encryption_keys(resolver)), resolver


def test_the_unrouted_rule_may_park_events_in_its_queue_and_no_other_rule_may(template: dict[str, Any]) -> None:
    deliveries, r = _deliveries(template)
    queue = r.get_att("UnroutedHrEventsQueue", "Arn")
    assert (
        deliveries.by_service(
            "events.amazonaws.com", "sqs:SendMessage", queue, r.get_att("UnroutedHrEventsRule", "Arn")
        )
        is None
    )
    other_rule = r.get_att("UnroutedHrEventsRule", "Arn").replace("unrouted", "other")
    refusal = deliveries.by_service("events.amazonaws.com", "sqs:SendMessage", queue, other_rule)
    assert refusal is not None
    assert refusal.policy == "resource policy"


def test_a_queue_policy_naming_a_custom_bus_rule_without_its_bus_is_refused(template: dict[str, Any]) -> None:
    # On AWS the rule's ARN is rule/<hr bus>/<rule>: a condition written as rule/<rule> never matches.
    changed = copy.deepcopy(template)
    statement = changed["Resources"]["UnroutedHrEventsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    statement["Condition"] = {
        "ArnEquals": {"aws:SourceArn": f"arn:aws:events:eu-west-1:{ACCOUNT}:rule/{_rule_name(changed)}"}
    }
    deliveries, r = _deliveries(changed)
    rule = r.get_att("UnroutedHrEventsRule", "Arn")
    assert rule.endswith(f":rule/{r.resolve({'Ref': 'HrEventBus'})}/{_rule_name(changed)}")
    refusal = deliveries.by_service(
        "events.amazonaws.com", "sqs:SendMessage", r.get_att("UnroutedHrEventsQueue", "Arn"), rule
    )
    assert refusal is not None
    assert refusal.policy == "resource policy"


def _rule_name(template: dict[str, Any]) -> str:
    return str(Resolver(template).physical_name("UnroutedHrEventsRule"))


def test_a_service_the_queue_policy_does_not_name_is_refused(template: dict[str, Any]) -> None:
    deliveries, r = _deliveries(template)
    queue = r.get_att("UnroutedHrEventsQueue", "Arn")
    assert deliveries.by_service(
        "sns.amazonaws.com", "sqs:SendMessage", queue, r.get_att("UnroutedHrEventsRule", "Arn")
    )


def test_alarms_of_this_account_may_publish_to_the_on_call_topic(template: dict[str, Any]) -> None:
    deliveries, r = _deliveries(template)
    topic = r.get_att("AlertsTopic", "TopicArn")
    alarm = f"arn:aws:cloudwatch:eu-west-1:{ACCOUNT}:alarm:workspaces-autopilot-dev-automation-notify-errors"
    assert deliveries.by_service("cloudwatch.amazonaws.com", "sns:Publish", topic, alarm) is None
    assert deliveries.by_service("cloudwatch.amazonaws.com", "sns:Publish", topic, alarm.replace(ACCOUNT, OTHER))


def test_an_encrypted_topic_needs_the_key_policy_to_name_cloudwatch(template: dict[str, Any]) -> None:
    changed = copy.deepcopy(template)
    key = changed["Resources"]["AutopilotKey"]["Properties"]["KeyPolicy"]["Statement"]
    for statement in key:
        services = statement.get("Principal", {}).get("Service")
        if isinstance(services, list) and "cloudwatch.amazonaws.com" in services:
            services.remove("cloudwatch.amazonaws.com")
    deliveries, r = _deliveries(changed)
    alarm = f"arn:aws:cloudwatch:eu-west-1:{ACCOUNT}:alarm:x"
    refusal = deliveries.by_service(
        "cloudwatch.amazonaws.com", "sns:Publish", r.get_att("AlertsTopic", "TopicArn"), alarm
    )
    assert refusal is not None
    assert (refusal.action, refusal.policy) == ("kms:GenerateDataKey", "key policy")


def test_rules_may_invoke_their_functions_only(template: dict[str, Any]) -> None:
    deliveries, r = _deliveries(template)
    function = r.get_att("SessionsFunction", "Arn")
    own_rule = f"arn:aws:events:eu-west-1:{ACCOUNT}:rule/workspaces-autopilot-dev-SessionsFunctionLogin"
    assert deliveries.by_service("events.amazonaws.com", "lambda:InvokeFunction", function, own_rule) is None
    assert deliveries.by_service("events.amazonaws.com", "lambda:InvokeFunction", function, own_rule + "X")


def test_the_timer_role_may_send_to_the_work_queues_and_use_the_key(template: dict[str, Any]) -> None:
    deliveries, r = _deliveries(template)
    role = r.get_att("TimerSchedulerRole", "Arn")
    assert deliveries.by_role(role, "sqs:SendMessage", r.get_att("ProvisioningQueue", "Arn")) is None
    refusal = deliveries.by_role(role, "sqs:SendMessage", r.get_att("AlertDeliveryDLQ", "Arn"))
    assert refusal is not None
    assert refusal.policy == "role policy"
    assert deliveries.by_role(role, "lambda:InvokeFunction", r.get_att("RemediateFunction", "Arn")) is None
    assert deliveries.by_role(role, "lambda:InvokeFunction", r.get_att("ProvisionFunction", "Arn"))


def test_a_role_whose_policy_lacks_the_key_cannot_send_to_an_encrypted_queue(template: dict[str, Any]) -> None:
    changed = copy.deepcopy(template)
    policies = changed["Resources"]["TimerSchedulerRole"]["Properties"]["Policies"]
    for policy in policies:
        statements = policy["PolicyDocument"]["Statement"]
        policy["PolicyDocument"]["Statement"] = [s for s in statements if "kms:Decrypt" not in s["Action"]]
    deliveries, r = _deliveries(changed)
    refusal = deliveries.by_role(
        r.get_att("TimerSchedulerRole", "Arn"), "sqs:SendMessage", r.get_att("ProvisioningQueue", "Arn")
    )
    assert refusal is not None
    assert refusal.policy == "key policy"


def test_a_role_not_in_the_template_is_refused(template: dict[str, Any]) -> None:
    deliveries, r = _deliveries(template)
    role = f"arn:aws:iam::{ACCOUNT}:role/not-ours"
    assert deliveries.by_role(role, "sqs:SendMessage", r.get_att("ProvisioningQueue", "Arn"))


@pytest.mark.parametrize(
    ("element", "principal", "service", "matches"),
    [
        ("*", "events.amazonaws.com", True, True),
        ({"Service": ["events.amazonaws.com"]}, "events.amazonaws.com", True, True),
        ({"Service": "sns.amazonaws.com"}, "events.amazonaws.com", True, False),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "events.amazonaws.com", True, False),  # root is not a service
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, f"arn:aws:iam::{ACCOUNT}:role/r", False, True),
        ({"AWS": ACCOUNT}, f"arn:aws:iam::{ACCOUNT}:role/r", False, True),
        ({"AWS": f"arn:aws:iam::{OTHER}:root"}, f"arn:aws:iam::{ACCOUNT}:role/r", False, False),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:role/other"}, f"arn:aws:iam::{ACCOUNT}:role/r", False, False),
    ],
)
def test_principal_matching(element: Any, principal: str, service: bool, matches: bool) -> None:
    assert principal_matches(element, principal, service=service, account=ACCOUNT) is matches


def test_an_event_source_mapping_needs_its_role_to_read_the_queue(template: dict[str, Any]) -> None:
    deliveries, r = _deliveries(template)
    role, queue = r.get_att("ProvisionFunctionRole", "Arn"), r.get_att("ProvisioningQueue", "Arn")
    assert mapping_refusals(deliveries, role, queue) == (None, None)

    changed = copy.deepcopy(template)
    props = changed["Resources"]["ProvisionFunctionRole"]["Properties"]
    props["ManagedPolicyArns"] = [a for a in props["ManagedPolicyArns"] if "SQSQueueExecution" not in str(a)]
    deliveries, _ = _deliveries(changed)
    at_creation, _ = mapping_refusals(deliveries, role, queue)
    assert at_creation is not None
    assert at_creation.action == "sqs:ReceiveMessage"
