"""The Fn::ForEach loops of template.yaml (AWS::LanguageExtensions) expand to exactly the per-function log groups,
Errors alarms and dead-letter alarms that were written out one by one before (issue 16): same logical ids, same
properties once resolved. The fixture is the SAM-expanded template of the commit before the loops."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from localcloud.intrinsics import Resolver
from localcloud.template import load, read

BEFORE = json.loads((Path(__file__).parent / "fixtures" / "template_before_loops.json").read_text(encoding="utf-8"))


def test_no_resource_of_the_template_before_the_loops_is_lost(expanded: dict[str, Any]) -> None:
    assert sorted(set(BEFORE["logical_ids"]) - set(expanded["Resources"])) == []


def test_the_loops_generate_exactly_the_resources_they_replaced() -> None:
    generated = set(load()["Resources"]) - set(read()["Resources"])
    assert sorted(generated) == sorted(BEFORE["generated"])


@pytest.mark.parametrize("logical_id", sorted(BEFORE["generated"]))
def test_a_generated_resource_resolves_as_its_written_out_original(
    logical_id: str, expanded: dict[str, Any], resolver: Resolver
) -> None:
    resource = expanded["Resources"][logical_id]
    resolved = {"Type": resource["Type"], "Properties": resolver.resolve(resource["Properties"])}
    assert resolved == BEFORE["generated"][logical_id]


def test_the_language_extensions_run_before_the_sam_transform() -> None:
    # CloudFormation runs the transforms in the listed order; SAM cannot read an unexpanded Fn::ForEach.
    assert read()["Transform"] == ["AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"]
    assert load()["Transform"] == "AWS::Serverless-2016-10-31"
