"""One structured line per request on the ``mobilend.access`` logger (JSON):

``{"event": "http_request", "request_id", "method", "path", "query", "status",
"duration_ms", "bytes_out", "client", "user_agent"}``

No request or response body is logged. Path, query and user agent go through the PII
redaction (national IDs, phone and card numbers masked); the client's address is
reduced to its network (``domain.privacy.reduce_ip``). Each response carries its
``X-Request-ID`` (the caller's, when it sent a sane one), so a complaint can be matched
to its line.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time
from collections.abc import MutableMapping
from typing import Any

from mobilend.adapters.vault.redaction import PiiRedactingFilter, redact_text
from mobilend.domain.privacy import reduce_ip
from mobilend.edge.proxies import ASGIApp, Receive, Scope, Send

LOGGER = "mobilend.access"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._\-]{8,64}")


def access_logger() -> logging.Logger:
    """``mobilend.access``, writing JSON lines to stderr unless someone configured it."""
    logger = logging.getLogger(LOGGER)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.addFilter(PiiRedactingFilter())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


class AccessLog:
    def __init__(self, app: ASGIApp, logger: logging.Logger | None = None) -> None:
        self.app = app
        self.logger = logger or access_logger()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        sent = _header(scope, b"x-request-id")
        request_id = sent if _REQUEST_ID.fullmatch(sent) else secrets.token_hex(8)
        status = 500
        bytes_out = 0

        async def observed(message: MutableMapping[str, Any]) -> None:
            nonlocal status, bytes_out
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            elif message["type"] == "http.response.body":
                bytes_out += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            client = scope.get("client")
            line = {
                "event": "http_request",
                "request_id": request_id,
                "method": scope.get("method", ""),
                "path": redact_text(scope.get("path", "")),
                "query": redact_text(scope.get("query_string", b"").decode("latin-1")),
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "bytes_out": bytes_out,
                "client": reduce_ip(client[0]) if client else "",
                "user_agent": redact_text(_header(scope, b"user-agent")[:200]),
            }
            self.logger.info(json.dumps(line, ensure_ascii=False))
