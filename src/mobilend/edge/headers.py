"""Security headers on every response.

- ``Content-Security-Policy``: scripts, styles, images and connections from this site
  only — no inline script or style (the pages keep theirs in ``web/static``), no
  framing, no plugins, forms post here only. The OpenAPI page (``/docs``) loads Swagger
  UI from its CDN with an inline bootstrap script, so it alone gets a wider policy.
- ``Strict-Transport-Security`` when the request came over https (directly, or through a
  trusted proxy that said so — see ``edge.proxies``); never over plain http.
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy``, ``X-Frame-Options`` and a
  ``Permissions-Policy`` that turns off what the app never uses.
- ``Cache-Control: no-store`` on every JSON response: API answers carry personal and
  loan data that no browser or proxy should keep.

Headers a route set itself are left alone.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from mobilend.edge.proxies import ASGIApp, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
#: FastAPI's Swagger UI page: its bundle and stylesheet come from jsDelivr, its favicon
#: from fastapi.tiangolo.com, and it starts with an inline script.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: "
    "https://fastapi.tiangolo.com; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect")
HSTS = "max-age=31536000; includeSubDomains"

_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = (
            DOCS_CONTENT_SECURITY_POLICY
            if scope["path"] in DOCS_PATHS
            else (CONTENT_SECURITY_POLICY)
        )
        secure = scope.get("scheme") == "https"

        async def with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {key.lower() for key, _ in headers}

                def add(name: bytes, value: bytes) -> None:
                    if name not in present:
                        headers.append((name, value))
                        present.add(name)

                for name, value in _ALWAYS:
                    add(name, value)
                add(b"content-security-policy", policy.encode())
                if secure:
                    add(b"strict-transport-security", HSTS.encode())
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if content_type.split(b";")[0].strip().lower().endswith(b"json"):
                    add(b"cache-control", b"no-store")
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
