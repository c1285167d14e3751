"""Project rules for the SAM-expanded template that no linter checks (issue 7: nothing lost, nobody in who should
not be). Each rule takes the expanded template and a Resolver and returns findings (empty = compliant), so the
same rules serve tests/contract/test_template.py, the gate test on broken copies, and `make lint`. The rules live in
families: tools/template_rules_delivery.py (nothing lost), tools/template_rules_iam.py (nobody in who should not
be), tools/template_rules_data.py (data and operations), over tools/template_reading.py (what they read).

    python -m tools.template_rules [.aws-sam/expanded.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from localcloud.intrinsics import Resolver
from tools.template_reading import Rule, Template, role_statements
from tools.template_rules_data import (
    data_is_encrypted_with_the_key,
    function_logs_mask_personal_data,
    functions_are_traced,
    functions_have_bounded_concurrency,
    functions_log_to_retained_groups,
    tables_have_point_in_time_recovery,
)
from tools.template_rules_delivery import (
    async_targets_have_retries_and_dead_letters,
    catch_all_rules,
    every_dead_letter_queue_alarms,
    hr_bus_loses_nothing_silently,
    queues_have_redrive_or_are_dead_letters,
    rules_are_pinned_on_source_and_account,
)
from tools.template_rules_iam import (
    MANAGED_BY_KEY,
    MANAGED_BY_VALUE,
    dead_letter_writers_can_write,
    every_function_has_its_own_role,
    hr_bus_admits_only_the_hr_publisher,
    key_policy_admits_the_services_that_use_it,
    no_wildcard_actions,
    provisioning_cannot_destroy,
    workspaces_actions_are_scoped,
)

__all__ = [
    "MANAGED_BY_KEY",
    "MANAGED_BY_VALUE",
    "RULES",
    "Rule",
    "Template",
    "catch_all_rules",
    "check",
    "main",
    "role_statements",
]


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
