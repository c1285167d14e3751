"""Write the SAM-expanded template (plain CloudFormation, as AWS would deploy it) for the static gates.

python -m tools.expand_template [--template template.yaml] [--out .aws-sam/expanded.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from localcloud.template import TEMPLATE, expand

DEFAULT_OUT = Path(".aws-sam/expanded.json")


def write_expanded(template: Path = TEMPLATE, out: Path = DEFAULT_OUT) -> Path:
    expanded = expand(template)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(expanded, indent=1) + "\n", encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    print(f"expanded {args.template} -> {write_expanded(args.template, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
