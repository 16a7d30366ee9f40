"""Rewrite the README's performance table from ``mobilend bench --json`` output.

    mobilend bench --json > bench.json
    python tools/readme_bench_table.py bench.json [--readme README.md]

Only the text between ``<!-- bench:begin -->`` and ``<!-- bench:end -->`` changes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mobilend.benchmarks.table import rewrite_readme

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="JSON written by `mobilend bench --json`")
    parser.add_argument("--readme", type=Path, default=REPO / "README.md")
    args = parser.parse_args()
    rewrite_readme(args.readme, json.loads(args.results.read_text()))
    print(f"{args.readme}: performance table rewritten from {args.results}")


if __name__ == "__main__":
    main()
