"""A disbursement worker process killed with SIGKILL at random points during a batch,
then restarted, leaves the same result as one that was never killed: every loan paid
exactly once (or cancelled when its card is refused), the ledger balanced, the rail
holding one transaction per payout, and reconciliation clean.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from disbursement_fixtures import SECRET, Batch, CallbackEndpoint, Gateway, check_outcome, rail_for
from sandbox_fixtures import *  # noqa: F403  (fixtures)
from sandbox_fixtures import wait_until

from mobilend.adapters.db.engine import create_engine

pytestmark = pytest.mark.db


@pytest.fixture
def engine(database_url: str, db: sa.Engine) -> Iterator[sa.Engine]:
    wide = create_engine(database_url, pool_size=10, max_overflow=10)
    yield wide
    wide.dispose()


def worker_command(gateway_url: str, accounts: Path) -> list[str]:
    return [
        sys.executable, "-c", "from mobilend.cli.main import app; app()",
        "disbursement", "worker", "--rail-url", gateway_url, "--rail-secret", SECRET,
        "--accounts-file", str(accounts), "--threads", "2", "--batch", "5", "--lease", "1",
        "--confirm-after", "1", "--backoff", "0.05", "--timeout", "1", "--idle", "0.05",
    ]  # fmt: skip


def start_worker(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    log.write_text("")
    process = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    wait_until(lambda: "worker ready" in log.read_text() or process.poll() is not None, 60)
    assert process.poll() is None, log.read_text()
    return process


def run_with_kills(
    engine: sa.Engine, gateway_url: str, tmp_path: Path, count: int, kills: int, seed: int
) -> None:
    batch = Batch.prepare(engine, count)
    gateway = Gateway(gateway_url)
    rail = rail_for(gateway_url)
    desk = batch.desk(rail)
    endpoint = CallbackEndpoint(lambda: desk)
    rng = random.Random(seed)
    log = tmp_path / "worker.log"
    try:
        gateway.reset(endpoint.url)
        # Every call takes a little while, so the batch is still being paid out when the
        # kills come; a quarter of the payouts are never confirmed (the poll finds them).
        gateway.admin("POST", "/admin/faults", json={"mode": "latency", "latency_ms": 25})
        gateway.admin("POST", "/admin/faults", json={"mode": "never_confirm", "rate": 0.25})
        for i in range(count):
            batch.accept(i)
        command = worker_command(gateway_url, batch.write_accounts(tmp_path / "accounts.json"))
        open_at_kill = []
        for _ in range(kills):
            process = start_worker(command, log)
            time.sleep(rng.uniform(0.0, 0.5))  # a random point of its work
            open_at_kill.append(batch.open_payouts())
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        assert sum(1 for n in open_at_kill if n > 0) >= kills // 2, open_at_kill
        process = start_worker(command, log)
        try:
            wait_until(lambda: batch.open_payouts() == 0, timeout=60 + count * 0.2, interval=0.2)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        gateway.admin("DELETE", "/admin/faults")
        wait_until(lambda: gateway.stats()["callbacks_in_flight"] == 0, 30)
        assert gateway.stats()["transactions"] == count
        result = check_outcome(batch, gateway, desk)
        print(
            f"\n{count} payouts, {kills} SIGKILLs (open payouts at each: {open_at_kill}); "
            f"{result['paid']} paid, {count - result['paid']} cancelled, reconciliation clean"
        )
    finally:
        endpoint.stop()
        rail.close()


def test_worker_killed_at_random_points_leaves_the_same_result(
    engine: sa.Engine,
    payment_gateway_server: str,
    tmp_path: Path,
) -> None:
    run_with_kills(engine, payment_gateway_server, tmp_path, count=150, kills=10, seed=11)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_worker_killed_at_twenty_random_points_during_a_thousand_payouts(
    engine: sa.Engine,
    payment_gateway_server: str,
    tmp_path: Path,
) -> None:
    run_with_kills(engine, payment_gateway_server, tmp_path, count=1000, kills=20, seed=5)
