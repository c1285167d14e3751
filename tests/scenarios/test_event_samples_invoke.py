"""Every sample in events/ works with `autopilot-local invoke`: message bodies are wrapped in the SQS batch their
function receives, samples that refer to a world (a desk, a roster) get it from the scenario events/index.yaml
names, and none fails (events/aws/ has its own tests: test_aws_documented_events.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from localcloud.cli import main
from localcloud.samples import EVENTS, index

pytestmark = pytest.mark.usefixtures("socket_disabled")
# What a function answers when the world the sample refers to is missing: a sample must never need it.
NOTHING_TO_ACT_ON = {"no_desk", "unknown_employee"}


def test_the_index_names_every_sample_and_only_them() -> None:
    assert set(index()) == {path.name for path in EVENTS.glob("*.json")}


def _failures(result: Any) -> list[str]:
    if not isinstance(result, dict):
        return []
    found = []
    if "errorType" in result:
        found.append(f"{result['errorType']}: {result.get('errorMessage')}")
    found += [f"batch item {item}" for item in result.get("batchItemFailures", [])]
    if result.get("action") in NOTHING_TO_ACT_ON:
        found.append(f"action {result['action']}")
    return found


@pytest.mark.parametrize("name", sorted(index()))
def test_sample_invokes_its_function_successfully(name: str) -> None:
    sample = index()[name]

    result = CliRunner().invoke(main, ["invoke", sample.function, "-e", str(Path("events") / name)])

    assert result.exit_code == 0, result.stderr
    assert _failures(json.loads(result.stdout)) == [], result.stdout
