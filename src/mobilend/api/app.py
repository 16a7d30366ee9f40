"""``create_api(container)``: the borrower API under ``/api/v1``, OpenAPI at ``/docs``.

The container is the ``Platform`` from ``bootstrap.build_platform`` (anything with a
``journey``; ``sandboxes`` is optional). Handlers are plain ``def``: they run in the
thread pool, as the use cases and the database driver are synchronous.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.routing import Route, compile_path

from mobilend.adapters.vault import install_log_redaction
from mobilend.api import (
    auth,
    callbacks,
    collections,
    collections_admin,
    collections_templates,
    lines,
    loans,
    notifications,
    ops_analytics,
    ops_console,
    ops_refunds,
    ops_routes,
    profile,
    repayments,
)
from mobilend.api.docs import install_offline_docs
from mobilend.api.errors import (
    ERROR_STATUSES,
    error_body,
    error_responses,
    install_error_handlers,
)
from mobilend.api.schemas import HealthOut
from mobilend.app.journey.service import BorrowerJourney

API_PREFIX = "/api/v1"

DESCRIPTION = """
mobilend borrower API — 移动手机贷借款人接口.

Sign in with phone + SMS code, verify identity, give consents, apply for a credit line,
get live drawdown offers (every installment, the APR by IRR), sign the e-contract, follow
the payout, repay. The payment rail and partner banks report back by signed webhook
under `/callbacks`. Money is integer fen (`amount_fen`) with a display string; identity
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
        docs_url=None,  # served offline below: Swagger UI from the installed package
        openapi_url="/openapi.json",
    )
    install_offline_docs(app)
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
        callbacks.router,
        ops_routes.router,
        ops_refunds.router,
        ops_console.router,
        ops_analytics.router,
        collections.router,
        collections_admin.router,
        collections_templates.router,
    ):
        app.include_router(router, prefix=API_PREFIX, responses=error_responses(*ERROR_STATUSES))

    @app.get("/health", response_model=HealthOut, tags=["health"], summary="Liveness")
    def health() -> HealthOut:
        return HealthOut(
            status="ok",
            business_date=journey.ctx.today(),
            sandboxes=dict(getattr(container, "sandboxes", {}) or {}),
        )

    _answer_unmatched(app)
    return app


def _answer_unmatched(app: FastAPI) -> None:
    """JSON 404/405 for API paths no route takes, so they never fall through to whatever
    is mounted beside the API (the web app's pages). Paths and methods come from the
    OpenAPI document: it lists exactly the routes the API serves."""
    known: list[tuple[re.Pattern[str], int, list[str]]] = []

    def unmatched(request: Request) -> JSONResponse:
        if not known:
            paths = {p: [m.upper() for m in ops] for p, ops in app.openapi()["paths"].items()}
            paths.update({"/openapi.json": ["GET"], "/docs": ["GET"]})
            for path, methods in paths.items():
                literal = sum(1 for part in path.split("/") if part and "{" not in part)
                known.append((compile_path(path)[0], literal, sorted(methods)))
        # /loans/{id}/repayments/due also fits /loans/{id}/repayments/{repayment_id}:
        # the template with the most literal segments is the route meant.
        fits = [
            (literal, methods) for regex, literal, methods in known if regex.match(request.url.path)
        ]
        best = max((literal for literal, _ in fits), default=0)
        allowed = sorted({m for literal, methods in fits if literal == best for m in methods})
        if allowed:
            return JSONResponse(
                error_body("method_not_allowed", f"{request.method} not allowed here"),
                405,
                headers={"Allow": ", ".join(allowed)},
            )
        return JSONResponse(error_body("not_found", "no such API route"), 404)

    # Routes with no method set take every method (QUERY and the like included); the real
    # routes come first, so these see only what those refused.
    for path in (API_PREFIX + "/{rest:path}", "/health", "/openapi.json", "/docs"):
        route = Route(path, unmatched, include_in_schema=False)
        route.methods = None
        app.router.routes.append(route)
