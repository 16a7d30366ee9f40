"""Double-submit CSRF protection, shared by the borrower's web app and the console.

A random token lives in an HttpOnly cookie and is rendered into every form (and sent in
the ``X-CSRF-Token`` header by HTMX); a POST is accepted only when the two match. A
cross-site page can make the browser send the cookie but cannot read it to fill in the
form. Each app has its own cookie, path and SameSite setting."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

from starlette.requests import Request
from starlette.responses import Response

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_MAX_AGE = 60 * 60 * 12


class CsrfRejected(Exception):
    """A POST without a matching CSRF token."""


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https"


@dataclass(frozen=True)
class DoubleSubmitCsrf:
    cookie: str
    path: str
    samesite: Literal["lax", "strict"]

    def token_for(self, request: Request) -> tuple[str, bool]:
        """(token, is_new): the cookie's token, or a fresh one to set on the response."""
        current = request.cookies.get(self.cookie, "")
        if 20 <= len(current) <= 100:
            return current, False
        return secrets.token_urlsafe(24), True

    def set_cookie(self, response: Response, request: Request, token: str) -> None:
        response.set_cookie(
            self.cookie,
            token,
            max_age=_MAX_AGE,
            httponly=True,
            samesite=self.samesite,
            secure=is_secure(request),
            path=self.path,
        )

    async def check(self, request: Request) -> None:
        """Refuse a request whose form field (or header) does not match the cookie."""
        cookie = request.cookies.get(self.cookie, "")
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent:
            form = await request.form()
            value = form.get(CSRF_FIELD, "")
            sent = value if isinstance(value, str) else ""
        if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
            raise CsrfRejected()
