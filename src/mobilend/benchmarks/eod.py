"""End of day at portfolio scale, through the job queue, as production runs it.

For each size: a fresh database holding the synthetic book (``book``), two
``mobilend worker --queue eod`` processes, then ``mobilend eod run`` for two consecutive
business dates (the first writes every behaviour score for the first time; the second is
the nightly steady state, the figure reported), each timed from the coordinator starting
the date to the date closed (database clock). Reference: one bare ``UPDATE`` of every
loan row on the same database, after the workers stop.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from mobilend.adapters.db.engine import normalise_url
from mobilend.benchmarks import processes
from mobilend.benchmarks.book import BUSINESS_DATE, generate
from mobilend.benchmarks.measure import Results, Sizes

WORKERS = 2
PARTITIONS = 8


def size_suffix(loans: int) -> str:
    """``''`` for the first size, else ``_1m`` / ``_100k`` / ``_5k``."""
    if loans % 1_000_000 == 0:
        return f"_{loans // 1_000_000}m"
    if loans % 1000 == 0:
        return f"_{loans // 1000}k"
    return f"_{loans}"


def wait_closed(engine: sa.Engine, day: dt.date, timeout: float) -> float:
    """Wait for the date to close; its seconds from start to close (database clock)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT status, extract(epoch FROM closed_at - started_at)"
                    " FROM eod_business_dates WHERE business_date = :d"
                ),
                {"d": day},
            ).first()
            failed = conn.execute(
                sa.text(
                    "SELECT count(*) FROM procrastinate.procrastinate_jobs WHERE status = 'failed'"
                )
            ).scalar_one()
        if failed:
            raise RuntimeError(f"{failed} end-of-day job(s) failed")
        if row is not None and row[0] == "done":
            return float(row[1])
        time.sleep(0.2)
    raise RuntimeError(f"end of day {day} did not close within {timeout:.0f} s")


def one_size(loans: int) -> dict[str, float]:
    children = processes.Children()
    with processes.fresh_database(f"eod{loans}") as url:
        engine = sa.create_engine(normalise_url(url), pool_size=2)
        try:
            generated = generate(engine, loans)
            env = processes.service_env(url, Path(tempfile.mkdtemp(prefix="mobilend-bench-eod-")))
            for k in range(WORKERS):
                children.start(
                    processes.mobilend("worker", "--queue", "eod", "--name", f"bench-{k}"), env
                )
            timings = []
            for offset in range(2):
                day = BUSINESS_DATE + dt.timedelta(days=offset)
                subprocess.run(
                    processes.mobilend(
                        "eod", "run", "--date", day.isoformat(), "--partitions", str(PARTITIONS)
                    ),
                    env=env,
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
                timings.append(wait_closed(engine, day, timeout=max(600, loans / 200)))
            children.stop()
            started = time.perf_counter()
            with engine.begin() as conn:
                conn.execute(sa.text("UPDATE loans SET version = version + 1"))
            bare = time.perf_counter() - started
        finally:
            children.stop()
            engine.dispose()
    return {"generated_s": generated, "first_s": timings[0], "next_s": timings[1], "bare_s": bare}


def eod(results: Results, sizes: Sizes) -> None:
    details = {}
    for index, loans in enumerate(sizes.eod_loans):
        suffix = "" if index == 0 else size_suffix(loans)
        timing = one_size(loans)
        results.reference(f"bare_update_rows_per_s{suffix}", loans / timing["bare_s"])
        results.figure(
            f"eod.rows_per_s{suffix}", loans / timing["next_s"],
            label=f"end of day, {loans:,} active loans, {WORKERS} worker processes, loans/s",
            unit="/s", reference=f"bare_update_rows_per_s{suffix}",
            reference_label="bare `UPDATE` of every loan, rows/s",
            per="EOD speed ÷ bare-update speed",
        )  # fmt: skip
        details[str(loans)] = {k: round(v, 2) for k, v in timing.items()}
    results.details["eod"] = details
    results.details["eod_workers"] = WORKERS
