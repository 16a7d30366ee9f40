"""Console page and analytics endpoint latency with N loans on the books (default 1 000 000).

Creates a fresh database, generates the book set-based (``bench_eod.py``'s loans and
installments — a tenth of them overdue — plus one application and one scored decision per
borrower), rebuilds the analytics summaries (timed: the nightly job's cost), starts
``mobilend serve`` on it, signs in as a staff member holding every role, and times each
console page and staff API endpoint: one warm-up request, then ``--repeat`` timed ones
(median and worst). ``GET /health`` is timed the same way as a same-run reference.

    .venv/bin/python bench/bench_console.py                  # 1 000 000 loans
    .venv/bin/python bench/bench_console.py --loans 100000 --keep

Uses MOBILEND_DATABASE_URL's server when set, else the embedded one under var/pg. Not
part of ``make test``; generating a million loans takes several minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from mobilend.adapters.auth import StaffDirectory
from mobilend.adapters.db import admin, migrate
from mobilend.adapters.db.analytics_refresh import SqlAnalyticsRefresher
from mobilend.adapters.db.engine import database_url
from mobilend.adapters.db.security_repository import SqlStaffUserStore
from mobilend.benchmarks.book import BUSINESS_DATE, GENERATE
from mobilend.benchmarks.book import CONSOLE_EXTRAS as MORE

MOBILEND = str(Path(sys.executable).with_name("mobilend"))
PASSWORD = "correct-horse-battery-staple"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def generate(engine: sa.Engine, loans: int) -> float:
    started = time.perf_counter()
    with engine.begin() as conn:
        for statement in (*GENERATE, *MORE):
            conn.execute(sa.text(statement), {"n": loans, "d": BUSINESS_DATE})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    return time.perf_counter() - started


def serve(url: str, port: int, var_dir: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MOBILEND_DATABASE_URL": url,
        "MOBILEND_SMS_GATEWAY_URL": "",
        "MOBILEND_PAYMENT_GATEWAY_URL": "",
        "MOBILEND_DECISION_ENGINE": "basic",
        "MOBILEND_VAR_DIR": str(var_dir),
    }
    return subprocess.Popen(
        [MOBILEND, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_ready(base: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the service did not start")


def timed(client: httpx.Client, path: str, repeat: int) -> tuple[int, float, float]:
    status = client.get(path).status_code  # warm-up (and the status to report)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - started)
        status = response.status_code
    return status, statistics.median(samples) * 1000, max(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    admin_url = database_url()
    name = f"mobilend_bench_console_{args.loans}"
    url = admin.create_database(admin_url, name)
    engine = sa.create_engine(url, pool_size=2)
    server = None
    try:
        migrate.upgrade(url)
        generated = generate(engine, args.loans)
        print(f"== {args.loans:,} loans generated in {generated:.0f} s")
        refresh = SqlAnalyticsRefresher(engine).refresh(BUSINESS_DATE, full=True)
        print(f"analytics refresh (nightly job, full): {refresh.seconds} s")
        again = SqlAnalyticsRefresher(engine).refresh(BUSINESS_DATE)
        print(f"analytics refresh (nightly job, incremental): {again.seconds} s")
        StaffDirectory(SqlStaffUserStore(engine)).create_user(
            "bench", PASSWORD, ["admin", "risk", "operations", "collections", "finance",
                                "auditor"], dt.datetime.now(dt.UTC)
        )  # fmt: skip
        with engine.connect() as conn:
            loan_id, borrower_id = conn.execute(
                sa.text("SELECT id, borrower_id FROM loans WHERE bucket = 'M1' LIMIT 1")
            ).one()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = serve(url, port, Path(tempfile.mkdtemp(prefix="bench-console-")))
        wait_ready(base)
        with engine.begin() as conn:  # the generated product gets a real definition
            conn.execute(
                sa.text(
                    "UPDATE products SET definition = (SELECT definition FROM products"
                    " WHERE code <> 'BENCH' ORDER BY code LIMIT 1) || '{\"code\": \"BENCH\"}'"
                    " WHERE code = 'BENCH'"
                )
            )
        token = httpx.post(
            base + "/api/v1/ops/auth/login",
            json={"username": "bench", "password": PASSWORD},
            timeout=30,
        ).json()["access_token"]
        pages = [
            "/console/", f"/console/search?q={loan_id}", "/console/borrowers",
            f"/console/borrowers/{borrower_id}", "/console/loans", "/console/loans?bucket=M1",
            "/console/loans?status=active&bucket=M3", f"/console/loans/{loan_id}",
            "/console/reviews", "/console/approvals", "/console/analytics", "/console/finance",
            "/console/stress?pd_multiplier=2&scenario=severe", "/console/products",
            "/console/products/BENCH", "/console/funders", "/console/policies", "/console/eod",
            "/console/reconciliation", "/console/audit",
        ]  # fmt: skip
        endpoints = [
            f"/api/v1/ops/search?q={loan_id}", f"/api/v1/ops/loans/{loan_id}",
            "/api/v1/ops/reviews", "/api/v1/ops/approvals",
            *(f"/api/v1/ops/analytics/{k}" for k in (
                "funnel", "approvals", "vintage", "roll_rates", "dpd", "recovery",
                "monitoring", "funders", "pnl", "stress")),
            "/api/v1/ops/analytics/vintage?format=csv",
        ]  # fmt: skip
        rows = []
        with httpx.Client(base_url=base, timeout=60) as client:
            rows.append(("GET /health (reference)", *timed(client, "/health", args.repeat)))
        with httpx.Client(base_url=base, timeout=60, cookies={"mobilend_staff": token}) as client:
            rows += [(path, *timed(client, path, args.repeat)) for path in pages]
        with httpx.Client(
            base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            rows += [(path, *timed(client, path, args.repeat)) for path in endpoints]
        print(f"\n{'path':<58} {'status':>6} {'median ms':>10} {'worst ms':>9}")
        for path, status, median, worst in rows:
            print(f"{path:<58} {status:>6} {median:>10.1f} {worst:>9.1f}")
        slowest = max(rows[1:], key=lambda r: r[3])
        print(f"\nslowest: {slowest[0]} worst {slowest[3]:.0f} ms; "
              f"all under 1 s: {all(r[3] < 1000 for r in rows)}")  # fmt: skip
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        engine.dispose()
        if not args.keep:
            admin.drop_database(admin_url, name)


if __name__ == "__main__":
    main()
