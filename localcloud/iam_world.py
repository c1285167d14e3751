"""IAM for the local cloud: each function's role from the expanded template, and the authorisation of every call
a function makes (localcloud.iam evaluates, localcloud.iam_requests names the action and the resources).

A role's identity policy is what IAM evaluates for its sessions: its inline `Policies` (SAM's policy templates
arrive here already expanded into inline policies by the translator), the AWS::IAM::Policy resources attached to
it, and its `ManagedPolicyArns`. Of the AWS managed policies only the ones the template attaches are modelled,
copied from the AWS Managed Policy Reference (the page of each is cited beside it); an unknown managed ARN
raises, because what it grants is unknown (neither everything nor nothing would be honest).

Resource tags (`aws:ResourceTag/*`) are read from the resource itself: WorkSpaces from the emulator, DynamoDB
tables, SQS queues and SNS topics from moto's backends. Encryption (which KMS key a queue or topic uses) is read
from the template, because the world creates its queues and topics without their keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from localcloud import iam, iam_requests
from localcloud.intrinsics import Resolver, target_id

# AWS managed policies the template attaches, as AWS publishes them (version in force when copied).
MANAGED_POLICIES: dict[str, list[dict[str, Any]]] = {
    # https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaBasicExecutionRole.html
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        }
    ],
    # https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSXrayWriteOnlyAccess.html
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess": [
        {
            "Effect": "Allow",
            "Action": [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:GetSamplingStatisticSummaries",
            ],
            "Resource": "*",
        }
    ],
    # https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaSQSQueueExecutionRole.html
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole": [
        {
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ],
            "Resource": "*",
        }
    ],
}

# The error each service answers for a denied call (code, HTTP status), as botocore clients see it. Evidence:
# - AccessDeniedException: WorkSpaces, EventBridge and SSM declare the shape in their botocore models (checked by
#   tests/unit/test_local_iam_world.py); WorkSpaces' answer is also seen in
#   aws-solutions/cost-optimizer-for-amazon-workspaces#14. DynamoDB and KMS answer it too (their developer
#   guides' error lists; not in their botocore models). Scheduler and the tagging API: a guess (the default);
#   the HTTP status 400 of these services is the common-errors page's, not checked against AWS;
# - SESv2: AccessDeniedException, 403 (symfony/symfony#51461, SendEmail through the v2 API);
# - SNS: AuthorizationError, 403 (botocore sns model, AuthorizationErrorException);
# - SQS: AccessDenied, 403 (aws/serverless-application-model#3633, getlift/lift#236);
# - CloudWatch: AccessDenied, 403 (aws-samples/amazon-cloudwatch-auto-alarms#1 and #18);
# - SES v1: AccessDenied, 403 (aws/aws-sdk-php#941);
# - S3: AccessDenied, 403 (botocore s3 model, AccessDenied).
DENIED: dict[str, tuple[str, int]] = {
    "sesv2": ("AccessDeniedException", 403),
    "sns": ("AuthorizationError", 403),
    "sqs": ("AccessDenied", 403),
    "cloudwatch": ("AccessDenied", 403),
    "ses": ("AccessDenied", 403),
    "s3": ("AccessDenied", 403),
}
DEFAULT_DENIED = ("AccessDeniedException", 400)


class UnmodelledPolicy(ValueError):
    """A role the local cloud cannot evaluate (an AWS managed policy it does not know)."""


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


@dataclass(frozen=True)
class Role:
    logical_id: str
    arn: str
    statements: tuple[Mapping[str, Any], ...]


def roles(resolver: Resolver) -> dict[str, Role]:
    """Every AWS::IAM::Role of the template with its whole identity policy, by logical id."""
    attached: dict[str, list[Mapping[str, Any]]] = {}
    for _, resource in resolver.of_type("AWS::IAM::Policy"):
        document = resolver.resolve(resource.get("Properties", {}).get("PolicyDocument", {}))
        for role in _as_list(resource.get("Properties", {}).get("Roles")):
            attached.setdefault(str(target_id(role) or role), []).extend(iam.statements_of(document))
    found: dict[str, Role] = {}
    for logical_id, _ in resolver.of_type("AWS::IAM::Role"):
        props = resolver.properties(logical_id)
        statements: list[Mapping[str, Any]] = []
        for policy in _as_list(props.get("Policies")):
            statements += iam.statements_of(policy.get("PolicyDocument", {}))
        for arn in _as_list(props.get("ManagedPolicyArns")):
            if str(arn) not in MANAGED_POLICIES:
                raise UnmodelledPolicy(f"{logical_id}: managed policy {arn} is not modelled (localcloud/iam_world.py)")
            statements += MANAGED_POLICIES[str(arn)]
        statements += attached.get(logical_id, [])
        found[logical_id] = Role(logical_id, str(resolver.get_att(logical_id, "Arn")), tuple(statements))
    return found


def function_roles(resolver: Resolver) -> dict[str, Role]:
    """Each AWS::Lambda::Function's execution role, by the function's logical id."""
    by_role = roles(resolver)
    by_arn = {role.arn: role for role in by_role.values()}
    found: dict[str, Role] = {}
    for logical_id, resource in resolver.of_type("AWS::Lambda::Function"):
        raw = resource.get("Properties", {}).get("Role")
        role = by_role.get(str(target_id(raw))) or by_arn.get(str(resolver.resolve(raw)))
        if role is None:
            raise UnmodelledPolicy(f"{logical_id}: its role is not a role of this template")
        found[logical_id] = role
    return found


def encryption_keys(resolver: Resolver) -> dict[str, str]:
    """Queue and topic ARN -> the ARN of the template key that encrypts it (KmsMasterKeyId)."""
    keys: dict[str, str] = {}
    for key_id, _ in resolver.of_type("AWS::KMS::Key"):
        keys[str(resolver.get_att(key_id, "Ref"))] = str(resolver.get_att(key_id, "Arn"))
        keys[str(resolver.get_att(key_id, "Arn"))] = str(resolver.get_att(key_id, "Arn"))
    for alias_id, _ in resolver.of_type("AWS::KMS::Alias"):
        props = resolver.properties(alias_id)
        target = keys.get(str(props.get("TargetKeyId")))
        if target is not None:
            keys[str(props["AliasName"])] = target
    found: dict[str, str] = {}
    for kind in ("AWS::SQS::Queue", "AWS::SNS::Topic"):
        for logical_id, _ in resolver.of_type(kind):
            key = resolver.properties(logical_id).get("KmsMasterKeyId")
            if key is None:
                continue
            arn = str(resolver.get_att(logical_id, "Arn" if kind == "AWS::SQS::Queue" else "TopicArn"))
            # An AWS managed key (alias/aws/sqs) needs no grant in the caller's policy: only template keys count.
            if str(key) in keys:
                found[arn] = keys[str(key)]
    return found


@dataclass(frozen=True)
class Denial:
    """A call IAM refuses: what the world reports (no message text from AWS is invented for the functions)."""

    action: str
    resource: str
    decision: iam.Decision
    code: str
    status: int

    def message(self, principal: str) -> str:
        why = (
            "with an explicit deny"
            if self.decision is iam.Decision.EXPLICIT_DENY
            else (f"because no identity-based policy allows the {self.action} action")
        )
        return f"User: {principal} is not authorized to perform: {self.action} on resource: {self.resource} {why}"

    def error_response(self, principal: str) -> dict[str, Any]:
        return {
            "Error": {"Code": self.code, "Message": self.message(principal)},
            "ResponseMetadata": {"HTTPStatusCode": self.status},
        }


_SESSION = re.compile(r"^arn:aws:iam::(\d+):role/(.+)$")


def session_arn(role_arn: str, session: str) -> str:
    """The assumed-role ARN a Lambda function's calls are made as (role name, function name as session)."""
    match = _SESSION.match(role_arn)
    if match is None:
        return role_arn
    return f"arn:aws:sts::{match.group(1)}:assumed-role/{match.group(2).rsplit('/', 1)[-1]}/{session}"


class Enforcer:
    """Authorises the calls of functions as their roles. `facts` reads tags and owners from the running world."""

    def __init__(
        self,
        resolver: Resolver,
        facts: iam_requests.Facts,
        *,
        function_names: Mapping[str, str] | None = None,
        resource_policies: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    ) -> None:
        self.roles = function_roles(resolver)
        self.facts = facts
        self._names = dict(function_names or {})
        self._resource_policies = dict(resource_policies or {})

    def principal(self, function: str) -> str:
        return session_arn(self.roles[function].arn, self._names.get(function, function))

    def check(self, function: str, service: str, operation: str, params: Mapping[str, Any]) -> Denial | None:
        """None if the call is allowed, else the first refused authorisation. Same account: a resource's policy
        (queue, topic, Lambda permission) can allow what the role's does not, and an explicit deny in either wins
        (IAM User Guide, "Policy evaluation logic": "Identity-based policies and resource-based policies")."""
        role = self.roles[function]
        code, status = DENIED.get(service, DEFAULT_DENIED)
        for found in iam_requests.requests_for(service, operation, params, self.facts):
            # The SDK calls over HTTPS: aws:SecureTransport is true for every call a function makes.
            request = iam.Request(found.action, found.resources, {"aws:SecureTransport": "true", **found.context})
            refused: str | None = None
            for resource in request.resources:
                one = iam.Request(request.action, (resource,), request.context)
                by_role = iam.evaluate(role.statements, one).decision
                by_resource = self._by_resource_policy(role.arn, one)
                if iam.Decision.EXPLICIT_DENY in (by_role, by_resource):
                    return Denial(request.action, resource.arn, iam.Decision.EXPLICIT_DENY, code, status)
                if iam.Decision.ALLOW not in (by_role, by_resource) and refused is None:
                    refused = resource.arn
            if refused is not None:
                return Denial(request.action, refused, iam.Decision.IMPLICIT_DENY, code, status)
        return None

    def _by_resource_policy(self, role_arn: str, request: iam.Request) -> iam.Decision:
        statements = self._resource_policies.get(request.resources[0].arn)
        if not statements:
            return iam.Decision.IMPLICIT_DENY
        mine = iam.applicable(statements, role_arn, service=False, account=self.facts.account_id)
        return iam.evaluate(mine, request).decision


@dataclass
class WorldFacts:
    """iam_requests.Facts over callables the world provides (kept apart so the enforcer stays testable)."""

    account_id: str
    region: str
    tags: Callable[[str], Mapping[str, str] | None]
    bundle_owner: Callable[[str], str]
    keys: Mapping[str, str]

    def tags_of(self, arn: str) -> Mapping[str, str] | None:
        return self.tags(arn)

    def bundle_owner_account(self, bundle_id: str) -> str:
        return self.bundle_owner(bundle_id)

    def kms_key_of(self, arn: str) -> str | None:
        return self.keys.get(arn)


def moto_tags(account_id: str, region: str, arn: str) -> Mapping[str, str] | None:
    """Tags of a DynamoDB table, SQS queue or SNS topic as moto keeps them (None: not such a resource)."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.sns.models import sns_backends
    from moto.sqs.models import sqs_backends

    service = arn.split(":")[2] if arn.count(":") >= 5 else ""
    if service == "dynamodb" and ":table/" in arn and "/index/" not in arn:
        table = dynamodb_backends[account_id][region].tables.get(arn.split(":table/", 1)[1])
        return None if table is None else {t["Key"]: t["Value"] for t in table.tags}
    if service == "sqs":
        queue = sqs_backends[account_id][region].queues.get(arn.rsplit(":", 1)[1])
        return None if queue is None else dict(queue.tags)
    if service == "sns":
        topic = sns_backends[account_id][region].topics.get(arn)
        return None if topic is None else dict(topic._tags)
    return None


def emulator_tags(fleet: Any, arn: str) -> Mapping[str, str] | None:
    """Tags of a WorkSpace, directory or bundle as the emulator keeps them (None: no such resource)."""
    kind, _, ident = arn.rsplit(":", 1)[-1].partition("/")
    with fleet.lock:
        if kind == "workspace":
            desk = fleet.desks.get(ident)
            return None if desk is None else dict(desk.tag_map)
        if kind == "directory":
            directory = fleet.backend.workspace_directories.get(ident)
            return None if directory is None else {t["Key"]: t["Value"] for t in directory.tags or []}
        if kind == "workspacebundle":
            return {} if ident in fleet.bundles else None
    return None


def enforcer_for(world: Any, resource_policies: Mapping[str, Sequence[Mapping[str, Any]]]) -> Enforcer:
    """The enforcer of a started LocalCloud: its template's roles, its emulator's and moto's tags."""
    account, region = world.account_id, world.region

    def tags(arn: str) -> Mapping[str, str] | None:
        if arn.split(":")[2:3] == ["workspaces"]:
            return emulator_tags(world.emulator.fleet, arn)
        return moto_tags(account, region, arn)

    def bundle_owner(bundle_id: str) -> str:
        bundle = world.emulator.fleet.bundles.get(bundle_id)
        return "" if bundle is not None and bundle.owner == "AMAZON" else account

    facts = WorldFacts(account, region, tags, bundle_owner, encryption_keys(world.resolver))
    names = {logical_id: spec.name for logical_id, spec in world.functions.items()}
    return Enforcer(world.resolver, facts, function_names=names, resource_policies=resource_policies)
