"""Running a simulated year end to end: a fresh database on the configured server (the
embedded one by default, as ``make run`` uses), the PD model, the year, its report; and a
reference measured in the same run — the median round trip of ``SELECT 1`` on the same
connection pool — so the timings can be read against the machine's state at the time."""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from mobilend.adapters.db import admin
from mobilend.adapters.db.engine import create_engine, database_url
from mobilend.adapters.vault import FieldVault, KeyRing
from mobilend.config import Settings
from mobilend.sim.report import build_report, percentile
from mobilend.sim.world import pd_model_dir
from mobilend.sim.year import Year, YearConfig

Progress = Callable[[int, dict[str, Any]], None]


@contextlib.contextmanager
def fresh_database(settings: Settings, keep: bool = False) -> Iterator[tuple[sa.Engine, str]]:
    """A new, migrated database for one run; dropped afterwards unless ``keep``."""
    server = database_url(settings)
    name = f"mobilend_sim_{os.getpid()}_{int(time.time())}"
    url = admin.create_database(server, name, template=admin.migrated_template(server))
    with sa.create_engine(url, poolclass=sa.pool.NullPool).connect() as conn:
        # A run's database is thrown away afterwards: a commit need not wait for its WAL
        # to reach the disk (a crash loses the run, not money). Every session opened on
        # the database from here on, the served API's included, gets this setting.
        conn.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        conn.commit()
    # One process on a local server: no pre-ping on every checkout.
    engine = create_engine(url, pool_size=2, pool_pre_ping=False)
    try:
        yield engine, url
    finally:
        engine.dispose()
        if not keep:
            admin.drop_database(server, name)


def select_one_ms(engine: sa.Engine, count: int = 200) -> float:
    samples = []
    with engine.connect() as conn:
        for _ in range(count):
            started = time.perf_counter()
            conn.execute(sa.text("SELECT 1")).scalar_one()
            samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 3)


def simulate(
    engine: sa.Engine,
    settings: Settings,
    config: YearConfig,
    progress: Progress = lambda _day, _info: None,
    vault: FieldVault | None = None,
    model_dir: Path | None = None,
) -> dict[str, Any]:
    """Run the year on ``engine`` (a migrated database) and return its report."""
    started = time.perf_counter()
    before = select_one_ms(engine)
    vault = vault or FieldVault(KeyRing.generate("sim"), b"\x5a" * 32)
    year = Year(engine, vault, settings, config, model_dir or pd_model_dir(settings))
    try:
        year.simulate(progress)
    except BaseException:
        year.abort()
        raise
    latencies = year.close().latencies  # stops the API server of an HTTP run
    checks = time.perf_counter()
    report = build_report(year)
    after = select_one_ms(engine)
    timing = report["timing"]
    if "http.request_ms" in latencies:
        timing["http.requests"] = len(latencies["http.request_ms"])
    for name, samples in latencies.items():
        timing[f"{name}.p50"] = percentile(samples, 50)
        timing[f"{name}.p99"] = percentile(samples, 99)
    timing["report_s"] = round(time.perf_counter() - checks, 1)
    timing["total_s"] = round(time.perf_counter() - started, 1)
    timing["reference.select_one_ms_before"] = before
    timing["reference.select_one_ms_after"] = after
    reference = (before + after) / 2
    for name in ("decision_ms.p50", "payout_ms.p50", "http.request_ms.p50"):
        if timing.get(name) is not None and reference:
            timing[f"{name}_in_select_ones"] = round(timing[name] / reference)
    return report
