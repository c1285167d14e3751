"""The static gates on a SAM template, all offline; zero findings or a non-zero exit. `make lint` runs them on
template.yaml and tests/contract/test_gates.py on deliberately broken copies.

1. cfn-lint on the SAM template (the project's cfn-lint).
2. SAM transform offline (aws-sam-translator) -> expanded template; translator errors are findings.
3. cfn-lint on the expanded template: ranges of the generated EventInvokeConfig, rule targets, schedules.
4. cfn-lint serverless rules (cfn-lint-serverless, tools venv) on the SAM template.
5. checkov on the expanded template (tools venv; skips are justified in the template's Metadata).
6. The project's template rules (tools/template_rules.py) on the expanded template.
7. The IAM database (tools/iam_gate.py: parliament) over every identity and resource policy of the expanded
   template and every JSON policy file under iam/.

    python -m tools.gates [template.yaml] [--out .aws-sam/expanded.json] [--tools-venv .venv-tools]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from samtranslator.model.exceptions import InvalidDocumentException

from tools import iam_gate, template_rules
from tools.expand_template import write_expanded

ROOT = Path(__file__).resolve().parent.parent
TOOLS_VENV = ROOT / ".venv-tools"


@dataclass(frozen=True)
class GateResult:
    name: str
    ok: bool
    output: str


def _project_cfn_lint() -> str:
    beside = Path(sys.executable).parent / "cfn-lint"
    return str(beside) if beside.exists() else shutil.which("cfn-lint") or "cfn-lint"


def _run(name: str, command: list[str]) -> GateResult:
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "eu-west-1")}
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)  # noqa: S603
    output = (completed.stdout + completed.stderr).strip()
    return GateResult(name, completed.returncode == 0, f"$ {' '.join(command)}\n{output}".strip())


def tools_venv_ready(tools_venv: Path = TOOLS_VENV) -> bool:
    return (tools_venv / "bin" / "checkov").exists() and (tools_venv / "bin" / "cfn-lint").exists()


def run_gates(
    template: Path, out: Path, tools_venv: Path = TOOLS_VENV, iam_dir: Path = iam_gate.IAM_DIR
) -> list[GateResult]:
    if not tools_venv_ready(tools_venv):
        raise FileNotFoundError(f"{tools_venv} has no checkov/cfn-lint: run `make tools-venv` first")
    tools_bin = tools_venv / "bin"
    # The checkers are separate processes: run them side by side, report them in a fixed order.
    with ThreadPoolExecutor(max_workers=4) as pool:
        pending: list[Future[GateResult]] = [
            pool.submit(_run, "cfn-lint (SAM template)", [_project_cfn_lint(), str(template)]),
            # The template path comes before -a: the option takes several values and would swallow it.
            pool.submit(
                _run,
                "cfn-lint serverless rules",
                [str(tools_bin / "cfn-lint"), str(template), "-a", "cfn_lint_serverless.rules"],
            ),
        ]
        try:
            expanded = write_expanded(template, out)
        except InvalidDocumentException as exc:  # the translator refused the template: a finding of this gate
            transform = GateResult("SAM transform", False, f"{type(exc).__name__}: {exc}")
            return [pending[0].result(), transform, pending[1].result()]
        transform = GateResult("SAM transform", True, f"{template} -> {expanded}")
        pending.append(pool.submit(_run, "cfn-lint (expanded)", [_project_cfn_lint(), str(expanded)]))
        checkov = [str(tools_bin / "checkov"), "-f", str(expanded), "--framework", "cloudformation"]
        pending.append(pool.submit(_run, "checkov (expanded)", [*checkov, "--skip-download", "--quiet", "--compact"]))
        rules, iam = project_gates(json.loads(expanded.read_text(encoding="utf-8")), iam_dir)
        first, serverless, expanded_lint, checkov_result = (future.result() for future in pending)
    return [first, transform, serverless, expanded_lint, checkov_result, rules, iam]


def project_gates(document: dict[str, Any], iam_dir: Path = iam_gate.IAM_DIR) -> list[GateResult]:
    """Gates 6 and 7, the project's own, on the SAM-expanded template (no external tool: no tools venv)."""
    findings = template_rules.check(document)
    lines = [f"{rule}: {item}" for rule, items in findings.items() for item in items]
    rules = GateResult("template rules", not findings, "\n".join(lines) or "no findings")
    iam_findings = iam_gate.check(document, iam_dir=iam_dir)
    iam = GateResult("IAM database (parliament)", not iam_findings, "\n".join(iam_findings) or "no findings")
    return [rules, iam]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("template", nargs="?", type=Path, default=ROOT / "template.yaml")
    parser.add_argument("--out", type=Path, default=ROOT / ".aws-sam" / "expanded.json")
    parser.add_argument("--tools-venv", type=Path, default=TOOLS_VENV)
    args = parser.parse_args(argv)
    results = run_gates(args.template, args.out, args.tools_venv)
    for result in results:
        print(f"== {result.name}: {'ok' if result.ok else 'FAILED'}")
        if not result.ok:
            print(result.output)
    failed = [result.name for result in results if not result.ok]
    if failed:
        print(f"static gates FAILED: {', '.join(failed)} ({len(failed)} of {len(results)})")
        return 1
    print(f"static gates clean ({len(results)} of {len(results)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
