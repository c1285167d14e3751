"""Offline expansion of template.yaml as CloudFormation runs its transforms, in the template's order: first
`AWS::LanguageExtensions` (the `Fn::ForEach` loops, localcloud/intrinsics.py), then SAM's own translator, which
turns the event shorthands into the plain CloudFormation resources AWS deploys (rules with patterns, event source
mappings, schedules, invoke configs). The static gates and the local cloud both read exactly what would be
deployed."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml

from localcloud.intrinsics import expand_language_extensions

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
# Local code folders become placeholder S3 locations: the translator only checks their shape.
_PLACEHOLDER_S3 = "s3://workspaces-autopilot-local/{name}.zip"


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation short-form intrinsics (`!Ref`, `!Sub`, …) as their long form."""


def _intrinsic(tag: str):  # type: ignore[no-untyped-def]
    name = "Ref" if tag == "Ref" else f"Fn::{tag}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {name: value}

    return construct


for _tag in (
    "Ref",
    "Sub",
    "GetAtt",
    "If",
    "Not",
    "Equals",
    "And",
    "Or",
    "Select",
    "Split",
    "Join",
    "FindInMap",
    "ImportValue",
    "Base64",
    "Cidr",
    "GetAZs",
    "Condition",
):
    _CfnLoader.add_constructor(f"!{_tag}", _intrinsic(_tag))


def read(path: Path = TEMPLATE) -> dict[str, Any]:
    """template.yaml as written, `Fn::ForEach` loops and all, with intrinsics in their long form."""
    with path.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    return document


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    """template.yaml after the LanguageExtensions transform: every resource spelled out, SAM's still to run."""
    return expand_language_extensions(read(path))


class _NoManagedPolicies:
    """The translator asks IAM for AWS managed policy ARNs; the template uses none, so offline is exact."""

    def load(self) -> dict[str, str]:
        return {}


def expand(path: Path = TEMPLATE, parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """Run the SAM transform offline and return the plain CloudFormation template."""
    from samtranslator.translator.transform import transform

    document = copy.deepcopy(load(path))
    globals_ = document.get("Globals", {}).get("Function", {})
    for name, resource in document.get("Resources", {}).items():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function" and "CodeUri" in globals_ | props:
            props["CodeUri"] = _PLACEHOLDER_S3.format(name=name)
        if resource.get("Type") == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = _PLACEHOLDER_S3.format(name=name)
    if "CodeUri" in globals_:
        globals_["CodeUri"] = _PLACEHOLDER_S3.format(name="functions")
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    expanded: dict[str, Any] = transform(document, parameters or {}, _NoManagedPolicies())
    return expanded
