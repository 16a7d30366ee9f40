"""Same-run references: what this machine does with no platform code in the way.

- a plain Decimal loop (the bare arithmetic of a 12-period amortisation);
- a numpy dot product of one feature row (the floor under any PD model);
- pgbench TPC-B on the same PostgreSQL server (its own database);
- one-row ``INSERT``+``COMMIT`` transactions on the same server;
- HTTP: ``GET /health`` of the running service, and the trivial one-row-insert endpoint
  (``insert_endpoint``), each from the same number of clients as the figure it serves.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import numpy as np
import sqlalchemy as sa

from mobilend.adapters.db.embedded import pg_bin_dir
from mobilend.adapters.db.engine import libpq_url, normalise_url
from mobilend.benchmarks.measure import percentile, rate_per_second, time_each

CENT = Decimal("0.01")


def amortisation_loop(i: int) -> Decimal:
    """The bare Decimal work of a 12-period schedule: interest, quantize, balance."""
    balance = Decimal(100_000 + 7919 * i) / 100
    rate = Decimal("0.015")
    payment = (balance / 11).quantize(CENT)
    for _ in range(12):
        interest = (balance * rate).quantize(CENT, rounding=ROUND_HALF_UP)
        balance -= payment - interest
    return balance


def decimal_loop_per_s(seconds: float) -> float:
    return rate_per_second(amortisation_loop, seconds)


def numpy_dot_p50_us(features: int, calls: int) -> float:
    rng = np.random.default_rng(0)
    weights = rng.normal(size=features)
    rows = [rng.normal(size=features) for _ in range(calls)]
    return percentile(time_each(lambda r: float(weights @ r), rows), 50) * 1e6


def pgbench_tpcb_tps(url: str, scale: int, seconds: int, clients: int = 4) -> float:
    """pgbench's default TPC-B-like script, ``clients`` clients on 2 threads."""
    binary = str(pg_bin_dir() / "pgbench")
    conninfo = libpq_url(url)
    subprocess.run(
        [binary, "-i", "-q", "-s", str(scale), conninfo], check=True, capture_output=True
    )
    out = subprocess.run(
        [binary, "-c", str(clients), "-j", "2", "-T", str(seconds), conninfo],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"tps = ([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"pgbench printed no tps:\n{out}")
    return float(match.group(1))


def insert_tx_per_s(url: str, seconds: float, threads: int = 2) -> float:
    """One-row ``INSERT``+``COMMIT`` transactions per second from ``threads`` threads."""
    engine = sa.create_engine(normalise_url(url), pool_size=threads)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE bench_tx (id bigserial PRIMARY KEY, v int)"))
        done = [0] * threads
        stop_at = time.monotonic() + seconds

        def client(slot: int) -> None:
            while time.monotonic() < stop_at:
                with engine.begin() as conn:
                    conn.execute(sa.text("INSERT INTO bench_tx (v) VALUES (:v)"), {"v": slot})
                done[slot] += 1

        started = time.monotonic()
        workers = [threading.Thread(target=client, args=(k,)) for k in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return sum(done) / (time.monotonic() - started)
    finally:
        engine.dispose()


@dataclass(frozen=True)
class HttpRate:
    per_s: float
    p50_ms: float
    p99_ms: float


def http_rate(
    base_url: str, path: str, clients: int, seconds: float, json: dict[str, Any] | None = None
) -> HttpRate:
    """Requests per second and latency from ``clients`` keep-alive clients (GET, or POST
    of ``json``), each in its own thread, for ``seconds``."""
    stop_at = time.perf_counter() + seconds
    samples: list[list[float]] = [[] for _ in range(clients)]

    def hammer(slot: int) -> None:
        with httpx.Client(base_url=base_url, timeout=30) as http:
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                response = http.get(path) if json is None else http.post(path, json=json)
                response.raise_for_status()
                samples[slot].append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(hammer, range(clients)))
    elapsed = time.perf_counter() - started
    flat = [s for per_client in samples for s in per_client]
    return HttpRate(len(flat) / elapsed, percentile(flat, 50) * 1000, percentile(flat, 99) * 1000)
