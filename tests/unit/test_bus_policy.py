"""The local cloud's bus-policy check for PutEvents from another account (localcloud/bus_policy.py): the HR bus
admits only the HR principal with the HR source, and never more than AWS would."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.bus_policy import (
    ACCESS_DENIED,
    DETAIL_TYPE_REFUSED,
    SOURCE_REFUSED,
    UnsupportedPolicy,
    put_events_error,
    statements_of,
)

pytestmark = pytest.mark.usefixtures("socket_disabled")

BUS = "arn:aws:events:eu-west-1:123456789012:event-bus/workspaces-autopilot-dev-hr"
HR = "210987654321"
ROLE = f"arn:aws:iam::{HR}:role/hr-publisher"


def _hr_policy(principal: str = f"arn:aws:iam::{HR}:root", **condition: Any) -> list[dict[str, Any]]:
    return [
        {
            "Effect": "Allow",
            "Principal": {"AWS": principal},
            "Action": "events:PutEvents",
            "Resource": BUS,
            "Condition": condition or {"StringEquals": {"events:source": "hr.feed"}},
        }
    ]


def _error(statements: list[dict[str, Any]], **call: Any) -> str | None:
    request = {"account": HR, "caller": None, "bus_arn": BUS, "source": "hr.feed", "detail_type": "Employee Hired"}
    return put_events_error(statements, **(request | call))


def test_the_hr_account_with_the_hr_source_is_admitted() -> None:
    assert _error(_hr_policy()) is None
    assert _error(_hr_policy(), caller=ROLE) is None  # the account root names every principal of the account


def test_another_account_is_denied() -> None:
    assert _error(_hr_policy(), account="999999999999") == ACCESS_DENIED


def test_another_source_from_the_hr_account_is_refused_for_its_source() -> None:
    assert _error(_hr_policy(), source="hr.other") == SOURCE_REFUSED


def test_a_detail_type_condition_refuses_for_the_detail_type() -> None:
    policy = _hr_policy(StringEquals={"events:detail-type": "Employee Hired"})
    assert _error(policy, detail_type="Employee Promoted") == DETAIL_TYPE_REFUSED


def test_a_named_role_admits_only_that_role() -> None:
    assert _error(_hr_policy(ROLE), caller=ROLE) is None
    assert _error(_hr_policy(ROLE), caller=f"arn:aws:iam::{HR}:role/someone-else") == ACCESS_DENIED
    assert _error(_hr_policy(ROLE)) == ACCESS_DENIED  # an unnamed principal of the account is not that role


def test_a_deny_wins_over_an_allow() -> None:
    deny = {"Effect": "Deny", "Principal": "*", "Action": "events:*", "Resource": BUS}
    assert _error([*_hr_policy(), deny]) == ACCESS_DENIED


def test_a_condition_on_a_key_the_request_lacks_does_not_admit() -> None:
    # aws:PrincipalOrgID is not modelled: absent, so a positive operator fails, as IAM evaluates a missing key.
    assert _error(_hr_policy(StringEquals={"aws:PrincipalOrgID": "o-abc"})) == ACCESS_DENIED


def test_an_unmodelled_operator_is_refused_rather_than_guessed() -> None:
    with pytest.raises(UnsupportedPolicy, match="ForAnyValue:StringEquals"):
        _error(_hr_policy(**{"ForAnyValue:StringEquals": {"events:source": ["hr.feed"]}}))


def test_the_legacy_bus_policy_properties_are_one_statement() -> None:
    props = {
        "Action": "events:PutEvents",
        "Principal": HR,
        "StatementId": "hr",
        "Condition": {"Type": "StringEquals", "Key": "aws:PrincipalOrgID", "Value": "o-abc"},
    }
    [statement] = statements_of(props, BUS)
    assert statement["Principal"] == {"AWS": HR}
    assert _error([{**statement, "Condition": {}}]) is None
    assert _error([statement]) == ACCESS_DENIED
