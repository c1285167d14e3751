"""Template rules, nothing lost: asynchronous targets retry and keep what fails, rules are pinned on source and
account, every queue has a redrive or is a dead-letter queue, every dead-letter queue alarms, the HR bus drops
nothing silently."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from localcloud.intrinsics import Resolver, target_id
from tools.template_reading import (
    Template,
    _async_targets,
    _asynchronously_invoked,
    _functions,
    _invoke_configs,
    _of_type,
    _sqs_triggers,
)


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
