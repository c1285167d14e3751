"""The deps layer ships exactly pyproject.toml's runtime dependencies (the one source of dependencies)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tools import export_layer_requirements


def test_layer_requirements_are_exported_from_pyproject() -> None:
    # On failure: `make layer-requirements`.
    current = export_layer_requirements.LAYER_REQUIREMENTS.read_text(encoding="utf-8")
    assert current == export_layer_requirements.render()


def test_a_dependency_change_in_pyproject_changes_the_layer(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\ndependencies = ["pydantic==2.0.0", "pyyaml==6.0.4"]\n')
    assert export_layer_requirements.render(pyproject).splitlines()[-2:] == ["pydantic==2.0.0", "pyyaml==6.0.4"]


def test_boto3_is_left_to_the_lambda_runtime() -> None:
    dependencies = tomllib.loads(export_layer_requirements.PYPROJECT.read_text())["project"]["dependencies"]
    assert not any(dependency.split("=")[0].strip().lower().startswith("boto3") for dependency in dependencies)


def test_pyarrow_is_an_extra_of_the_cli_never_in_the_lambda_layer() -> None:
    project = tomllib.loads(export_layer_requirements.PYPROJECT.read_text())["project"]
    assert any(extra.startswith("pyarrow") for extra in project["optional-dependencies"]["parquet"])
    assert "pyarrow" not in export_layer_requirements.render().lower()
    assert "pyarrow" not in export_layer_requirements.LAYER_REQUIREMENTS.read_text(encoding="utf-8").lower()
