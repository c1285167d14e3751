"""python -m bench [--smoke] [--only NAME] [--jobs N] [--out PATH]

Runs the benchmarks on the local cloud (moto + the WorkSpaces emulator, in-process), prints the figures and writes
bench/results.json (bench/results-smoke.json with --smoke). Each benchmark runs in its own process (one local
cloud world per process), up to --jobs at a time; the cold-start measurement runs last, alone, so that the other
benchmarks do not slow its timings. docs/performance.md explains every figure.

Exit status: 0 every figure holds its target; 1 a figure misses it (with --smoke, durations never count: CI runs
the smoke pass only to prove the benchmarks work); 2 a benchmark failed to run, or bad arguments.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import figures as fig

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.json"
SMOKE_RESULTS = ROOT / "bench" / "results-smoke.json"
# Sections in the order of docs/performance.md.
SECTIONS = (
    "onboarding",
    "sweep",
    "triage",
    "prewarm",
    "cold_start",
    "package_size",
    "growth",
    "optimizer",
    "billing",
    "local_cloud",
)
ALIASES = {
    "package_size": "cold_start",
    "cold-start": "cold_start",
    "coldstart": "cold_start",
    "fleet": "sweep",
    "localcloud": "local_cloud",
    "local-cloud": "local_cloud",
}
VERSIONED = ("boto3", "botocore", "moto", "aws-lambda-powertools", "pydantic", "time-machine", "aws-sam-translator")


@dataclass(frozen=True)
class Sizes:
    hires: int  # onboarding wave (half of them shift agents: the pre-warm fleet)
    sweep: int  # desks of the sweep
    wave: int  # hires onboarded into each growth fleet
    growth: tuple[int, ...]  # fleet sizes
    triage: int  # desks of the directory
    optimizer: int  # desks for bench.optimizer_bench.run
    billing: int  # desks of the simulated month (bench.billing_bench.run)
    coldstart_runs: int
    coldstart_warmup: bool
    local_cloud: tuple[int, int, int]  # desks, simulated hours, hours of the baseline slice (bench/local_cloud.py)
    # The billing section's accuracy and savings targets hold for the full run's fleet; the smoke pass only shows
    # that the benchmark runs (its 40 desks are too few for per-desk targets to mean anything).
    billing_targets: bool = True


FULL = Sizes(2_000, 10_000, 250, (1_000, 10_000, 50_000), 1_000, 10_000, 300, 5, True, (300, 7 * 24, 24))
SMOKE = Sizes(50, 200, 25, (100, 200, 400), 100, 100, 40, 1, False, (30, 3, 1), billing_targets=False)
MONTH_HOURS = 30 * 24
LOCAL_CLOUD_TARGETS = {"ratio": 10, "month_minutes": 5, "peak_rss_mb": 1024}


# --- one task (in a child process) ----------------------------------------------------------------------------


def run_task(spec: str) -> dict[str, Any]:
    """`onboarding:N`, `fleet:N:WAVE`, `triage:N`, `optimizer:N`, `coldstart:RUNS:WARMUP`, `localcloud:FAST:N:H`."""
    kind, *args = spec.split(":")
    numbers = [int(a) for a in args]
    if kind == "onboarding":
        from bench import onboarding

        return onboarding.run(numbers[0])
    if kind == "fleet":
        from bench import fleet

        return fleet.run(numbers[0], numbers[1])
    if kind == "triage":
        from bench import triage

        return triage.run(numbers[0])
    if kind == "optimizer":
        return optimizer(numbers[0])
    if kind == "billing":
        return billing(numbers[0], targets=bool(numbers[1]))
    if kind == "coldstart":
        from bench import coldstart

        return coldstart.run(numbers[0], warmup=bool(numbers[1]))
    if kind == "localcloud":
        from bench import local_cloud

        slice_hours = numbers[3] if len(numbers) > 3 else None
        return {"local_cloud_run": local_cloud.run(bool(numbers[0]), numbers[1], numbers[2], slice_hours)}
    raise SystemExit(f"bench: unknown task {spec!r}")


def optimizer(desks: int) -> dict[str, Any]:
    """bench/optimizer_bench.py (issue 10) in this document's shape: ratio = calls / floor."""
    from bench import optimizer_bench

    result = optimizer_bench.run(desks)
    return {
        "figures": {
            "optimizer": {
                "get_metric_data_calls": fig.figure(
                    result["value"],
                    floor=fig.calls_floor(desks, 500),
                    baseline=result["baseline"],
                    target=1.0,
                    unit="calls",
                    note="a day of UserConnected for every desk, 500 series a call; baseline: one call per desk",
                )
            }
        },
        "details": {"optimizer": {"desks": desks, "as_reported": result}},
    }


def billing(desks: int, *, targets: bool = True) -> dict[str, Any]:
    """bench/billing_bench.py (issue 19): the optimiser against the bill, beside AWS's Cost Optimizer rule."""
    from bench import billing_bench

    result = billing_bench.run(desks)
    ours, theirs = "ours", "cost_optimizer"
    co_any = result["cost_optimizer_hours_error_any_hourly_desk"]
    return {
        "figures": {
            "billing": {
                "hours_error_worst_desk": fig.figure(
                    result["hours_error_max"][ours],
                    baseline=result["hours_error_max"][theirs],
                    limit=0.01 if targets else None,
                    unit="relative error",
                    note="month-end billable-hours estimate against the meter, worst desk; "
                    "baseline: the Cost Optimizer's rule, on the desks it left hourly (on every desk starting the "
                    f"month hourly, against its bill left hourly: {co_any:.3f})",
                ),
                "saving_short_of_oracle": fig.figure(
                    result["shortfall"][ours],
                    baseline=result["shortfall"][theirs],
                    limit=0.05 if targets else None,
                    unit="share of the oracle's saving missed",
                    note=f"oracle {result['saving']['oracle']}, ours {result['saving'][ours]}, "
                    f"Cost Optimizer {result['saving'][theirs]} (meter, one simulated month)",
                ),
                "desks_made_more_expensive": fig.figure(
                    result["more_expensive"][ours],
                    baseline=result["more_expensive"][theirs],
                    limit=0 if targets else None,
                    unit="desks",
                    note="billed more than doing nothing; baseline: the Cost Optimizer's rule",
                ),
            }
        },
        "details": {"billing": result},
    }


# --- planning and running -------------------------------------------------------------------------------------


def plan(sizes: Sizes, wanted: set[str]) -> list[str]:
    """Task specs, the longest first (they run in parallel); the cold start last (it runs alone)."""
    tasks: list[str] = []
    fleets: set[int] = set()
    if "sweep" in wanted:
        fleets.add(sizes.sweep)
    if "growth" in wanted:
        fleets.update(sizes.growth)
    ordered = sorted(fleets, reverse=True)
    if ordered:
        tasks.append(f"fleet:{ordered[0]}:{sizes.wave}")
    if wanted & {"onboarding", "prewarm"}:
        tasks.append(f"onboarding:{sizes.hires}")
    tasks += [f"fleet:{n}:{sizes.wave}" for n in ordered[1:]]
    if "triage" in wanted:
        tasks.append(f"triage:{sizes.triage}")
    if "optimizer" in wanted:
        tasks.append(f"optimizer:{sizes.optimizer}")
    if "billing" in wanted:
        tasks.append(f"billing:{sizes.billing}:{int(sizes.billing_targets)}")
    if "local_cloud" in wanted:
        desks, hours, slice_hours = sizes.local_cloud
        # The baseline runs the first `slice_hours` only (the week on moto's own path is half an hour of CPU); the
        # fast run reports the same slice apart. Started first: it is the longer per simulated hour.
        tasks += [f"localcloud:0:{desks}:{slice_hours}", f"localcloud:1:{desks}:{hours}:{slice_hours}"]
    if "cold_start" in wanted:
        tasks.append(f"coldstart:{sizes.coldstart_runs}:{int(sizes.coldstart_warmup)}")
    return tasks


@dataclass
class Outcome:
    spec: str
    ok: bool
    wall_s: float
    cpu_s: float | None = None
    result: dict[str, Any] | None = None
    error: str | None = None


def _log(message: str, started: float) -> None:
    print(f"bench [{time.perf_counter() - started:6.0f}s] {message}", file=sys.stderr, flush=True)


def run_tasks(specs: Sequence[str], jobs: int, started: float) -> dict[str, Outcome]:
    """Each task in a child process (`python -m bench --task SPEC`), up to `jobs` at a time; cold start alone."""
    outcomes: dict[str, Outcome] = {}
    parallel = [s for s in specs if not s.startswith("coldstart:")]
    alone = [s for s in specs if s.startswith("coldstart:")]
    with tempfile.TemporaryDirectory(prefix="bench-tasks-") as folder:
        running: dict[str, tuple[subprocess.Popen[bytes], float, Path, Path]] = {}
        queue = list(parallel)

        def launch(spec: str) -> None:
            out = Path(folder) / f"{spec.replace(':', '_')}.json"
            log = Path(folder) / f"{spec.replace(':', '_')}.log"
            with log.open("wb") as stream:
                process = subprocess.Popen(
                    [sys.executable, "-m", "bench", "--task", spec, "--task-out", str(out)],
                    cwd=ROOT,
                    stdout=stream,
                    stderr=subprocess.STDOUT,
                )
            running[spec] = (process, time.perf_counter(), out, log)
            _log(f"started {spec}", started)

        def collect(spec: str) -> None:
            process, began, out, log = running.pop(spec)
            wall = time.perf_counter() - began
            if process.returncode == 0 and out.exists():
                document = json.loads(out.read_text(encoding="utf-8"))
                outcomes[spec] = Outcome(spec, True, wall, document.pop("cpu_s", None), document)
                _log(f"done {spec} in {wall:.0f}s", started)
            else:
                tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-15:]
                outcomes[spec] = Outcome(spec, False, wall, error="\n".join(tail))
                _log(f"FAILED {spec} after {wall:.0f}s:\n  " + "\n  ".join(tail), started)

        for batch, width in ((queue, max(1, jobs)), (alone, 1)):
            pending = list(batch)
            while pending or running:
                while pending and len(running) < width:
                    launch(pending.pop(0))
                time.sleep(0.2)
                for spec in [s for s, (p, *_) in running.items() if p.poll() is not None]:
                    collect(spec)
    return outcomes


# --- the document ---------------------------------------------------------------------------------------------


def _git() -> dict[str, Any]:
    def git(*args: str) -> str:
        completed = subprocess.run(
            ["git", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        return completed.stdout.strip()

    return {"commit": git("rev-parse", "HEAD") or None, "dirty": bool(git("status", "--porcelain"))}


def _memory_gb() -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as meminfo:
            kb = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:"))
    except (OSError, StopIteration):
        return None
    return round(kb / 1024 / 1024, 1)


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpus": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "python": platform.python_version(),
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def assemble(
    outcomes: dict[str, Outcome], sizes: Sizes, wanted: set[str]
) -> tuple[dict[str, dict[str, fig.Figure]], dict[str, Any]]:
    """Sections of figures (and their details) from the tasks' results."""
    from bench import growth

    sections: dict[str, dict[str, fig.Figure]] = {}
    details: dict[str, Any] = {}
    fleets: dict[int, dict[str, Any]] = {}
    local_runs: dict[bool, dict[str, Any]] = {}
    for spec, outcome in outcomes.items():
        if outcome.result is None:
            continue
        kind, *args = spec.split(":")
        if kind == "fleet":
            fleets[int(args[0])] = outcome.result
            continue
        if kind == "localcloud":
            local_runs[args[0] == "1"] = outcome.result["local_cloud_run"]
            continue
        for section, named in outcome.result["figures"].items():
            sections[section] = named
        details.update(outcome.result.get("details", {}))
    if "sweep" in wanted and sizes.sweep in fleets:
        sections["sweep"] = fleets[sizes.sweep]["figures"]["sweep"]
        details["sweep"] = fleets[sizes.sweep]["details"]
    if "growth" in wanted and all(n in fleets for n in sizes.growth):
        sections["growth"] = growth.figures({n: fleets[n] for n in sizes.growth})
        details["growth"] = {str(n): fleets[n]["details"] for n in sizes.growth if n != sizes.sweep}
    if "local_cloud" in wanted and set(local_runs) == {True, False}:
        sections["local_cloud"] = local_cloud_figures(local_runs[True], local_runs[False])
        details["local_cloud"] = {"fast": local_runs[True], "baseline": local_runs[False]}
    ordered = {name: sections[name] for name in SECTIONS if name in sections and _shown(name, wanted)}
    return ordered, details


def local_cloud_figures(fast: dict[str, Any], baseline: dict[str, Any]) -> dict[str, fig.Figure]:
    """The local cloud's speed beside moto's own path (same scenario, same run), the month, the memory.

    The baseline may have run a first slice of the fast run's hours only: the ratios then compare that slice."""
    same = fast if baseline["hours"] == fast["hours"] else fast.get("slice")
    if same is None or same["hours"] != baseline["hours"]:
        raise ValueError(f"the baseline ran {baseline['hours']} hours: the fast run has no slice of that length")
    desk_hours = fast["desk_hours"]
    month_minutes = fast["wall_s"] / fast["hours"] * MONTH_HOURS / 60
    size = f"{fast['desks']} desks for {fast['hours']:g} hours"
    compared = f"{fast['desks']} desks, the first {baseline['hours']:g} hours (Monday: the logins included)"
    return {
        "desk_hours_per_s": fig.figure(
            desk_hours / fast["wall_s"],
            baseline=baseline["desk_hours"] / baseline["wall_s"],
            unit="desk-hours/s",
            note=f"{size}, wall clock; baseline: LOCALCLOUD_FAST=0 (moto's and botocore's own code) over "
            f"{compared}; ratio = times faster",
            timed=True,
        ),
        "cpu_s_per_1000_desk_hours": fig.figure(
            same["cpu_s"] / same["desk_hours"] * 1000,
            baseline=baseline["cpu_s"] / baseline["desk_hours"] * 1000,
            target=1 / LOCAL_CLOUD_TARGETS["ratio"],
            unit="s",
            note=f"CPU, not wall: both runs share the machine; {compared} on both paths; target: at least 10 "
            "times less than the baseline",
            timed=True,
        ),
        "cpu_s_per_1000_desk_hours_week": fig.figure(
            fast["cpu_s"] / desk_hours * 1000,
            unit="s",
            note=f"CPU of the fast path over {size} (weekend included: sweeps, no logins); informational",
            timed=True,
        ),
        "month_minutes": fig.figure(
            month_minutes,
            limit=LOCAL_CLOUD_TARGETS["month_minutes"],
            unit="min",
            note=f"a month (30 days) of the fleet at the measured wall-clock rate of {size}",
            timed=True,
        ),
        "month_cpu_minutes": fig.figure(
            fast["cpu_s"] / fast["hours"] * MONTH_HOURS / 60,
            unit="min",
            note="the same month in CPU minutes (what it takes on an idle machine); informational",
            timed=True,
        ),
        "peak_rss_mb": fig.figure(
            fast["peak_rss_mb"],
            baseline=baseline["peak_rss_mb"],
            limit=LOCAL_CLOUD_TARGETS["peak_rss_mb"],
            unit="MB",
            note=f"peak resident set of the process (getrusage ru_maxrss) over {size}; baseline: over {compared}",
        ),
    }


def _shown(section: str, wanted: set[str]) -> bool:
    return section in wanted or (section == "package_size" and "cold_start" in wanted)


# --- command line ---------------------------------------------------------------------------------------------


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[1])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, bench/results-smoke.json, under a minute")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"run only these sections (repeatable, or comma-separated): {', '.join(SECTIONS)}; "
        "results are written only with --out",
    )
    parser.add_argument("--jobs", type=int, default=min(3, os.cpu_count() or 1), help="benchmarks run in parallel")
    parser.add_argument("--out", type=Path, help="where to write the results document")
    parser.add_argument("--task", help=argparse.SUPPRESS)
    parser.add_argument("--task-out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _wanted(only: list[str] | None) -> set[str]:
    if not only:
        return set(SECTIONS)
    names = {ALIASES.get(n.strip(), n.strip()) for item in only for n in item.split(",") if n.strip()}
    unknown = names - set(SECTIONS)
    if unknown:
        print(f"bench: unknown section(s) {', '.join(sorted(unknown))} (known: {', '.join(SECTIONS)})", file=sys.stderr)
        raise SystemExit(2)
    return names


def child(spec: str, out: Path) -> int:
    result = run_task(spec)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 1)
    out.write_text(json.dumps(result), encoding="utf-8")
    return 0


def main(argv: Sequence[str] | None = None, *, echo: Callable[[Any], None] | None = None) -> int:
    args = parse(argv)
    if args.task:
        return child(args.task, args.task_out)
    wanted = _wanted(args.only)
    sizes = SMOKE if args.smoke else FULL
    started_at = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    about = {"machine": machine(), "versions": versions(), "git": _git()}
    outcomes = run_tasks(plan(sizes, wanted), args.jobs, started)
    sections, details = assemble(outcomes, sizes, wanted)
    duration = time.perf_counter() - started
    timed = not args.smoke
    missed = fig.missed(sections, timed=timed)
    document = {
        "schema": 1,
        "mode": "smoke" if args.smoke else "full",
        "sections": sorted(wanted, key=SECTIONS.index),
        "generated_at": started_at.isoformat(timespec="seconds"),
        "duration_s": round(duration, 1),
        **about,
        "sizes": asdict(sizes),
        "tasks": {
            o.spec: {"ok": o.ok, "wall_s": round(o.wall_s, 1), "cpu_s": o.cpu_s, "error": o.error}
            for o in outcomes.values()
        },
        "missed": missed,
        "figures": sections,
        "details": details,
    }
    out = args.out or (None if args.only else SMOKE_RESULTS if args.smoke else RESULTS)
    if out is not None:
        out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")

    from rich.console import Console

    console = Console() if sys.stdout.isatty() else Console(width=170)
    show = echo or console.print
    title = f"WorkSpaces Autopilot benchmarks ({document['mode']}, {duration:.0f}s)"
    show(fig.render_table(sections, title, timed=timed))
    failed = [o for o in outcomes.values() if not o.ok]
    for outcome in failed:
        show(f"[bold red]benchmark {outcome.spec} failed[/]:\n{outcome.error}")
    if missed:
        show(f"[bold red]{len(missed)} figure(s) miss their target[/]: {', '.join(missed)}")
    if out is not None:
        show(f"written: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    if failed:
        return 2
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
