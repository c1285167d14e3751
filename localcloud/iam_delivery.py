"""Deliveries AWS services make on the template's behalf, authorised as AWS authorises them.

- An AWS service principal (EventBridge delivering a rule's event, CloudWatch publishing an alarm's action) has
  no identity policy: the target's resource policy must allow it (the SQS queue policy, the SNS topic policy, the
  function's Lambda permissions), with the delivery's `aws:SourceArn` and `aws:SourceAccount`, and, when the target
  is encrypted with a KMS key of the template, the key policy must allow the same principal kms:GenerateDataKey
  and kms:Decrypt (SQS developer guide, "Enable compatibility between event sources from AWS services and
  encrypted queues"; SNS developer guide, "Enable compatibility between event sources from AWS services and
  encrypted topics"; CloudWatch user guide, "Using Amazon CloudWatch alarms": an encrypted topic's key must
  allow cloudwatch.amazonaws.com).
- A delivery made with a role (an EventBridge Scheduler schedule's `Target.RoleArn`, a function's asynchronous
  on-failure destination, its SQS event source mapping) is that role's call: its identity policy (or, in the
  same account, the target's resource policy) must allow the action, and a KMS key's policy must allow the role
  itself or delegate to IAM through the account's root principal, in which case the role's identity policy
  must allow the KMS action too (KMS developer guide, "Key policies": "Allows access to the AWS account and
  enables IAM policies").

Resource-policy statements apply only to the principals they name (IAM User Guide, "AWS JSON policy elements:
Principal"): `*`, `{"Service": ...}`, or an account (its id or `:root` ARN: every IAM principal of the account,
not service principals) or a role ARN. A NotPrincipal raises UnsupportedPolicy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from localcloud import iam
from localcloud.iam_world import Role, roles
from localcloud.intrinsics import Resolver

_KMS_FOR_SENDING = ("kms:GenerateDataKey", "kms:Decrypt")


@dataclass(frozen=True)
class Refusal:
    """A delivery IAM would refuse: the action, the resource, and which policy said no."""

    principal: str
    action: str
    resource: str
    policy: str

    def describe(self) -> str:
        return f"{self.principal} may not {self.action} on {self.resource} ({self.policy})"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


class Deliveries:
    """The template's resource and key policies, and its roles, for the deliveries the world makes."""

    def __init__(self, resolver: Resolver, keys: Mapping[str, str]) -> None:
        self.account = resolver.account_id
        self.region = resolver.region
        self.keys = dict(keys)
        self.roles_by_arn: dict[str, Role] = {role.arn: role for role in roles(resolver).values()}
        self.resource_policies: dict[str, list[Mapping[str, Any]]] = {}
        self.key_policies: dict[str, list[Mapping[str, Any]]] = {}
        for logical_id, _ in resolver.of_type("AWS::SQS::QueuePolicy"):
            props = resolver.properties(logical_id)
            for url in _as_list(props.get("Queues")):
                arn = f"arn:aws:sqs:{self.region}:{self.account}:{str(url).rstrip('/').rsplit('/', 1)[-1]}"
                self.resource_policies.setdefault(arn, []).extend(iam.statements_of(_document(props)))
        for logical_id, _ in resolver.of_type("AWS::SNS::TopicPolicy"):
            props = resolver.properties(logical_id)
            for topic in _as_list(props.get("Topics")):
                self.resource_policies.setdefault(str(topic), []).extend(iam.statements_of(_document(props)))
        for logical_id, _ in resolver.of_type("AWS::Lambda::Permission"):
            arn, statement = _lambda_statement(resolver.properties(logical_id), self.region, self.account)
            self.resource_policies.setdefault(arn, []).append(statement)
        for logical_id, _ in resolver.of_type("AWS::KMS::Key"):
            policy = resolver.properties(logical_id).get("KeyPolicy", {})
            parsed = json.loads(policy) if isinstance(policy, str) else policy
            self.key_policies[str(resolver.get_att(logical_id, "Arn"))] = iam.statements_of(parsed)

    def _context(self, source_arn: str | None) -> dict[str, str]:
        # Deliveries are made over TLS by AWS; the source is named only for service principals.
        context = {"aws:SecureTransport": "true"}
        if source_arn is not None:
            context |= {"aws:SourceArn": source_arn, "aws:SourceAccount": self.account}
        return context

    def by_service(self, service: str, action: str, resource: str, source_arn: str) -> Refusal | None:
        """A service principal delivering to `resource` on behalf of `source_arn` (a rule, an alarm)."""
        context = self._context(source_arn)
        statements = iam.applicable(
            self.resource_policies.get(resource, []), service, service=True, account=self.account
        )
        if not iam.evaluate(statements, iam.Request(action, (iam.Resource(resource),), context)).allowed:
            return Refusal(service, action, resource, "resource policy")
        key = self.keys.get(resource)
        if key is not None:
            statements = iam.applicable(self.key_policies.get(key, []), service, service=True, account=self.account)
            for kms_action in _KMS_FOR_SENDING:
                request = iam.Request(kms_action, (iam.Resource(key),), context)
                if not iam.evaluate(statements, request).allowed:
                    return Refusal(service, kms_action, key, "key policy")
        return None

    def by_role(
        self, role_arn: str, action: str, resource: str, *, kms: Sequence[str] = _KMS_FOR_SENDING
    ) -> Refusal | None:
        """A role's call to `resource` (same account): its identity policy or the resource policy must allow it,
        no explicit deny in either; an encrypted target's key must be usable by the role (`kms` actions)."""
        role = self.roles_by_arn.get(role_arn)
        if role is None:
            return Refusal(role_arn, action, resource, "role not in the template")
        context = self._context(None)
        request = iam.Request(action, (iam.Resource(resource),), context)
        identity = iam.evaluate(role.statements, request).decision
        applicable = iam.applicable(
            self.resource_policies.get(resource, []), role_arn, service=False, account=self.account
        )
        by_resource = iam.evaluate(applicable, request).decision
        if iam.Decision.EXPLICIT_DENY in (identity, by_resource) or iam.Decision.ALLOW not in (identity, by_resource):
            return Refusal(role_arn, action, resource, "role policy")
        key = self.keys.get(resource)
        if key is None:
            return None
        key_statements = self.key_policies.get(key, [])
        direct = iam.applicable(key_statements, role_arn, service=False, account=self.account)
        for kms_action in kms:
            kms_request = iam.Request(kms_action, (iam.Resource(key),), context)
            # A statement naming the account root delegates to IAM: the role's own policy must then allow it.
            verdict = iam.evaluate(direct, kms_request).decision
            if verdict is iam.Decision.ALLOW and not _names_role(direct, role_arn, kms_request):
                verdict = iam.evaluate(role.statements, kms_request).decision
            if verdict is not iam.Decision.ALLOW:
                return Refusal(role_arn, kms_action, key, "key policy")
        return None


def mapping_refusals(deliveries: Deliveries, role_arn: str, queue_arn: str) -> tuple[Refusal | None, Refusal | None]:
    """An SQS event source mapping reads its queue as the function's role. (at creation, at polling):
    CreateEventSourceMapping refuses a role without sqs:ReceiveMessage, sqs:DeleteMessage or
    sqs:GetQueueAttributes ("The provided execution role does not have permissions to call ReceiveMessage on SQS",
    InvalidParameterValueException, as reported in aws/aws-cdk#6770 and
    functionalone/serverless-iam-roles-per-function#21), so the stack does not deploy; a queue encrypted with a
    key the role may not decrypt with is accepted, and then every receive fails (messages stay in the queue)."""
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
        refusal = deliveries.by_role(role_arn, action, queue_arn, kms=())
        if refusal is not None:
            return refusal, None
    return None, deliveries.by_role(role_arn, "sqs:ReceiveMessage", queue_arn, kms=("kms:Decrypt",))


def _names_role(statements: Sequence[Mapping[str, Any]], role_arn: str, request: iam.Request) -> bool:
    """Some applicable Allow names the role itself (not only its account)."""
    for statement in statements:
        principal = statement.get("Principal")
        named = isinstance(principal, Mapping) and role_arn in [str(v) for v in _as_list(principal.get("AWS"))]
        if named and iam.evaluate([statement], request).allowed:
            return True
    return False


def _document(props: Mapping[str, Any]) -> Mapping[str, Any]:
    document = props.get("PolicyDocument", {})
    parsed: Mapping[str, Any] = json.loads(document) if isinstance(document, str) else document
    return parsed


def _lambda_statement(props: Mapping[str, Any], region: str, account: str) -> tuple[str, Mapping[str, Any]]:
    """The statement AddPermission puts in the function's resource policy (Lambda developer guide, "Viewing
    resource-based IAM policies in Lambda": Principal, Action, Resource, ArnLike aws:SourceArn,
    StringEquals aws:SourceAccount)."""
    function = str(props["FunctionName"])
    if not function.startswith("arn:"):
        function = f"arn:aws:lambda:{region}:{account}:function:{function}"
    principal = str(props["Principal"])
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": principal} if principal.endswith(".amazonaws.com") else {"AWS": principal},
        "Action": props["Action"],
        "Resource": function,
    }
    condition: dict[str, Any] = {}
    if "SourceArn" in props:
        condition["ArnLike"] = {"aws:SourceArn": props["SourceArn"]}
    if "SourceAccount" in props:
        condition["StringEquals"] = {"aws:SourceAccount": props["SourceAccount"]}
    if condition:
        statement["Condition"] = condition
    return function, statement
