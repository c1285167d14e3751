"""The local cloud's roles and refusals (localcloud/iam_world.py): each function's identity policy from the
expanded template, the AWS managed policies it attaches, and the error each service answers."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import botocore.session
import pytest

from localcloud.iam import Decision, Request, Resource, evaluate
from localcloud.iam_world import (
    DEFAULT_DENIED,
    DENIED,
    MANAGED_POLICIES,
    Enforcer,
    UnmodelledPolicy,
    WorldFacts,
    encryption_keys,
    function_roles,
    session_arn,
)
from localcloud.intrinsics import Resolver
from localcloud.world import expanded_template

pytestmark = pytest.mark.usefixtures("socket_disabled")

ACCOUNT = "123456789012"
REGION = "eu-west-1"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return expanded_template()


def _facts(tags: Mapping[str, Mapping[str, str]] | None = None) -> WorldFacts:
    known = dict(tags or {})
    return WorldFacts(ACCOUNT, REGION, known.get, lambda _bundle: ACCOUNT, {})


def test_every_function_has_its_role_with_the_managed_policies_it_attaches(template: dict[str, Any]) -> None:
    roles = function_roles(Resolver(template))
    functions = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::Lambda::Function"]
    assert sorted(roles) == sorted(functions)
    provision = roles["ProvisionFunction"]
    assert provision.arn.startswith(f"arn:aws:iam::{ACCOUNT}:role/")
    actions = {a for s in provision.statements for a in [s["Action"], *list(s["Action"])] if isinstance(a, str)}
    assert "workspaces:CreateWorkspaces" in actions
    assert "logs:PutLogEvents" in actions  # from AWSLambdaBasicExecutionRole
    assert "workspaces:TerminateWorkspaces" not in actions


def test_an_unknown_managed_policy_is_refused(template: dict[str, Any]) -> None:
    changed = copy.deepcopy(template)
    role = changed["Resources"]["ProvisionFunctionRole"]["Properties"]
    role["ManagedPolicyArns"] = [*role.get("ManagedPolicyArns", []), "arn:aws:iam::aws:policy/AdministratorAccess"]
    with pytest.raises(UnmodelledPolicy, match="AdministratorAccess"):
        function_roles(Resolver(changed))


def test_managed_policies_are_those_the_template_attaches() -> None:
    assert set(MANAGED_POLICIES) == {
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
        "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
    }


def test_the_enforcer_checks_the_lifecycle_role_against_desk_tags(template: dict[str, Any]) -> None:
    desk = f"arn:aws:workspaces:{REGION}:{ACCOUNT}:workspace/ws-1"
    resolver = Resolver(template)
    managed_by = str(resolver.resolve({"Ref": "ManagedByTagValue"}))
    stop = {"StopWorkspaceRequests": [{"WorkspaceId": "ws-1"}]}

    managed = Enforcer(resolver, _facts({desk: {"ManagedBy": managed_by}}))
    assert managed.check("LifecycleFunction", "workspaces", "StopWorkspaces", stop) is None

    unmanaged = Enforcer(resolver, _facts({desk: {}}))
    denial = unmanaged.check("LifecycleFunction", "workspaces", "StopWorkspaces", stop)
    assert denial is not None
    assert (denial.action, denial.resource, denial.code) == ("workspaces:StopWorkspaces", desk, "AccessDeniedException")
    assert denial.decision is Decision.IMPLICIT_DENY
    # ProvisionFunction may not stop anything, managed or not
    assert managed.check("ProvisionFunction", "workspaces", "StopWorkspaces", stop) is not None


def test_a_refusal_reads_like_awss() -> None:
    principal = session_arn(f"arn:aws:iam::{ACCOUNT}:role/stack-ProvisionFunctionRole-X", "stack-provision")
    assert principal == f"arn:aws:sts::{ACCOUNT}:assumed-role/stack-ProvisionFunctionRole-X/stack-provision"


def test_the_templates_queues_and_topic_are_encrypted_with_its_key(template: dict[str, Any]) -> None:
    keys = encryption_keys(Resolver(template))
    assert keys, "the template encrypts its queues and topic with AutopilotKey"
    assert all(":kms:" in key and ":key/" in key for key in keys.values())


@pytest.mark.parametrize("service", ["workspaces", "events", "ssm"])
def test_services_whose_model_declares_access_denied_exception_answer_it(service: str) -> None:
    model = botocore.session.get_session().get_service_model(service)
    assert service not in DENIED
    assert DEFAULT_DENIED[0] in model.shape_names


def test_sns_answers_authorization_error_as_its_model_says() -> None:
    model = botocore.session.get_session().get_service_model("sns")
    shape = model.shape_for("AuthorizationErrorException")
    assert (shape.metadata["error"]["code"], shape.metadata["error"]["httpStatusCode"]) == DENIED["sns"]


def test_every_resource_of_a_request_is_checked_with_its_own_tags() -> None:
    statements = [
        {
            "Effect": "Allow",
            "Action": "workspaces:MigrateWorkspace",
            "Resource": "arn:aws:workspaces:*:*:workspace/*",
            "Condition": {"StringEquals": {"aws:ResourceTag/ManagedBy": "ap"}},
        }
    ]
    desk = Resource(f"arn:aws:workspaces:{REGION}:{ACCOUNT}:workspace/ws-1", {"ManagedBy": "ap"})
    bundle = Resource(f"arn:aws:workspaces:{REGION}::workspacebundle/wsb-1", {})
    # the bundle is not granted: a migrate needs both (the template grants bundles in a statement of their own)
    assert evaluate(statements, Request("workspaces:MigrateWorkspace", (desk, bundle))).decision is (
        Decision.IMPLICIT_DENY
    )


def test_a_resource_policy_can_allow_in_the_same_account_and_its_deny_wins(template: dict[str, Any]) -> None:
    resolver = Resolver(template)
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:other"
    send = {"QueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/other", "MessageBody": "x"}
    role = function_roles(resolver)["SessionsFunction"].arn
    assert Enforcer(resolver, _facts()).check("SessionsFunction", "sqs", "SendMessage", send) is not None

    allow = [{"Effect": "Allow", "Principal": {"AWS": role}, "Action": "sqs:SendMessage", "Resource": queue}]
    allowed = Enforcer(resolver, _facts(), resource_policies={queue: allow})
    assert allowed.check("SessionsFunction", "sqs", "SendMessage", send) is None

    deny = [{"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": queue}]
    denied = Enforcer(resolver, _facts(), resource_policies={queue: allow + deny})
    refusal = denied.check("SessionsFunction", "sqs", "SendMessage", send)
    assert refusal is not None
    assert refusal.decision is Decision.EXPLICIT_DENY
    assert refusal.code == "AccessDenied"


def test_calls_are_made_over_tls_so_a_deny_on_insecure_transport_does_not_apply(template: dict[str, Any]) -> None:
    resolver = Resolver(template)
    topic = str(resolver.get_att("AlertsTopic", "TopicArn"))
    insecure = [
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sns:Publish",
            "Resource": topic,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    enforcer = Enforcer(resolver, _facts(), resource_policies={topic: insecure})
    assert enforcer.check("NotifyFunction", "sns", "Publish", {"TopicArn": topic, "Message": "m"}) is None
