"""Disbursement speed: accepted offer → disbursed latency, and payouts per second.

Everything runs as it would in production, on this machine: PostgreSQL (a fresh
database), the payment gateway sandbox in its own process with zero settlement delay
and no faults, disbursement worker processes (``mobilend disbursement worker``), and a
callback endpoint in this process verifying each signed webhook and applying it.

1. Latency: offers accepted one at a time with 2 workers running; for each, the time
   from the accept transaction to the rail's webhook applied (loan paid) — p50/p99.
2. Throughput: a batch of offers accepted with the workers stopped, then 1 worker
   (and again 2 workers) started; payouts paid per second from first send to last paid.
3. Reference figures from the same run: bare ``POST /payouts`` round trips to the same
   sandbox (2 client threads), and bare one-row ``INSERT``+``COMMIT`` transactions on
   the same database (2 threads).

    .venv/bin/python bench/bench_disbursement.py            # 200 latency samples, batches of 1000
    .venv/bin/python bench/bench_disbursement.py --latency 500 --batch 3000

Uses MOBILEND_DATABASE_URL's server when set, else the embedded one under var/pg.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "integration")]

from disbursement_fixtures import (  # noqa: E402
    FAILING_SUFFIXES,
    SECRET,
    Batch,
    CallbackEndpoint,
    card_for,
    rail_for,
)
from tests.lending_scenarios import OPENED_ON  # noqa: E402

from mobilend.adapters.db import admin  # noqa: E402
from mobilend.adapters.db.engine import database_url  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_gateway(callback_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mobilend.sandbox",
            "payment",
            "--port",
            str(port),
            "--secret",
            SECRET,
            "--callback-url",
            callback_url,
            "--settle-delay-ms",
            "0",
            "--business-date",
            OPENED_ON.isoformat(),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/admin/stats", timeout=1).raise_for_status()
            return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the payment gateway sandbox did not start")


def start_workers(
    count: int, gateway: str, accounts: Path, log_dir: Path, env: dict[str, str]
) -> list[subprocess.Popen[bytes]]:
    command = [
        sys.executable, "-c", "from mobilend.cli.main import app; app()", "disbursement",
        "worker", "--rail-url", gateway, "--rail-secret", SECRET, "--accounts-file",
        str(accounts), "--threads", "1", "--idle", "0.01", "--batch", "20",
        "--confirm-after", "30",
    ]  # fmt: skip
    workers = []
    for n in range(count):
        log = log_dir / f"worker{n}.log"
        workers.append(
            subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
        )
    for n, worker in enumerate(workers):
        log = log_dir / f"worker{n}.log"
        while "worker ready" not in log.read_text():
            if worker.poll() is not None:
                raise RuntimeError(log.read_text())
            time.sleep(0.05)
    return workers


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(timeout=60)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def paid_at(engine: sa.Engine, loan_id: str) -> float | None:
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT extract(epoch FROM confirmed_at - created_at) FROM loan_payouts "
                "WHERE loan_id = :id AND status = 'paid'"
            ),
            {"id": loan_id},
        ).first()
    return None if row is None else float(row[0])


def wait_all_paid(batch: Batch, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while batch.open_payouts():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{batch.open_payouts()} payouts still open")
        time.sleep(0.05)


def throughput(engine: sa.Engine, loan_ids: list[str]) -> float:
    with engine.connect() as conn:
        first_sent, last_paid = conn.execute(
            sa.text(
                "SELECT min(sent_at), max(confirmed_at) FROM loan_payouts WHERE loan_id = ANY(:ids)"
            ),
            {"ids": loan_ids},
        ).one()
    return len(loan_ids) / (last_paid - first_sent).total_seconds()


def reference_rail(gateway: str, seconds: float = 5.0) -> float:
    done = [0, 0]
    stop_at = time.monotonic() + seconds

    def client(slot: int) -> None:
        with httpx.Client(base_url=gateway, timeout=5) as http:
            n = 0
            while time.monotonic() < stop_at:
                body = {"loan_id": f"ref-{slot}-{n}", "amount_fen": 100000, "currency": "CNY",
                        "account_name": "ref", "card_number": "6222020000001234"}  # fmt: skip
                http.post("/payouts", json=body, headers={"Idempotency-Key": f"ref-{slot}-{n}"})
                n += 1
            done[slot] = n

    threads = [threading.Thread(target=client, args=(i,)) for i in range(2)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.monotonic() - started)


def reference_database(engine: sa.Engine, seconds: float = 5.0) -> float:
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE bench_ref (id bigserial PRIMARY KEY, v int)"))
    done = [0, 0]
    stop_at = time.monotonic() + seconds

    def client(slot: int) -> None:
        n = 0
        while time.monotonic() < stop_at:
            with engine.begin() as conn:
                conn.execute(sa.text("INSERT INTO bench_ref (v) VALUES (:v)"), {"v": n})
            n += 1
        done[slot] = n

    threads = [threading.Thread(target=client, args=(i,)) for i in range(2)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=int, default=200, help="offers timed one by one")
    parser.add_argument("--batch", type=int, default=1000, help="offers per throughput batch")
    args = parser.parse_args()

    admin_url = database_url()
    name = f"mobilend_bench_{os.getpid()}"
    url = admin.create_database(admin_url, name, template=admin.migrated_template(admin_url))
    env = {**os.environ, "MOBILEND_DATABASE_URL": url}
    engine = sa.create_engine(url, pool_size=10, max_overflow=10)
    total = args.latency + 2 * args.batch
    batch = Batch.prepare(engine, total)
    desk = batch.desk(rail_for("http://unused"))
    endpoint = CallbackEndpoint(lambda: desk)
    gateway, gateway_url = start_gateway(endpoint.url)
    work = Path(tempfile.mkdtemp(prefix="bench-disb-"))
    accounts = work / "accounts.json"
    next_borrower = 0
    try:
        # The workers read the borrowers' cards from a file (no onboarding records here).
        accounts.write_text(json.dumps({
            f"b{i:05d}": {"account_name": f"借款人{i}", "card_number": card_for(i)} for i in range(total)
        }))  # fmt: skip
        print(f"database {name}; gateway {gateway_url} (settle delay 0 ms, no faults)")

        workers = start_workers(2, gateway_url, accounts, work, env)
        samples, observed = [], []
        for _ in range(args.latency):
            started = time.perf_counter()
            loan_id = batch.accept(next_borrower)
            next_borrower += 1
            if batch.cards[loan_id][-4:] in FAILING_SUFFIXES:
                continue  # refused cards are cancelled, not disbursed
            while (seconds := paid_at(engine, loan_id)) is None:
                time.sleep(0.002)
            if seconds is not None:
                samples.append(seconds)
                observed.append(time.perf_counter() - started)
        stop(workers)
        wait_all_paid(batch, 60)
        print(
            f"accepted offer → disbursed (webhook applied), 2 workers, {len(samples)} loans: "
            f"p50 {percentile(samples, 0.5) * 1000:.0f} ms, p99 {percentile(samples, 0.99) * 1000:.0f} ms"
            f"  (seen by the accepting client: p50 {percentile(observed, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(observed, 0.99) * 1000:.0f} ms)"
        )

        for worker_count in (1, 2):
            # Workers are started (and paused) first, so their start-up does not count.
            workers = start_workers(worker_count, gateway_url, accounts, work, env)
            for worker in workers:
                worker.send_signal(signal.SIGSTOP)
            started = time.perf_counter()
            ids = []
            for _ in range(args.batch):
                ids.append(batch.accept(next_borrower))
                next_borrower += 1
            accepted = time.perf_counter() - started
            for worker in workers:
                worker.send_signal(signal.SIGCONT)
            wait_all_paid(batch, 600)
            stop(workers)
            print(
                f"{args.batch} offers accepted by one client: {args.batch / accepted:,.0f}/s; "
                f"paid out with {worker_count} worker(s): "
                f"{throughput(engine, ids):,.0f} disbursements/s"
            )
        print(
            f"reference: bare POST /payouts to the same sandbox, 2 threads: {reference_rail(gateway_url):,.0f} req/s"
        )
        print(
            f"reference: one-row INSERT+COMMIT on the same database, 2 threads: {reference_database(engine):,.0f} tx/s"
        )
    finally:
        endpoint.stop()
        gateway.terminate()
        gateway.wait(timeout=30)
        engine.dispose()
        admin.drop_database(admin_url, name)


if __name__ == "__main__":
    main()
