"""The service's ASGI application: ``uvicorn mobilend.asgi:create_app --factory``
(what ``mobilend serve`` runs).

``create_app()`` brings the database schema up to date, wires the platform
(``bootstrap.build_platform``) and serves the borrower API under ``/api/v1`` (and the
mobile web app beside it). With no gateway URLs configured it first starts the sandbox
SMS and payment gateways inside this process, each on a free port of 127.0.0.1: the SMS
sandbox keeps every message, so a developer reads sign-in codes from
``<sms sandbox>/messages`` (its URL is in ``GET /health``); the payment sandbox sends its
signed webhooks to this service's ``/api/v1/callbacks/rail`` (at ``public_url``, which
``mobilend serve`` fills in), the same path a real gateway uses. Likewise, with no
``credit_data_url`` (and a decision engine other than ``basic``) it starts the sandbox
credit data service, so the scoring engine decides with bureau, telco and e-commerce data.

Background work (``BackgroundWork``, one daemon thread per process): the disbursement
worker's passes (``app.disbursement_worker.run_cycle``, the function the job queue runs
too) when ``disbursement_worker`` says the service runs them — by default exactly when
the payment gateway is the sandbox inside this process, which no separate worker can
reach — and, always, the journey's notices whose SMS is due (a retry, or a notice the
payout outcome left).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from fastapi import FastAPI

from mobilend.adapters.db import engine as db_engine
from mobilend.adapters.db import migrate
from mobilend.api import create_api
from mobilend.app.disbursement_worker import run_cycle
from mobilend.bootstrap import RAIL_CALLBACK_PATH, Platform, build_platform, callback_address
from mobilend.config import Settings, ensure_production_ready, get_settings
from mobilend.edge import install_edge
from mobilend.web import create_web

log = logging.getLogger("mobilend.asgi")


class SandboxThread:
    """A sandbox app served by uvicorn on 127.0.0.1:<free port> in a daemon thread."""

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


def start_sandboxes(settings: Settings) -> tuple[dict[str, str], list[SandboxThread]]:
    """Start the sandbox gateways the settings do not point elsewhere; their URLs by name."""
    from mobilend.adapters.counterparty_secrets import counterparty_secrets
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
        # Bureau, telco and e-commerce stand-ins for the scoring engine.
        from mobilend.sandbox import credit_data

        thread = SandboxThread(credit_data.create_app()).start()
        threads.append(thread)
        urls["credit_data"] = thread.base_url
    return urls, threads


class BackgroundWork:
    """The service's own background thread: passes of the disbursement worker
    (``run_cycle``: partner approvals, due payouts, payouts never confirmed) when
    ``disbursement`` is set, and the journey's due SMS notices every ``messages_every_s``.
    Several processes may run it at once: every claim is leased under a row lock."""

    def __init__(
        self,
        platform: Platform,
        *,
        disbursement: bool = True,
        idle_s: float = 0.2,
        messages_every_s: float = 1.0,
    ) -> None:
        self._platform = platform
        self._disbursement = disbursement and platform.disbursement is not None
        self._idle = idle_s
        self._messages_every = messages_every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="background-work", daemon=True)

    def start(self) -> BackgroundWork:
        self._thread.start()
        return self

    def _run(self) -> None:
        next_messages = 0.0
        while not self._stop.is_set():
            busy = False
            if self._disbursement:
                try:
                    busy = run_cycle(self._platform.disbursement).busy
                except Exception as exc:  # keep going; claims are leased and retried
                    log.error("disbursement pass failed: %s", type(exc).__name__)
            if time.monotonic() >= next_messages:
                next_messages = time.monotonic() + self._messages_every
                try:
                    self._platform.journey.dispatch_due()
                except Exception as exc:  # the messages stay queued
                    log.error("sending due notices failed: %s", type(exc).__name__)
            if not busy:
                self._stop.wait(self._idle)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def disbursement_here(settings: Settings) -> bool:
    """Whether this service runs the disbursement worker (see ``disbursement_worker``)."""
    if settings.disbursement_worker == "auto":
        return not settings.payment_gateway_url
    return settings.disbursement_worker == "service"


def start_background_work(platform: Platform, *, disbursement: bool = True) -> BackgroundWork:
    """Start the platform's background thread; ``platform.close()`` stops it."""
    work = BackgroundWork(platform, disbursement=disbursement).start()
    platform.closers.append(work.stop)
    return work


def build_service(settings: Settings | None = None, *, migrate_schema: bool = True) -> Platform:
    settings = settings or get_settings()
    # Production refuses defaults, missing secrets and development parts before anything starts.
    ensure_production_ready(settings)
    if migrate_schema:
        migrate.upgrade(db_engine.database_url(settings))
    urls, threads = start_sandboxes(settings)
    if "credit_data" in urls:
        settings = settings.model_copy(update={"credit_data_url": urls["credit_data"]})
    try:
        platform = build_platform(
            settings=settings,
            sms_gateway_url=urls.get("sms_gateway"),
            payment_gateway_url=urls.get("payment_gateway"),
        )
    except Exception:
        for thread in threads:
            thread.stop()
        raise
    platform.sandboxes.update(urls)
    platform.closers += [thread.stop for thread in threads]
    start_background_work(platform, disbursement=disbursement_here(settings))
    for name, url in urls.items():
        log.warning("sandbox %s started at %s", name, url)
    return platform


def create_app(platform: Platform | None = None) -> FastAPI:
    """The whole service on one ASGI app (uvicorn ``--factory`` calls it with no argument)."""
    service = platform or build_service()

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if platform is None:  # built here, so closed here
            service.close()

    app = create_api(service, lifespan=lifespan)

    # ---- mobile web app ------------------------------------------------------------
    # The server-rendered borrower pages, beside the API (mounted last: /api/v1, /docs
    # and /health match first).
    app.mount("/", create_web(service))
    # ---------------------------------------------------------------------------------
    # Proxy headers, access log, security headers and the body-size limit, around both.
    install_edge(app, service.settings)
    return app
