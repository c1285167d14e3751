"""Cold start: import time and peak memory of each handler module in a fresh interpreter, beside a bare Powertools
handler (bench/bare_handler.py) measured the same way; and the size of each function and of the layer that
`sam build` produced.

Each measurement is a new `python -c` process that imports one module between two `time.perf_counter()` readings;
peak memory is the growth of the process's peak resident set (VmHWM in /proc/self/status) across the import. Runs are
interleaved (bare, every handler, bare, ...), so a busy machine slows all of them alike; the median of the runs is
kept. The interpreter's own start-up is not counted.

With `.aws-sam/build` present, the modules are imported the way Lambda imports them: the function's directory from
the build (our code with the bytecode functions/Makefile compiles ahead), then the layer's packages (the same files
as the built layer, taken from the local virtual environment so that the binaries suit this machine; no bytecode:
the layer ships none), then boto3/botocore from the environment (the runtime provides them, compiled).
PYTHONDONTWRITEBYTECODE is set: as in Lambda's read-only task directory, what ships without bytecode (the layer,
the bare handler) is compiled at every cold start. Without a build, the modules are imported from the source tree
and the virtual environment (compiled bytecode present), which is noted in the figures.
Tracing is on (`Tracing: Active`), so Powertools' Tracer patches botocore at import for the bare handler too.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.figures import Figure, figure, skipped
from localcloud.world import expanded_template

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / ".aws-sam" / "build"
LAYER = "DepsLayer"
BARE = "bare_handler"
MIB = 1024 * 1024
IMPORT_TARGET = 1.5
PACKAGE_LIMIT_MB = 15.0
# What the Lambda Python runtime provides (layers/deps/Makefile removes these from the layer).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six.py")

CHILD = """
import importlib, json, resource, sys, time


def peak_kb():
    # VmHWM: this process's peak resident set (ru_maxrss would carry the forking parent's peak over exec)
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


before = peak_kb()
wall, cpu = time.perf_counter(), time.process_time()
importlib.import_module(sys.argv[1])
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
grown = peak_kb() - before
print(json.dumps({"wall_ms": wall * 1000, "cpu_ms": cpu * 1000, "peak_kb": grown, "modules": len(sys.modules)}))
"""


def functions() -> dict[str, str]:
    """Logical id -> handler module, from the template."""
    resources = expanded_template()["Resources"]
    return {
        logical_id: str(resource["Properties"]["Handler"]).rpartition(".")[0]
        for logical_id, resource in sorted(resources.items())
        if resource.get("Type") == "AWS::Lambda::Function"
    }


def tree_bytes(path: Path) -> int:
    """Unzipped size: the bytes of every file under `path`."""
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file() and not item.is_symlink())


def _site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def _local_binary(source_dir: Path, built_name: str) -> Path | None:
    """The local build of an extension module the layer ships for arm64 (`_x.cpython-312-aarch64-linux-gnu.so`)."""
    stem = built_name.split(".", 1)[0]
    candidates = sorted(source_dir.glob(f"{stem}.*.so")) + sorted(source_dir.glob(f"{stem}.so"))
    return candidates[0] if candidates else None


def copy_layer(layer: Path, destination: Path) -> int:
    """The layer's file set with this machine's files (same pinned versions); returns files missing locally."""
    site = _site_packages()
    missing = 0
    for built in layer.rglob("*"):
        if not built.is_file() or "__pycache__" in built.parts or built.suffix == ".pyc":
            continue
        relative = built.relative_to(layer)
        source = site / relative
        if built.suffix == ".so":
            local = _local_binary(source.parent, built.name)
            source = local if local is not None else source
            relative = relative.parent / source.name
        if not source.is_file():
            missing += 1
            continue
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return missing


def runtime_sdk(destination: Path) -> None:
    """What the Lambda runtime puts on sys.path besides the standard library: the AWS SDK (compiled), linked
    from the virtual environment. Nothing else of the environment is visible (`python -S`)."""
    site = _site_packages()
    destination.mkdir(parents=True)
    for name in RUNTIME_PROVIDED:
        source = site / name
        if source.exists():
            (destination / name).symlink_to(source)


@contextmanager
def import_paths(functions_by_id: Mapping[str, str]) -> Iterator[tuple[dict[str, list[str]], str]]:
    """PYTHONPATH per measured module (the function ids plus `bare_handler`), and how it was laid out."""
    built_layer = BUILD / LAYER / "python"
    with tempfile.TemporaryDirectory(prefix="bench-coldstart-") as folder:
        bare_dir = Path(folder) / "bare"
        bare_dir.mkdir()
        shutil.copyfile(ROOT / "bench" / "bare_handler.py", bare_dir / "bare_handler.py")
        if built_layer.is_dir() and all((BUILD / f).is_dir() for f in functions_by_id):
            layer_dir = Path(folder) / "layer"
            missing = copy_layer(built_layer, layer_dir)
            runtime_dir = Path(folder) / "runtime"
            runtime_sdk(runtime_dir)
            paths = {f: [str(BUILD / f), str(layer_dir), str(runtime_dir)] for f in functions_by_id}
            paths[BARE] = [str(bare_dir), str(layer_dir), str(runtime_dir)]
            layout = "sam build output, as Lambda imports it (the layer without bytecode)"
            if missing:
                layout += f"; {missing} layer files not found locally"
        else:
            paths = {f: [str(ROOT / "functions")] for f in functions_by_id}
            paths[BARE] = [str(bare_dir)]
            layout = "source tree and virtual environment, compiled bytecode present (no .aws-sam/build)"
        yield paths, layout


def _environment(python_path: list[str], function_name: str, *, compiled: bool) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join(python_path),
        "PYTHONNOUSERSITE": "1",
        "LANG": "C.UTF-8",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "LAMBDA_TASK_ROOT": python_path[0],
        "POWERTOOLS_SERVICE_NAME": "workspaces-autopilot",
        "POWERTOOLS_METRICS_NAMESPACE": "WorkSpacesAutopilot",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    if not compiled:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def measure_once(module: str, python_path: list[str], function_name: str, *, compiled: bool) -> dict[str, float]:
    # Lambda's layout: only the standard library and PYTHONPATH (no site-packages of the virtual environment).
    flags = [] if compiled else ["-S"]
    completed = subprocess.run(
        [sys.executable, *flags, "-c", CHILD, module],
        env=_environment(python_path, function_name, compiled=compiled),
        capture_output=True,
        text=True,
        check=False,
        cwd=python_path[0],
    )
    if completed.returncode != 0:
        raise RuntimeError(f"importing {module} failed: {completed.stderr.strip().splitlines()[-1:]}")
    result: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def import_figures(runs: int, warmup: bool = True) -> tuple[dict[str, Figure], dict[str, Any]]:
    by_id = functions()
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in [BARE, *by_id]}
    with import_paths(by_id) as (paths, layout):
        compiled = not layout.startswith("sam build output")
        modules = {BARE: BARE, **by_id}
        for round_index in range(runs + (1 if warmup else 0)):
            for name, module in modules.items():
                result = measure_once(module, paths[name], name, compiled=compiled)
                if warmup and round_index == 0:
                    continue  # the file cache warms up
                samples[name].append(result)

    def median(name: str, key: str) -> float:
        return statistics.median(sample[key] for sample in samples[name])

    bare_ms, bare_mb = median(BARE, "wall_ms"), median(BARE, "peak_kb") / 1024
    figures: dict[str, Figure] = {
        "bare_powertools_import_ms": figure(bare_ms, unit="ms", note=f"median of {runs}; {layout}", timed=True),
        "bare_powertools_peak_mb": figure(bare_mb, unit="MB"),
    }
    for logical_id, module in by_id.items():
        short = module.rpartition(".")[2]
        figures[f"{short}_import_ms"] = figure(
            median(logical_id, "wall_ms"), baseline=bare_ms, target=IMPORT_TARGET, unit="ms", timed=True
        )
        figures[f"{short}_peak_mb"] = figure(
            median(logical_id, "peak_kb") / 1024, baseline=bare_mb, target=IMPORT_TARGET, unit="MB"
        )
    details = {
        "layout": layout,
        "runs": runs,
        "medians": {
            name: {key: round(median(name, key), 1) for key in ("wall_ms", "cpu_ms", "peak_kb", "modules")}
            for name in samples
        },
    }
    return figures, details


def package_figures() -> tuple[dict[str, Figure], dict[str, Any]]:
    by_id = functions()
    layer = BUILD / LAYER
    unit = "MB"
    if not layer.is_dir():
        reason = "no .aws-sam/build: run `make build` first"
        absent = {
            f"{logical_id}_with_layer_mb": skipped(reason, unit=unit, limit=PACKAGE_LIMIT_MB) for logical_id in by_id
        }
        absent["layer_runtime_sdk_mb"] = skipped(reason, unit=unit, limit=0.0)
        return absent, {"build": None}
    layer_bytes = tree_bytes(layer)
    newest_source = max(p.stat().st_mtime for p in (ROOT / "functions").rglob("*.py"))
    built_at = min((BUILD / f).stat().st_mtime for f in by_id if (BUILD / f).is_dir()) if by_id else 0.0
    stale = newest_source > built_at
    figures: dict[str, Figure] = {
        "layer_mb": figure(layer_bytes / MIB, unit=unit, note="unzipped; informational (each function + layer below)")
    }
    for logical_id in by_id:
        function_dir = BUILD / logical_id
        if not function_dir.is_dir():
            figures[f"{logical_id}_with_layer_mb"] = skipped(
                f"{logical_id} missing from .aws-sam/build: run `make build`", unit=unit, limit=PACKAGE_LIMIT_MB
            )
            continue
        figures[f"{logical_id}_with_layer_mb"] = figure(
            (tree_bytes(function_dir) + layer_bytes) / MIB,
            limit=PACKAGE_LIMIT_MB,
            unit=unit,
            note="stale build: sources changed since `make build`" if stale else None,
        )
    python = layer / "python"
    shipped_sdk = [
        entry
        for entry in (python.iterdir() if python.is_dir() else ())
        if entry.name in RUNTIME_PROVIDED
        or entry.name.split("-")[0] in {n.removesuffix(".py") for n in RUNTIME_PROVIDED}
    ]
    sdk_bytes = sum(tree_bytes(e) if e.is_dir() else e.stat().st_size for e in shipped_sdk)
    figures["layer_runtime_sdk_mb"] = figure(
        sdk_bytes / MIB,
        limit=0.0,
        unit=unit,
        note="boto3, botocore & co. in the layer (the runtime provides them): must be 0"
        + (f"; found {', '.join(sorted(e.name for e in shipped_sdk))}" if shipped_sdk else ""),
    )
    details = {"build": str(BUILD), "stale": stale, "layer_entries": sorted(e.name for e in python.iterdir())}
    return figures, details


def run(runs: int, warmup: bool = True) -> dict[str, Any]:
    imports, import_details = import_figures(runs, warmup)
    sizes, size_details = package_figures()
    return {
        "figures": {"cold_start": imports, "package_size": sizes},
        "details": {"cold_start": import_details, "package_size": size_details},
    }
