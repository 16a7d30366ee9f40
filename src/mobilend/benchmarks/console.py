"""Operations console pages and staff analytics endpoints on a large book.

A fresh database holds the synthetic book (``book``, with one application and one scored
decision per borrower), the analytics summaries are rebuilt (the nightly job), ``mobilend
serve`` starts on it, and a staff member holding every role times each console page and
staff API endpoint: one warm-up request, then N timed ones. The figure is the worst of all
timed requests; the reference is ``GET /health``'s median, timed the same way.
"""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from mobilend.adapters.auth import StaffDirectory
from mobilend.adapters.db.analytics_refresh import SqlAnalyticsRefresher
from mobilend.adapters.db.engine import normalise_url
from mobilend.adapters.db.security_repository import SqlStaffUserStore
from mobilend.benchmarks import processes
from mobilend.benchmarks.book import BUSINESS_DATE, generate
from mobilend.benchmarks.measure import Results, Sizes

PASSWORD = "correct-horse-battery-staple"
ROLES = ["admin", "risk", "operations", "collections", "finance", "auditor"]


def pages(loan_id: str, borrower_id: str) -> list[str]:
    return [
        "/console/", f"/console/search?q={loan_id}", "/console/borrowers",
        f"/console/borrowers/{borrower_id}", "/console/loans", "/console/loans?bucket=M1",
        "/console/loans?status=active&bucket=M3", f"/console/loans/{loan_id}",
        "/console/reviews", "/console/approvals", "/console/analytics", "/console/finance",
        "/console/stress?pd_multiplier=2&scenario=severe", "/console/products",
        "/console/products/BENCH", "/console/funders", "/console/policies", "/console/eod",
        "/console/reconciliation", "/console/audit",
    ]  # fmt: skip


def endpoints(loan_id: str) -> list[str]:
    return [
        f"/api/v1/ops/search?q={loan_id}", f"/api/v1/ops/loans/{loan_id}",
        "/api/v1/ops/reviews", "/api/v1/ops/approvals",
        *(f"/api/v1/ops/analytics/{k}" for k in (
            "funnel", "approvals", "vintage", "roll_rates", "dpd", "recovery",
            "monitoring", "funders", "pnl", "stress")),
        "/api/v1/ops/analytics/vintage?format=csv",
    ]  # fmt: skip


def timed(client: httpx.Client, path: str, repeat: int) -> list[float]:
    """Milliseconds of ``repeat`` requests after one warm-up; any failure raises."""
    client.get(path).raise_for_status()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return samples


def console(results: Results, sizes: Sizes) -> None:
    children = processes.Children()
    with processes.fresh_database("console") as url:
        engine = sa.create_engine(normalise_url(url), pool_size=2)
        try:
            generated = generate(engine, sizes.console_loans, console=True)
            refresh = SqlAnalyticsRefresher(engine).refresh(BUSINESS_DATE, full=True)
            StaffDirectory(SqlStaffUserStore(engine)).create_user(
                "bench", PASSWORD, ROLES, dt.datetime.now(dt.UTC)
            )
            with engine.begin() as conn:
                loan_id, borrower_id = conn.execute(
                    sa.text("SELECT id, borrower_id FROM loans WHERE bucket = 'M1' LIMIT 1")
                ).one()
            env = processes.service_env(url, Path(tempfile.mkdtemp(prefix="mobilend-bench-con-")))
            base = processes.start_service(children, env)
            with engine.begin() as conn:  # the generated product gets a real definition
                conn.execute(
                    sa.text(
                        "UPDATE products SET definition = (SELECT definition FROM products"
                        " WHERE code <> 'BENCH' ORDER BY code LIMIT 1) || '{\"code\": \"BENCH\"}'"
                        " WHERE code = 'BENCH'"
                    )
                )
            login = httpx.post(
                base + "/api/v1/ops/auth/login",
                json={"username": "bench", "password": PASSWORD},
                timeout=60,
            )
            login.raise_for_status()
            token = login.json()["access_token"]
            repeat = max(sizes.console_repeat, 3)
            with httpx.Client(base_url=base, timeout=60) as client:
                health = timed(client, "/health", repeat * 3)
            worst: dict[str, float] = {}
            with httpx.Client(
                base_url=base, timeout=60, cookies={"mobilend_staff": token}
            ) as client:
                for path in pages(loan_id, borrower_id):
                    worst[path] = max(timed(client, path, sizes.console_repeat))
            with httpx.Client(
                base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"}
            ) as client:
                for path in endpoints(loan_id):
                    worst[path] = max(timed(client, path, sizes.console_repeat))
        finally:
            children.stop()
            engine.dispose()
    slowest = max(worst, key=lambda p: worst[p])
    results.reference("health_median_ms", statistics.median(health))
    results.figure(
        "console.worst_ms", worst[slowest],
        label=f"console pages and staff analytics endpoints, {sizes.console_loans:,} loans, worst request",
        unit="ms", reference="health_median_ms", reference_label="`GET /health` median, ms",
        per="`/health` requests per worst page",
    )  # fmt: skip
    results.values["console.median_ms"] = statistics.median(worst.values())
    results.details["console"] = {
        "loans": sizes.console_loans,
        "generated_s": round(generated, 1),
        "analytics_refresh_s": float(refresh.seconds),
        "slowest": slowest,
        "paths": len(worst),
    }
