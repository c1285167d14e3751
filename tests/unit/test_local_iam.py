"""The local cloud's IAM policy evaluator (localcloud/iam.py): AWS's evaluation logic for identity policies,
never kinder than AWS (explicit deny wins, allow needed, every resource of a request authorised)."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.iam import Decision, Request, Resource, UnsupportedPolicy, evaluate, glob_match

pytestmark = pytest.mark.usefixtures("socket_disabled")

WS = "arn:aws:workspaces:eu-west-1:123456789012:workspace/ws-abc123"
TABLE = "arn:aws:dynamodb:eu-west-1:123456789012:table/state"


def _allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def _deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def _decide(statements: list[dict[str, Any]], action: str, *resources: Resource, **context: Any) -> Decision:
    return evaluate(statements, Request(action, tuple(resources), context)).decision


def test_nothing_granted_is_an_implicit_deny() -> None:
    assert _decide([], "dynamodb:PutItem", Resource(TABLE)) is Decision.IMPLICIT_DENY


def test_an_allow_on_the_action_and_resource_allows() -> None:
    assert _decide([_allow("dynamodb:PutItem", TABLE)], "dynamodb:PutItem", Resource(TABLE)) is Decision.ALLOW


def test_another_action_is_not_allowed() -> None:
    assert _decide([_allow("dynamodb:GetItem", TABLE)], "dynamodb:PutItem", Resource(TABLE)) is Decision.IMPLICIT_DENY


def test_explicit_deny_wins_over_any_allow() -> None:
    statements = [_allow("dynamodb:*"), _deny("dynamodb:PutItem", TABLE)]
    assert _decide(statements, "dynamodb:PutItem", Resource(TABLE)) is Decision.EXPLICIT_DENY


def test_actions_match_case_insensitively_with_wildcards() -> None:
    assert _decide([_allow("DynamoDB:put*")], "dynamodb:PutItem", Resource(TABLE)) is Decision.ALLOW
    assert _decide([_allow("sqs:SendMessage*")], "sqs:SendMessage", Resource("*")) is Decision.ALLOW
    assert _decide([_allow("dynamodb:?etItem")], "dynamodb:GetItem", Resource(TABLE)) is Decision.ALLOW
    assert _decide([_allow("dynamodb:?etItem")], "dynamodb:BatchGetItem", Resource(TABLE)) is Decision.IMPLICIT_DENY


def test_resources_match_case_sensitively_with_wildcards() -> None:
    grant = [_allow("workspaces:RebootWorkspaces", "arn:aws:workspaces:eu-west-1:123456789012:workspace/*")]
    assert _decide(grant, "workspaces:RebootWorkspaces", Resource(WS)) is Decision.ALLOW
    assert _decide(grant, "workspaces:RebootWorkspaces", Resource(WS.upper())) is Decision.IMPLICIT_DENY
    other_account = WS.replace("123456789012", "210987654321")
    assert _decide(grant, "workspaces:RebootWorkspaces", Resource(other_account)) is Decision.IMPLICIT_DENY


def test_brackets_in_a_resource_are_literal_not_character_classes() -> None:
    assert not glob_match("arn:aws:s3:::b/[ab]", "arn:aws:s3:::b/a")
    assert glob_match("arn:aws:s3:::b/[ab]", "arn:aws:s3:::b/[ab]")


def test_an_action_without_resource_level_permissions_needs_resource_star() -> None:
    scoped = [_allow("workspaces:DescribeWorkspaces", "arn:aws:workspaces:eu-west-1:123456789012:workspace/*")]
    assert _decide(scoped, "workspaces:DescribeWorkspaces", Resource("*")) is Decision.IMPLICIT_DENY
    assert _decide([_allow("workspaces:DescribeWorkspaces")], "workspaces:DescribeWorkspaces", Resource("*")) is (
        Decision.ALLOW
    )


def test_not_action_and_not_resource() -> None:
    everything_but_delete = [{"Effect": "Allow", "NotAction": "dynamodb:Delete*", "Resource": "*"}]
    assert _decide(everything_but_delete, "dynamodb:PutItem", Resource(TABLE)) is Decision.ALLOW
    assert _decide(everything_but_delete, "dynamodb:DeleteItem", Resource(TABLE)) is Decision.IMPLICIT_DENY
    not_state = [{"Effect": "Allow", "Action": "dynamodb:*", "NotResource": TABLE}]
    assert _decide(not_state, "dynamodb:PutItem", Resource(TABLE)) is Decision.IMPLICIT_DENY
    assert _decide(not_state, "dynamodb:PutItem", Resource(TABLE + "2")) is Decision.ALLOW


def test_every_resource_of_a_request_must_be_allowed() -> None:
    directory = "arn:aws:workspaces:eu-west-1:123456789012:directory/d-1"
    bundle = "arn:aws:workspaces:eu-west-1::workspacebundle/wsb-1"
    grant = [_allow("workspaces:CreateWorkspaces", directory)]
    assert (
        _decide(grant, "workspaces:CreateWorkspaces", Resource(directory), Resource(bundle)) is Decision.IMPLICIT_DENY
    )
    grant.append(_allow("workspaces:CreateWorkspaces", "arn:aws:workspaces:eu-west-1::workspacebundle/*"))
    assert _decide(grant, "workspaces:CreateWorkspaces", Resource(directory), Resource(bundle)) is Decision.ALLOW


def test_resource_tag_condition_reads_the_resources_own_tags() -> None:
    grant = [
        _allow(
            "workspaces:StopWorkspaces",
            "arn:aws:workspaces:*:*:workspace/*",
            Condition={"StringEquals": {"aws:ResourceTag/ManagedBy": "workspaces-autopilot"}},
        )
    ]
    managed = Resource(WS, {"ManagedBy": "workspaces-autopilot"})
    assert _decide(grant, "workspaces:StopWorkspaces", managed) is Decision.ALLOW
    assert _decide(grant, "workspaces:StopWorkspaces", Resource(WS, {"ManagedBy": "someone"})) is Decision.IMPLICIT_DENY
    assert _decide(grant, "workspaces:StopWorkspaces", Resource(WS, {})) is Decision.IMPLICIT_DENY
    assert _decide(grant, "workspaces:StopWorkspaces", Resource(WS, None)) is Decision.IMPLICIT_DENY


def test_condition_keys_are_case_insensitive_values_are_not() -> None:
    grant = [_allow("workspaces:CreateTags", Condition={"StringEquals": {"AWS:RequestTag/ManagedBy": "autopilot"}})]
    assert _decide(grant, "workspaces:CreateTags", Resource("*"), **{"aws:requesttag/ManagedBy": "autopilot"}) is (
        Decision.ALLOW
    )
    assert _decide(grant, "workspaces:CreateTags", Resource("*"), **{"aws:RequestTag/ManagedBy": "Autopilot"}) is (
        Decision.IMPLICIT_DENY
    )


@pytest.mark.parametrize(
    ("operator", "wanted", "value", "holds"),
    [
        ("StringEquals", ["a", "b"], "b", True),
        ("StringEquals", "a", "c", False),
        ("StringNotEquals", ["a", "b"], "c", True),
        ("StringNotEquals", ["a", "b"], "a", False),
        ("StringLike", "team-*", "team-ops", True),
        ("StringLike", "team-?", "team-ops", False),
        ("StringNotLike", "team-*", "ops", True),
        ("StringEqualsIgnoreCase", "ABC", "abc", True),
        ("ArnLike", "arn:aws:sqs:*:123456789012:*", "arn:aws:sqs:eu-west-1:123456789012:q", True),
        ("ArnLike", "arn:aws:sqs:*:123456789012:*", "arn:aws:sqs:eu-west-1:210987654321:q", False),
        ("ArnEquals", "arn:aws:sns:eu-west-1:123456789012:t", "arn:aws:sns:eu-west-1:123456789012:t", True),
        ("ArnNotEquals", "arn:aws:sns:eu-west-1:123456789012:t", "arn:aws:sns:eu-west-1:123456789012:u", True),
        ("ArnLike", "arn:aws:sqs:*", "not-an-arn", False),
        ("Bool", "true", "True", True),
        ("Bool", "false", "true", False),
    ],
)
def test_condition_operators(operator: str, wanted: Any, value: str, holds: bool) -> None:
    grant = [_allow("sqs:SendMessage", Condition={operator: {"k:key": wanted}})]
    expected = Decision.ALLOW if holds else Decision.IMPLICIT_DENY
    assert _decide(grant, "sqs:SendMessage", Resource("*"), **{"k:key": value}) is expected


def test_a_missing_key_fails_positive_operators_and_satisfies_negated_ones() -> None:
    for operator, expected in (
        ("StringEquals", Decision.IMPLICIT_DENY),
        ("StringLike", Decision.IMPLICIT_DENY),
        ("ArnLike", Decision.IMPLICIT_DENY),
        ("Bool", Decision.IMPLICIT_DENY),
        ("StringNotEquals", Decision.ALLOW),
        ("StringEqualsIfExists", Decision.ALLOW),
        ("ArnLikeIfExists", Decision.ALLOW),
    ):
        grant = [_allow("sqs:SendMessage", Condition={operator: {"aws:SourceArn": "arn:aws:sns:*"}})]
        assert _decide(grant, "sqs:SendMessage", Resource("*")) is expected, operator


def test_if_exists_still_tests_a_present_key() -> None:
    grant = [_allow("sqs:SendMessage", Condition={"StringEqualsIfExists": {"k:key": "a"}})]
    assert _decide(grant, "sqs:SendMessage", Resource("*"), **{"k:key": "b"}) is Decision.IMPLICIT_DENY


def test_all_operators_and_keys_of_a_condition_must_hold() -> None:
    condition = {"StringEquals": {"k:a": "1", "k:b": "2"}, "Bool": {"k:c": "true"}}
    grant = [_allow("sqs:SendMessage", Condition=condition)]
    assert _decide(grant, "sqs:SendMessage", Resource("*"), **{"k:a": "1", "k:b": "2", "k:c": "true"}) is (
        Decision.ALLOW
    )
    assert _decide(grant, "sqs:SendMessage", Resource("*"), **{"k:a": "1", "k:b": "2"}) is Decision.IMPLICIT_DENY


def test_tag_keys_with_set_operators() -> None:
    only_known = [_allow("workspaces:CreateTags", Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["A", "B"]}})]
    any_a = [_allow("workspaces:CreateTags", Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": ["A"]}})]
    assert _decide(only_known, "workspaces:CreateTags", Resource("*"), **{"aws:TagKeys": ["A"]}) is Decision.ALLOW
    assert _decide(only_known, "workspaces:CreateTags", Resource("*"), **{"aws:TagKeys": ["A", "C"]}) is (
        Decision.IMPLICIT_DENY
    )
    # ForAllValues holds when the request has no tags at all (the IAM guide's warning), ForAnyValue does not.
    assert _decide(only_known, "workspaces:CreateTags", Resource("*")) is Decision.ALLOW
    assert _decide(any_a, "workspaces:CreateTags", Resource("*")) is Decision.IMPLICIT_DENY
    assert _decide(any_a, "workspaces:CreateTags", Resource("*"), **{"aws:TagKeys": ["B", "A"]}) is Decision.ALLOW


def test_null_tests_presence() -> None:
    grant = [_allow("sqs:SendMessage", Condition={"Null": {"aws:RequestTag/ManagedBy": "false"}})]
    assert _decide(grant, "sqs:SendMessage", Resource("*")) is Decision.IMPLICIT_DENY
    assert _decide(grant, "sqs:SendMessage", Resource("*"), **{"aws:RequestTag/ManagedBy": "x"}) is Decision.ALLOW


def test_a_deny_with_a_condition_denies_only_when_it_holds() -> None:
    statements = [
        _allow("workspaces:TerminateWorkspaces"),
        _deny("workspaces:TerminateWorkspaces", Condition={"StringNotEquals": {"aws:ResourceTag/ManagedBy": "ap"}}),
    ]
    assert _decide(statements, "workspaces:TerminateWorkspaces", Resource(WS, {"ManagedBy": "ap"})) is Decision.ALLOW
    assert _decide(statements, "workspaces:TerminateWorkspaces", Resource(WS, {})) is Decision.EXPLICIT_DENY


@pytest.mark.parametrize(
    "condition",
    [
        {"NumericLessThan": {"k:n": "3"}},
        {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
        {"ForEveryValue:StringEquals": {"k:n": "3"}},
    ],
)
def test_an_operator_not_modelled_is_refused_not_guessed(condition: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedPolicy):
        _decide([_allow("sqs:SendMessage", Condition=condition)], "sqs:SendMessage", Resource("*"), **{"k:n": "1"})


def test_a_request_without_resources_is_not_allowed() -> None:
    assert _decide([_allow("*")], "sqs:SendMessage") is Decision.IMPLICIT_DENY
