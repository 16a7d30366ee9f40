"""``create_api(container)``: the borrower API under ``/api/v1``, OpenAPI at ``/docs``.

The container is the ``Platform`` from ``bootstrap.build_platform`` (anything with a
``journey``; ``sandboxes`` is optional). Handlers are plain ``def``: they run in the
thread pool, as the use cases and the database driver are synchronous.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI

from mobilend.adapters.vault import install_log_redaction
from mobilend.api import auth, lines, loans, notifications, profile, repayments
from mobilend.api.errors import ERROR_STATUSES, error_responses, install_error_handlers
from mobilend.api.schemas import HealthOut
from mobilend.app.journey import BorrowerJourney

API_PREFIX = "/api/v1"

DESCRIPTION = """
mobilend borrower API — 移动手机贷借款人接口.

Sign in with phone + SMS code, verify identity, give consents, apply for a credit line,
get live drawdown offers (every installment, the APR by IRR), sign the e-contract, follow
the payout, repay. Money is integer fen (`amount_fen`) with a display string; identity
fields are always masked. Errors are `{"error": {"code", "message", "fields"}}`.
Money-moving POSTs need an `Idempotency-Key` header.
"""


def create_api(container: Any, *, lifespan: Any = None) -> FastAPI:
    journey = container if isinstance(container, BorrowerJourney) else container.journey
    app = FastAPI(
        lifespan=lifespan,
        title="mobilend borrower API",
        version="1",
        description=DESCRIPTION,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.journey = journey
    app.state.container = container
    install_error_handlers(app)
    for logger_name in ("", "uvicorn.error", "uvicorn.access"):
        install_log_redaction(logging.getLogger(logger_name))
    for router in (
        auth.router,
        profile.router,
        lines.router,
        loans.router,
        repayments.router,
        notifications.router,
    ):
        app.include_router(router, prefix=API_PREFIX, responses=error_responses(*ERROR_STATUSES))

    @app.get("/health", response_model=HealthOut, tags=["health"], summary="Liveness")
    def health() -> HealthOut:
        return HealthOut(
            status="ok",
            business_date=journey.ctx.today(),
            sandboxes=dict(getattr(container, "sandboxes", {}) or {}),
        )

    return app
