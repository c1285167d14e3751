"""IAM policy evaluation, pure: does a set of policy statements allow an action on some resources?

AWS's evaluation logic for one account and identity policies only (IAM User Guide, "Policy evaluation logic",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):

- an explicit Deny in any statement that applies wins;
- otherwise an Allow that applies is needed; without one the request is implicitly denied;
- a request naming several resources (CreateWorkspaces: directory, bundle, new desk) is allowed only when each
  resource is allowed ("the request context ... includes the resources"; each must be authorised), each
  evaluated with its own `aws:ResourceTag/*`.

A statement applies when its Action (or NotAction) covers the action, its Resource (or NotResource) the resource
and every condition holds. Actions match case-insensitively, resources case-sensitively, `*` and `?` as
wildcards in both (IAM User Guide, "IAM JSON policy elements: Action / Resource").

Conditions ("IAM JSON policy elements: Condition operators", "... condition with multiple context keys or
values", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html):
every operator and every key of a block must hold; for a positive operator one of the policy's values must
match, for a negated operator (`StringNotEquals`, `StringNotLike`, `ArnNotEquals`, `ArnNotLike`) none may; a key
missing from the request makes a positive operator false and a negated one true; `...IfExists` holds when the
key is missing; `Null` tests presence. Keys are case-insensitive, values are not (except the IgnoreCase
operators). Multivalued keys (`aws:TagKeys`): `ForAllValues:` holds when every request value matches (also when
there are none), `ForAnyValue:` when at least one does; without a set operator a multivalued key is read as
ForAnyValue for positive and ForAllValues for negated operators (our reading; the guide warns against it).
An operator not listed here (Numeric*, Date*, IpAddress, BinaryEquals) raises UnsupportedPolicy rather than guess.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ContextValue = str | Sequence[str]


class UnsupportedPolicy(ValueError):
    """A policy this evaluator cannot decide (an operator or element it does not model)."""


class Decision(enum.Enum):
    ALLOW = "allow"
    IMPLICIT_DENY = "implicit deny"
    EXPLICIT_DENY = "explicit deny"


@dataclass(frozen=True)
class Resource:
    """A resource of a request: its ARN (`*` for actions without resource-level permissions) and its tags
    (`None`: the resource has no tags to read, e.g. it does not exist yet)."""

    arn: str
    tags: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Request:
    """One IAM authorisation: an action (`service:Operation`), its resources, and the request's context keys
    (`aws:RequestTag/K`, `aws:TagKeys`, `iam:PassedToService`, ...). Keys are matched case-insensitively."""

    action: str
    resources: tuple[Resource, ...]
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    resource: str | None = None  # the first resource refused, for the error message

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """`*` any run of characters, `?` one character, everything else literal (no fnmatch `[...]` classes)."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"\\A{body}\\Z", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case).match(value) is not None


# ------------------------------------------------------------------ conditions


def _string_equals(policy: str, value: str) -> bool:
    return policy == value


def _string_equals_ic(policy: str, value: str) -> bool:
    return policy.lower() == value.lower()


def _string_like(policy: str, value: str) -> bool:
    return glob_match(policy, value)


def _bool(policy: str, value: str) -> bool:
    return policy.lower() == value.lower()


def _arn_like(policy: str, value: str) -> bool:
    """ArnLike/ArnEquals compare the six colon-delimited parts, each with wildcards (Condition operators,
    "Amazon Resource Name (ARN) condition operators")."""
    wanted = policy.split(":", 5)
    actual = value.split(":", 5)
    if len(wanted) != 6 or len(actual) != 6:
        return False
    return all(glob_match(w, a) for w, a in zip(wanted, actual, strict=True))


# name -> (comparison, negated)
_OPERATORS = {
    "StringEquals": (_string_equals, False),
    "StringNotEquals": (_string_equals, True),
    "StringEqualsIgnoreCase": (_string_equals_ic, False),
    "StringNotEqualsIgnoreCase": (_string_equals_ic, True),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    "ArnEquals": (_arn_like, False),
    "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnNotLike": (_arn_like, True),
    "Bool": (_bool, False),
}


def _lookup(context: Mapping[str, ContextValue], key: str) -> list[str] | None:
    lowered = key.lower()
    for name, value in context.items():
        if name.lower() == lowered:
            return [str(v) for v in _as_list(value)]
    return None


def _condition_holds(operator: str, key: str, wanted: Any, context: Mapping[str, ContextValue]) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise UnsupportedPolicy(f"condition set operator {qualifier!r}")
    values = _lookup(context, key)
    if name == "Null":
        # {"Null": {"k": "true"}} holds when k is absent; "false" when present.
        expect_absent = str(_as_list(wanted)[0]).lower() == "true"
        return (values is None) == expect_absent
    if_exists = name.endswith("IfExists")
    base = name.removesuffix("IfExists")
    if base not in _OPERATORS:
        raise UnsupportedPolicy(f"condition operator {operator!r}")
    compare, negated = _OPERATORS[base]
    policy_values = [str(v).lower() if base == "Bool" else str(v) for v in _as_list(wanted)]

    def one(value: str) -> bool:
        hit = any(compare(p, value) for p in policy_values)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(v) for v in values or [])
    if qualifier == "ForAnyValue":
        return any(one(v) for v in values or [])
    if values is None:
        return if_exists or negated
    return all(one(v) for v in values) if negated else any(one(v) for v in values)


def conditions_hold(block: Mapping[str, Any] | None, context: Mapping[str, ContextValue]) -> bool:
    for operator, keys in (block or {}).items():
        if not isinstance(keys, Mapping):
            raise UnsupportedPolicy(f"condition {operator!r} is not a map of keys")
        for key, wanted in keys.items():
            if not _condition_holds(str(operator), str(key), wanted, context):
                return False
    return True


# ------------------------------------------------------------------ statements


def _covers(patterns: Iterable[Any], value: str, *, ignore_case: bool) -> bool:
    return any(glob_match(str(p), value, ignore_case=ignore_case) for p in patterns)


def statement_applies(
    statement: Mapping[str, Any], action: str, resource: Resource, context: Mapping[str, Any]
) -> bool:
    if "Action" in statement:
        if not _covers(_as_list(statement["Action"]), action, ignore_case=True):
            return False
    elif "NotAction" in statement:
        if _covers(_as_list(statement["NotAction"]), action, ignore_case=True):
            return False
    else:
        raise UnsupportedPolicy("statement without Action or NotAction")
    if "Resource" in statement:
        if not _covers(_as_list(statement["Resource"]), resource.arn, ignore_case=False):
            return False
    elif "NotResource" in statement:
        if _covers(_as_list(statement["NotResource"]), resource.arn, ignore_case=False):
            return False
    else:
        raise UnsupportedPolicy("identity statement without Resource or NotResource")
    full = dict(context)
    for key, value in (resource.tags or {}).items():
        full[f"aws:ResourceTag/{key}"] = value
    return conditions_hold(statement.get("Condition"), full)


def evaluate(statements: Sequence[Mapping[str, Any]], request: Request) -> Verdict:
    """The decision for `request` under these identity-policy statements (all of one principal)."""
    refused: str | None = None
    for resource in request.resources:
        allowed = False
        for statement in statements:
            effect = statement.get("Effect")
            if effect not in ("Allow", "Deny"):
                raise UnsupportedPolicy(f"statement Effect {effect!r}")
            if not statement_applies(statement, request.action, resource, request.context):
                continue
            if effect == "Deny":
                return Verdict(Decision.EXPLICIT_DENY, resource.arn)
            allowed = True
        if not allowed and refused is None:
            refused = resource.arn
    if refused is not None or not request.resources:
        return Verdict(Decision.IMPLICIT_DENY, refused)
    return Verdict(Decision.ALLOW)


def statements_of(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [s for s in _as_list(document.get("Statement")) if isinstance(s, Mapping)]


def principal_matches(element: Any, principal: str, *, service: bool, account: str) -> bool:
    """Whether a resource-policy statement's Principal names this principal (a service principal when `service`):
    `*`, `{"Service": ...}`, or an account (its id or `:root` ARN: every IAM principal of the account, not service
    principals) or the principal's own ARN (IAM User Guide, "AWS JSON policy elements: Principal")."""
    if element == "*":
        return True
    if not isinstance(element, Mapping):
        raise UnsupportedPolicy(f"Principal {element!r}")
    if service:
        return principal in [str(v) for v in _as_list(element.get("Service"))]
    for value in _as_list(element.get("AWS")):
        text = str(value)
        if text in ("*", principal) or text in (account, f"arn:aws:iam::{account}:root"):
            return True
    return False


def applicable(
    statements: Sequence[Mapping[str, Any]], principal: str, *, service: bool, account: str
) -> list[Mapping[str, Any]]:
    found = []
    for statement in statements:
        if "NotPrincipal" in statement:
            raise UnsupportedPolicy("NotPrincipal")
        if principal_matches(statement.get("Principal"), principal, service=service, account=account):
            found.append(statement)
    return found
