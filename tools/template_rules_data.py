"""Template rules, data and operations: data encrypted with the stack's key, point-in-time recovery, retained and
personal-data-masking log groups, tracing and bounded concurrency for every function."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localcloud.intrinsics import Resolver
from tools.template_reading import (
    Template,
    _as_list,
    _functions,
    _of_type,
    _sqs_triggers,
    identity_statements,
)

# CloudWatch Logs managed data identifiers every function's log group audits and masks at ingestion (issue 7: no
# personal data in logs; docs/security.md).
MASKED_IDENTIFIERS = ("EmailAddress", "Name")


_DATA_IDENTIFIER = ":dataprotection::aws:data-identifier/"


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
