"""A month of collections over N overdue loans (default 10 000), through the real use
cases — end of day, behaviour scores, case sync, assignment, the strategy's reminders,
20 agents and one agency of 10 calling through the conduct gate, promises, settlements,
hardship plans, write-offs and recoveries — then an independent audit of every contact
against the conduct rules and a verification of the ledger (every entry balanced, trial
balance zero, every loan's balances rebuilt from its postings). Prints the recovery rate
by bucket (the bucket a case opened in) and champion against challenger, as Markdown.

    .venv/bin/python bench/bench_collections_month.py                 # 10 000 loans, 30 days
    .venv/bin/python bench/bench_collections_month.py --loans 500 --days 10

Runs in a fresh database on MOBILEND_DATABASE_URL's server, else the embedded one under
var/pg, with synchronous_commit off; the database is dropped afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import os
import time

import sqlalchemy as sa

from mobilend.adapters.db import admin, migrate
from mobilend.adapters.db.engine import database_url
from mobilend.adapters.vault import FieldVault, KeyRing
from mobilend.config import get_settings
from mobilend.sim.collections_month import MonthConfig, MonthResult, run_month


def print_result(result: MonthResult) -> None:
    def table(title: str, lines: list) -> None:  # type: ignore[type-arg]
        print(f"\n{title}\n")
        print(
            "| group | cases | owed at opening (¥) | collected (¥) | recovery rate | cured or paid off | settled | written off | still open |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for line in lines:
            print(
                f"| {line.group} | {line.cases:,} | {line.owed_at_open.amount:,.2f} | {line.collected.amount:,.2f}"
                f" | {line.recovery_rate * 100:.2f}% | {line.cured:,} | {line.settled:,} | {line.written_off:,} | {line.still_open:,} |"
            )

    table("Recovery by bucket at opening", [*result.report.by_bucket, result.report.total])
    table("Champion and challenger", result.report.by_strategy)
    print("\nactivity:", dict(sorted(result.counts.items())))
    print("refused by the gate (rule: attempts, all actors):", dict(result.refusals))
    print(
        f"conduct audit: {result.audit.contacts_out:,} contacts out, violations {result.audit.violations} (total {result.audit.total})"
    )
    ledger = result.ledger
    print(
        f"ledger: {ledger.entries:,} entries, {ledger.unbalanced_entries} unbalanced, trial balance {ledger.trial_balance},"
        f" {ledger.loans_checked:,} loans rebuilt from postings, {len(ledger.loans_mismatched)} mismatched -> {'clean' if ledger.clean else 'NOT CLEAN'}"
    )
    print("timings:", {k: round(v, 1) for k, v in result.timings.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loans", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    admin_url = database_url()
    name = f"mobilend_bench_collections_{os.getpid()}"
    url = admin.create_database(admin_url, name)
    # A benchmark database: commits need not wait for the disk (nothing is at stake).
    engine = sa.create_engine(
        url, pool_size=4, connect_args={"options": "-c synchronous_commit=off"}
    )
    vault = FieldVault(KeyRing.generate("bench"), os.urandom(32))
    try:
        migrate.upgrade(url)
        started = time.perf_counter()
        result = run_month(
            engine, vault, get_settings(), MonthConfig(loans=args.loans, days=args.days, seed=args.seed),
            progress=lambda line: print(f"[{time.perf_counter() - started:7.0f}s] {line}", flush=True),
        )  # fmt: skip
        print_result(result)
    finally:
        engine.dispose()
        if not args.keep:
            admin.drop_database(admin_url, name)


if __name__ == "__main__":
    main()
