"""What the template rules read in the SAM-expanded template: resources by type, IAM statements (of roles, of
identities, of resource policies), functions, their roles, SQS triggers and asynchronous invokers."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from localcloud.intrinsics import Resolver, target_id

Template = Mapping[str, Any]


Rule = Callable[[Template, Resolver], list[str]]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _of_type(template: Template, kind: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") == kind:
            yield logical_id, resource.get("Properties", {})


@dataclass(frozen=True)
class Statement:
    where: str
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: Mapping[str, Any] = field(default_factory=dict)
    principal: Any = None
    not_action: bool = False

    def allows(self, action: str, resource: str | None = None) -> bool:
        if self.effect != "Allow" or self.not_action:
            return False
        if not any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in self.actions):
            return False
        return resource is None or any(fnmatch.fnmatchcase(resource, pattern) for pattern in self.resources)


def _statements(where: str, document: Any, resolver: Resolver) -> Iterator[Statement]:
    resolved = resolver.resolve(document)
    # A policy document holds `Statement`; an EventBusPolicy's `Statement` property is one statement itself.
    raw = (
        resolved.get("Statement", resolved if "Effect" in resolved else [])
        if isinstance(resolved, Mapping)
        else resolved
    )
    for index, statement in enumerate(_as_list(raw)):
        actions = statement.get("Action", statement.get("NotAction"))
        yield Statement(
            where=f"{where}[{statement.get('Sid', index)}]",
            effect=statement.get("Effect", ""),
            actions=tuple(str(action) for action in _as_list(actions)),
            resources=tuple(str(item) for item in _as_list(statement.get("Resource", "*"))),
            condition=statement.get("Condition", {}),
            principal=statement.get("Principal"),
            not_action="NotAction" in statement,
        )


def role_statements(template: Template, resolver: Resolver, role_id: str) -> list[Statement]:
    """Inline statements of a role, plus those of AWS::IAM::Policy resources attached to it."""
    found: list[Statement] = []
    role = template["Resources"][role_id].get("Properties", {})
    for policy in role.get("Policies", []):
        found += _statements(f"{role_id}/{policy.get('PolicyName')}", policy.get("PolicyDocument", {}), resolver)
    for policy_id, props in _of_type(template, "AWS::IAM::Policy"):
        if any(target_id(role) == role_id for role in _as_list(props.get("Roles"))):
            found += _statements(f"{policy_id}", props.get("PolicyDocument", {}), resolver)
    return found


def identity_statements(template: Template, resolver: Resolver) -> list[Statement]:
    found: list[Statement] = []
    for role_id, _ in _of_type(template, "AWS::IAM::Role"):
        found += role_statements(template, resolver, role_id)
    for policy_id, props in _of_type(template, "AWS::IAM::ManagedPolicy"):
        found += _statements(policy_id, props.get("PolicyDocument", {}), resolver)
    return found


_RESOURCE_POLICIES = {
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::Events::EventBusPolicy": "Statement",
}


def resource_statements(template: Template, resolver: Resolver) -> list[Statement]:
    found: list[Statement] = []
    for kind, prop in _RESOURCE_POLICIES.items():
        for logical_id, props in _of_type(template, kind):
            if prop in props:
                found += _statements(logical_id, props[prop], resolver)
    return found


def _functions(template: Template) -> dict[str, Mapping[str, Any]]:
    return dict(_of_type(template, "AWS::Lambda::Function"))


def _role_of(function: Mapping[str, Any]) -> str | None:
    return target_id(function.get("Role"))


def _sqs_triggers(template: Template) -> dict[str, list[Mapping[str, Any]]]:
    """Function id -> its SQS event source mappings."""
    queues = {queue_id for queue_id, _ in _of_type(template, "AWS::SQS::Queue")}
    triggers: dict[str, list[Mapping[str, Any]]] = {}
    for _, mapping in _of_type(template, "AWS::Lambda::EventSourceMapping"):
        if target_id(mapping.get("EventSourceArn")) in queues:
            triggers.setdefault(str(target_id(mapping.get("FunctionName"))), []).append(mapping)
    return triggers


def _invoke_configs(template: Template) -> dict[str, Mapping[str, Any]]:
    return {
        str(target_id(props.get("FunctionName"))): props
        for _, props in _of_type(template, "AWS::Lambda::EventInvokeConfig")
    }


def _async_targets(template: Template, resolver: Resolver) -> list[tuple[str, Mapping[str, Any]]]:
    """(where, target) of every EventBridge rule and Scheduler schedule target."""
    targets: list[tuple[str, Mapping[str, Any]]] = []
    for rule_id, props in _of_type(template, "AWS::Events::Rule"):
        targets += [(f"{rule_id} target {t.get('Id')}", t) for t in props.get("Targets", [])]
    for schedule_id, props in _of_type(template, "AWS::Scheduler::Schedule"):
        targets.append((f"{schedule_id} target", props.get("Target", {})))
    return targets


def _asynchronously_invoked(template: Template, resolver: Resolver) -> set[str]:
    """Functions invoked asynchronously: rule and schedule targets, and what a scheduler role may invoke."""
    functions = _functions(template)
    invoked = {target_id(target.get("Arn")) for _, target in _async_targets(template, resolver)}
    arns = {resolver.arn(function_id): function_id for function_id in functions}
    for role_id, props in _of_type(template, "AWS::IAM::Role"):
        trusted = json.dumps(props.get("AssumeRolePolicyDocument", {}))
        if "scheduler.amazonaws.com" not in trusted:
            continue
        for statement in role_statements(template, resolver, role_id):
            for arn, function_id in arns.items():
                if statement.allows("lambda:InvokeFunction", arn):
                    invoked.add(function_id)
    return {function_id for function_id in invoked if function_id in functions}
