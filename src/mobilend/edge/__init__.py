"""What every request crosses before it reaches the API or the web app (pure ASGI
middleware, so it holds for every route, mounted apps and static files included):

- ``ForwardedHeaders``: the client's address and scheme from ``X-Forwarded-For`` /
  ``X-Forwarded-Proto`` — only when the peer is a configured proxy;
- ``AccessLog``: one JSON line per request, personal data redacted, the client's address
  reduced to its network;
- ``SecurityHeaders``: Content-Security-Policy, HSTS over https, ``nosniff``, and
  ``Cache-Control: no-store`` on JSON;
- ``BodySizeLimit``: no route reads more than ``max_body_bytes`` (413 beyond).

``install_edge(app, settings)`` adds them in that order (the first is outermost).
"""

from __future__ import annotations

from typing import Any

from mobilend.config import Settings
from mobilend.edge.access_log import AccessLog
from mobilend.edge.body_limit import BodySizeLimit
from mobilend.edge.headers import SecurityHeaders
from mobilend.edge.proxies import ForwardedHeaders, TrustedProxies

__all__ = [
    "AccessLog",
    "BodySizeLimit",
    "ForwardedHeaders",
    "SecurityHeaders",
    "TrustedProxies",
    "install_edge",
]


def install_edge(app: Any, settings: Settings) -> None:
    """Wrap a Starlette/FastAPI ``app`` (before it starts) in the edge middleware."""
    # Starlette runs the middleware added last first.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    if settings.access_log:
        app.add_middleware(AccessLog)
    app.add_middleware(ForwardedHeaders, trusted=TrustedProxies.parse(settings.trusted_proxies))
