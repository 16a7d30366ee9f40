"""The borrower's mobile web app: server-rendered pages over the same use cases as the API.

``create_web(container)`` returns an ASGI app to mount at ``/``. ``container`` is the
composition root's object holding the ``BorrowerJourney`` (as ``.journey``), or the
journey itself. The pages call the journey's use cases and nothing else: no business
rule lives here.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from mobilend.app.journey import BorrowerJourney
from mobilend.app.ports import GatewayUnavailable, TokenPair
from mobilend.domain.borrowers import Unauthenticated
from mobilend.domain.errors import DomainError, NotFound
from mobilend.web import formatting
from mobilend.web.i18n import LANG_COOKIE, Translator, language_of, requested_language
from mobilend.web.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    IDEMPOTENCY_FIELD,
    REFRESH_COOKIE,
    SESSION_COOKIE,
    CsrfRejected,
    check_csrf,
    csrf_token_for,
    is_secure,
    new_idempotency_key,
    set_csrf_cookie,
    set_session,
)

T = TypeVar("T")

HERE = Path(__file__).parent
DEVICE_COOKIE = "mobilend_device"
_YEAR = 60 * 60 * 24 * 365
#: The device id this browser got on its first visit (recorded with consents and signatures).
_DEVICE_ID = re.compile(r"web-[0-9a-f]{16}")


class SignInRequired(Exception):
    """The page needs a signed-in borrower."""


@dataclass
class Page:
    """What one request carries through the page code: language, CSRF token, device id,
    and a refreshed session to set on the way out."""

    request: Request
    t: Translator
    csrf_token: str
    device_id: str
    session: TokenPair | None = None

    @property
    def ip_address(self) -> str:
        return self.request.client.host if self.request.client else ""


def page_of(request: Request) -> Page:
    page: Page | None = getattr(request.state, "page", None)
    if page is None:
        raise RuntimeError("the web middleware did not run")
    return page


class WebKit:
    """Templates, the journey, and the helpers every page module shares."""

    def __init__(self, journey: BorrowerJourney) -> None:
        self.journey = journey
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.filters.update(formatting.FILTERS)
        self.templates.env.globals["CSRF_FIELD"] = CSRF_FIELD
        self.templates.env.globals["CSRF_HEADER"] = CSRF_HEADER
        self.templates.env.globals["IDEMPOTENCY_FIELD"] = IDEMPOTENCY_FIELD

    # -- who is asking ----------------------------------------------------------
    def borrower_id(self, request: Request) -> str:
        """The signed-in borrower; refreshes an expired access token from the refresh cookie."""
        onboarding = self.journey.onboarding
        token = request.cookies.get(SESSION_COOKIE, "")
        if token:
            try:
                return onboarding.authenticate(token)
            except Unauthenticated:
                pass
        refresh = request.cookies.get(REFRESH_COOKIE, "")
        if refresh:
            try:
                pair = onboarding.refresh_session(refresh)
                page_of(request).session = pair
                return onboarding.authenticate(pair.access_token)
            except Unauthenticated:
                pass
        raise SignInRequired()

    async def signed_in(self, request: Request) -> str:
        return await run_in_threadpool(self.borrower_id, request)

    @staticmethod
    async def call(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run a (blocking) use case off the event loop."""
        return await run_in_threadpool(fn, *args, **kwargs)

    @staticmethod
    async def posted_form(request: Request) -> FormData:
        """The submitted form, once its CSRF token has been checked."""
        await check_csrf(request)
        return await request.form()

    # -- responses --------------------------------------------------------------
    def render(
        self,
        request: Request,
        template: str,
        status_code: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        page = page_of(request)
        values: dict[str, Any] = {
            "t": page.t,
            "lang": page.t.lang,
            "csrf_token": page.csrf_token,
            "path": request.url.path,
            "errors": {},
            "form": {},
        }
        values.update(context)
        return self.templates.TemplateResponse(request, template, values, status_code=status_code)

    @staticmethod
    def redirect(request: Request, url: str) -> Response:
        """A 303 after a POST; HTMX requests get ``HX-Redirect`` so the whole page moves."""
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=204, headers={"HX-Redirect": url})
        return RedirectResponse(url, status_code=303)

    @staticmethod
    def idempotency_key() -> str:
        return new_idempotency_key()


def _journey_of(container: Any) -> BorrowerJourney:
    if isinstance(container, BorrowerJourney):
        return container
    journey = getattr(container, "journey", None)
    if not isinstance(journey, BorrowerJourney):
        raise TypeError("create_web needs a BorrowerJourney or an object with .journey")
    return journey


def create_web(container: Any) -> FastAPI:
    """The borrower web app (mount at ``/``); its routes stay out of the API's OpenAPI."""
    from mobilend.web import lines, loans, notifications, onboarding, repayments

    kit = WebKit(_journey_of(container))
    web = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    web.state.kit = kit
    web.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

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

    @web.exception_handler(404)
    async def no_route(request: Request, _exc: Exception) -> Response:
        if getattr(request.state, "page", None) is None:
            return Response(status_code=404)
        return error_page(kit, request, 404, page_of(request).t("error.not_found"))

    @web.exception_handler(DomainError)
    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        t = page_of(request).t
        detail = "；".join(problems_by_field(exc, t).values())
        return error_page(kit, request, 409, t("error.generic", detail=detail))

    @web.exception_handler(GatewayUnavailable)
    async def unavailable(request: Request, _exc: Exception) -> Response:
        return error_page(kit, request, 503, page_of(request).t("error.unavailable"))

    for module in (onboarding, lines, loans, repayments, notifications):
        web.include_router(module.routes(kit))
    return web


def error_page(kit: WebKit, request: Request, status: int, message: str) -> Response:
    if request.headers.get("HX-Request") == "true":
        return HTMLResponse(
            f'<div class="notice bad" role="alert">{_escape(message)}</div>', status_code=200
        )
    return kit.render(request, "error.html", status_code=status, message=message)


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


#: Refusals whose own message is written for engineers (ids, raw amounts): the borrower
#: reads these catalogue texts instead.
PLAIN_REFUSALS = frozenset(
    {"line_limit_exceeded", "line_frozen", "line_expired", "line_closed", "apr_above_cap"}
)


def problems_by_field(exc: DomainError, t: Translator) -> Mapping[str, str]:
    """A refusal's problems keyed by form field (in this language); ``_`` holds the rest."""
    if exc.code in PLAIN_REFUSALS:
        return {"_": t(f"refusal.{exc.code}")}
    found: dict[str, str] = {}
    for problem in exc.problems:
        found.setdefault(problem.field, t.bilingual(problem.message))
    if not found:
        found["_"] = t.bilingual(exc.message)
    return found
