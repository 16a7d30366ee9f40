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

from starlette.requests import Request
from starlette.responses import Response

from mobilend.bootstrap.console import STAFF_ACCESS_COOKIE, STAFF_REFRESH_COOKIE
from mobilend.edge.csrf import CSRF_FIELD as CSRF_FIELD
from mobilend.edge.csrf import CSRF_HEADER as CSRF_HEADER
from mobilend.edge.csrf import CsrfRejected as CsrfRejected
from mobilend.edge.csrf import DoubleSubmitCsrf, is_secure

CONSOLE_PATH = "/console"
CSRF = DoubleSubmitCsrf("mobilend_console_csrf", path=CONSOLE_PATH, samesite="strict")
CSRF_COOKIE = CSRF.cookie
csrf_token_for = CSRF.token_for
set_csrf_cookie = CSRF.set_cookie
check_csrf = CSRF.check


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
