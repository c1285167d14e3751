"""Template rules, nobody in who should not be: one role per function, no wildcard actions, WorkSpaces actions
scoped to managed desks, provisioning unable to destroy, the HR bus and the key admitting only who uses them,
dead-letter writers able to write."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping

from localcloud.intrinsics import Resolver, target_id
from tools.template_reading import (
    Statement,
    Template,
    _as_list,
    _functions,
    _invoke_configs,
    _of_type,
    _role_of,
    _statements,
    identity_statements,
    resource_statements,
    role_statements,
)

# The tag that marks desks the automation may touch (policy.tags["ManagedBy"] of the packaged default policy).
MANAGED_BY_KEY = "ManagedBy"


MANAGED_BY_VALUE = "workspaces-autopilot"


# WorkSpaces actions that change nothing (IAM supports only `*` resources for them).
_READ_ONLY = ("workspaces:describe*", "workspaces:list*")


_CREATE = "workspaces:createworkspaces"


_TAGGING = "workspaces:createtags"


_MIGRATE = "workspaces:migrateworkspace"


_BUNDLE = ":workspacebundle/"


# What the provisioning function must never be able to do to a desk.
PROVISIONING_MUST_NOT = (
    "workspaces:TerminateWorkspaces",
    "workspaces:StopWorkspaces",
    "workspaces:RebuildWorkspaces",
    "workspaces:RebootWorkspaces",
    "workspaces:RestoreWorkspace",
    "workspaces:MigrateWorkspace",
)


# Services that publish into the encrypted topic/queues or write encrypted log groups (issue 7 item 2).
KEY_USERS = ("cloudwatch.amazonaws.com", "events.amazonaws.com", "logs.{region}.amazonaws.com")


def every_function_has_its_own_role(template: Template, resolver: Resolver) -> list[str]:
    findings: list[str] = []
    owners: dict[str, str] = {}
    roles = dict(_of_type(template, "AWS::IAM::Role"))
    for function_id, props in _functions(template).items():
        role_id = _role_of(props)
        if role_id is None or role_id not in roles:
            findings.append(f"{function_id}: role is not a role of this template ({props.get('Role')!r})")
            continue
        if role_id in owners:
            findings.append(f"{function_id}: shares role {role_id} with {owners[role_id]}")
        owners[role_id] = function_id
        trust = json.dumps(roles[role_id].get("AssumeRolePolicyDocument", {}))
        if "lambda.amazonaws.com" not in trust:
            findings.append(f"{function_id}: role {role_id} is not assumable by Lambda")
    return findings


def _wildcard(action: str) -> bool:
    return action == "*" or action.endswith(":*")


def no_wildcard_actions(template: Template, resolver: Resolver) -> list[str]:
    """No Allow grants `*` or `service:*` (Deny statements may: denying everything over plain HTTP is right)."""
    findings: list[str] = []
    for statement in identity_statements(template, resolver) + resource_statements(template, resolver):
        if statement.effect != "Allow":
            continue
        if statement.not_action:
            findings.append(f"{statement.where}: Allow with NotAction grants everything else")
        findings += [f"{statement.where}: wildcard action {a!r}" for a in statement.actions if _wildcard(a)]
    return findings


def _condition_pins(statement: Statement, key: str, value: str) -> bool:
    for operator in ("StringEquals", "ForAllValues:StringEquals"):
        pinned = statement.condition.get(operator, {}).get(key)
        if pinned is not None and _as_list(pinned) == [value]:
            return True
    return False


def workspaces_actions_are_scoped(template: Template, resolver: Resolver) -> list[str]:
    """Destructive WorkSpaces actions only on this account's workspace ARNs tagged ManagedBy; creation only with
    the ManagedBy request tag; reads are the only ones allowed on `*` (IAM offers nothing narrower for them)."""
    findings: list[str] = []
    workspace_arn = f"arn:aws:workspaces:{resolver.region}:{resolver.account_id}:workspace/*"
    resource_tag = f"aws:ResourceTag/{MANAGED_BY_KEY}"
    request_tag = f"aws:RequestTag/{MANAGED_BY_KEY}"
    for statement in identity_statements(template, resolver):
        if statement.effect != "Allow":
            continue
        for action in statement.actions:
            name = action.lower()
            if not name.startswith("workspaces:") or any(fnmatch.fnmatchcase(name, p) for p in _READ_ONLY):
                continue
            if name in (_CREATE, _TAGGING):
                if not _condition_pins(statement, request_tag, MANAGED_BY_VALUE):
                    findings.append(f"{statement.where}: {action} without {request_tag} = {MANAGED_BY_VALUE}")
                if name == _CREATE and "*" in statement.resources:
                    findings.append(f"{statement.where}: {action} on `*` (scope it to directory/bundle ARNs)")
                continue
            if name == _MIGRATE and statement.resources and all(_BUNDLE in r for r in statement.resources):
                # The target bundle of a migration (SAR: MigrateWorkspace needs workspacebundle* too); AWS-owned
                # bundles carry no ManagedBy tag. The workspace side is still held to the rules below.
                continue
            if "*" in name:
                findings.append(f"{statement.where}: wildcard WorkSpaces action {action!r}")
            if any(resource != workspace_arn for resource in statement.resources):
                findings.append(f"{statement.where}: {action} on {list(statement.resources)} (only {workspace_arn})")
            if not _condition_pins(statement, resource_tag, MANAGED_BY_VALUE):
                findings.append(f"{statement.where}: {action} without {resource_tag} = {MANAGED_BY_VALUE}")
    return findings


def provisioning_cannot_destroy(template: Template, resolver: Resolver) -> list[str]:
    role_id = _role_of(_functions(template).get("ProvisionFunction", {}))
    if role_id is None:
        return ["ProvisionFunction: not found or has no role of this template"]
    return [
        f"{statement.where}: the provisioning role may {action}"
        for statement in role_statements(template, resolver, role_id)
        for action in PROVISIONING_MUST_NOT
        if statement.allows(action)
    ]


def hr_bus_admits_only_the_hr_publisher(template: Template, resolver: Resolver) -> list[str]:
    source = resolver.parameters.get("HrEventSource")
    policies = [
        (policy_id, props)
        for policy_id, props in _of_type(template, "AWS::Events::EventBusPolicy")
        if target_id(props.get("EventBusName")) == "HrEventBus"
    ]
    if not policies:
        return ["HrEventBus: no resource policy (who may publish HR events is undefined)"]
    findings: list[str] = []
    for policy_id, props in policies:
        for statement in _statements(policy_id, props.get("Statement", {}), resolver):
            if statement.effect != "Allow":
                continue
            if list(statement.actions) != ["events:PutEvents"]:
                findings.append(f"{statement.where}: allows {list(statement.actions)} (only events:PutEvents)")
            principal = statement.principal
            principals = _as_list(principal.get("AWS") if isinstance(principal, Mapping) else principal)
            if not principals or any("*" in str(principal) for principal in principals):
                findings.append(f"{statement.where}: principal {statement.principal!r} is not one named publisher")
            if not _condition_pins(statement, "events:source", str(source)):
                findings.append(f"{statement.where}: events:source is not pinned to {source!r}")
    return findings


def key_policy_admits_the_services_that_use_it(template: Template, resolver: Resolver) -> list[str]:
    findings: list[str] = []
    for key_id, props in _of_type(template, "AWS::KMS::Key"):
        statements = list(_statements(key_id, props.get("KeyPolicy", {}), resolver))
        for service in (name.format(region=resolver.region) for name in KEY_USERS):
            granted = [
                s for s in statements if s.effect == "Allow" and service in _as_list((s.principal or {}).get("Service"))
            ]
            for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                if not any(s.allows(action) for s in granted):
                    findings.append(f"{key_id}: key policy does not let {service} {action}")
    return findings


def dead_letter_writers_can_write(template: Template, resolver: Resolver) -> list[str]:
    """Whoever writes a dead letter must be allowed to, key included: a role for schedules, timers and
    on-failure destinations; the queue policy plus the key policy for EventBridge rules and SNS."""
    findings: list[str] = []
    queues = dict(_of_type(template, "AWS::SQS::Queue"))
    key_statements = [
        statement
        for key_id, props in _of_type(template, "AWS::KMS::Key")
        for statement in _statements(key_id, props.get("KeyPolicy", {}), resolver)
    ]
    queue_statements = {
        str(target_id(queue)): list(_statements(policy_id, props.get("PolicyDocument", {}), resolver))
        for policy_id, props in _of_type(template, "AWS::SQS::QueuePolicy")
        for queue in props.get("Queues", [])
    }

    def role_can(role_id: str | None, queue_id: str | None, what: str) -> None:
        if role_id is None or queue_id not in queues:
            findings.append(f"{what}: cannot tell which role writes dead letters to {queue_id}")
            return
        statements = role_statements(template, resolver, role_id)
        if not any(s.allows("sqs:SendMessage", resolver.arn(queue_id)) for s in statements):
            findings.append(f"{what}: role {role_id} may not sqs:SendMessage to {queue_id}")
        key_id = target_id(queues[queue_id].get("KmsMasterKeyId"))
        if key_id and not any(s.allows("kms:GenerateDataKey", resolver.arn(key_id)) for s in statements):
            findings.append(f"{what}: role {role_id} may not kms:GenerateDataKey for encrypted {queue_id}")

    def service_can(service: str, queue_id: str | None, what: str) -> None:
        allowed = [
            s
            for s in queue_statements.get(str(queue_id), [])
            if service in _as_list((s.principal or {}).get("Service")) and s.allows("sqs:SendMessage")
        ]
        if not allowed:
            findings.append(f"{what}: the policy of {queue_id} does not let {service} send dead letters")
        encrypted = queue_id in queues and queues[queue_id].get("KmsMasterKeyId")
        if encrypted and not any(
            service in _as_list((s.principal or {}).get("Service")) and s.allows("kms:GenerateDataKey")
            for s in key_statements
        ):
            findings.append(f"{what}: the key policy does not let {service} encrypt dead letters for {queue_id}")

    for schedule_id, props in _of_type(template, "AWS::Scheduler::Schedule"):
        target = props.get("Target", {})
        if target.get("DeadLetterConfig"):
            dlq = target_id(target["DeadLetterConfig"].get("Arn"))
            role_can(target_id(target.get("RoleArn")), dlq, schedule_id)
    functions = _functions(template)
    for function_id, props in _invoke_configs(template).items():
        destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if target_id(destination) in queues:
            role_can(_role_of(functions.get(function_id, {})), target_id(destination), f"{function_id} on-failure")
    for function_id, props in functions.items():
        env = props.get("Environment", {}).get("Variables", {})
        if "TIMER_ROLE_ARN" in env and "TIMER_DLQ_ARN" in env:
            role_can(target_id(env["TIMER_ROLE_ARN"]), target_id(env["TIMER_DLQ_ARN"]), f"{function_id} timers")
    for rule_id, props in _of_type(template, "AWS::Events::Rule"):
        for target in props.get("Targets", []):
            if target.get("DeadLetterConfig"):
                service_can("events.amazonaws.com", target_id(target["DeadLetterConfig"].get("Arn")), rule_id)
    for subscription_id, props in _of_type(template, "AWS::SNS::Subscription"):
        if props.get("RedrivePolicy"):
            dlq = target_id(props["RedrivePolicy"].get("deadLetterTargetArn"))
            service_can("sns.amazonaws.com", dlq, subscription_id)
    return findings
