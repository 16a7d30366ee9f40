"""The service's start-up: the database schema brought up to date, sandboxes for the
outside systems not configured, the platform, and its background thread.

With no gateway URLs configured it first starts the sandbox SMS and payment gateways in
this process, each on a free port of 127.0.0.1: the SMS sandbox keeps every message, so
a developer reads sign-in codes from ``<sms sandbox>/messages`` (its URL is in
``GET /health``); the payment sandbox sends its signed webhooks to this service's
``/api/v1/callbacks/rail`` (at ``public_url``, which ``mobilend serve`` fills in), the same
path a real gateway uses. Likewise, with no ``credit_data_url`` (and a decision engine
other than ``basic``) it starts the sandbox credit data service, so the scoring engine
decides with bureau, telco and e-commerce data.

Background work (``BackgroundWork``, one daemon thread per process): the disbursement
worker's passes (``app.funding.worker.run_cycle``, the function the job queue runs too)
when ``disbursement_worker`` says the service runs them — by default exactly when the
payment gateway is the sandbox inside this process, which no separate worker can reach —
and, always, the journey's notices whose SMS is due.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from mobilend.adapters.db import engine as db_engine
from mobilend.adapters.db import migrate
from mobilend.adapters.db.outbox_signal import OutboxSignal
from mobilend.app.funding.worker import run_cycle
from mobilend.app.servicing.autodebit import poll_debits, submit_debits
from mobilend.bootstrap.platform import Platform, build_platform
from mobilend.bootstrap.sandboxes import seed_sandbox_blacklist, start_sandboxes
from mobilend.config import Settings, ensure_production_ready, get_settings

log = logging.getLogger("mobilend.service")


class BackgroundWork:
    """The service's own background thread: passes of the disbursement worker
    (``run_cycle``: partner approvals, due payouts, payouts never confirmed) when
    ``disbursement`` is set, with the card debits of the borrowers' payments (sent, and
    polled when the rail has not confirmed them), and the journey's due SMS notices every
    ``messages_every_s``. Several processes may run it at once: every claim is leased or
    taken under a row lock, and the rail deduplicates by idempotency key.

    Between passes that found nothing to do it waits ``idle_s`` — or, given ``wake``
    (``OutboxSignal.wait``: a payout queued and committed anywhere), only until then."""

    def __init__(
        self,
        platform: Platform,
        *,
        disbursement: bool = True,
        idle_s: float = 0.2,
        messages_every_s: float = 1.0,
        wake: Callable[[float], bool] | None = None,
    ) -> None:
        self._platform = platform
        self._disbursement = disbursement
        self._idle = idle_s
        self._messages_every = messages_every_s
        self._wake = wake
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
                if self._disbursement:
                    self._collect()
            if not busy:
                if self._wake is not None:
                    self._wake(min(self._idle, max(0.0, next_messages - time.monotonic())))
                else:
                    self._stop.wait(self._idle)

    def _collect(self) -> None:
        """Card debits of the borrowers' payments: those not sent yet, and those the rail
        took but has not confirmed (a lost webhook) — the same rail as the payouts."""
        desk = self._platform.servicing
        if desk is None:
            return
        try:
            submit_debits(desk, limit=100)
            poll_debits(desk, limit=100)
        except Exception as exc:  # the attempts stay pending / submitted
            log.error("collecting card payments failed: %s", type(exc).__name__)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def disbursement_here(settings: Settings) -> bool:
    """Whether this service runs the disbursement worker (see ``disbursement_worker``)."""
    if settings.disbursement_worker == "auto":
        return not settings.payment_gateway_url
    return settings.disbursement_worker == "service"


#: With the outbox listened to, an idle pass comes this often (leases running out,
#: partner approvals and unconfirmed payouts to poll); new payouts wake it at once.
LISTENING_IDLE_S = 1.0


def start_background_work(platform: Platform, *, disbursement: bool = True) -> BackgroundWork:
    """Start the platform's background thread; ``platform.close()`` stops it. Sending
    payouts, it listens for the outbox's notifications (``OutboxSignal``)."""
    signal: OutboxSignal | None = None
    if disbursement:
        signal = OutboxSignal(platform.engine.url.render_as_string(hide_password=False))
        platform.closers.append(signal.close)  # closers run last first: after the thread
    work = BackgroundWork(
        platform,
        disbursement=disbursement,
        idle_s=LISTENING_IDLE_S if signal else 0.2,
        wake=signal.wait if signal else None,
    ).start()
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
    if "credit_data" in urls:
        seed_sandbox_blacklist(platform.engine, platform.vault)
    start_background_work(platform, disbursement=disbursement_here(settings))
    for name, url in urls.items():
        log.warning("sandbox %s started at %s", name, url)
    if "sms_gateway" in urls:
        log.warning(
            "sign-in codes and the sandbox test identities: %s/ (README: Test identities)",
            urls["sms_gateway"],
        )
    return platform
