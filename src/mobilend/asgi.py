"""The service's ASGI application: ``uvicorn mobilend.asgi:create_app --factory``
(what ``mobilend serve`` runs): the borrower API under ``/api/v1``, the staff console
under ``/console`` and the mobile web app beside them, on the platform
``bootstrap.service.build_service`` starts, behind the edge middleware (proxy headers,
access log, security headers, body-size limit)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from mobilend.api import create_api
from mobilend.bootstrap.platform import Platform
from mobilend.bootstrap.service import build_service
from mobilend.console import create_console
from mobilend.edge import install_edge
from mobilend.web import create_web


def create_app(platform: Platform | None = None) -> FastAPI:
    """The whole service on one ASGI app (uvicorn ``--factory`` calls it with no argument)."""
    service = platform or build_service()

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The worker threads sync routes, dependencies and background tasks run on.
        anyio.to_thread.current_default_thread_limiter().total_tokens = (
            service.settings.serve_threads
        )
        yield
        if platform is None:  # built here, so closed here
            service.close()

    app = create_api(service, lifespan=lifespan)

    # The staff console has its own entry point, mounted before the borrower app's "/".
    # The mount matches only paths under "/console/"; the bare address (the one `make
    # run` prints) would otherwise reach the borrower app's "not found" page.
    @app.get("/console", include_in_schema=False)
    def console_root() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=308)

    app.mount("/console", create_console(service))
    # The server-rendered borrower pages, beside the API (mounted last: /api/v1, /docs
    # and /health match first).
    app.mount("/", create_web(service))
    # Proxy headers, access log, security headers and the body-size limit, around all.
    install_edge(app, service.settings)
    return app
