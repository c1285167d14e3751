"""The IAM database gate: parliament (PyPI `parliament`, which ships the Service Authorization Reference's
actions, resource types and condition keys) over every policy AWS would evaluate for this stack.

- identity policies: each AWS::IAM::Role's inline `Policies` together with the AWS::IAM::Policy resources
  attached to it (one document per role: IAM evaluates a role's statements together), each
  AWS::IAM::ManagedPolicy (trust policies are not: parliament needs a Resource element they do not have);
- resource policies: SQS queue, SNS topic, S3 bucket, EventBridge bus (EventBusPolicy and a bus's `Policy`),
  KMS key policies, and AWS::Lambda::Permission (as the statement Lambda adds to the function's policy);
- every JSON policy file under the repository's top-level `iam/` directory (absent: nothing to check).

Intrinsics are resolved with localcloud/intrinsics.py (the one resolver) for one concrete deployment, as the
template rules are.

A finding of a gated kind fails `make lint`. RESOURCE_MISMATCH is parliament's per-statement check (every
statement granting an action must name each resource type the action requires); IAM authorizes each resource of
a multi-resource action against all of the principal's statements (a statement per resource type, e.g.
MigrateWorkspace: the workspace under a ManagedBy tag condition, the target bundle without, since AWS-owned
bundles carry no tag of ours). So a RESOURCE_MISMATCH is waived only when another Allow statement of the same
document grants that action on a resource of the missing type; a type no statement covers stays a finding.

    python -m tools.iam_gate [.aws-sam/expanded.json] [--iam-dir iam]
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud.intrinsics import Resolver, target_id

ROOT = Path(__file__).resolve().parent.parent
IAM_DIR = ROOT / "iam"
# The findings that mean AWS would deny (or never match) what the policy was written for.
GATED = frozenset(
    {
        "RESOURCE_MISMATCH",
        "UNKNOWN_ACTION",
        "UNKNOWN_PREFIX",
        "UNKNOWN_CONDITION_FOR_ACTION",
        "UNKNOWN_OPERATOR",
        "MALFORMED",
        "MALFORMED_JSON",
        "EXCEPTION",
    }
)

_RESOURCE_POLICIES = {
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::Events::EventBus": "Policy",
}


@dataclass(frozen=True)
class PolicyDocument:
    where: str
    document: Mapping[str, Any]


def _parliament() -> Any:
    # parliament 1.6.4 imports pkg_resources (setuptools < 81, pinned in pyproject.toml), which warns on import.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import parliament

    return parliament


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _document(statements: list[Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def _of_type(template: Mapping[str, Any], resolver: Resolver, kind: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") == kind and resolver.exists(logical_id):
            yield logical_id, resource.get("Properties", {})


def template_policies(template: Mapping[str, Any], resolver: Resolver) -> list[PolicyDocument]:
    """Every identity and resource policy of the (expanded) template, intrinsics resolved."""
    found: list[PolicyDocument] = []
    attached: dict[str, list[Any]] = {}
    for _, props in _of_type(template, resolver, "AWS::IAM::Policy"):
        extra = _as_list(resolver.resolve(props.get("PolicyDocument", {})).get("Statement"))
        for role in _as_list(props.get("Roles")):
            attached.setdefault(str(target_id(role) or role), []).extend(extra)
    for role_id, props in _of_type(template, resolver, "AWS::IAM::Role"):
        statements: list[Any] = []
        for policy in resolver.resolve(props.get("Policies", [])):
            statements += _as_list(policy.get("PolicyDocument", {}).get("Statement"))
        statements += attached.get(role_id, [])
        # Trust policies (AssumeRolePolicyDocument) are left out: they have no Resource element, which
        # parliament reports as MALFORMED; template_rules checks who may assume each role.
        if statements:
            found.append(PolicyDocument(f"{role_id} (role policies)", _document(statements)))
    for policy_id, props in _of_type(template, resolver, "AWS::IAM::ManagedPolicy"):
        found.append(PolicyDocument(policy_id, resolver.resolve(props.get("PolicyDocument", {}))))
    for kind, prop in _RESOURCE_POLICIES.items():
        for logical_id, props in _of_type(template, resolver, kind):
            if prop in props:
                document = resolver.resolve(props[prop])
                parsed = json.loads(document) if isinstance(document, str) else document
                found.append(PolicyDocument(logical_id, parsed))
    for logical_id, props in _of_type(template, resolver, "AWS::Events::EventBusPolicy"):
        found.append(PolicyDocument(logical_id, _document([_bus_statement(resolver, props)])))
    for logical_id, props in _of_type(template, resolver, "AWS::Lambda::Permission"):
        found.append(PolicyDocument(logical_id, _document([_lambda_statement(resolver, props)])))
    return found


def _bus_statement(resolver: Resolver, props: Mapping[str, Any]) -> Mapping[str, Any]:
    """An EventBusPolicy is one statement: `Statement`, or the legacy Action/Principal/Condition properties."""
    if "Statement" in props:
        statement: Mapping[str, Any] = resolver.resolve(props["Statement"])
        return statement
    resolved = resolver.resolve(dict(props))
    bus = resolver.resolve(props.get("EventBusName", "default"))
    statement = {
        "Sid": resolved.get("StatementId"),
        "Effect": "Allow",
        "Principal": {"AWS": resolved.get("Principal")},
        "Action": resolved.get("Action"),
        "Resource": f"arn:aws:events:{resolver.region}:{resolver.account_id}:event-bus/{bus}",
    }
    condition = resolved.get("Condition")
    if condition:  # {Type: StringEquals, Key: aws:PrincipalOrgID, Value: o-...}
        statement["Condition"] = {condition["Type"]: {condition["Key"]: condition["Value"]}}
    return statement


def _lambda_statement(resolver: Resolver, props: Mapping[str, Any]) -> Mapping[str, Any]:
    """The statement AddPermission puts in the function's resource policy (Lambda developer guide, 'Using
    resource-based policies in Lambda')."""
    resolved = resolver.resolve(dict(props))
    function = str(resolved["FunctionName"])
    if not function.startswith("arn:"):
        function = f"arn:aws:lambda:{resolver.region}:{resolver.account_id}:function:{function}"
    principal = str(resolved["Principal"])
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": principal} if principal.endswith(".amazonaws.com") else {"AWS": principal},
        "Action": resolved["Action"],
        "Resource": function,
    }
    condition: dict[str, Any] = {}
    if "SourceArn" in resolved:
        condition["ArnLike"] = {"aws:SourceArn": resolved["SourceArn"]}
    if "SourceAccount" in resolved:
        condition["StringEquals"] = {"aws:SourceAccount": resolved["SourceAccount"]}
    if condition:
        statement["Condition"] = condition
    return statement


def policy_files(iam_dir: Path = IAM_DIR) -> list[PolicyDocument]:
    """Every *.json under iam/ (none if the directory does not exist); a file that is not JSON is a finding."""
    if not iam_dir.is_dir():
        return []
    return [
        PolicyDocument(str(path.relative_to(iam_dir.parent)), {"__text__": path.read_text(encoding="utf-8")})
        for path in sorted(iam_dir.rglob("*.json"))
    ]


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [s for s in _as_list(document.get("Statement")) if isinstance(s, Mapping)]


def _granted_elsewhere(document: Mapping[str, Any], action: str, arn_format: str) -> bool:
    """Another Allow statement grants `action` on a resource of the type `arn_format` describes."""
    parliament = _parliament()
    for statement in _statements(document):
        if statement.get("Effect") != "Allow" or "NotAction" in statement or "NotResource" in statement:
            continue
        actions = [str(a).lower() for a in _as_list(statement.get("Action"))]
        if not any(fnmatch.fnmatchcase(action.lower(), pattern) for pattern in actions):
            continue
        for resource in _as_list(statement.get("Resource")):
            if str(resource) != "*" and parliament.is_arn_strictly_valid("", arn_format, str(resource)):
                return True
    return False


def findings(policy: PolicyDocument) -> list[str]:
    parliament = _parliament()
    text = policy.document.get("__text__")
    document = policy.document
    if text is None:
        text = json.dumps(document)
    else:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            return [f"{policy.where}: MALFORMED_JSON {exc.msg} (line {exc.lineno})"]
    analysed = parliament.analyze_policy_string(text, filepath=policy.where, ignore_private_auditors=True)
    found: list[str] = []
    for finding in analysed.findings:
        if finding.issue not in GATED:
            continue
        if finding.issue == "RESOURCE_MISMATCH":
            missing = [
                item
                for item in finding.detail
                if not _granted_elsewhere(document, item["action"], item["required_format"])
            ]
            found += [
                f"{policy.where}: RESOURCE_MISMATCH {item['action']} needs a resource like {item['required_format']}"
                for item in missing
            ]
            continue
        found.append(f"{policy.where}: {finding.issue} {finding.detail}")
    return sorted(set(found))


def check(template: Mapping[str, Any], resolver: Resolver | None = None, iam_dir: Path = IAM_DIR) -> list[str]:
    """Gated findings of every template policy and every iam/*.json file; empty = clean."""
    resolver = resolver or Resolver(template)
    documents = template_policies(template, resolver) + policy_files(iam_dir)
    return [line for document in documents for line in findings(document)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("expanded", nargs="?", type=Path, default=ROOT / ".aws-sam" / "expanded.json")
    parser.add_argument("--iam-dir", type=Path, default=IAM_DIR)
    args = parser.parse_args(argv)
    lines = check(json.loads(args.expanded.read_text(encoding="utf-8")), iam_dir=args.iam_dir)
    print("\n".join(lines) or "no findings")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
