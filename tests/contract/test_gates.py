"""The static gates of `make lint` really gate: a deliberately broken copy of template.yaml (a wildcard action,
a missing dead-letter queue, function logs without a data protection policy, a migration without its bundle, an
action the IAM database does not know) fails them, each checker naming the
defect (template.yaml itself passes them in `make lint`). Runs the same tools.gates as make."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from localcloud.template import load
from tools.expand_template import write_expanded
from tools.gates import GateResult, project_gates, run_gates, tools_venv_ready

pytestmark = pytest.mark.skipif(
    not tools_venv_ready(),
    reason="the tools venv (.venv-tools: checkov, cfn-lint-serverless) is absent; `make tools-venv` creates it "
    "and `make test` always does",
)

Template = dict[str, Any]


def _gates_on(tmp_path: Path, change: Callable[[Template], None]) -> dict[str, GateResult]:
    template = copy.deepcopy(load())
    change(template)
    path = tmp_path / "template.yaml"
    path.write_text(yaml.safe_dump(template, sort_keys=False), encoding="utf-8")
    return {result.name: result for result in run_gates(path, tmp_path / "expanded.json")}


def _project_gates_on(tmp_path: Path, change: Callable[[Template], None]) -> dict[str, GateResult]:
    """Only the project's own gates (template rules, IAM database) on the broken copy, expanded as run_gates does:
    for a defect no external checker is asked about (checkov and the three cfn-lint runs cost a minute of CPU).
    run_gates reports these same results (project_gates): the other tests here check that through make's path."""
    template = copy.deepcopy(load())
    change(template)
    path = tmp_path / "template.yaml"
    path.write_text(yaml.safe_dump(template, sort_keys=False), encoding="utf-8")
    expanded = write_expanded(path, tmp_path / "expanded.json")
    return {result.name: result for result in project_gates(json.loads(expanded.read_text(encoding="utf-8")))}


def _failed(results: dict[str, GateResult]) -> dict[str, str]:
    return {name: result.output for name, result in results.items() if not result.ok}


def _wildcard_action(template: Template) -> None:
    policies = template["Resources"]["ProvisionFunction"]["Properties"]["Policies"]
    policies.append({"Statement": [{"Effect": "Allow", "Action": "workspaces:*", "Resource": "*"}]})


def _missing_dead_letter_queues(template: Template) -> None:
    resources = template["Resources"]
    del resources["HrEventsFunction"]["Properties"]["Events"]["HrEvent"]["Properties"]["DeadLetterConfig"]
    del resources["ProvisioningQueue"]["Properties"]["RedrivePolicy"]


def _unmasked_log_groups(template: Template) -> None:
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Logs::LogGroup":
            del resource["Properties"]["DataProtectionPolicy"]


def test_a_wildcard_action_fails_the_gates(tmp_path: Path) -> None:
    failed = _failed(_gates_on(tmp_path, _wildcard_action))

    assert "WS1003" in failed["cfn-lint serverless rules"]  # stars in an inline policy
    assert "CKV_AWS_111" in failed["checkov (expanded)"]  # write access without constraints
    assert "wildcard action 'workspaces:*'" in failed["template rules"]
    assert "the provisioning role may workspaces:TerminateWorkspaces" in failed["template rules"]


def test_a_missing_dead_letter_queue_fails_the_gates(tmp_path: Path) -> None:
    failed = _failed(_gates_on(tmp_path, _missing_dead_letter_queues))

    serverless = failed["cfn-lint serverless rules"]
    assert "ES4000" in serverless  # EventBridge target without a DLQ
    assert "ES6000" in serverless  # queue without a redrive policy
    rules = failed["template rules"]
    assert "HrEventsFunctionHrEvent target HrEventsFunctionHrEventLambdaTarget: no DeadLetterConfig" in rules
    assert "ProvisioningQueue: no RedrivePolicy and not a dead-letter queue" in rules


def test_function_logs_without_a_data_protection_policy_fail_the_gates(tmp_path: Path) -> None:
    failed = _failed(_project_gates_on(tmp_path, _unmasked_log_groups))

    rules = failed["template rules"]  # no linter checks it: the project's rule does
    assert (
        "LifecycleLogGroup: no DataProtectionPolicy: personal data in LifecycleFunction's logs is not masked" in rules
    )


def _migrate_without_bundle(template: Template) -> None:
    statements = template["Resources"]["LifecycleFunction"]["Properties"]["Policies"][-1]["Statement"]
    statements[:] = [s for s in statements if "workspacebundle" not in str(s.get("Resource"))]


def _unknown_action(template: Template) -> None:
    policies = template["Resources"]["LifecycleFunction"]["Properties"]["Policies"]
    policies.append({"Statement": [{"Effect": "Allow", "Action": "workspaces:TeleportWorkspaces", "Resource": "*"}]})


def test_a_migration_without_its_bundle_fails_the_iam_database_gate(tmp_path: Path) -> None:
    failed = _failed(_project_gates_on(tmp_path, _migrate_without_bundle))

    iam = failed["IAM database (parliament)"]
    assert "LifecycleFunctionRole (role policies): RESOURCE_MISMATCH workspaces:MigrateWorkspace" in iam
    assert "workspacebundle" in iam


def test_an_unknown_action_fails_the_iam_database_gate(tmp_path: Path) -> None:
    failed = _failed(_project_gates_on(tmp_path, _unknown_action))

    assert "UNKNOWN_ACTION Unknown action workspaces:TeleportWorkspaces" in failed["IAM database (parliament)"]
