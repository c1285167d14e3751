"""The template's IAM against the IAM database of the Service Authorization Reference (parliament): every action
exists, every condition key applies to its action, and every resource type an action requires is granted
(issue 14, point 1: MigrateWorkspace needs the target `workspacebundle` as well as the `workspace`)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from localcloud.intrinsics import Resolver
from tools import iam_gate
from tools.template_rules import role_statements

Template = dict[str, Any]
ACCOUNT_BUNDLE = "arn:aws:workspaces:eu-west-1:123456789012:workspacebundle/wsb-abcdefgh1"
AWS_OWNED_BUNDLE = "arn:aws:workspaces:eu-west-1::workspacebundle/wsb-abcdefgh2"


def test_every_policy_of_the_template_is_clean_in_the_iam_database(expanded: Template, resolver: Resolver) -> None:
    assert iam_gate.check(expanded, resolver, iam_dir=Path("/nonexistent")) == []


@pytest.mark.parametrize("bundle", [ACCOUNT_BUNDLE, AWS_OWNED_BUNDLE])
def test_the_lifecycle_role_may_migrate_a_desk_to_an_account_or_aws_owned_bundle(
    bundle: str, expanded: Template, resolver: Resolver
) -> None:
    # MigrateWorkspace authorizes both the source workspace and the target bundle (SAR, Amazon WorkSpaces). An
    # AWS-owned bundle carries no ManagedBy tag, so the bundle grant must not be tag-conditioned.
    grants = [
        s
        for s in role_statements(expanded, resolver, "LifecycleFunctionRole")
        if s.allows("workspaces:MigrateWorkspace", bundle)
    ]
    assert grants, f"no statement lets the lifecycle role migrate to {bundle}"
    assert any("aws:ResourceTag/ManagedBy" not in json.dumps(s.condition) for s in grants)


def test_the_workspace_side_of_a_migration_stays_under_the_managed_by_tag(
    expanded: Template, resolver: Resolver
) -> None:
    workspace = "arn:aws:workspaces:eu-west-1:123456789012:workspace/ws-abcdefgh1"
    grants = [
        s
        for s in role_statements(expanded, resolver, "LifecycleFunctionRole")
        if s.allows("workspaces:MigrateWorkspace", workspace)
    ]
    assert grants
    assert all("aws:ResourceTag/ManagedBy" in json.dumps(s.condition) for s in grants)


def _lifecycle_policies(template: Template) -> list[dict[str, Any]]:
    policies: list[dict[str, Any]] = template["Resources"]["LifecycleFunctionRole"]["Properties"]["Policies"]
    return policies


def test_migrate_on_workspaces_only_is_a_resource_mismatch(expanded: Template) -> None:
    broken = copy.deepcopy(expanded)
    for policy in _lifecycle_policies(broken):
        statements = policy["PolicyDocument"]["Statement"]
        policy["PolicyDocument"]["Statement"] = [
            s for s in statements if not ("workspaces:MigrateWorkspace" in s["Action"] and "workspacebundle" in str(s))
        ]
    assert any(
        "LifecycleFunctionRole" in line and "RESOURCE_MISMATCH workspaces:MigrateWorkspace" in line
        for line in iam_gate.check(broken, Resolver(broken), iam_dir=Path("/nonexistent"))
    )


def test_an_unknown_action_or_condition_is_a_finding(expanded: Template) -> None:
    broken = copy.deepcopy(expanded)
    _lifecycle_policies(broken)[0]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "workspaces:TeleportWorkspaces", "Resource": "*"}
    )
    _lifecycle_policies(broken)[0]["PolicyDocument"]["Statement"].append(
        {
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": "arn:aws:sqs:eu-west-1:123456789012:q",
            "Condition": {"StringEquals": {"events:source": "hr.feed"}},
        }
    )
    lines = iam_gate.check(broken, Resolver(broken), iam_dir=Path("/nonexistent"))
    assert any("UNKNOWN_ACTION" in line and "workspaces:TeleportWorkspaces" in line for line in lines)
    assert any("UNKNOWN_CONDITION_FOR_ACTION" in line and "events:source" in line for line in lines)


def test_policy_files_under_iam_are_checked(tmp_path: Path, expanded: Template, resolver: Resolver) -> None:
    iam = tmp_path / "iam"
    assert iam_gate.policy_files(iam) == []  # no iam/ directory: nothing to check, no error
    iam.mkdir()
    unknown = {"Effect": "Allow", "Action": "s3:Teleport", "Resource": "*"}
    (iam / "deployer-policy.json").write_text(
        json.dumps({"Version": "2012-10-17", "Statement": [unknown]}), encoding="utf-8"
    )
    (iam / "broken.json").write_text("{not json", encoding="utf-8")
    lines = iam_gate.check(expanded, resolver, iam_dir=iam)
    assert any(line.startswith("iam/deployer-policy.json: UNKNOWN_ACTION") for line in lines)
    assert any(line.startswith("iam/broken.json: MALFORMED_JSON") for line in lines)
