"""Project rules for the SAM-expanded template that no linter checks (issue 7: nothing lost, nobody in who should
not be). Each rule takes the expanded template and a Resolver and returns findings (empty = compliant), so the
same rules serve tests/contract/test_template.py, the gate test on broken copies, and `make lint`.

    python -m tools.template_rules [.aws-sam/expanded.json]
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localcloud.intrinsics import Resolver, target_id

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
# CloudWatch Logs managed data identifiers every function's log group audits and masks at ingestion (issue 7: no
# personal data in logs; docs/security.md).
MASKED_IDENTIFIERS = ("EmailAddress", "Name")
_DATA_IDENTIFIER = ":dataprotection::aws:data-identifier/"

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


# --- rules -----------------------------------------------------------------------------------------------
def async_targets_have_retries_and_dead_letters(template: Template, resolver: Resolver) -> list[str]:
    findings: list[str] = []
    for where, target in _async_targets(template, resolver):
        retry = target.get("RetryPolicy", {})
        if "MaximumRetryAttempts" not in retry or "MaximumEventAgeInSeconds" not in retry:
            findings.append(f"{where}: no explicit RetryPolicy (MaximumRetryAttempts and MaximumEventAgeInSeconds)")
        if not target.get("DeadLetterConfig", {}).get("Arn"):
            findings.append(f"{where}: no DeadLetterConfig")
    configs = _invoke_configs(template)
    sqs = _sqs_triggers(template)
    async_functions = _asynchronously_invoked(template, resolver)
    for function_id in _functions(template):
        if function_id in async_functions or function_id not in sqs:
            config = configs.get(function_id)
            if config is None:
                findings.append(f"{function_id}: invoked asynchronously but has no EventInvokeConfig")
                continue
            if "MaximumRetryAttempts" not in config:
                findings.append(f"{function_id}: EventInvokeConfig without an explicit MaximumRetryAttempts")
            if not config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"):
                findings.append(f"{function_id}: EventInvokeConfig without an on-failure destination")
        for mapping in sqs.get(function_id, []):
            if "ReportBatchItemFailures" not in mapping.get("FunctionResponseTypes", []):
                findings.append(f"{function_id}: SQS batches without ReportBatchItemFailures (one bad item fails all)")
    return findings


def _is_catch_all(pattern: Any) -> bool:
    """A pattern of the form `{"$or": [{key: [{"anything-but": [exact values]}]}, ...]}`: it matches what the
    pinned rules of its bus do not (hr_bus_loses_nothing_silently checks the complement)."""
    if not (isinstance(pattern, Mapping) and list(pattern) == ["$or"] and pattern["$or"]):
        return False
    for alternative in pattern["$or"]:
        if not (isinstance(alternative, Mapping) and len(alternative) == 1):
            return False
        (values,) = alternative.values()
        if not (isinstance(values, list) and len(values) == 1 and isinstance(values[0], Mapping)):
            return False
        excluded = values[0].get("anything-but")
        if list(values[0]) != ["anything-but"] or not isinstance(excluded, list) or not excluded:
            return False
        if not all(isinstance(value, str) and value for value in excluded):
            return False
    return True


def catch_all_rules(template: Template, resolver: Resolver) -> dict[str, Mapping[str, Any]]:
    """Rule id -> properties of every catch-all rule (see _is_catch_all)."""
    return {
        rule_id: props
        for rule_id, props in _of_type(template, "AWS::Events::Rule")
        if _is_catch_all(resolver.resolve(props.get("EventPattern", {})))
    }


def rules_are_pinned_on_source_and_account(template: Template, resolver: Resolver) -> list[str]:
    findings: list[str] = []
    catch_alls = catch_all_rules(template, resolver)
    for rule_id, props in _of_type(template, "AWS::Events::Rule"):
        if rule_id in catch_alls:
            continue  # matches only what no pinned rule of its bus routes, onto an alarmed queue
        pattern = resolver.resolve(props.get("EventPattern", {}))
        for key in ("source", "account"):
            values = pattern.get(key)
            if not values or not all(isinstance(value, str) and value for value in values):
                findings.append(f"{rule_id}: EventPattern does not pin {key!r} to exact values: {values!r}")
        if any(not (isinstance(a, str) and a.isdigit() and len(a) == 12) for a in pattern.get("account") or []):
            findings.append(f"{rule_id}: EventPattern account is not a 12-digit account id")
    return findings


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


def dead_letter_queues(template: Template) -> set[str]:
    """Queues used as a dead-letter target anywhere: redrive, rule/schedule DLQs, on-failure destinations,
    SNS subscription redrive."""
    found: set[str] = set()
    for _, props in _of_type(template, "AWS::SQS::Queue"):
        found.add(str(target_id(props.get("RedrivePolicy", {}).get("deadLetterTargetArn"))))
    for _, props in _of_type(template, "AWS::Events::Rule"):
        found |= {str(target_id(t.get("DeadLetterConfig", {}).get("Arn"))) for t in props.get("Targets", [])}
    for _, props in _of_type(template, "AWS::Scheduler::Schedule"):
        found.add(str(target_id(props.get("Target", {}).get("DeadLetterConfig", {}).get("Arn"))))
    for _, props in _of_type(template, "AWS::Lambda::EventInvokeConfig"):
        found.add(str(target_id(props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"))))
    for _, props in _of_type(template, "AWS::SNS::Subscription"):
        found.add(str(target_id(props.get("RedrivePolicy", {}).get("deadLetterTargetArn"))))
    # What a catch-all rule parks (events no other rule routes) is the end of the line too.
    for _, props in catch_all_rules(template, Resolver(template)).items():
        found |= {str(target_id(t.get("Arn"))) for t in props.get("Targets", [])}
    queues = {queue_id for queue_id, _ in _of_type(template, "AWS::SQS::Queue")}
    return found & queues


def queues_have_redrive_or_are_dead_letters(template: Template, resolver: Resolver) -> list[str]:
    dlqs = dead_letter_queues(template)
    findings: list[str] = []
    for queue_id, props in _of_type(template, "AWS::SQS::Queue"):
        redrive = props.get("RedrivePolicy", {})
        if queue_id in dlqs:
            if redrive:
                findings.append(f"{queue_id}: a dead-letter queue that redrives further")
            if props.get("MessageRetentionPeriod", 345600) < 1209600:
                findings.append(f"{queue_id}: dead letters kept less than 14 days")
        elif not (redrive.get("deadLetterTargetArn") and redrive.get("maxReceiveCount")):
            findings.append(f"{queue_id}: no RedrivePolicy and not a dead-letter queue")
    return findings


def _reaches_notify(alarm: Mapping[str, Any], resolver: Resolver) -> bool:
    """An alarm named with the automation prefix reaches on-call through the notify function's rule."""
    name = resolver.resolve(alarm.get("AlarmName", ""))
    prefix = resolver.resolve({"Fn::Sub": "workspaces-autopilot-${Stage}-automation-"})
    return isinstance(name, str) and name.startswith(prefix)


def every_dead_letter_queue_alarms(template: Template, resolver: Resolver) -> list[str]:
    watched: set[str] = set()
    for _, props in _of_type(template, "AWS::CloudWatch::Alarm"):
        if props.get("Namespace") != "AWS/SQS" or props.get("MetricName") != "ApproximateNumberOfMessagesVisible":
            continue
        if props.get("ComparisonOperator") != "GreaterThanThreshold":
            continue
        if not (props.get("AlarmActions") or _reaches_notify(props, resolver)):
            continue
        if props.get("Threshold") not in (0, "0"):
            continue
        # By the resolved queue name: a dimension may name the queue by GetAtt, Ref or Sub (the Fn::ForEach loop).
        for dimension in props.get("Dimensions", []):
            if dimension.get("Name") == "QueueName":
                watched.add(str(resolver.resolve(dimension.get("Value"))))
    return [
        f"{queue_id}: dead-letter queue without an alarm on its first message (ApproximateNumberOfMessagesVisible > 0)"
        for queue_id in sorted(dead_letter_queues(template) & set(template.get("Resources", {})))
        if resolver.physical_name(queue_id) not in watched
    ]


def data_is_encrypted_with_the_key(template: Template, resolver: Resolver) -> list[str]:
    findings: list[str] = []
    for table_id, props in _of_type(template, "AWS::DynamoDB::Table"):
        sse = props.get("SSESpecification", {})
        if not (sse.get("SSEEnabled") is True and sse.get("SSEType") == "KMS" and sse.get("KMSMasterKeyId")):
            findings.append(f"{table_id}: not encrypted with the customer-managed key")
    checks = (
        ("AWS::SQS::Queue", "KmsMasterKeyId"),
        ("AWS::SNS::Topic", "KmsMasterKeyId"),
        ("AWS::Logs::LogGroup", "KmsKeyId"),
        ("AWS::Lambda::Function", "KmsKeyArn"),
    )
    for kind, prop in checks:
        for logical_id, props in _of_type(template, kind):
            key = props.get(prop)
            if not key or (isinstance(key, str) and key.startswith("alias/aws/")):
                findings.append(f"{logical_id}: {prop} is not the customer-managed key")
    return findings


def tables_have_point_in_time_recovery(template: Template, resolver: Resolver) -> list[str]:
    return [
        f"{table_id}: point-in-time recovery is off"
        for table_id, props in _of_type(template, "AWS::DynamoDB::Table")
        if props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled") is not True
    ]


def functions_log_to_retained_groups(template: Template, resolver: Resolver) -> list[str]:
    findings = [
        f"{group_id}: no RetentionInDays"
        for group_id, props in _of_type(template, "AWS::Logs::LogGroup")
        if not props.get("RetentionInDays")
    ]
    groups = {resolver.physical_name(group_id) for group_id, _ in _of_type(template, "AWS::Logs::LogGroup")}
    for function_id in _functions(template):
        if f"/aws/lambda/{resolver.physical_name(function_id)}" not in groups:
            findings.append(f"{function_id}: no explicit log group (retention and KMS) named after it")
    return findings


def _managed_identifiers(statement: Mapping[str, Any], resolver: Resolver) -> set[str]:
    names: set[str] = set()
    for arn in _as_list(statement.get("DataIdentifier")):
        value = resolver.resolve(arn)
        if isinstance(value, str) and _DATA_IDENTIFIER in value:
            names.add(value.rsplit("/", 1)[-1])
    return names


def function_logs_mask_personal_data(template: Template, resolver: Resolver) -> list[str]:
    """Every function's log group has a data protection policy that audits and masks MASKED_IDENTIFIERS, with the
    same identifiers in both statements (CloudWatch Logs refuses a policy whose two lists differ); and no role of
    the stack may unmask them."""
    groups = {
        resolver.physical_name(group_id): (group_id, props)
        for group_id, props in _of_type(template, "AWS::Logs::LogGroup")
    }
    findings: list[str] = []
    for function_id in _functions(template):
        found = groups.get(f"/aws/lambda/{resolver.physical_name(function_id)}")
        if found is None:
            continue  # functions_log_to_retained_groups reports it
        group_id, props = found
        policy = props.get("DataProtectionPolicy")
        if not isinstance(policy, Mapping):
            findings.append(f"{group_id}: no DataProtectionPolicy: personal data in {function_id}'s logs is not masked")
            continue
        audited: set[str] = set()
        masked: set[str] = set()
        for statement in _as_list(policy.get("Statement")):
            operation = statement.get("Operation", {})
            if "Audit" in operation:
                audited |= _managed_identifiers(statement, resolver)
            if operation.get("Deidentify", {}).get("MaskConfig") == {}:
                masked |= _managed_identifiers(statement, resolver)
        if audited != masked:
            findings.append(f"{group_id}: audited {sorted(audited)} and masked {sorted(masked)} identifiers differ")
        findings += [f"{group_id}: {name} is not masked" for name in MASKED_IDENTIFIERS if name not in masked]
    findings += [
        f"{statement.where}: allows logs:Unmask (the masked personal data would be readable)"
        for statement in identity_statements(template, resolver)
        if statement.allows("logs:Unmask")
    ]
    return findings


def functions_are_traced(template: Template, resolver: Resolver) -> list[str]:
    return [
        f"{function_id}: X-Ray tracing is not Active"
        for function_id, props in _functions(template).items()
        if props.get("TracingConfig", {}).get("Mode") != "Active"
    ]


def functions_have_bounded_concurrency(template: Template, resolver: Resolver) -> list[str]:
    """Reserved concurrency, or SQS MaximumConcurrency on every mapping: bursts cannot flood the WorkSpaces API."""
    sqs = _sqs_triggers(template)
    findings: list[str] = []
    for function_id, props in _functions(template).items():
        if "ReservedConcurrentExecutions" in props:
            continue
        mappings = sqs.get(function_id, [])
        if not mappings or any("MaximumConcurrency" not in m.get("ScalingConfig", {}) for m in mappings):
            findings.append(f"{function_id}: neither reserved concurrency nor SQS MaximumConcurrency")
    return findings


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


def hr_bus_loses_nothing_silently(template: Template, resolver: Resolver) -> list[str]:
    """Every event on the HR bus matches a routed rule or the catch-all rule, never both: probed with the routed
    patterns' own values and with each key changed to a value no rule names (moto's EventBridge pattern
    matcher, which the local cloud routes with). The catch-all's queue alarm is every_dead_letter_queue_alarms'."""
    from moto.events.models import EventPattern  # dev-only, like the local cloud

    rules = [
        (rule_id, resolver.resolve(props.get("EventPattern", {})))
        for rule_id, props in _of_type(template, "AWS::Events::Rule")
        if target_id(props.get("EventBusName")) == "HrEventBus"
    ]
    catch_alls = [(rule_id, pattern) for rule_id, pattern in rules if _is_catch_all(pattern)]
    routed = [(rule_id, pattern) for rule_id, pattern in rules if not _is_catch_all(pattern)]
    if len(catch_alls) != 1:
        return [f"HrEventBus: {len(catch_alls)} catch-all rules (want one: unrouted HR events must raise an alarm)"]
    catch_all_id, catch_all = catch_alls[0]
    matcher = EventPattern.load(json.dumps(catch_all))
    routers = [EventPattern.load(json.dumps(pattern)) for _, pattern in routed]
    findings: list[str] = []
    for rule_id, pattern in routed:
        keys = [key for key, values in pattern.items() if isinstance(values, list)]
        base = {key: pattern[key][0] for key in keys}
        probes = [{**base, key: value} for key in keys for value in pattern[key]]
        probes += [{**base, key: "unrouted-probe"} for key in keys]
        for probe in probes:
            event: Any = {"detail": {}, **probe}
            is_routed = any(router.matches_event(event) for router in routers)
            if is_routed == matcher.matches_event(event):
                what = "both routed and caught" if is_routed else "neither routed nor caught"
                findings.append(f"{catch_all_id}: {json.dumps(probe, sort_keys=True)} is {what} (next to {rule_id})")
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


RULES: dict[str, Rule] = {
    rule.__name__: rule
    for rule in (
        async_targets_have_retries_and_dead_letters,
        rules_are_pinned_on_source_and_account,
        every_function_has_its_own_role,
        no_wildcard_actions,
        workspaces_actions_are_scoped,
        provisioning_cannot_destroy,
        queues_have_redrive_or_are_dead_letters,
        every_dead_letter_queue_alarms,
        data_is_encrypted_with_the_key,
        tables_have_point_in_time_recovery,
        functions_log_to_retained_groups,
        function_logs_mask_personal_data,
        functions_are_traced,
        functions_have_bounded_concurrency,
        hr_bus_admits_only_the_hr_publisher,
        hr_bus_loses_nothing_silently,
        key_policy_admits_the_services_that_use_it,
        dead_letter_writers_can_write,
    )
}


def check(template: Template) -> dict[str, list[str]]:
    """Findings of every rule, by rule name (only rules with findings)."""
    resolver = Resolver(template)
    results = {name: rule(template, resolver) for name, rule in RULES.items()}
    return {name: findings for name, findings in results.items() if findings}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("expanded", nargs="?", default=".aws-sam/expanded.json", type=Path)
    args = parser.parse_args(argv)
    findings = check(json.loads(args.expanded.read_text(encoding="utf-8")))
    for name, items in findings.items():
        for item in items:
            print(f"{name}: {item}")
    print(f"template rules: {sum(map(len, findings.values()))} finding(s) in {len(RULES)} rules")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
