"""Reusable fixtures: sandbox services over real HTTP, and a webhook receiver.

Import the fixtures you need into a test module::

    from sandbox_fixtures import *  # noqa: F403  (the fixtures listed in __all__)
    from sandbox_fixtures import SANDBOX_SECRET, Sandbox, wait_until

Each sandbox runs under uvicorn in a background thread on a free port, once per test
module; the function-scoped fixture resets it (state, faults, seed) before every test
and points its callbacks at a ``WebhookReceiver`` (a stdlib HTTP server recording every
callback, and able to answer 500 to the next *n* of them).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from mobilend.sandbox import messaging_gateway, partner_bank
from mobilend.sandbox import payment_gateway as payment_sandbox

#: Only the fixtures, so a star import brings them in without shadowing warnings.
__all__ = [
    "messaging_gateway_sandbox",
    "messaging_gateway_server",
    "partner_bank_sandbox",
    "partner_bank_server",
    "payment_gateway",
    "payment_gateway_server",
    "webhook_receiver",
]

SANDBOX_SECRET = "test-sandbox-secret"
T = TypeVar("T")


def wait_until(check: Callable[[], T], timeout: float = 10.0, interval: float = 0.02) -> T:
    """Poll ``check`` until it returns something truthy (bounded wait, not a timing test)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        time.sleep(interval)


class ServerThread:
    """A FastAPI app served by uvicorn on 127.0.0.1:<free port> in a daemon thread."""

    def __init__(self, app: FastAPI) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        # As ``mobilend serve`` runs: forwarded headers are the app's business (mobilend.edge).
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,
            proxy_headers=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> ServerThread:
        self._thread.start()
        wait_until(lambda: self._server.started, timeout=15)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


@dataclass
class ReceivedCallback:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """Records POSTed callbacks; ``fail_next(n)`` answers 500 to the next ``n``."""

    calls: list[ReceivedCallback] = field(default_factory=list)
    _failures_left: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/callbacks"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    failing = receiver._failures_left > 0
                    if failing:
                        receiver._failures_left -= 1
                    else:
                        receiver.calls.append(
                            ReceivedCallback(self.path, dict(self.headers.items()), body)
                        )
                self.send_response(500 if failing else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self._failures_left = 0

    def fail_next(self, count: int) -> None:
        with self._lock:
            self._failures_left = count

    def snapshot(self) -> list[ReceivedCallback]:
        with self._lock:
            return list(self.calls)


@dataclass
class Sandbox:
    """A running sandbox service and a plain client for its admin endpoints."""

    base_url: str
    secret: str
    callback_url: str

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, self.base_url + path, timeout=10, **kwargs)
        response.raise_for_status()
        return response.json()

    def set_fault(self, mode: str, **options: Any) -> None:
        self.admin("POST", "/admin/faults", json={"mode": mode, **options})

    def clear_faults(self) -> None:
        self.admin("DELETE", "/admin/faults")

    def stats(self) -> dict[str, Any]:
        return self.admin("GET", "/admin/stats")

    def reset(self, **options: Any) -> None:
        self.admin("POST", "/admin/reset", json={"callback_url": self.callback_url, **options})

    def wait_idle(self, timeout: float = 15.0) -> dict[str, Any]:
        """Wait until no settlement/decision/receipt and no callback is still in flight."""

        def idle() -> dict[str, Any] | None:
            stats = self.stats()
            busy = ("settling", "deciding", "receipts_pending", "callbacks_in_flight")
            return None if any(stats.get(k, 0) for k in busy) else stats

        return wait_until(idle, timeout=timeout)


def _sandbox_fixture(factory: Callable[[], FastAPI]) -> Callable[..., Iterator[str]]:
    @pytest.fixture(scope="module")
    def server() -> Iterator[str]:
        thread = ServerThread(factory()).start()
        yield thread.base_url
        thread.stop()

    return server


@pytest.fixture(scope="module")
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


payment_gateway_server = _sandbox_fixture(
    lambda: payment_sandbox.create_app(SANDBOX_SECRET, settle_delay_ms=10)
)
messaging_gateway_server = _sandbox_fixture(
    lambda: messaging_gateway.create_app(SANDBOX_SECRET, receipt_delay_ms=10)
)
partner_bank_server = _sandbox_fixture(
    lambda: partner_bank.create_app(SANDBOX_SECRET, decision_delay_ms=20)
)


def _fresh(base_url: str, receiver: WebhookReceiver, **options: Any) -> Sandbox:
    sandbox = Sandbox(base_url, SANDBOX_SECRET, receiver.url)
    sandbox.reset(seed=7, **options)
    receiver.reset()
    return sandbox


@pytest.fixture
def payment_gateway(payment_gateway_server: str, webhook_receiver: WebhookReceiver) -> Sandbox:
    """The payment gateway, reset: seed 7, settles after 10 ms, business date 2026-03-02."""
    return _fresh(
        payment_gateway_server, webhook_receiver, settle_delay_ms=10, business_date="2026-03-02"
    )


@pytest.fixture
def messaging_gateway_sandbox(
    messaging_gateway_server: str, webhook_receiver: WebhookReceiver
) -> Sandbox:
    """The SMS/push gateway, reset: seed 7, receipts after 10 ms."""
    return _fresh(messaging_gateway_server, webhook_receiver, receipt_delay_ms=10)


@pytest.fixture
def partner_bank_sandbox(partner_bank_server: str, webhook_receiver: WebhookReceiver) -> Sandbox:
    """The partner bank, reset: seed 7, default policy, decides after 20 ms."""
    return _fresh(partner_bank_server, webhook_receiver, decision_delay_ms=20)
