"""The borrower's mobile web app: server-rendered pages over the same use cases as the API.

``create_web(container)`` returns an ASGI app to mount at ``/``. ``container`` is the
composition root's object holding the ``BorrowerJourney`` (as ``.journey``), or the
journey itself. The pages call the journey's use cases and nothing else: no business
rule lives here.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from mobilend.app.journey.service import BorrowerJourney
from mobilend.domain.errors import DomainError, GatewayUnavailable, NotFound
from mobilend.web import documents, lines, loans, my_data, notifications, onboarding, repayments
from mobilend.web.i18n import LANG_COOKIE, Translator, language_of, requested_language
from mobilend.web.kit import (
    HERE,
    Page,
    SignInRequired,
    WebKit,
    error_page,
    page_of,
    problems_by_field,
)
from mobilend.web.security import (
    CsrfRejected,
    csrf_token_for,
    is_secure,
    set_csrf_cookie,
    set_session,
)

#: Each page module's router factory, mounted in this order.
PAGE_ROUTES = (
    onboarding.routes,
    lines.routes,
    loans.routes,
    repayments.routes,
    notifications.routes,
    my_data.routes,
    documents.routes,
)

log = logging.getLogger(__name__)

DEVICE_COOKIE = "mobilend_device"
_YEAR = 60 * 60 * 24 * 365
#: The device id this browser got on its first visit (recorded with consents and signatures).
_DEVICE_ID = re.compile(r"web-[0-9a-f]{16}")


def _journey_of(container: Any) -> BorrowerJourney:
    if isinstance(container, BorrowerJourney):
        return container
    journey = getattr(container, "journey", None)
    if not isinstance(journey, BorrowerJourney):
        raise TypeError("create_web needs a BorrowerJourney or an object with .journey")
    return journey


def _sandbox_sms_page(container: Any) -> str:
    """The SMS sandbox's page, when this process started one (a developer's service)."""
    sandboxes = getattr(container, "sandboxes", None)
    if isinstance(sandboxes, dict):
        return str(sandboxes.get("sms_gateway", "")) + "/" if sandboxes.get("sms_gateway") else ""
    return ""


def create_web(container: Any) -> FastAPI:
    """The borrower web app (mount at ``/``); its routes stay out of the API's OpenAPI."""
    kit = WebKit(_journey_of(container))
    kit.templates.env.globals["SANDBOX_SMS_PAGE"] = _sandbox_sms_page(container)
    web = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    web.state.kit = kit
    web.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @web.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return RedirectResponse("/static/favicon.svg", status_code=301)

    @web.middleware("http")
    async def per_request(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        token, new_token = csrf_token_for(request)
        device = request.cookies.get(DEVICE_COOKIE, "")
        new_device = not _DEVICE_ID.fullmatch(device)
        if new_device:
            device = "web-" + secrets.token_hex(8)
        page = Page(request, Translator(language_of(request)), token, device)
        request.state.page = page
        response = await call_next(request)
        secure = is_secure(request)
        if new_token:
            set_csrf_cookie(response, request, token)
        if new_device:
            response.set_cookie(
                DEVICE_COOKIE, device, max_age=_YEAR, httponly=True, samesite="lax", secure=secure
            )
        asked = requested_language(request)
        if asked is not None:
            response.set_cookie(LANG_COOKIE, asked, max_age=_YEAR, samesite="lax", secure=secure)
        if page.session is not None:
            set_session(response, request, page.session.access_token, page.session.refresh_token)
        if not request.url.path.startswith("/static/"):
            # Pages show personal and loan data: never kept by the browser or a proxy.
            response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    @web.exception_handler(SignInRequired)
    async def sign_in(request: Request, _exc: Exception) -> Response:
        target = "/login"
        if request.method == "GET" and request.url.path not in ("/", "/login"):
            target += "?next=" + quote(request.url.path, safe="/")
        return kit.redirect(request, target)

    @web.exception_handler(CsrfRejected)
    async def csrf(request: Request, _exc: Exception) -> Response:
        return error_page(kit, request, 403, page_of(request).t("error.csrf"))

    @web.exception_handler(NotFound)
    async def not_found(request: Request, _exc: Exception) -> Response:
        return error_page(kit, request, 404, page_of(request).t("error.not_found"))

    @web.exception_handler(HTTPException)
    async def http_error(request: Request, exc: Exception) -> Response:
        """No route (404), a form's address opened directly (405) and the like: the app's
        own page, never a bare JSON error."""
        assert isinstance(exc, HTTPException)
        if getattr(request.state, "page", None) is None:
            return Response(status_code=exc.status_code)
        t = page_of(request).t
        if exc.status_code == 404:
            return error_page(kit, request, 404, t("error.not_found"))
        if exc.status_code == 405:
            return error_page(kit, request, 405, t("error.method"))
        return error_page(kit, request, exc.status_code, t("error.invalid"))

    @web.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        """A bug: logged with its type (never the request's data), and the app's error page."""
        log.error("web page failed: %s", type(exc).__name__)
        page = getattr(request.state, "page", None)
        if page is None:
            return Response("Internal Server Error", status_code=500)
        response = error_page(kit, request, 500, page.t("error.server"))
        response.headers["Cache-Control"] = "no-store"
        return response

    @web.exception_handler(DomainError)
    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        t = page_of(request).t
        detail = "；".join(problems_by_field(exc, t).values())
        return error_page(kit, request, 409, t("error.generic", detail=detail))

    @web.exception_handler(GatewayUnavailable)
    async def unavailable(request: Request, _exc: Exception) -> Response:
        return error_page(kit, request, 503, page_of(request).t("error.unavailable"))

    for routes in PAGE_ROUTES:
        web.include_router(routes(kit))
    return web
