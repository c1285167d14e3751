"""SAM CLI's own input syntaxes, read as SAM CLI reads them (samcli/cli/types.py, samcli/local/lambdafn/env_vars.py,
samcli/commands/local/lib/local_lambda.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localcloud.sam_inputs import SamInputError, function_environment, parse_parameter_overrides, read_env_vars


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["Stage=prod OnCallEmail=oncall@example.com"], {"Stage": "prod", "OnCallEmail": "oncall@example.com"}),
        (["Stage=prod", "LogRetentionDays=30"], {"Stage": "prod", "LogRetentionDays": "30"}),
        (
            ["ParameterKey=Stage,ParameterValue=prod ParameterKey=RunbookUrl,ParameterValue=https://x/y?a=b"],
            {"Stage": "prod", "RunbookUrl": "https://x/y?a=b"},
        ),
        (['RunbookUrl="docs/run book.md" Stage=dev'], {"RunbookUrl": "docs/run book.md", "Stage": "dev"}),
        (["RunbookUrl=docs/run\\ book.md"], {"RunbookUrl": "docs/run book.md"}),
        ([""], {}),
    ],
)
def test_parameter_overrides_in_both_of_sams_syntaxes(given: list[str], expected: dict[str, str]) -> None:
    assert parse_parameter_overrides(given) == expected


def test_parameter_override_in_neither_syntax_is_refused_with_examples() -> None:
    with pytest.raises(SamInputError, match="--parameter-overrides: 'Stage' is not a valid format"):
        parse_parameter_overrides(["Stage"])


DECLARED = {"TABLE_NAME": "state", "POWERTOOLS_LOG_LEVEL": "INFO", "STAGE": "dev"}


def test_env_vars_parameters_apply_to_every_function_and_the_functions_own_object_wins() -> None:
    env_vars = {
        "Parameters": {"POWERTOOLS_LOG_LEVEL": "DEBUG", "TABLE_NAME": "shared"},
        "ProvisionFunction": {"TABLE_NAME": "mine", "STAGE": True},
    }

    assert function_environment(DECLARED, env_vars, ("ProvisionFunction", "x-provision")) == {
        "TABLE_NAME": "mine",
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
        "STAGE": "true",  # SAM CLI writes booleans as true/false
    }
    # Another function gets Parameters only.
    assert function_environment(DECLARED, env_vars, ("LifecycleFunction", "x-lifecycle"))["TABLE_NAME"] == "shared"


def test_env_vars_set_only_what_the_template_declares() -> None:
    env_vars = {"Parameters": {"NOT_DECLARED": "x"}, "x-provision": {"STAGE": None, "TABLE_NAME": {"Ref": "T"}}}

    # By function name too; null and objects become "" as in SAM CLI.
    assert function_environment(DECLARED, env_vars, ("ProvisionFunction", "x-provision")) == {
        "TABLE_NAME": "",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "STAGE": "",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"Parameters": "DEBUG"}', "Environment variables 'Parameters' in incorrect format"),
        ("[1]", "expected a JSON object of objects"),
        ("{", "not valid JSON"),
    ],
)
def test_env_vars_file_in_the_wrong_shape_is_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "env.json"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(SamInputError, match=message):
        read_env_vars(path)


def test_env_vars_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "env.json"
    path.write_text(json.dumps({"Parameters": {"A": "1"}}), encoding="utf-8")

    assert read_env_vars(path) == {"Parameters": {"A": "1"}}
