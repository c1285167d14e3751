"""Growth: the sweep and the onboarding figures at several fleet sizes, to show that cost grows linearly with the
fleet and not worse.

Per size N (bench/fleet.py): the calls of one sweep per 1,000 desks against their floor, the sweep's CPU per 1,000
desks, and the calls per hire of a fixed wave of hires onboarded into that fleet against their floor. Then the
growth across sizes: the largest per-desk (per-hire) value at any size over the value at the smallest size. 1.00 is
linear; a partial last batch makes small fleets dearer per desk, never larger ones, so only superlinear cost (a scan,
a listing that grows with the fleet) lifts it above 1."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench.figures import Figure, figure

CALL_TARGET = 1.05
SWEEP_CALLS = (
    "describe_workspaces_calls",
    "connection_status_calls",
    "dynamodb_reads",
    "dynamodb_writes",
    "put_events_calls",
)
WAVE_CALLS = ("create_workspaces_calls", "describe_workspaces_calls", "put_events_calls")


def _sum(figures: Mapping[str, Figure], names: tuple[str, ...], key: str) -> float:
    return sum(float(figures[name][key] or 0) for name in names)


def sweep_calls(sweep: Mapping[str, Figure]) -> tuple[float, float]:
    """(calls, floor) of one sweep: WorkSpaces, DynamoDB and EventBridge requests together."""
    return _sum(sweep, SWEEP_CALLS, "value"), _sum(sweep, SWEEP_CALLS, "floor")


def wave_calls_per_hire(wave: Mapping[str, Figure], hires: int) -> tuple[float, float]:
    """(calls, floor) per hire: WorkSpaces and EventBridge calls plus DynamoDB requests."""
    dynamodb = wave["dynamodb_requests_per_hire"]
    value = _sum(wave, WAVE_CALLS, "value") / hires + float(dynamodb["value"] or 0)
    floor = _sum(wave, WAVE_CALLS, "floor") / hires + float(dynamodb["floor"] or 0)
    return value, floor


def _growth(values: list[float]) -> float | None:
    """Largest value over the first (smallest fleet's) value."""
    if not values or values[0] <= 0:
        return None
    return max(values) / values[0]


def figures(by_size: Mapping[int, Mapping[str, Any]]) -> dict[str, Figure]:
    """`by_size`: fleet size -> the result of bench.fleet.run at that size."""
    result: dict[str, Figure] = {}
    sweep_per_desk: list[float] = []
    cpu_per_desk: list[float] = []
    wave_per_hire: list[float] = []
    for desks in sorted(by_size):
        run = by_size[desks]
        sweep, wave, hires = run["figures"]["sweep"], run["figures"]["wave"], int(run["details"]["wave"])
        calls, floor = sweep_calls(sweep)
        result[f"sweep_{desks}_calls_per_1000_desks"] = figure(
            calls * 1000 / desks, floor=floor * 1000 / desks, target=CALL_TARGET, unit="calls/1000 desks"
        )
        cpu = float(sweep["handler_cpu_ms_per_1000_desks"]["value"])
        result[f"sweep_{desks}_cpu_ms_per_1000_desks"] = figure(cpu, unit="ms/1000 desks", timed=True)
        per_hire, per_hire_floor = wave_calls_per_hire(wave, hires)
        result[f"onboarding_{desks}_calls_per_hire"] = figure(
            per_hire,
            floor=per_hire_floor,
            target=CALL_TARGET,
            unit="calls/hire",
            note=f"{hires} hires into a fleet of {desks:,} desks",
        )
        sweep_per_desk.append(calls / desks)
        cpu_per_desk.append(cpu)
        wave_per_hire.append(per_hire)
    sizes = ", ".join(f"{d:,}" for d in sorted(by_size))
    unit = "x smallest fleet's"
    result["sweep_calls_per_desk_growth"] = figure(
        _growth(sweep_per_desk), floor=1.0, target=CALL_TARGET, unit=unit, note=f"fleets of {sizes}"
    )
    result["onboarding_calls_per_hire_growth"] = figure(
        _growth(wave_per_hire), floor=1.0, target=CALL_TARGET, unit=unit, note=f"fleets of {sizes}"
    )
    result["sweep_cpu_per_desk_growth"] = figure(
        _growth(cpu_per_desk), unit=unit, note="CPU: informational", timed=True
    )
    return result
