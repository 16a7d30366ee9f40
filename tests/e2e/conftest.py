"""End-to-end fixtures: the whole service over real HTTP on real PostgreSQL.

``service`` builds the platform exactly as ``mobilend serve`` does (``asgi.create_app``)
on the clean test database, with the sandbox SMS and payment gateways, and serves it by
uvicorn on a free port in a background thread, with the service's background thread
(the disbursement worker's passes) running. Payouts ask the rail to call back the
service's own ``/api/v1/callbacks/rail``, so every payout settles by signed webhook. The
business date is fixed (time of day runs on), so no test straddles midnight.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.e2e.journey_client import Service
from tests.integration.risk_fixtures import small_model_dir
from tests.integration.sandbox_fixtures import SANDBOX_SECRET, ServerThread

from mobilend.adapters.http_resilience import CircuitBreaker
from mobilend.adapters.notify.http_gateway import HttpMessageGateway
from mobilend.adapters.rails.http_rail import HttpPaymentRail
from mobilend.asgi import create_app
from mobilend.bootstrap.platform import Platform, build_platform
from mobilend.bootstrap.service import build_service, start_background_work
from mobilend.config import Settings, get_settings
from mobilend.sandbox import messaging_gateway, payment_gateway

BUSINESS_DAY = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


class FixedDayClock:
    """Real elapsed time from 01:00 UTC on a fixed business day."""

    def __init__(self, start: dt.datetime = BUSINESS_DAY) -> None:
        self._start = start
        self._origin = time.monotonic()

    def now(self) -> dt.datetime:
        return self._start + dt.timedelta(seconds=time.monotonic() - self._origin)


@pytest.fixture(scope="session")
def gateway_sandboxes() -> Iterator[tuple[str, str]]:
    sms = ServerThread(messaging_gateway.create_app(SANDBOX_SECRET, receipt_delay_ms=5)).start()
    pay = ServerThread(payment_gateway.create_app(SANDBOX_SECRET, settle_delay_ms=5)).start()
    yield sms.base_url, pay.base_url
    sms.stop()
    pay.stop()


#: Every test borrower signs in from 127.0.0.1: the per-client and overall limits on
#: sign-in codes are lifted here (tests of those limits build their own service).
GENEROUS_LIMITS = {
    "otp_sends_per_ip": 1_000_000,
    "otp_sends_per_minute": 1_000_000,
    "otp_checks_per_ip": 1_000_000,
}


def build_test_platform(
    db: sa.Engine, var_dir: Path, sandboxes: tuple[str, str], **overrides: object
) -> Platform:
    values: dict[str, object] = {
        "database_url": db.url.render_as_string(hide_password=False),
        "var_dir": var_dir,
        "gateway_secret": SANDBOX_SECRET,
        "decision_engine": "basic",
        **GENEROUS_LIMITS,
    }
    settings = Settings(**{**values, **overrides})  # type: ignore[arg-type]
    # Breakers that close again within a second, so outage tests need not wait 30 s.
    rail = HttpPaymentRail(sandboxes[1], SANDBOX_SECRET, timeout=5, retries=1, breaker=_breaker())
    sms = HttpMessageGateway(sandboxes[0], SANDBOX_SECRET, timeout=3, retries=1, breaker=_breaker())
    platform = build_platform(
        engine=db, settings=settings, clock=FixedDayClock(), rail=rail, messages=sms
    )
    platform.closers += [rail.close, sms.close]
    return platform


def _breaker() -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=5, reset_after=0.5)


def _serve(
    engine: sa.Engine, var_dir: Path, sandboxes: tuple[str, str], **overrides: object
) -> Iterator[Service]:
    platform = build_test_platform(engine, var_dir, sandboxes, **overrides)
    server = ServerThread(create_app(platform))
    platform.set_public_url(server.base_url)  # known once the socket is bound
    start_background_work(platform)
    server.start()
    try:
        yield Service(server.base_url, sandboxes[0], sandboxes[1], platform, engine)
    finally:
        server.stop()
        platform.close()


@pytest.fixture
def service(db: sa.Engine, tmp_path: Path, gateway_sandboxes: tuple[str, str]) -> Iterator[Service]:
    """The service on a freshly emptied database, for one test."""
    yield from _serve(db, tmp_path / "var", gateway_sandboxes)


@pytest.fixture(scope="module")
def shared_service(
    db_engine: sa.Engine,
    tmp_path_factory: pytest.TempPathFactory,
    gateway_sandboxes: tuple[str, str],
) -> Iterator[Service]:
    """One service for a whole module whose tests each bring their own borrowers (the
    database is not emptied between them)."""
    yield from _serve(db_engine, tmp_path_factory.mktemp("var"), gateway_sandboxes)


@pytest.fixture
def scoring_service(
    db: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Service]:
    """The service as ``make run`` starts it with no outside URLs configured: the sandbox
    SMS, payment and credit data services in process and the scoring engine (policy
    rules → fraud → PD model → limit and price), whose decisions carry reason codes."""
    # The environment a deployment would set; the replay command reads the same settings.
    monkeypatch.setenv("MOBILEND_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("MOBILEND_MODEL_DIR", str(small_model_dir()))
    get_settings.cache_clear()
    settings = Settings(database_url=db.url.render_as_string(hide_password=False))
    assert not settings.credit_data_url and settings.decision_engine == "auto"
    platform = build_service(settings)
    server = ServerThread(create_app(platform)).start()
    try:
        yield Service.with_own_sandboxes(server.base_url, platform, db)
    finally:
        server.stop()
        platform.close()
        get_settings.cache_clear()
