"""docs/schemas/ is the published contract: it must say exactly what the models accept."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from autopilot.contracts.catalogue import INPUT_EVENTS, OUTPUT_EVENTS
from autopilot.contracts.common import AwsEnvelope
from tools import export_schemas


def test_exported_schemas_match_the_models() -> None:
    # On failure: `make schemas`, then review the diff of docs/schemas/ as a contract change.
    assert export_schemas.drift() == []


def test_every_contract_model_has_a_schema_file() -> None:
    models: list[type[BaseModel]] = [*INPUT_EVENTS, *OUTPUT_EVENTS]
    names = {f"{model.__name__}.json" for model in models}
    assert names == set(export_schemas.render())


def test_a_model_change_is_reported_as_drift(tmp_path: Path) -> None:
    for name, content in export_schemas.render().items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    schema = json.loads((tmp_path / "TimerFiredEvent.json").read_text(encoding="utf-8"))
    schema["$defs"]["TimerFired"]["properties"].pop("due")
    (tmp_path / "TimerFiredEvent.json").write_text(json.dumps(schema), encoding="utf-8")
    (tmp_path / "RetiredEvent.json").write_text("{}", encoding="utf-8")

    assert export_schemas.drift(tmp_path) == [
        "RetiredEvent.json: no contract model exports it any more",
        "TimerFiredEvent.json: differs from TimerFiredEvent.model_json_schema()",
    ]


def test_output_schemas_name_their_detail_type() -> None:
    rendered = export_schemas.render()
    for model in OUTPUT_EVENTS:
        schema = json.loads(rendered[f"{model.__name__}.json"])
        assert schema["x-detail-type"] == model.DETAIL_TYPE
        assert schema["additionalProperties"] is False, f"{model.__name__} must refuse unknown fields"


def test_input_detail_schemas_refuse_unknown_fields_in_our_contracts_and_allow_them_in_aws_events() -> None:
    # AWS adds fields to the events it owns: those contracts say so (docs/architecture.md, issue 14).
    for model in INPUT_EVENTS:
        detail = model.model_fields["detail"].annotation
        if isinstance(detail, type) and issubclass(detail, BaseModel):
            schema = detail.model_json_schema()
            if issubclass(model, AwsEnvelope):
                assert "additionalProperties" not in schema, model.__name__
                assert "additionalProperties" not in model.model_json_schema(by_alias=True), model.__name__
            else:
                assert schema["additionalProperties"] is False, model.__name__
    aws = {model.__name__ for model in INPUT_EVENTS if issubclass(model, AwsEnvelope)}
    assert aws == {"ObjectCreatedEvent", "WorkSpacesAccessEvent", "AlarmStateChangeEvent"}
