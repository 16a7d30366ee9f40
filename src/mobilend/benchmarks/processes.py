"""Databases and processes the benchmarks start: fresh databases, the sandbox gateways,
``mobilend serve`` and workers, and the one-row-insert reference endpoint.

Every child is a real process talking real HTTP or SQL, as in production on this
machine. Each database is created for the run (cloned from the migrated template) and
dropped afterwards.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from mobilend.adapters.db import admin
from mobilend.adapters.db.engine import database_url

GATEWAY_SECRET = "bench-gateway-secret"
PYTHON = sys.executable
QUIET = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(
    url: str, timeout: float = 120.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Poll ``url`` until it answers below 500; fail early if ``process`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: the process serving it exited ({process.returncode})")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up within {timeout:.0f} s")


def admin_url() -> str:
    """The server's URL (``MOBILEND_DATABASE_URL``, else the embedded server, started)."""
    return database_url()


@contextlib.contextmanager
def fresh_database(area: str, *, migrated: bool = True) -> Iterator[str]:
    """A new database for one benchmark, dropped when done (even on failure)."""
    server = admin_url()
    name = f"mobilend_bench_{area}_{os.getpid()}"
    template = admin.migrated_template(server) if migrated else None
    url = admin.create_database(server, name, template=template)
    try:
        yield url
    finally:
        admin.drop_database(server, name)


@dataclass
class Children:
    """Processes started for one benchmark; ``stop`` ends them all (SIGTERM, then kill)."""

    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(
        self, command: Sequence[str], env: dict[str, str], log: Path | None = None
    ) -> subprocess.Popen[bytes]:
        output = {"stdout": log.open("wb"), "stderr": subprocess.STDOUT} if log else QUIET
        process = subprocess.Popen(list(command), env=env, **output)  # type: ignore[call-overload]
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        self.processes.clear()


def mobilend(*args: str) -> list[str]:
    """The ``mobilend`` command run by this interpreter (so this checkout's sources)."""
    return [PYTHON, "-m", "mobilend.cli.main", *args]


@dataclass(frozen=True)
class Gateways:
    sms_url: str
    payment_url: str


def start_gateways(children: Children) -> Gateways:
    """The SMS and payment sandboxes, each in its own process, at zero latency."""
    env = {**os.environ, "MOBILEND_SANDBOX_SECRET": GATEWAY_SECRET}
    sms_port, pay_port = free_port(), free_port()
    sms = children.start(
        [PYTHON, "-m", "mobilend.sandbox", "messaging", "--port", str(sms_port),
         "--receipt-delay-ms", "0"], env,
    )  # fmt: skip
    pay = children.start(
        [PYTHON, "-m", "mobilend.sandbox", "payment", "--port", str(pay_port),
         "--settle-delay-ms", "0"], env,
    )  # fmt: skip
    gateways = Gateways(f"http://127.0.0.1:{sms_port}", f"http://127.0.0.1:{pay_port}")
    wait_up(f"{gateways.sms_url}/admin/stats", process=sms)
    wait_up(f"{gateways.payment_url}/admin/stats", process=pay)
    return gateways


def service_env(url: str, var_dir: Path, gateways: Gateways | None = None) -> dict[str, str]:
    """Environment of ``mobilend serve`` / ``worker`` on the benchmark database."""
    env = {
        **os.environ,
        "MOBILEND_DATABASE_URL": url,
        "MOBILEND_VAR_DIR": str(var_dir),
        "MOBILEND_DECISION_ENGINE": "basic",
        "MOBILEND_SMS_GATEWAY_URL": "",
        "MOBILEND_PAYMENT_GATEWAY_URL": "",
    }
    if gateways is not None:
        env |= {
            "MOBILEND_SMS_GATEWAY_URL": gateways.sms_url,
            "MOBILEND_PAYMENT_GATEWAY_URL": gateways.payment_url,
            "MOBILEND_GATEWAY_SECRET": GATEWAY_SECRET,
            "MOBILEND_SANDBOX_SECRET": GATEWAY_SECRET,
            # Each service process sends the payouts itself, as bench_journeys runs it.
            "MOBILEND_DISBURSEMENT_WORKER": "service",
            # Every simulated borrower signs in from this one machine.
            "MOBILEND_OTP_SENDS_PER_IP": "1000000",
            "MOBILEND_OTP_SENDS_PER_MINUTE": "1000000",
            "MOBILEND_OTP_CHECKS_PER_IP": "1000000",
        }
    return env


def start_service(children: Children, env: dict[str, str], workers: int = 1) -> str:
    """``mobilend serve`` on a free port; returns its base URL once ``/health`` answers."""
    port = free_port()
    process = children.start(
        mobilend("serve", "--host", "127.0.0.1", "--port", str(port), "--workers",
                 str(workers), "--no-access-log"), env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    # Each worker process builds the whole platform: slow to start on a busy machine.
    wait_up(f"{base}/health", timeout=120.0 * workers, process=process)
    time.sleep(1.0 if workers > 1 else 0.2)  # let every uvicorn worker start listening
    return base


def start_insert_endpoint(children: Children, url: str, workers: int = 1) -> str:
    """The reference endpoint (``benchmarks.insert_endpoint``) under uvicorn."""
    port = free_port()
    env = {**os.environ, "MOBILEND_DATABASE_URL": url}
    process = children.start(
        [PYTHON, "-m", "uvicorn", "mobilend.benchmarks.insert_endpoint:app_from_env", "--factory",
         "--host",
         "127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-access-log"], env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_up(f"{base}/health", process=process)
    time.sleep(1.0 if workers > 1 else 0.2)
    return base
