"""Whole borrower journeys over HTTP, with concurrency.

Starts the sandbox SMS and payment gateways and ``mobilend serve`` as subprocesses on a
fresh database (``mobilend_bench`` on the embedded server, or the server of
``MOBILEND_DATABASE_URL``), then drives N journeys from C concurrent clients, each:

    code by SMS → sign in → identity → 3 consents → apply (授信) → offer → contract →
    sign → poll until paid out → pay the installment due → pay off → closed

and prints journeys/s, the p50/p99 of apply → paid out and of the whole journey, and a
same-run reference: ``GET /health`` requests/s from the same number of clients, so the
figures can be read against this machine. Asserts nothing.

    .venv/bin/python bench/bench_journeys.py                  # 200 journeys, 16 clients
    .venv/bin/python bench/bench_journeys.py -n 500 -c 32 --workers 2
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from stdnum import luhn
from stdnum.cn import ric

from mobilend.adapters.db import admin, migrate
from mobilend.adapters.db import engine as db_engine
from mobilend.config import get_settings

REPO = Path(__file__).resolve().parents[1]
SECRET = "bench-gateway-secret"
BENCH_DB = "mobilend_bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def bench_database() -> str:
    """A fresh, migrated database for this run."""
    settings = get_settings()
    if settings.database_url:
        admin_url = db_engine.normalise_url(settings.database_url)
    else:
        admin_url = db_engine.embedded_server(settings).start().url("postgres")
    admin.drop_database(admin_url, BENCH_DB)
    url = admin.create_database(admin_url, BENCH_DB)
    migrate.upgrade(url)
    return url


@dataclass
class Processes:
    base_url: str
    sms_url: str
    children: list[subprocess.Popen[bytes]]

    def stop(self) -> None:
        for child in self.children:
            child.terminate()
        for child in self.children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


def start(database_url: str, workers: int, var_dir: Path) -> Processes:
    python = sys.executable
    sms_port, pay_port, api_port = free_port(), free_port(), free_port()
    env = {**os.environ, "MOBILEND_SANDBOX_SECRET": SECRET}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    children = [
        subprocess.Popen(
            [python, "-m", "mobilend.sandbox", "messaging", "--port", str(sms_port), "--receipt-delay-ms", "20"],
            env=env, **quiet,
        ),
        subprocess.Popen(
            [python, "-m", "mobilend.sandbox", "payment", "--port", str(pay_port), "--settle-delay-ms", "20"],
            env=env, **quiet,
        ),
    ]  # fmt: skip
    sms_url, pay_url = f"http://127.0.0.1:{sms_port}", f"http://127.0.0.1:{pay_port}"
    wait_up(f"{sms_url}/admin/stats")
    wait_up(f"{pay_url}/admin/stats")
    service_env = {
        **env,
        "MOBILEND_DATABASE_URL": database_url,
        "MOBILEND_SMS_GATEWAY_URL": sms_url,
        "MOBILEND_PAYMENT_GATEWAY_URL": pay_url,
        "MOBILEND_GATEWAY_SECRET": SECRET,
        "MOBILEND_DECISION_ENGINE": "basic",
        "MOBILEND_VAR_DIR": str(var_dir),
        # The gateway runs apart, so say who sends payouts: the service's own thread
        # (the rail calls back ``serve``'s address, which it fills in from --port).
        "MOBILEND_DISBURSEMENT_WORKER": "service",
        # Every simulated borrower signs in from this one machine.
        "MOBILEND_OTP_SENDS_PER_IP": "1000000",
        "MOBILEND_OTP_SENDS_PER_MINUTE": "1000000",
        "MOBILEND_OTP_CHECKS_PER_IP": "1000000",
    }
    children.append(
        subprocess.Popen(
            [str(Path(python).parent / "mobilend"), "serve", "--port", str(api_port),
             "--workers", str(workers), "--no-access-log"],
            env=service_env, cwd=REPO, **quiet,
        )
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{api_port}"
    wait_up(f"{base_url}/health")
    time.sleep(1.0 if workers > 1 else 0.2)  # let every worker start listening
    return Processes(base_url, sms_url, children)


# --------------------------------------------------------------------------- one journey

_rng = random.Random(20260302)
_lock = threading.Lock()


def identity() -> tuple[str, str, str]:
    with _lock:
        phone = f"13{_rng.randint(0, 9)}{_rng.randint(10_000_000, 99_999_999)}"
        body = f"110101{1985 + _rng.randint(0, 15)}{_rng.randint(1, 12):02d}{_rng.randint(1, 28):02d}{_rng.randint(100, 999)}"
        stem = f"622202{_rng.randint(10**11, 10**12 - 1)}"
    if phone.endswith("0000"):
        phone = phone[:-1] + "7"
    return phone, body + ric.calc_check_digit(body + "0"), stem + luhn.calc_check_digit(stem)


@dataclass
class Timing:
    journey: float
    apply_to_paid: float
    requests: int


def journey(base_url: str, sms_url: str) -> Timing:
    phone, national_id, card = identity()
    started = time.perf_counter()
    requests = 0
    with httpx.Client(base_url=base_url, timeout=60) as http, httpx.Client(timeout=30) as sms:

        def call(method: str, path: str, **kwargs: Any) -> Any:
            nonlocal requests
            requests += 1
            response = http.request(method, path, **kwargs)
            if response.status_code >= 300:
                raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
            return response.json() if response.content else None

        call("POST", "/api/v1/auth/otp", json={"phone": phone})
        code = ""
        while not code:
            found = sms.get(
                f"{sms_url}/messages", params={"recipient": "+86" + phone, "limit": 1}
            ).json()
            code = found["messages"][0]["codes"][0] if found["messages"] else ""
        tokens = call("POST", "/api/v1/auth/otp/verify", json={"phone": phone, "code": code})
        http.headers["Authorization"] = f"Bearer {tokens['access_token']}"
        http.headers["X-Device-Id"] = f"bench-{uuid.uuid4().hex[:10]}"
        call(
            "PUT",
            "/api/v1/me/kyc",
            json={"real_name": "王小明", "national_id": national_id, "bank_card": card},
        )
        texts = {
            t["purpose"]: t["text_version"] for t in call("GET", "/api/v1/consent-texts")["items"]
        }
        for purpose in ("credit_report_query", "data_use", "e_contract"):
            call(
                "POST",
                "/api/v1/me/consents",
                json={"purpose": purpose, "text_version": texts[purpose]},
            )
        applied = time.perf_counter()
        line_id = call(
            "POST", "/api/v1/credit-applications", json={"monthly_income_fen": 1_200_000}
        )["line_id"]
        offer = {"line_id": line_id, "amount_fen": 500_000, "periods": 6}
        call("POST", "/api/v1/offers", json=offer)
        contract = call("POST", "/api/v1/contracts", json=offer)
        signed = call(
            "POST",
            f"/api/v1/contracts/{contract['contract_id']}/sign",
            json={"sha256": contract["sha256"], "accept": True},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        loan_id = signed["loan"]["loan_id"]
        while call("GET", f"/api/v1/loans/{loan_id}")["disbursement_status"] == "pending":
            time.sleep(0.01)
        paid_out = time.perf_counter()

        def settle(asked: dict[str, Any]) -> None:
            """A payment is a card debit: pending until the rail confirms it."""
            path = f"/api/v1/loans/{loan_id}/payments/{asked['payment']['payment_id']}"
            while (status := call("GET", path)["status"]) == "pending":
                time.sleep(0.01)
            if status != "paid":
                raise RuntimeError(f"payment on loan {loan_id} {status}")

        settle(
            call(
                "POST",
                f"/api/v1/loans/{loan_id}/repayments/due",
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )
        )
        settle(
            call(
                "POST",
                f"/api/v1/loans/{loan_id}/payoff",
                json={},
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )
        )
        if call("GET", f"/api/v1/loans/{loan_id}")["status"] != "closed":
            raise RuntimeError(f"loan {loan_id} not closed")
    return Timing(time.perf_counter() - started, paid_out - applied, requests)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def health_rate(base_url: str, clients: int, seconds: float) -> float:
    stop = time.perf_counter() + seconds
    counts = [0] * clients

    def hammer(i: int) -> None:
        with httpx.Client(base_url=base_url, timeout=10) as http:
            while time.perf_counter() < stop:
                http.get("/health")
                counts[i] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(hammer, range(clients)))
    return sum(counts) / (time.perf_counter() - started)


def run(n: int, clients: int, work: Callable[[], Timing]) -> tuple[list[Timing], float, int]:
    failures = 0
    timings: list[Timing] = []
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(work) for _ in range(n)]:
            try:
                timings.append(future.result())
            except Exception as exc:
                failures += 1
                if failures <= 3:
                    print(f"  journey failed: {exc}", file=sys.stderr)
    return timings, time.perf_counter() - started, failures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--journeys", type=int, default=200)
    parser.add_argument("-c", "--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--health-seconds", type=float, default=3.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mobilend-bench-") as var_dir:
        processes = start(bench_database(), args.workers, Path(var_dir))
        try:
            run(
                min(10, args.journeys),
                min(4, args.clients),
                lambda: journey(processes.base_url, processes.sms_url),
            )
            timings, elapsed, failures = run(
                args.journeys, args.clients, lambda: journey(processes.base_url, processes.sms_url)
            )
            health = health_rate(processes.base_url, args.clients, args.health_seconds)
        finally:
            processes.stop()

    done = len(timings)
    to_paid = [t.apply_to_paid * 1000 for t in timings]
    whole = [t.journey * 1000 for t in timings]
    requests = sum(t.requests for t in timings)
    print(
        f"journeys: {done} completed, {failures} failed, {args.clients} clients, {args.workers} worker(s)"
    )
    if not done:
        return
    print(f"  journeys/s                 {done / elapsed:8.1f}")
    print(
        f"  API requests/s (journeys)  {requests / elapsed:8.1f}   ({requests / done:.0f} requests per journey)"
    )
    print(
        f"  apply → paid out  p50 {statistics.median(to_paid):7.1f} ms   p99 {percentile(to_paid, 99):7.1f} ms"
    )
    print(
        f"  whole journey     p50 {statistics.median(whole):7.1f} ms   p99 {percentile(whole, 99):7.1f} ms"
    )
    print(f"reference: GET /health from {args.clients} clients  {health:8.1f} req/s")
    print(f"  journey requests/s ÷ /health requests/s = {requests / elapsed / health:.3f}")


if __name__ == "__main__":
    main()
