"""What every page module shares: the per-request ``Page``, the ``WebKit`` (templates, the
journey, rendering and redirects), the error page and refusal texts by form field.

Page modules import this, never ``site``: ``site`` builds the app and mounts their routes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from mobilend.app.journey.service import BorrowerJourney
from mobilend.app.onboarding.ports import TokenPair
from mobilend.domain.borrowers import Unauthenticated
from mobilend.domain.errors import DomainError
from mobilend.web import formatting
from mobilend.web.i18n import Translator
from mobilend.web.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    IDEMPOTENCY_FIELD,
    REFRESH_COOKIE,
    SESSION_COOKIE,
    check_csrf,
    new_idempotency_key,
)

T = TypeVar("T")

HERE = Path(__file__).parent


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
    {
        "line_limit_exceeded", "line_frozen", "line_expired", "line_closed", "apr_above_cap",
        "nothing_owed", "nothing_due", "payment_in_progress", "application_rate_limited",
    }
)  # fmt: skip


_CJK = re.compile(r"[\u3400-\u9fff]")
#: What a field's problem says when its own text is not in the page's language (a rule
#: written for engineers in one language only): never English inside a Chinese page.
FIELD_FALLBACKS = {
    "amount": "invalid.amount",
    "amount_fen": "invalid.amount",
    "monthly_income": "invalid.amount",
    "monthly_income_fen": "invalid.amount",
    "phone": "invalid.phone",
    "code": "invalid.code",
}


def in_language(text: str, t: Translator, field: str = "_") -> str:
    """A domain text in the page's language: its half in this language, or the field's
    catalogue text when it has none."""
    shown = t.bilingual(text)
    chinese = bool(_CJK.search(shown))
    if (t.lang == "zh") != chinese:
        return t(FIELD_FALLBACKS.get(field, "error.invalid"))
    return shown[:1].upper() + shown[1:] if t.lang == "en" else shown


def problems_by_field(exc: DomainError, t: Translator) -> Mapping[str, str]:
    """A refusal's problems keyed by form field (in this language); ``_`` holds the rest."""
    if exc.code in PLAIN_REFUSALS:
        return {"_": t(f"refusal.{exc.code}")}
    found: dict[str, str] = {}
    for problem in exc.problems:
        found.setdefault(problem.field, in_language(problem.message, t, problem.field))
    if not found:
        found["_"] = in_language(exc.message, t)
    return found
