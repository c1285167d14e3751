"""What no linter checks in the SAM-expanded template: nothing lost (retries, dead letters, alarms), nobody in who
should not be (one role per function, no wildcard, WorkSpaces scoped to ManagedBy desks, the HR bus closed).
Each rule passes on the real template and is shown to catch its defect on a mutated copy."""

from __future__ import annotations

import copy
from collections.abc import Callable
from importlib.resources import files
from typing import Any

import pytest

from autopilot.domain.kernel.policy import parse_policy
from autopilot.domain.oncall.alert import UNROUTED_HR_EVENTS_ALARM_SUFFIX
from localcloud.intrinsics import Resolver
from tools.template_rules import MANAGED_BY_KEY, MANAGED_BY_VALUE, RULES

Template = dict[str, Any]


@pytest.mark.parametrize("rule", sorted(RULES))
def test_template_complies_with(rule: str, expanded: Template, resolver: Resolver) -> None:
    assert RULES[rule](expanded, resolver) == []


def test_managed_by_tag_in_iam_is_the_default_policy_tag() -> None:
    policy = parse_policy(files("autopilot.domain").joinpath("default_policy.yaml").read_text(encoding="utf-8"))
    assert policy.managed_tag == (MANAGED_BY_KEY, MANAGED_BY_VALUE)


# --- each rule catches its defect ------------------------------------------------------------------------
def _res(template: Template, logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = template["Resources"][logical_id]["Properties"]
    return props


def _add_statement(template: Template, role_id: str, statement: dict[str, Any]) -> None:
    _res(template, role_id)["Policies"].append(
        {"PolicyName": "Injected", "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]}}
    )


def _statement_with(template: Template, role_id: str, action: str) -> dict[str, Any]:
    for policy in _res(template, role_id)["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if action in statement["Action"]:
                return statement
    raise LookupError(f"{role_id} has no statement with {action}")


def _drop_target_retry(t: Template) -> None:
    del _res(t, "SessionsFunctionLogin")["Targets"][0]["RetryPolicy"]


def _drop_schedule_dlq(t: Template) -> None:
    del _res(t, "PrewarmFunctionTick")["Target"]["DeadLetterConfig"]


def _drop_on_failure(t: Template) -> None:
    del _res(t, "NotifyFunctionEventInvokeConfig")["DestinationConfig"]


def _drop_invoke_config(t: Template) -> None:
    del t["Resources"]["HrEventsFunctionEventInvokeConfig"]


def _drop_partial_batch(t: Template) -> None:
    _res(t, "ProvisionFunctionDue")["FunctionResponseTypes"] = []


def _unpin_account(t: Template) -> None:
    del _res(t, "SessionsFunctionLogin")["EventPattern"]["account"]


def _prefix_source(t: Template) -> None:
    _res(t, "NotifyFunctionDomainEvent")["EventPattern"]["source"] = [{"prefix": "auto"}]


def _share_role(t: Template) -> None:
    _res(t, "ReportFunction")["Role"] = {"Fn::GetAtt": ["NotifyFunctionRole", "Arn"]}


def _wildcard_action(t: Template) -> None:
    _add_statement(t, "SessionsFunctionRole", {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"})


def _wildcard_in_key_policy(t: Template) -> None:
    _res(t, "AutopilotKey")["KeyPolicy"]["Statement"][0]["Action"] = "kms:*"


def _untagged_terminate(t: Template) -> None:
    del _statement_with(t, "LifecycleFunctionRole", "workspaces:TerminateWorkspaces")["Condition"]


def _terminate_anywhere(t: Template) -> None:
    _statement_with(t, "LifecycleFunctionRole", "workspaces:TerminateWorkspaces")["Resource"] = "*"


def _untagged_create(t: Template) -> None:
    del _statement_with(t, "ProvisionFunctionRole", "workspaces:CreateWorkspaces")["Condition"]


def _provisioning_terminates(t: Template) -> None:
    _statement_with(t, "ProvisionFunctionRole", "workspaces:CreateWorkspaces")["Action"] = [
        "workspaces:CreateWorkspaces",
        "workspaces:TerminateWorkspaces",
    ]


def _drop_redrive(t: Template) -> None:
    del _res(t, "LifecycleQueue")["RedrivePolicy"]


def _drop_dlq_alarm(t: Template) -> None:
    del t["Resources"]["AsyncFailureDLQAlarm"]


def _unencrypted_topic(t: Template) -> None:
    del _res(t, "AlertsTopic")["KmsMasterKeyId"]


def _unencrypted_log_group(t: Template) -> None:
    del _res(t, "NotifyLogGroup")["KmsKeyId"]


def _no_pitr(t: Template) -> None:
    _res(t, "IdempotencyTable")["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] = False


def _no_retention(t: Template) -> None:
    del _res(t, "ReportLogGroup")["RetentionInDays"]


def _no_log_group(t: Template) -> None:
    del t["Resources"]["PrewarmLogGroup"]


def _unmasked_log_group(t: Template) -> None:
    del _res(t, "LifecycleLogGroup")["DataProtectionPolicy"]


def _email_audited_not_masked(t: Template) -> None:
    [_, mask] = _res(t, "HrEventsLogGroup")["DataProtectionPolicy"]["Statement"]
    mask["DataIdentifier"] = [i for i in mask["DataIdentifier"] if "EmailAddress" not in str(i)]


def _role_unmasks(t: Template) -> None:
    statement = {"Effect": "Allow", "Action": "logs:Unmask", "Resource": "*"}
    _add_statement(t, "ReportFunctionRole", statement)


def _untraced(t: Template) -> None:
    del _res(t, "SessionsFunction")["TracingConfig"]


def _unbounded(t: Template) -> None:
    del _res(t, "RemediateFunction")["ReservedConcurrentExecutions"]


def _anyone_publishes_hr(t: Template) -> None:
    _res(t, "HrEventBusPolicy")["Statement"]["Principal"] = "*"


def _any_source_on_hr_bus(t: Template) -> None:
    del _res(t, "HrEventBusPolicy")["Statement"]["Condition"]


def _logs_cannot_use_key(t: Template) -> None:
    statements = _res(t, "AutopilotKey")["KeyPolicy"]["Statement"]
    _res(t, "AutopilotKey")["KeyPolicy"]["Statement"] = [
        s for s in statements if s.get("Sid") != "CloudWatchLogsEncryptsLogGroups"
    ]


def _schedule_role_without_kms(t: Template) -> None:
    statements = _res(t, "RecurringScheduleRole")["Policies"][0]["PolicyDocument"]["Statement"]
    statements[:] = [s for s in statements if "kms:GenerateDataKey" not in s["Action"]]


def _dlq_closed_to_eventbridge(t: Template) -> None:
    del t["Resources"]["EventDeliveryDLQPolicy"]


def _no_catch_all_on_hr_bus(t: Template) -> None:
    del t["Resources"]["UnroutedHrEventsRule"]


def _routed_type_also_caught(t: Template) -> None:
    # A detail-type routed to hr_events but not excluded from the catch-all: a page for every such hire.
    _res(t, "HrEventsFunctionHrEvent")["EventPattern"]["detail-type"].append("Employee Promoted")


def _catch_all_misses_an_account(t: Template) -> None:
    # An account neither routed nor caught: its events would vanish silently.
    _res(t, "UnroutedHrEventsRule")["EventPattern"]["$or"].pop(1)


MUTATIONS: list[tuple[str, Callable[[Template], None]]] = [
    ("async_targets_have_retries_and_dead_letters", _drop_target_retry),
    ("async_targets_have_retries_and_dead_letters", _drop_schedule_dlq),
    ("async_targets_have_retries_and_dead_letters", _drop_on_failure),
    ("async_targets_have_retries_and_dead_letters", _drop_invoke_config),
    ("async_targets_have_retries_and_dead_letters", _drop_partial_batch),
    ("rules_are_pinned_on_source_and_account", _unpin_account),
    ("rules_are_pinned_on_source_and_account", _prefix_source),
    ("every_function_has_its_own_role", _share_role),
    ("no_wildcard_actions", _wildcard_action),
    ("no_wildcard_actions", _wildcard_in_key_policy),
    ("workspaces_actions_are_scoped", _untagged_terminate),
    ("workspaces_actions_are_scoped", _terminate_anywhere),
    ("workspaces_actions_are_scoped", _untagged_create),
    ("provisioning_cannot_destroy", _provisioning_terminates),
    ("queues_have_redrive_or_are_dead_letters", _drop_redrive),
    ("every_dead_letter_queue_alarms", _drop_dlq_alarm),
    ("data_is_encrypted_with_the_key", _unencrypted_topic),
    ("data_is_encrypted_with_the_key", _unencrypted_log_group),
    ("tables_have_point_in_time_recovery", _no_pitr),
    ("functions_log_to_retained_groups", _no_retention),
    ("functions_log_to_retained_groups", _no_log_group),
    ("function_logs_mask_personal_data", _unmasked_log_group),
    ("function_logs_mask_personal_data", _email_audited_not_masked),
    ("function_logs_mask_personal_data", _role_unmasks),
    ("functions_are_traced", _untraced),
    ("functions_have_bounded_concurrency", _unbounded),
    ("hr_bus_admits_only_the_hr_publisher", _anyone_publishes_hr),
    ("hr_bus_admits_only_the_hr_publisher", _any_source_on_hr_bus),
    ("hr_bus_loses_nothing_silently", _no_catch_all_on_hr_bus),
    ("hr_bus_loses_nothing_silently", _routed_type_also_caught),
    ("hr_bus_loses_nothing_silently", _catch_all_misses_an_account),
    ("key_policy_admits_the_services_that_use_it", _logs_cannot_use_key),
    ("dead_letter_writers_can_write", _schedule_role_without_kms),
    ("dead_letter_writers_can_write", _dlq_closed_to_eventbridge),
]


def test_every_rule_is_shown_to_catch_a_defect() -> None:
    assert {rule for rule, _ in MUTATIONS} == set(RULES)


@pytest.mark.parametrize(("rule", "mutate"), MUTATIONS, ids=[mutate.__name__.strip("_") for _, mutate in MUTATIONS])
def test_rule_catches_a_defective_copy(rule: str, mutate: Callable[[Template], None], expanded: Template) -> None:
    broken = copy.deepcopy(expanded)
    mutate(broken)
    assert RULES[rule](broken, Resolver(broken)) != []


def test_with_hr_in_another_account_both_its_events_and_the_roster_s_are_routed(expanded: Template) -> None:
    # The HR account's PutEvents carry its account id; hr_feed_ingest's carry this account's (issue 14, point 2).
    resolver = Resolver(expanded, {"Stage": "dev", "HrEventSource": "hr.feed", "HrAccountId": "210987654321"})
    pattern = resolver.resolve(_res(expanded, "HrEventsFunctionHrEvent")["EventPattern"])
    assert sorted(pattern["account"]) == ["123456789012", "210987654321"]
    assert RULES["hr_bus_loses_nothing_silently"](expanded, resolver) == []
    assert RULES["rules_are_pinned_on_source_and_account"](expanded, resolver) == []


def test_the_unrouted_hr_events_alarm_reaches_notify_with_its_advice(expanded: Template, resolver: Resolver) -> None:

    name = str(resolver.resolve(_res(expanded, "UnroutedHrEventsAlarm")["AlarmName"]))
    prefix = resolver.resolve(_res(expanded, "NotifyFunction")["Environment"]["Variables"]["AUTOMATION_ALARM_PREFIX"])
    assert name.startswith(prefix)
    assert name.endswith(UNROUTED_HR_EVENTS_ALARM_SUFFIX)
