"""The operations console: server-rendered pages (Jinja2 + HTMX) for staff, mounted at
``/console`` beside the borrower app, on the same use cases as the staff API.

``create_console(platform)`` returns the ASGI app. Pages ask for a permission, never a
role (``domain.staff``); scripts and styles are static files (no inline script, style
or handler), so the service's Content-Security-Policy needs no ``'unsafe-inline'``.
Plotly's JavaScript is served from the installed ``plotly`` package, never a CDN, and so
are the styles it would otherwise inject as ``<style>`` elements (``plotly_styles``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from markupsafe import escape

from mobilend.bootstrap.console import ConsoleDesk, console_desk_for
from mobilend.bootstrap.platform import Platform
from mobilend.console import (
    analytics,
    approvals,
    auth,
    configuration,
    operations,
    promotions,
    records,
    replay,
    reviews,
    stress,
    workbench,
)
from mobilend.console.i18n import LANG_COOKIE, Translator, language_of, requested_language
from mobilend.console.kit import HERE, PREFIX, ConsoleKit, ConsolePage, SignInRequired, page_of
from mobilend.console.plotly_assets import PLOTLY_JS, plotly_styles
from mobilend.console.security import (
    CONSOLE_PATH,
    CsrfRejected,
    csrf_token_for,
    is_secure,
    set_csrf_cookie,
    set_staff_session,
)
from mobilend.domain.approvals import SecondPersonRequired
from mobilend.domain.errors import DomainError, NotFound
from mobilend.domain.staff import Forbidden

#: Page modules in navigation order; each has ``NAV`` entries and ``routes(kit)``.
PAGE_MODULES = (
    auth, records, replay, reviews, approvals, workbench, analytics, stress, configuration,
    promotions, operations,
)  # fmt: skip

#: Where each page sits in the navigation (pages not listed go last).
NAV_ORDER = (
    "dashboard", "reviews", "approvals", "borrowers", "loans", "collections", "collections_book",
    "analytics", "finance", "stress", "products", "funders", "policies", "eod", "reconciliation",
    "audit",
)  # fmt: skip
_YEAR = 60 * 60 * 24 * 365
_VENDOR_CACHE = {"Cache-Control": "public, max-age=86400"}

#: Same-origin everything; no inline script or style anywhere in the console.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'self'; object-src 'none'"
)


def _fragment(message: str, status: int) -> HTMLResponse:
    return HTMLResponse(
        f'<div class="notice bad" role="alert" data-status="{status}">{escape(message)}</div>',
        status_code=200,
    )


def create_console(platform: Platform | ConsoleDesk) -> FastAPI:
    desk = platform if isinstance(platform, ConsoleDesk) else console_desk_for(platform)
    kit = ConsoleKit(desk)
    for module in PAGE_MODULES:
        kit.nav.extend(module.NAV)
    kit.nav.sort(key=lambda entry: NAV_ORDER.index(entry.key) if entry.key in NAV_ORDER else 99)
    console = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    console.state.kit = kit
    # Chart pages link these before plotly.min.js (templates/_charts_head.html).
    kit.templates.env.globals["PLOTLY_BUNDLED_STYLES"] = tuple(plotly_styles().bundled)
    console.mount("/static", StaticFiles(directory=str(HERE / "static")), name="console_static")

    @console.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(PLOTLY_JS, media_type="text/javascript", headers=_VENDOR_CACHE)

    @console.get("/vendor/plotly.css", include_in_schema=False)
    def plotly_css() -> Response:
        return Response(plotly_styles().css, media_type="text/css", headers=_VENDOR_CACHE)

    @console.get("/vendor/plotly-styles/{style_id}.css", include_in_schema=False)
    def plotly_bundled_css(style_id: str) -> Response:
        css = plotly_styles().bundled.get(style_id)
        if css is None:
            return Response(status_code=404)
        return Response(css, media_type="text/css", headers=_VENDOR_CACHE)

    @console.middleware("http")
    async def per_request(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        token, new_token = csrf_token_for(request)
        page = ConsolePage(request, Translator(language_of(request)), token)
        request.state.console = page
        response = await call_next(request)
        if new_token:
            set_csrf_cookie(response, request, token)
        asked = requested_language(request)
        if asked is not None:
            response.set_cookie(
                LANG_COOKIE, asked, max_age=_YEAR, samesite="strict", secure=is_secure(request),
                path=CONSOLE_PATH,
            )  # fmt: skip
        if page.session is not None:
            set_staff_session(
                response, request, page.session.access_token, page.session.refresh_token
            )
        static = request.url.path.startswith((PREFIX + "/static/", PREFIX + "/vendor/"))
        if not static:
            response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    def error(request: Request, status: int, key: str, **values: str) -> Response:
        page = page_of(request)
        message = page.t(key, **values)
        if request.headers.get("HX-Request") == "true":
            return _fragment(message, status)
        return kit.render(request, "error.html", status_code=status, message=message)

    @console.exception_handler(SignInRequired)
    async def sign_in(request: Request, _exc: Exception) -> Response:
        target = PREFIX + "/login"
        if request.method == "GET" and request.url.path not in (PREFIX + "/", PREFIX + "/login"):
            target += "?next=" + quote(request.url.path, safe="/")
        return kit.redirect(request, target)

    @console.exception_handler(SecondPersonRequired)
    async def second_person(request: Request, _exc: Exception) -> Response:
        return error(request, 403, "error.second_person")

    @console.exception_handler(Forbidden)
    async def forbidden(request: Request, _exc: Exception) -> Response:
        return error(request, 403, "error.forbidden")

    @console.exception_handler(CsrfRejected)
    async def csrf(request: Request, _exc: Exception) -> Response:
        return error(request, 403, "error.csrf")

    @console.exception_handler(NotFound)
    async def not_found(request: Request, _exc: Exception) -> Response:
        return error(request, 404, "error.not_found")

    @console.exception_handler(404)
    async def no_route(request: Request, _exc: Exception) -> Response:
        if getattr(request.state, "console", None) is None:
            return Response(status_code=404)
        return error(request, 404, "error.not_found")

    @console.exception_handler(DomainError)
    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        t = page_of(request).t
        texts = [t.bilingual(p.message) for p in exc.problems] or [t.bilingual(exc.message)]
        status = 422 if exc.problems else 409
        return error(request, status, "error.refused", detail="；".join(texts))

    for module in PAGE_MODULES:
        console.include_router(module.routes(kit))
    return console
