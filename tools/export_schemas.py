"""Export the JSON Schema of every contract model (inputs and outputs of the event catalogue) to docs/schemas/,
one file per model, for HR-system integrators and subscribers of the autopilot bus.

    python -m tools.export_schemas [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from autopilot.contracts.catalogue import INPUT_EVENTS, OUTPUT_EVENTS

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "docs" / "schemas"


def _models() -> list[type[BaseModel]]:
    return [*INPUT_EVENTS, *OUTPUT_EVENTS]


def render() -> dict[str, str]:
    """File name -> exact file content, for every contract model."""
    files: dict[str, str] = {}
    for model in _models():
        schema: dict[str, Any] = model.model_json_schema(by_alias=True, mode="validation")
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
        detail_type = getattr(model, "DETAIL_TYPE", None)
        if detail_type:
            # Outputs are the `detail` of an autopilot-bus event of this detail-type.
            schema["x-detail-type"] = detail_type
        files[f"{model.__name__}.json"] = json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return files


def drift(directory: Path = SCHEMAS) -> list[str]:
    """What differs between the models and the exported files (empty when in step)."""
    expected = render()
    present = {path.name for path in directory.glob("*.json")} if directory.exists() else set()
    problems = [f"{name}: missing" for name in sorted(set(expected) - present)]
    problems += [f"{name}: no contract model exports it any more" for name in sorted(present - set(expected))]
    problems += [
        f"{name}: differs from {name.removesuffix('.json')}.model_json_schema()"
        for name in sorted(set(expected) & present)
        if (directory / name).read_text(encoding="utf-8") != expected[name]
    ]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/schemas/ drifted from the models")
    args = parser.parse_args(argv)
    if args.check:
        problems = drift()
        for problem in problems:
            print(problem)
        return 1 if problems else 0
    SCHEMAS.mkdir(parents=True, exist_ok=True)
    expected = render()
    for stale in SCHEMAS.glob("*.json"):
        if stale.name not in expected:
            stale.unlink()
    for name, content in expected.items():
        (SCHEMAS / name).write_text(content, encoding="utf-8")
    print(f"wrote {len(expected)} schemas to {SCHEMAS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
