"""Session cookies, CSRF protection and idempotency keys for the borrower's web app.

- The session is the API's own access token (and refresh token), each in an HttpOnly,
  SameSite=Lax cookie: page scripts never see them.
- CSRF uses the double-submit pattern: a random token lives in a cookie and is
  rendered into every form (and into HTMX request headers); a POST is accepted only
  when the two match. A cross-site page can make the browser send the cookie but cannot
  read it to fill in the form.
- Money-moving forms carry an idempotency key generated when the form is rendered, so
  a double tap (or a resubmitted page) moves money once.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "mobilend_session"
REFRESH_COOKIE = "mobilend_refresh"
CSRF_COOKIE = "mobilend_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
IDEMPOTENCY_FIELD = "idempotency_key"
#: The refresh token is long-lived; it stays a browser-session cookie all the same.
_CSRF_MAX_AGE = 60 * 60 * 12


class CsrfRejected(Exception):
    """A POST without a matching CSRF token."""


def new_idempotency_key() -> str:
    return secrets.token_urlsafe(18)


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https"


def csrf_token_for(request: Request) -> tuple[str, bool]:
    """(token, is_new): the cookie's token, or a fresh one to set on the response."""
    current = request.cookies.get(CSRF_COOKIE, "")
    if 20 <= len(current) <= 100:
        return current, False
    return secrets.token_urlsafe(24), True


def set_csrf_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        CSRF_COOKIE,
        token,
        max_age=_CSRF_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
        path="/",
    )


async def check_csrf(request: Request) -> None:
    """Refuse a state-changing request whose form field (or header) does not match the cookie."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent:
        form = await request.form()
        value = form.get(CSRF_FIELD, "")
        sent = value if isinstance(value, str) else ""
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise CsrfRejected()


def set_session(
    response: Response, request: Request, access_token: str, refresh_token: str | None
) -> None:
    secure = is_secure(request)
    response.set_cookie(
        SESSION_COOKIE, access_token, httponly=True, samesite="lax", secure=secure, path="/"
    )
    if refresh_token:
        response.set_cookie(
            REFRESH_COOKIE, refresh_token, httponly=True, samesite="lax", secure=secure, path="/"
        )


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(REFRESH_COOKIE, path="/")
