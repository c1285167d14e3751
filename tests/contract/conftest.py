"""The SAM-expanded template (what AWS would deploy), resolved for account 123456789012, Stage dev and
HrEventSource hr.feed, shared by the contract tests."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.intrinsics import Resolver
from localcloud.template import expand


@pytest.fixture(scope="session")
def expanded() -> dict[str, Any]:
    return expand()


@pytest.fixture(scope="session")
def resolver(expanded: dict[str, Any]) -> Resolver:
    return Resolver(expanded)
