"""Statements and wall time of a short simulated portfolio, per phase of the day, with
the statements split by verb and table (how many times loans and installments are read
and written), and the report's ``figures`` written to a JSON file so two runs of the same
seed can be diffed (a change of the storage must not change a single figure).

    .venv/bin/python bench/bench_loan_save.py --out var/loansave-after.json
    .venv/bin/python bench/bench_loan_save.py --applicants 300 --days 120 --arrivals-within 40

Runs in a fresh database on MOBILEND_DATABASE_URL's server, else the embedded one under
var/pg (``mobilend.sim.portfolio.fresh_database``). Wall times are read against the
run's own reference, the median ``SELECT 1`` round trip measured by the simulation.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from mobilend.config import get_settings
from mobilend.sim.portfolio import fresh_database, simulate
from mobilend.sim.year import YearConfig

_TARGET = re.compile(r"^\s*(?:INSERT INTO|UPDATE|DELETE FROM)\s+(\w+)", re.I)
_SELECT_FROM = re.compile(r"\bFROM\s+(\w+)", re.I)


def statement_kind(statement: str) -> str:
    verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
    if verb in {"INSERT", "UPDATE", "DELETE"}:
        target = _TARGET.match(statement)
        return f"{verb} {target.group(1) if target else '?'}"
    if verb == "SELECT":
        source = _SELECT_FROM.search(statement)
        return f"SELECT {source.group(1) if source else '-'}"
    return verb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applicants", type=int, default=300)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--arrivals-within", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("var/bench_loan_save.json"))
    args = parser.parse_args()

    counts: collections.Counter[str] = collections.Counter()
    rows: collections.Counter[str] = collections.Counter()

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
              executemany: bool) -> None:  # fmt: skip
        kind = statement_kind(statement)
        counts[kind] += 1
        if executemany and isinstance(parameters, list | tuple):
            rows[kind] += len(parameters)
        else:
            rows[kind] += 1

    settings = get_settings()
    config = YearConfig(
        applicants=args.applicants,
        days=args.days,
        seed=args.seed,
        start=dt.date(2026, 3, 2),
        arrivals_within=args.arrivals_within,
    )
    with fresh_database(settings) as (engine, _url):
        sa.event.listen(engine, "before_cursor_execute", count)
        report = simulate(engine, settings, config)
    timing = report["timing"]
    result = {
        "figures": report["figures"],
        # Everything else the report says, timing aside: must be identical too.
        "report": {k: v for k, v in report.items() if k not in {"timing", "figures"}},
        "timing": {
            k: v for k, v in timing.items() if k.startswith(("phase.", "reference.", "total_s"))
        },
        "statements": sum(counts.values()),
        "statements_by_kind": dict(counts.most_common()),
        "rows_by_kind": {k: rows[k] for k, _ in counts.most_common()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str, sort_keys=True) + "\n")
    reference = (
        timing["reference.select_one_ms_before"] + timing["reference.select_one_ms_after"]
    ) / 2
    print(f"statements {result['statements']:,}; reference SELECT 1 {reference} ms")
    for name in sorted(k for k in timing if k.startswith("phase.")):
        print(f"  {name}: {timing[name]} s")
    for kind, n in counts.most_common(25):
        print(f"  {n:>9,}  ({rows[kind]:>9,} rows)  {kind}")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
