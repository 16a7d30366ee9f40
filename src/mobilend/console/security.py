"""Cookies and CSRF protection of the operations console.

- The staff session is the staff API's own access token (path ``/``, so the console's
  charts can read the analytics endpoints with it) and a refresh token (path
  ``/console``), each in an HttpOnly, SameSite=Strict cookie: page scripts never see
  them and no other site's page can make the browser send them.
- CSRF: double-submit. A random token lives in a cookie and in every form (and in the
  ``X-CSRF-Token`` header of HTMX requests, from a ``<meta>`` tag); a POST is accepted
  only when the two match.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from mobilend.bootstrap.console import STAFF_ACCESS_COOKIE, STAFF_REFRESH_COOKIE

CSRF_COOKIE = "mobilend_console_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CONSOLE_PATH = "/console"
_CSRF_MAX_AGE = 60 * 60 * 12


class CsrfRejected(Exception):
    """A POST without a matching CSRF token."""


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https"


def csrf_token_for(request: Request) -> tuple[str, bool]:
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
        samesite="strict",
        secure=is_secure(request),
        path=CONSOLE_PATH,
    )


async def check_csrf(request: Request) -> None:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent:
        form = await request.form()
        value = form.get(CSRF_FIELD, "")
        sent = value if isinstance(value, str) else ""
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise CsrfRejected()


def set_staff_session(
    response: Response, request: Request, access_token: str, refresh_token: str | None
) -> None:
    secure = is_secure(request)
    response.set_cookie(
        STAFF_ACCESS_COOKIE, access_token, httponly=True, samesite="strict", secure=secure, path="/"
    )
    if refresh_token:
        response.set_cookie(
            STAFF_REFRESH_COOKIE,
            refresh_token,
            httponly=True,
            samesite="strict",
            secure=secure,
            path=CONSOLE_PATH,
        )


def clear_staff_session(response: Response) -> None:
    response.delete_cookie(STAFF_ACCESS_COOKIE, path="/")
    response.delete_cookie(STAFF_REFRESH_COOKIE, path=CONSOLE_PATH)
