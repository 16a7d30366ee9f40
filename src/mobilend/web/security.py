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

import secrets

from starlette.requests import Request
from starlette.responses import Response

from mobilend.edge.csrf import CSRF_FIELD as CSRF_FIELD
from mobilend.edge.csrf import CSRF_HEADER as CSRF_HEADER
from mobilend.edge.csrf import CsrfRejected as CsrfRejected
from mobilend.edge.csrf import DoubleSubmitCsrf, is_secure

SESSION_COOKIE = "mobilend_session"
REFRESH_COOKIE = "mobilend_refresh"
IDEMPOTENCY_FIELD = "idempotency_key"
CSRF = DoubleSubmitCsrf("mobilend_csrf", path="/", samesite="lax")
CSRF_COOKIE = CSRF.cookie
csrf_token_for = CSRF.token_for
set_csrf_cookie = CSRF.set_cookie
check_csrf = CSRF.check


def new_idempotency_key() -> str:
    return secrets.token_urlsafe(18)


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
