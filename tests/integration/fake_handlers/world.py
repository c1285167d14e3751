"""Shared by the world tests: the small test template and a started LocalCloud built from it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from localcloud.world import LocalCloud

WORLD_TEMPLATE = Path(__file__).resolve().parent.parent / "world_template.yaml"
START = dt.datetime(2026, 12, 1, 5, 0, tzinfo=dt.UTC)


def world_from_test_template(**kwargs: object) -> Iterator[LocalCloud]:
    """A fresh world from the test template, closed afterwards (use as a fixture body)."""
    with LocalCloud(template=WORLD_TEMPLATE, start=START, **kwargs) as cloud:  # type: ignore[arg-type]
        yield cloud


def ran(cloud: LocalCloud, function: str) -> list[dict[str, Any]]:
    """What `function` received, one entry per invocation (the echo handler returns its event)."""
    return [i.result["event"] for i in cloud.invocations if i.function == function and i.ok]
