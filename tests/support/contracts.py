"""Helpers of the port contract tests (tests/integration/test_port_contracts_*.py): one fixture per port whose
params are the sides (the real adapter on moto, each fake), and the state table those adapters share."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import boto3
import pytest

from tests.support.aws import create_table_from_template

Side = Callable[[pytest.FixtureRequest], Any]


def state_table(request: pytest.FixtureRequest) -> Any:
    """The state table on moto (the integration tier's `aws` fixture), built from template.yaml's key schema."""
    request.getfixturevalue("aws")
    return create_table_from_template(boto3.resource("dynamodb"), "StateTable", "state")


def port_fixture(name: str, sides: Mapping[str, Side]) -> Any:
    """A fixture `name` run once per side: `sides` maps a test id ("moto", "fake-…") to what builds that side."""

    @pytest.fixture(name=name, params=list(sides))
    def _side(request: pytest.FixtureRequest) -> Any:
        return sides[request.param](request)

    return _side
