"""Serving a sandbox app (payment gateway, SMS gateway, credit data) in a thread of this
process, on 127.0.0.1 and a free port: for a developer's service and for commands run
with no outside URL configured."""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

import sqlalchemy as sa
import uvicorn

from mobilend.adapters.counterparty_secrets import counterparty_secrets
from mobilend.adapters.vault import FieldVault
from mobilend.bootstrap.infra import RAIL_CALLBACK_PATH, callback_address
from mobilend.config import Settings

log = logging.getLogger("mobilend.sandboxes")


class SandboxThread:
    """A sandbox ASGI app served by uvicorn on 127.0.0.1:<free port> in a daemon thread."""

    def __init__(self, app: Any) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        config = uvicorn.Config(
            app, log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self, timeout: float = 15.0) -> SandboxThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"sandbox at {self.base_url} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._socket.close()


def start_credit_data_sandbox() -> SandboxThread:
    """The sandbox credit data service (bureau, telco, e-commerce stand-ins)."""
    from mobilend.sandbox import credit_data

    return SandboxThread(credit_data.create_app()).start()


def seed_sandbox_blacklist(db: sa.Engine, vault: FieldVault) -> list[str]:
    """Put the sandbox's fraud test identity on the fraud blacklist (idempotent), so its
    documented outcome holds: for a service deciding with the sandbox credit data it
    started itself. Returns the identities listed."""
    from mobilend.adapters.db.risk_repository import SqlFraudSignalStore
    from mobilend.sandbox.test_identities import blacklisted_national_ids

    store = SqlFraudSignalStore(db, vault)
    listed = blacklisted_national_ids()
    for national_id in listed:
        store.add_to_blacklist("national_id", national_id, reason="sandbox test identity")
    return listed


def start_sandboxes(settings: Settings) -> tuple[dict[str, str], list[SandboxThread]]:
    """Start the sandbox gateways the settings do not point elsewhere; their URLs by name."""
    from mobilend.sandbox import messaging_gateway, payment_gateway

    # Each sandbox signs with its counterparty's own (current) secret.
    secrets = counterparty_secrets(settings)
    urls: dict[str, str] = {}
    threads: list[SandboxThread] = []
    if not settings.sms_gateway_url:
        sms_app = messaging_gateway.create_app(secrets.sms_gateway.current, receipt_delay_ms=50)
        thread = SandboxThread(sms_app).start()
        threads.append(thread)
        urls["sms_gateway"] = thread.base_url
    if not settings.payment_gateway_url:
        callback = callback_address(settings.public_url, RAIL_CALLBACK_PATH)
        if not callback:
            log.warning(
                "no public_url: the payment sandbox cannot call back; payouts settle by "
                "the worker's status poll instead of by webhook"
            )
        sandbox = payment_gateway.create_app(
            secrets.rail.current, settle_delay_ms=20, callback_url=callback
        )
        thread = SandboxThread(sandbox).start()
        threads.append(thread)
        urls["payment_gateway"] = thread.base_url
    if not settings.credit_data_url and settings.decision_engine != "basic":
        thread = start_credit_data_sandbox()
        threads.append(thread)
        urls["credit_data"] = thread.base_url
    return urls, threads
