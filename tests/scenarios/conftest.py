"""Shared by the scenario tests: paths, and the autostop report computed once per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# Powertools' Tracer imports the X-Ray SDK even when tracing is disabled, and the SDK creates a UDP socket
# object at import (no traffic). Import it before a test blocks sockets, so the handlers import cleanly.
import aws_xray_sdk.core  # noqa: F401
import pytest

from localcloud.scenario import run_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


@pytest.fixture(scope="session")
def autostop_report() -> dict[str, Any]:
    return run_scenario(SCENARIOS / "autostop_night.yaml")
