"""The dashboard's gauge DesksByProfile from each fleet_watch sweep (one ByLifecycle query per live state)
as EMF on stdout. (OpenIncidents' COUNT query of the open index is tested in test_report_weekly.py.)"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.test_fleet_handlers import MANAGED, Cloud, cloud, sweep

__all__ = ["cloud"]  # the fixture, shared with the fleet handler tests


def _emf(out: str, name: str) -> list[dict[str, Any]]:
    found = []
    for line in out.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        record = json.loads(line)
        if name in record:
            found.append(record)
    return found


def test_each_sweep_emits_desks_by_profile_with_every_policy_profile(
    cloud: Cloud, capsys: pytest.CaptureFixture[str]
) -> None:
    cloud.emulator.seed_workspaces(cloud.cc, [f"agent{n:03d}" for n in range(3)], cloud.bundle, tags=MANAGED)
    sweep()  # adopts the three desks (records with a profile)
    capsys.readouterr()

    sweep()

    records = _emf(capsys.readouterr().out, "DesksByProfile")

    assert all(r["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["profile", "service"]] for r in records)
    gauges = {r["profile"]: r["DesksByProfile"] for r in records}
    # Every profile of the packaged policy, the three adopted desks under the one adoption gave them.
    assert set(gauges) == {"agent", "datasci", "office", "test"}
    assert sorted(value for (value,) in gauges.values()) == [0.0, 0.0, 0.0, 3.0]
