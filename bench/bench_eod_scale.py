"""End of day at scale through the job queue: N active loans, 2 worker processes.

For each portfolio size (default 100 000, then 1 000 000) it creates a fresh database,
migrates it, generates the loans with ``bench_eod.py``'s generator (twelve monthly
installments each, a tenth of them with an overdue installment), starts two
``mobilend worker --queue eod`` processes, asks for end of day of one business date
(``eod.run_business_date``) and waits until the date is closed. It reports:

- the whole date, from the request to the close (ageing, behaviour scores, line freezes,
  reminder and auto-debit plans) in seconds and loans/s — for the first date (every
  score written for the first time) and the next one (the nightly steady state);
- the ageing alone (first partition started to last partition finished);
- a same-run reference: one bare ``UPDATE`` of every loan row (rows/s);
- how the time grows from the smallest to the largest size.

    .venv/bin/python bench/bench_eod_scale.py                  # 100 000 and 1 000 000
    .venv/bin/python bench/bench_eod_scale.py --loans 100000   # one size

Uses MOBILEND_DATABASE_URL's server when set, else the embedded one under var/pg. Not
part of ``make test``; expect several minutes for a million loans.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import sqlalchemy as sa
from bench_eod import BUSINESS_DATE, GENERATE, count

from mobilend.adapters.db import admin, migrate
from mobilend.adapters.db.engine import database_url

ROOT = Path(__file__).resolve().parents[1]
MOBILEND = str(Path(sys.executable).with_name("mobilend"))


def generate(engine: sa.Engine, loans: int) -> float:
    started = time.perf_counter()
    with engine.begin() as conn:
        for statement in GENERATE:
            conn.execute(sa.text(statement), {"n": loans, "d": BUSINESS_DATE})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    return time.perf_counter() - started


def start_workers(url: str, workers: int) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "MOBILEND_DATABASE_URL": url, "MOBILEND_SMS_GATEWAY_URL": "",
           "MOBILEND_PAYMENT_GATEWAY_URL": ""}  # fmt: skip
    return [
        subprocess.Popen(
            [MOBILEND, "worker", "--queue", "eod", "--name", f"bench-{k}"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for k in range(workers)
    ]


def stop_workers(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def request_date(url: str, day: dt.date, partitions: int) -> None:
    subprocess.run(
        [MOBILEND, "eod", "run", "--date", day.isoformat(), "--partitions", str(partitions)],
        env={**os.environ, "MOBILEND_DATABASE_URL": url},
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def wait_closed(engine: sa.Engine, day: dt.date, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            status = conn.execute(
                sa.text("SELECT status FROM eod_business_dates WHERE business_date = :d"),
                {"d": day},
            ).scalar()
            failed = conn.execute(
                sa.text(
                    "SELECT count(*) FROM procrastinate.procrastinate_jobs WHERE status = 'failed'"
                )
            ).scalar_one()
        if failed:
            raise SystemExit(f"{failed} job(s) failed; see procrastinate.procrastinate_jobs")
        if status == "done":
            return
        time.sleep(0.5)
    raise SystemExit(f"end of day {day} did not close within {timeout:.0f} s")


def date_seconds(engine: sa.Engine, day: dt.date) -> float:
    """From the coordinator starting the date to the date closed (database clock)."""
    with engine.connect() as conn:
        return float(
            conn.execute(
                sa.text(
                    "SELECT extract(epoch FROM closed_at - started_at) FROM eod_business_dates"
                    " WHERE business_date = :d"
                ),
                {"d": day},
            ).scalar_one()
        )


def ageing_seconds(engine: sa.Engine, day: dt.date) -> float:
    with engine.connect() as conn:
        return float(
            conn.execute(
                sa.text(
                    "SELECT extract(epoch FROM max(finished_at) - min(started_at)) FROM eod_runs"
                    " WHERE business_date = :d"
                ),
                {"d": day},
            ).scalar_one()
        )


def bare_update(engine: sa.Engine) -> float:
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE loans SET version = version + 1"))
    return time.perf_counter() - started


def book_template_name(loans: int) -> str:
    # Named after the schema's history and the generator, so a stale book is never reused.
    generator = zlib.crc32("".join(GENERATE).encode())
    return f"mobilend_bench_book_{admin.migrations_fingerprint()}_{generator:08x}_{loans}"


def one_size(
    admin_url: str, loans: int, workers: int, partitions: int, dates: int, keep: bool,
    reuse_book: bool = False,
) -> dict:  # fmt: skip
    name = f"mobilend_bench_scale_{os.getpid()}_{loans}"
    book = book_template_name(loans)
    cloned = reuse_book and admin.database_exists(admin_url, book)
    url = admin.create_database(admin_url, name, template=book if cloned else None)
    engine = sa.create_engine(url, pool_size=2)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        if cloned:
            generated = 0.0
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))  # statistics are not copied
        else:
            migrate.upgrade(url)
            generated = generate(engine, loans)
            if reuse_book:  # keep the generated book for the next run (same migrations)
                engine.dispose()
                admin.create_database(admin_url, book, template=name)
        installments = count(engine, "SELECT count(*) FROM installments")
        print(
            f"\n== {loans:,} loans, {installments:,} installments (generated in {generated:.0f} s)"
        )
        processes = start_workers(url, workers)
        timings = []
        for k in range(dates):
            day = BUSINESS_DATE + dt.timedelta(days=k)
            # Each night starts from a checkpoint, as a real one does a day after the last
            # (checkpoint_timeout is 30 min): every page's first change of the night is
            # written whole to the WAL. Without it the first date ran just after the
            # copy's and VACUUM's page images and the second in mid-cycle.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("CHECKPOINT"))
            request_date(url, day, partitions)
            wait_closed(engine, day, timeout=3600)
            whole = date_seconds(engine, day)
            ageing = ageing_seconds(engine, day)
            timings.append((whole, ageing))
            print(
                f"end of day {day}, {workers} workers, {partitions} partitions:"
                f" {whole:6.1f} s  {loans / whole:9,.0f} loans/s"
                f"   (ageing alone {ageing:.1f} s, {loans / ageing:,.0f} loans/s)"
            )
        done = count(engine, f"SELECT count(*) FROM loans WHERE accrued_through = '{day}'")
        entries = count(engine, "SELECT count(*) FROM journal_entries WHERE kind <> 'disbursement'")
        print(f"{done:,} loans aged to {day}; {entries:,} end-of-day entries posted")
        stop_workers(processes)
        processes = []
        bare = bare_update(engine)
        print(f"reference: bare UPDATE of every loan: {bare:6.1f} s  {loans / bare:9,.0f} rows/s")
        whole, ageing = timings[-1]
        return {"loans": loans, "whole": whole, "ageing": ageing, "bare": bare}
    finally:
        stop_workers(processes)
        engine.dispose()
        if not keep:
            admin.drop_database(admin_url, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loans", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--dates", type=int, default=2, help="consecutive business dates")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    parser.add_argument(
        "--reuse-book",
        action="store_true",
        help="copy the generated book from a template kept by an earlier run with the same"
        " migrations (kept on first use; drop mobilend_bench_book_* databases to free disk)",
    )
    args = parser.parse_args()
    admin_url = database_url()
    results = [
        one_size(
            admin_url, n, args.workers, args.partitions, args.dates, args.keep, args.reuse_book
        )
        for n in args.loans
    ]
    if len(results) > 1:
        small, large = results[0], results[-1]
        size = large["loans"] / small["loans"]
        print(
            f"\ngrowth {small['loans']:,} → {large['loans']:,} loans (×{size:.0f}, last date):"
            f" whole date ×{large['whole'] / small['whole']:.1f},"
            f" ageing ×{large['ageing'] / small['ageing']:.1f},"
            f" bare UPDATE ×{large['bare'] / small['bare']:.1f}"
        )


if __name__ == "__main__":
    main()
