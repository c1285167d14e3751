"""The benchmark figures' format and ratio logic (bench/figures.py, bench/growth.py, bench/capacity.py).
Nothing here is timed: the benchmarks themselves run with `make bench`."""

from __future__ import annotations

from typing import Any

import pytest

from bench import growth
from bench.capacity import item_size, value_size, write_units
from bench.figures import calls_floor, figure, flatten, missed, misses, rows, skipped, status


# --- figures ---------------------------------------------------------------------------------------------------
def test_ratio_is_the_value_over_the_floor() -> None:
    fig = figure(84, floor=80, target=1.05, unit="calls")
    assert fig == {"value": 84, "floor": 80, "baseline": None, "ratio": 1.05, "target": 1.05, "unit": "calls"}


def test_without_a_floor_the_ratio_is_over_the_baseline_then_the_limit() -> None:
    assert figure(450.0, baseline=300.0, target=1.5, unit="ms")["ratio"] == 1.5
    assert figure(9.75, limit=15.0, unit="MB")["ratio"] == 0.65


def test_a_floor_beside_a_baseline_says_how_many_times_cheaper_than_the_other_way() -> None:
    fig = figure(2, floor=2, baseline=1000, target=1.0, unit="calls")
    assert fig["ratio"] == 1.0
    assert fig["baseline_ratio"] == 500.0


def test_no_reference_means_no_ratio() -> None:
    assert figure(12.5, unit="ms/hire")["ratio"] is None
    assert figure(3, floor=0, unit="calls")["ratio"] is None


def test_a_figure_at_its_target_holds_and_one_above_misses() -> None:
    assert not misses(figure(84, floor=80, target=1.05, unit="calls"))
    assert misses(figure(85, floor=80, target=1.05, unit="calls"))


def test_a_figure_without_a_target_is_informational_and_never_misses() -> None:
    fig = figure(1_000_000, baseline=1, unit="ms")
    assert not misses(fig)
    assert status(fig) == "info"


def test_a_limit_is_missed_only_above_it() -> None:
    assert not misses(figure(15.0, limit=15.0, unit="MB"))
    assert misses(figure(15.1, limit=15.0, unit="MB"))
    assert misses(figure(0.5, limit=0.0, unit="MB"))
    assert not misses(figure(0.0, limit=0.0, unit="MB"))


def test_a_skipped_figure_never_misses_and_says_why() -> None:
    fig = skipped("no .aws-sam/build: run `make build` first", unit="MB", limit=15.0)
    assert not misses(fig)
    assert fig["value"] is None
    assert status(fig) == "skipped"


def test_a_duration_misses_only_when_timings_count() -> None:
    slow = figure(800.0, baseline=300.0, target=1.5, unit="ms", timed=True)
    assert misses(slow)
    assert not misses(slow, timed=False)
    assert status(slow, timed=False) == "miss (timed: not failing)"
    calls = figure(90, floor=80, target=1.05, unit="calls")
    assert misses(calls, timed=False)


def test_calls_floor_rounds_a_partial_batch_up_and_nothing_needs_no_call() -> None:
    assert calls_floor(2000, 25) == 80
    assert calls_floor(2001, 25) == 81
    assert calls_floor(1, 500) == 1
    assert calls_floor(0, 25) == 0


def test_missed_names_each_figure_by_section_and_name() -> None:
    sections = {
        "onboarding": {"create": figure(81, floor=80, target=1.05, unit="calls")},
        "sweep": {
            "describe": figure(500, floor=400, target=1.05, unit="calls"),
            "cpu": figure(900.0, baseline=300.0, target=1.5, unit="ms", timed=True),
        },
    }
    assert [name for name, _ in flatten(sections)] == ["onboarding.create", "sweep.describe", "sweep.cpu"]
    assert missed(sections) == ["sweep.describe", "sweep.cpu"]
    assert missed(sections, timed=False) == ["sweep.describe"]


def test_table_rows_show_the_reference_the_target_and_the_status() -> None:
    sections = {"triage": {"calls": figure(2, floor=2, baseline=1000, target=1.0, unit="calls")}}
    [row] = list(rows(sections))
    assert row == ["triage.calls", "2", "floor 2 / baseline 1,000", "1", "≤ 1", "calls", "ok"]


def test_a_figure_with_a_baseline_and_a_limit_shows_its_limit_as_the_target() -> None:
    # The billing figures: ours beside the Cost Optimizer's rule (baseline), held to a limit on the value.
    sections = {"billing": {"short": figure(0.028, baseline=0.556, limit=0.05, unit="share")}}
    [row] = list(rows(sections))
    assert row == ["billing.short", "0.028", "baseline 0.556", "0.05", "value ≤ 0.05", "share", "ok"]


# --- growth ------------------------------------------------------------------------------------------------------
def _fleet(desks: int, *, describe: int, hires: int = 10, dynamodb_per_hire: float = 8.0) -> dict[str, Any]:
    floor_describe = calls_floor(desks, 25)
    sweep = {
        "describe_workspaces_calls": figure(describe, floor=floor_describe, unit="calls"),
        "connection_status_calls": figure(floor_describe, floor=floor_describe, unit="calls"),
        "dynamodb_reads": figure(calls_floor(desks, 100), floor=calls_floor(desks, 100), unit="requests"),
        "dynamodb_writes": figure(desks // 100, floor=desks // 100, unit="requests"),
        "put_events_calls": figure(calls_floor(desks // 100, 10), floor=calls_floor(desks // 100, 10), unit="calls"),
        "handler_cpu_ms_per_1000_desks": figure(100.0, unit="ms/1000 desks"),
    }
    wave = {
        "create_workspaces_calls": figure(1, floor=1, unit="calls"),
        "describe_workspaces_calls": figure(1, floor=1, unit="calls"),
        "put_events_calls": figure(1, floor=1, unit="calls"),
        "dynamodb_requests_per_hire": figure(dynamodb_per_hire, floor=8.0, unit="requests/hire"),
    }
    return {"figures": {"sweep": sweep, "wave": wave}, "details": {"wave": hires}}


def test_linear_fleets_grow_by_exactly_one() -> None:
    result = growth.figures({n: _fleet(n, describe=calls_floor(n, 25)) for n in (1000, 10_000, 50_000)})
    assert result["sweep_calls_per_desk_growth"]["value"] == 1.0
    assert result["onboarding_calls_per_hire_growth"]["value"] == 1.0
    assert not missed({"growth": result})


def test_a_listing_that_grows_faster_than_the_fleet_misses() -> None:
    fleets = {1000: _fleet(1000, describe=40), 10_000: _fleet(10_000, describe=800)}
    result = growth.figures(fleets)
    assert result["sweep_calls_per_desk_growth"]["value"] > 1.05
    assert "growth.sweep_calls_per_desk_growth" in missed({"growth": result})
    assert "growth.sweep_10000_calls_per_1000_desks" in missed({"growth": result})


def test_a_partial_batch_in_the_smallest_fleet_is_not_growth() -> None:
    # 110 desks: the last page of DescribeWorkspaces holds 10 desks, so the small fleet pays more per desk.
    fleets = {110: _fleet(110, describe=5), 1100: _fleet(1100, describe=44)}
    result = growth.figures(fleets)
    assert result["sweep_calls_per_desk_growth"]["value"] == pytest.approx(1.0)


def test_onboarding_that_costs_more_per_hire_in_a_larger_fleet_misses() -> None:
    fleets = {1000: _fleet(1000, describe=40), 50_000: _fleet(50_000, describe=2000, dynamodb_per_hire=12.0)}
    result = growth.figures(fleets)
    assert result["onboarding_calls_per_hire_growth"]["value"] > 1.05


# --- DynamoDB capacity ------------------------------------------------------------------------------------------
def test_item_size_counts_attribute_names_and_values() -> None:
    item: dict[str, dict[str, Any]] = {"pk": {"S": "DESK#E1"}, "version": {"N": "12"}, "gone": {"BOOL": True}}
    assert item_size(item) == (2 + 7) + (7 + 2) + (4 + 1)


def test_maps_and_lists_carry_three_bytes_plus_one_per_element() -> None:
    assert value_size({"L": [{"S": "ab"}, {"NULL": True}]}) == 3 + (1 + 2) + (1 + 1)
    assert value_size({"M": {"k": {"S": "v"}}}) == 3 + 1 + 1 + 1


def test_a_write_costs_one_unit_per_started_kilobyte_of_the_larger_item() -> None:
    assert write_units(0, 10) == 1
    assert write_units(1024, 0) == 1
    assert write_units(900, 1025) == 2
    assert write_units(3000, 100) == 3
