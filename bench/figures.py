"""The shape of a benchmark figure, whether it holds its target, and the table and document the run produces.

A figure is a dict: `value` (what was measured), `floor` (the least the APIs' batch limits allow) or `baseline`
(the same work done another way, measured in the same run) or `limit` (a budget), `ratio` (value / floor, else
value / baseline, else value / limit), `target` (the ratio it must not exceed; null: reported only, never fails),
`unit`, and optionally `note`, `skipped` (the reason it could not be measured) and `baseline_ratio`
(baseline / value: how many times cheaper than the other way)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

Figure = dict[str, Any]
# Ratios are rounded for display; a figure exactly at its target must not miss it by a rounding error.
EPSILON = 1e-9


def _round(value: float | None, digits: int = 3) -> float | None:
    if value is None:
        return None
    return round(value, digits)


def figure(
    value: float | None,
    *,
    unit: str,
    floor: float | None = None,
    baseline: float | None = None,
    limit: float | None = None,
    target: float | None = None,
    note: str | None = None,
    timed: bool = False,
) -> Figure:
    """A figure; `ratio` is value / floor, else value / baseline, else value / limit (None when undefined).
    `timed`: the value is a duration, so the smoke run never fails on it (a busy CI machine is not a regression)."""
    reference = next((r for r in (floor, baseline, limit) if r is not None), None)
    ratio = None if value is None or not reference else value / reference
    result: Figure = {
        "value": _round(value),
        "floor": _round(floor),
        "baseline": _round(baseline),
        "ratio": _round(ratio),
        "target": target,
        "unit": unit,
    }
    if limit is not None:
        result["limit"] = limit
    if floor is not None and baseline and value:
        result["baseline_ratio"] = _round(baseline / value, 1)
    if note:
        result["note"] = note
    if timed:
        result["timed"] = True
    return result


def skipped(reason: str, *, unit: str, target: float | None = None, limit: float | None = None) -> Figure:
    """A figure that could not be measured in this run (never a miss: the reason says what to do)."""
    result: Figure = {
        "value": None,
        "floor": None,
        "baseline": None,
        "ratio": None,
        "target": target,
        "unit": unit,
        "skipped": reason,
    }
    if limit is not None:
        result["limit"] = limit
    return result


def calls_floor(items: int, per_call: int) -> int:
    """API calls needed for `items` at `per_call` a call (0 items: no call)."""
    return math.ceil(items / per_call) if items > 0 else 0


def misses(fig: Mapping[str, Any], *, timed: bool = True) -> bool:
    """True when the figure was measured and exceeds its target ratio or its limit (`timed=False`: durations are
    never a miss)."""
    if fig.get("skipped") or fig.get("value") is None or (fig.get("timed") and not timed):
        return False
    target, ratio, limit = fig.get("target"), fig.get("ratio"), fig.get("limit")
    if target is not None and ratio is not None and ratio > target + EPSILON:
        return True
    return limit is not None and fig["value"] > limit + EPSILON


def flatten(figures: Mapping[str, Mapping[str, Figure]]) -> list[tuple[str, Figure]]:
    """`{"section": {"name": figure}}` -> `[("section.name", figure)]`, in insertion order."""
    return [(f"{section}.{name}", fig) for section, named in figures.items() for name, fig in named.items()]


def missed(figures: Mapping[str, Mapping[str, Figure]], *, timed: bool = True) -> list[str]:
    return [name for name, fig in flatten(figures) if misses(fig, timed=timed)]


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:,.1f}"
    return f"{int(value):,}"


def status(fig: Mapping[str, Any], *, timed: bool = True) -> str:
    if fig.get("skipped"):
        return "skipped"
    if misses(fig):
        return "MISS" if timed or not fig.get("timed") else "miss (timed: not failing)"
    if fig.get("target") is None and fig.get("limit") is None:
        return "info"
    return "ok"


def rows(figures: Mapping[str, Mapping[str, Figure]], *, timed: bool = True) -> Iterable[list[str]]:
    """One table row per figure: name, value, floor/baseline/limit, ratio, target, unit, status."""
    for name, fig in flatten(figures):
        if fig.get("floor") is not None:
            reference = f"floor {_number(fig['floor'])}"
            if fig.get("baseline") is not None:
                reference += f" / baseline {_number(fig['baseline'])}"
        elif fig.get("baseline") is not None:
            reference = f"baseline {_number(fig['baseline'])}"
        elif fig.get("limit") is not None:
            reference = f"limit {_number(fig['limit'])}"
        else:
            reference = "-"
        target, limit = fig.get("target"), fig.get("limit")
        # A limit holds the value itself (the ratio is then only value / reference, for reading).
        shown = "-" if limit is None else f"value ≤ {_number(limit)}"
        if target is not None:
            shown = f"≤ {_number(target)}"
        yield [
            name,
            _number(fig.get("value")),
            reference,
            _number(fig.get("ratio")),
            shown,
            str(fig.get("unit", "")),
            status(fig, timed=timed) if not fig.get("skipped") else f"skipped: {fig['skipped']}",
        ]


def render_table(figures: Mapping[str, Mapping[str, Figure]], title: str, *, timed: bool = True) -> Any:
    """A rich Table of every figure."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column, justify in (
        ("figure", "left"),
        ("value", "right"),
        ("floor / baseline", "right"),
        ("ratio", "right"),
        ("target", "right"),
        ("unit", "left"),
        ("status", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    styles = {"MISS": "bold red", "ok": "green", "info": "dim"}
    for row in rows(figures, timed=timed):
        table.add_row(*row, style=styles.get(row[-1], "yellow"))
    return table
