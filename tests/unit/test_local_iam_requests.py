"""Which IAM authorisations a botocore call needs (localcloud/iam_requests.py): the action, the resource ARNs in the
formats of parliament's IAM database, the request's tags, and what AWS authorises besides (PassRole, KMS)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from localcloud.iam import Resource
from localcloud.iam_requests import UnmodelledCall, iam_actions, requests_for, resource_types

pytestmark = pytest.mark.usefixtures("socket_disabled")

ACCOUNT = "123456789012"
REGION = "eu-west-1"


@dataclass
class Facts:
    account_id: str = ACCOUNT
    region: str = REGION
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    amazon_bundles: set[str] = field(default_factory=set)
    keys: dict[str, str] = field(default_factory=dict)

    def tags_of(self, arn: str) -> Mapping[str, str] | None:
        return self.tags.get(arn)

    def bundle_owner_account(self, bundle_id: str) -> str:
        return "" if bundle_id in self.amazon_bundles else ACCOUNT

    def kms_key_of(self, arn: str) -> str | None:
        return self.keys.get(arn)


def _only(service: str, operation: str, params: dict[str, Any], facts: Facts | None = None) -> tuple[str, list[str]]:
    (request,) = requests_for(service, operation, params, facts or Facts())
    return request.action, [r.arn for r in request.resources]


def test_resource_types_come_from_the_iam_database() -> None:
    create = resource_types("workspaces:CreateWorkspaces")
    assert create is not None
    assert {t.name for t in create if t.required} == {"directoryid", "workspacebundle", "workspaceid"}
    assert resource_types("workspaces:NoSuchThing") is None


def test_an_operation_that_is_no_iam_action_is_refused_loudly() -> None:
    with pytest.raises(UnmodelledCall):
        iam_actions("workspaces", "NoSuchThing")


def test_batch_sqs_calls_are_authorised_as_their_single_action() -> None:
    assert iam_actions("sqs", "SendMessageBatch") == ("sqs:SendMessage",)


def test_dynamodb_item_calls_name_the_table() -> None:
    assert _only("dynamodb", "PutItem", {"TableName": "state", "Item": {}}) == (
        "dynamodb:PutItem",
        [f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/state"],
    )


def test_a_query_on_an_index_names_the_table_and_the_index() -> None:
    _, arns = _only("dynamodb", "Query", {"TableName": "state", "IndexName": "by-user"})
    assert arns == [
        f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/state",
        f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/state/index/by-user",
    ]


def test_batch_calls_name_every_table() -> None:
    _, arns = _only("dynamodb", "BatchWriteItem", {"RequestItems": {"a": [], "b": []}})
    assert arns == [f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/a", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/b"]


def test_transactions_are_authorised_per_item() -> None:
    params = {
        "TransactItems": [
            {"Put": {"TableName": "a", "Item": {}}},
            {"Delete": {"TableName": "b", "Key": {}}},
            {"ConditionCheck": {"TableName": "a", "Key": {}}},
        ]
    }
    actions = [r.action for r in requests_for("dynamodb", "TransactWriteItems", params, Facts())]
    assert actions == ["dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"]


def test_create_workspaces_names_directory_bundle_and_the_new_desk_with_request_tags() -> None:
    facts = Facts(amazon_bundles={"wsb-amzn"}, tags={f"arn:aws:workspaces:{REGION}:{ACCOUNT}:directory/d-1": {}})
    params = {
        "Workspaces": [
            {
                "DirectoryId": "d-1",
                "UserName": "u",
                "BundleId": "wsb-amzn",
                "Tags": [{"Key": "ManagedBy", "Value": "ap"}],
            },
            {"DirectoryId": "d-1", "UserName": "v", "BundleId": "wsb-own"},
        ]
    }
    (request,) = requests_for("workspaces", "CreateWorkspaces", params, facts)
    assert [r.arn for r in request.resources] == [
        f"arn:aws:workspaces:{REGION}:{ACCOUNT}:directory/d-1",
        f"arn:aws:workspaces:{REGION}::workspacebundle/wsb-amzn",
        f"arn:aws:workspaces:{REGION}:{ACCOUNT}:workspacebundle/wsb-own",
        f"arn:aws:workspaces:{REGION}:{ACCOUNT}:workspace/*",
    ]
    assert request.resources[0].tags == {}
    assert request.context == {"aws:TagKeys": ["ManagedBy"], "aws:RequestTag/ManagedBy": "ap"}


def test_lifecycle_batches_name_each_desk_with_its_tags() -> None:
    arn = f"arn:aws:workspaces:{REGION}:{ACCOUNT}:workspace/ws-1"
    facts = Facts(tags={arn: {"ManagedBy": "ap"}})
    params = {"StopWorkspaceRequests": [{"WorkspaceId": "ws-1"}, {"WorkspaceId": "ws-2"}]}
    (request,) = requests_for("workspaces", "StopWorkspaces", params, facts)
    assert request.resources == (Resource(arn, {"ManagedBy": "ap"}), Resource(arn.replace("ws-1", "ws-2"), None))


def test_migrate_names_the_source_desk_and_the_target_bundle() -> None:
    _, arns = _only("workspaces", "MigrateWorkspace", {"SourceWorkspaceId": "ws-1", "BundleId": "wsb-2"})
    assert sorted(arns) == [
        f"arn:aws:workspaces:{REGION}:{ACCOUNT}:workspace/ws-1",
        f"arn:aws:workspaces:{REGION}:{ACCOUNT}:workspacebundle/wsb-2",
    ]


def test_describe_calls_without_resource_level_permissions_need_star() -> None:
    assert _only("workspaces", "DescribeWorkspaces", {}) == ("workspaces:DescribeWorkspaces", ["*"])
    assert _only("resourcegroupstaggingapi", "GetResources", {}) == ("tag:GetResources", ["*"])


@pytest.mark.parametrize(
    ("service", "operation", "params", "arn"),
    [
        (
            "sqs",
            "SendMessage",
            {"QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q1"},
            f"arn:aws:sqs:{REGION}:{ACCOUNT}:q1",
        ),
        (
            "sns",
            "Publish",
            {"TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"},
            f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts",
        ),
        (
            "ssm",
            "GetParameter",
            {"Name": "/autopilot/policy"},
            f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/autopilot/policy",
        ),
        (
            "scheduler",
            "GetSchedule",
            {"Name": "t1", "GroupName": "g"},
            f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/g/t1",
        ),
        ("scheduler", "DeleteSchedule", {"Name": "t1"}, f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/t1"),
        ("cloudwatch", "DeleteAlarms", {"AlarmNames": ["a1"]}, f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:a1"),
        ("cloudwatch", "DescribeAlarms", {"AlarmNamePrefix": "p-"}, f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:p-*"),
        (
            "sesv2",
            "SendEmail",
            {"FromEmailAddress": "it@example.com"},
            f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/it@example.com",
        ),
        ("s3", "GetObject", {"Bucket": "feed", "Key": "in/roster.csv"}, "arn:aws:s3:::feed/in/roster.csv"),
    ],
)
def test_where_each_service_names_its_resource(service: str, operation: str, params: dict[str, Any], arn: str) -> None:
    assert _only(service, operation, params)[1] == [arn]


def test_put_events_names_each_bus_and_the_default_one() -> None:
    params = {
        "Entries": [
            {"EventBusName": "autopilot"},
            {},
            {"EventBusName": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/hr"},
        ]
    }
    _, arns = _only("events", "PutEvents", params)
    bus = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/"
    assert arns == [bus + "autopilot", bus + "default", bus + "hr"]


def test_create_schedule_also_passes_its_role_to_scheduler() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/timers"
    params = {"Name": "t", "GroupName": "g", "Target": {"Arn": "x", "RoleArn": role}}
    create, pass_role = requests_for("scheduler", "CreateSchedule", params, Facts())
    assert create.action == "scheduler:CreateSchedule"
    assert pass_role.action == "iam:PassRole"
    assert pass_role.resources == (Resource(role),)
    assert pass_role.context == {"iam:PassedToService": "scheduler.amazonaws.com"}


def test_sending_to_an_encrypted_queue_needs_the_key() -> None:
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:q1"
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k-1"
    params = {"QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q1", "Entries": []}
    actions = [r.action for r in requests_for("sqs", "SendMessageBatch", params, Facts(keys={queue: key}))]
    assert actions == ["sqs:SendMessage", "kms:GenerateDataKey", "kms:Decrypt"]


def test_a_required_resource_the_request_does_not_name_is_refused_loudly() -> None:
    with pytest.raises(UnmodelledCall):
        requests_for("workspaces", "RebootWorkspaces", {}, Facts())


def test_an_optional_resource_is_authorised_when_the_request_names_it() -> None:
    params = {"FromEmailAddress": "it@example.com", "ConfigurationSetName": "tracking"}
    _, arns = _only("sesv2", "SendEmail", params)
    assert arns == [
        f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/it@example.com",
        f"arn:aws:ses:{REGION}:{ACCOUNT}:configuration-set/tracking",
    ]
