"""localcloud.fast_gc: the collector's thresholds while a world runs, Python's before and after."""

from __future__ import annotations

import datetime as dt
import gc

import pytest

from localcloud import fast_gc, fast_json
from localcloud.world import LocalCloud

START = dt.datetime(2026, 12, 7, 8, tzinfo=dt.UTC)


def test_a_world_collects_young_objects_in_larger_rounds_and_gives_python_s_thresholds_back() -> None:
    before = gc.get_threshold()
    with LocalCloud(start=START):
        during = gc.get_threshold()
    assert during == (fast_gc.YOUNGEST_THRESHOLD, *before[1:])
    assert gc.get_threshold() == before


def _failing_step() -> None:
    with fast_gc.fewer_collections() as tuned:
        assert tuned
        raise RuntimeError("a scenario step failed")


def test_the_thresholds_come_back_when_the_block_fails() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError):
        _failing_step()
    assert gc.get_threshold() == before


def test_the_switch_keeps_python_s_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fast_json.ENV_SWITCH, "0")
    before = gc.get_threshold()
    with fast_gc.fewer_collections() as tuned:
        assert not tuned
        assert gc.get_threshold() == before
