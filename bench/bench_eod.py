"""End-of-day throughput on PostgreSQL: accrual, fees, penalty, aging for N active loans.

Generates N twelve-month loans set-based (generate_series) in a fresh database, about a
tenth of them with an overdue installment (so penalty and aging have work to do), then
times one business date of end of day, in one process and split over two workers. For
scale it also times, on the same server and in the same run, a bare ``UPDATE`` touching
every loan once, and pgbench's simple-update workload (``-N``), so figures from different
machines can be compared as ratios.

    .venv/bin/python bench/bench_eod.py               # 100 000 loans
    .venv/bin/python bench/bench_eod.py --loans 1000000

Uses MOBILEND_DATABASE_URL's server when set, else the embedded one under var/pg.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from mobilend.adapters.db import admin, eod, migrate
from mobilend.adapters.db.embedded import pg_bin_dir
from mobilend.adapters.db.engine import database_url, libpq_url
from mobilend.benchmarks.book import BUSINESS_DATE, GENERATE

# The book's SQL lives with ``mobilend bench`` (``benchmarks/book.py``);
# ``bench_eod_scale.py`` imports it from this module.
__all__ = ["BUSINESS_DATE", "GENERATE", "count"]


def run_eod_workers(engine: sa.Engine, day: dt.date, workers: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(
            pool.map(
                lambda k: eod.run_partition(engine, day, k, workers, chunk_size=20_000),
                range(workers),
            )
        )
    elapsed = time.perf_counter() - started
    assert not any(r.skipped for r in results)
    return elapsed


def count(engine: sa.Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(sql)).scalar_one())


def pgbench_simple_update(url: str, seconds: int) -> str:
    """pgbench -N (one UPDATE + SELECT + INSERT per transaction) on its own tables."""
    binary = str(pg_bin_dir() / "pgbench")
    conninfo = libpq_url(url)
    subprocess.run([binary, "-i", "-s", "10", "-q", conninfo], check=True, capture_output=True)
    out = subprocess.run(
        [binary, "-N", "-c", "4", "-j", "2", "-T", str(seconds), conninfo],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"tps = ([\d.]+)", out)
    return match.group(1) if match else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    admin_url = database_url()
    name = f"mobilend_bench_{os.getpid()}"
    url = admin.create_database(admin_url, name)
    engine = sa.create_engine(url, pool_size=4)
    try:
        migrate.upgrade(url)
        started = time.perf_counter()
        with engine.begin() as conn:
            for statement in GENERATE:
                conn.execute(sa.text(statement), {"n": args.loans, "d": BUSINESS_DATE})
        generated = time.perf_counter() - started
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
        installments = count(engine, "SELECT count(*) FROM installments")
        overdue = count(
            engine, "SELECT count(DISTINCT loan_id) FROM installments WHERE status = 'overdue'"
        )
        print(
            f"loans: {args.loans:,}  installments: {installments:,}  with an overdue installment: {overdue:,}"
        )
        print(f"generated in {generated:.1f} s")

        one = run_eod_workers(engine, BUSINESS_DATE, 1)
        entries = count(engine, "SELECT count(*) FROM journal_entries")
        postings = count(engine, "SELECT count(*) FROM postings")
        print(
            f"EOD {BUSINESS_DATE}, 1 worker:  {one:6.1f} s  {args.loans / one:9,.0f} loans/s"
            f"  ({entries:,} entries, {postings:,} postings)"
        )
        next_day = BUSINESS_DATE + dt.timedelta(days=1)
        two = run_eod_workers(engine, next_day, 2)
        print(f"EOD {next_day}, 2 workers: {two:6.1f} s  {args.loans / two:9,.0f} loans/s")
        started = time.perf_counter()
        run_eod_workers(engine, next_day, 2)
        print(f"EOD {next_day} again (nothing to do): {time.perf_counter() - started:.2f} s")

        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE loans SET version = version + 1"))
        bare = time.perf_counter() - started
        print(
            f"reference: bare UPDATE of every loan: {bare:6.1f} s  {args.loans / bare:9,.0f} rows/s"
        )
        tps = pgbench_simple_update(url, args.pgbench_seconds)
        print(f"reference: pgbench -N (4 clients, {args.pgbench_seconds} s): {tps} tps")
    finally:
        engine.dispose()
        if not args.keep:
            admin.drop_database(admin_url, name)


if __name__ == "__main__":
    main()
