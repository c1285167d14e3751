"""Who may put events on a bus from another account: the bus's resource policy, evaluated for one PutEvents
entry. Deliberately minimal (full IAM is not modelled), but never kinder than AWS:

- a statement applies when its Action covers `events:PutEvents`, its Resource the bus ARN and its Principal the
  caller (`*`, the caller's account id or `arn:aws:iam::<account>:root`: any principal of that account; any other
  ARN: only that principal);
- conditions: `StringEquals`/`StringLike`/`ArnEquals`/`ArnLike` and their `Not` forms, with or without
  `IfExists`, on `events:source`, `events:detail-type`, `aws:PrincipalAccount` and `aws:PrincipalArn` (when the
  caller is named); any other key is absent from the request (a positive operator fails, a negated one holds, as
  IAM evaluates a missing key); any other operator raises UnsupportedPolicy rather than guess;
- an applicable Deny wins; otherwise an applicable Allow admits; otherwise the entry is refused.

Error codes are those botocore documents for PutEventsResultEntry.ErrorCode (events 2015-10-07):
`NotAuthorizedForSourceException` / `NotAuthorizedForDetailTypeException` when a statement for this caller
applies but its source / detail-type condition fails, `AccessDeniedException` otherwise. Which of them AWS picks
in each case is our reading of those descriptions, not verified against AWS.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any

SOURCE_REFUSED = "NotAuthorizedForSourceException"
DETAIL_TYPE_REFUSED = "NotAuthorizedForDetailTypeException"
ACCESS_DENIED = "AccessDeniedException"

_OPERATORS = {
    "StringEquals": (False, False),  # (negated, wildcards)
    "StringNotEquals": (True, False),
    "StringLike": (False, True),
    "StringNotLike": (True, True),
    "ArnEquals": (False, False),
    "ArnNotEquals": (True, False),
    "ArnLike": (False, True),
    "ArnNotLike": (True, True),
}


class UnsupportedPolicy(ValueError):
    """A bus policy this minimal evaluator cannot decide (an operator it does not model)."""


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def statements_of(props: Mapping[str, Any], bus_arn: str) -> list[Mapping[str, Any]]:
    """The statement of an AWS::Events::EventBusPolicy (resolved properties): `Statement`, or the legacy
    Action/Principal/Condition properties (AWS::Events::EventBusPolicy in the CloudFormation reference)."""
    if "Statement" in props:
        return [s for s in _as_list(props["Statement"]) if isinstance(s, Mapping)]
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": props.get("Principal")},
        "Action": props.get("Action"),
        "Resource": bus_arn,
    }
    condition = props.get("Condition")
    if condition:
        statement["Condition"] = {condition["Type"]: {condition["Key"]: condition["Value"]}}
    return [statement]


def _principal_matches(principal: Any, account: str, caller: str | None) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    for value in _as_list(principal.get("AWS")):
        text = str(value)
        if text == "*" or text == account or text == f"arn:aws:iam::{account}:root":
            return True
        if caller is not None and text == caller:
            return True
    return False


def _condition_holds(operator: str, values: Mapping[str, Any], context: Mapping[str, str]) -> tuple[bool, set[str]]:
    """Whether one operator block holds, and the keys that made it fail."""
    base = operator.removesuffix("IfExists")
    if base not in _OPERATORS:
        raise UnsupportedPolicy(f"condition operator {operator} is not modelled by the local cloud")
    negated, wildcards = _OPERATORS[base]
    failed: set[str] = set()
    for key, wanted in values.items():
        actual = context.get(key)
        if actual is None:
            holds = negated or operator.endswith("IfExists")
        else:
            patterns = [str(w) for w in _as_list(wanted)]
            hit = any(fnmatch.fnmatchcase(actual, p) if wildcards else actual == p for p in patterns)
            holds = not hit if negated else hit
        if not holds:
            failed.add(key)
    return not failed, failed


def put_events_error(
    statements: Iterable[Mapping[str, Any]],
    *,
    account: str,
    caller: str | None,
    bus_arn: str,
    source: str,
    detail_type: str,
) -> str | None:
    """None when the policy admits the entry; else the PutEvents entry error code."""
    context = {"events:source": source, "events:detail-type": detail_type, "aws:PrincipalAccount": account}
    if caller is not None:
        context["aws:PrincipalArn"] = caller
    allowed, denied = False, False
    failed_keys: set[str] = set()
    for statement in statements:
        actions = [str(a) for a in _as_list(statement.get("Action"))]
        if not any(fnmatch.fnmatchcase("events:PutEvents".lower(), a.lower()) for a in actions):
            continue
        if not any(fnmatch.fnmatchcase(bus_arn, str(r)) for r in _as_list(statement.get("Resource", "*"))):
            continue
        if not _principal_matches(statement.get("Principal"), account, caller):
            continue
        holds = True
        for operator, values in (statement.get("Condition") or {}).items():
            ok, failed = _condition_holds(operator, values, context)
            holds = holds and ok
            failed_keys |= failed
        if not holds:
            continue
        if statement.get("Effect") == "Deny":
            denied = True
        elif statement.get("Effect") == "Allow":
            allowed = True
    if allowed and not denied:
        return None
    if not denied and "events:source" in failed_keys:
        return SOURCE_REFUSED
    if not denied and "events:detail-type" in failed_keys:
        return DETAIL_TYPE_REFUSED
    return ACCESS_DENIED
