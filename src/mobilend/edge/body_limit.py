"""No route reads a body larger than ``max_bytes``.

A declared ``Content-Length`` over the limit is answered 413 before a byte is read. A
body that arrives without one (chunked) is counted as it is received; past the limit the
read fails with a 413 ``HTTPException``, which the app's error table turns into its
usual JSON (``payload_too_large``). Either way the body is never parsed.
"""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

from mobilend.edge.proxies import ASGIApp, Receive, Scope, Send

CODE = "payload_too_large"


def message(max_bytes: int) -> str:
    return f"请求体过大，最多 {max_bytes} 字节 (the request body exceeds {max_bytes} bytes)"


class BodyTooLarge(HTTPException):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(status_code=413, detail=message(max_bytes))


def _declared_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return
        received = 0

        async def counted() -> MutableMapping[str, Any]:
            nonlocal received
            event = await receive()
            if event["type"] == "http.request":
                received += len(event.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return event

        await self.app(scope, counted, send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {"error": {"code": CODE, "message": message(self.max_bytes), "fields": []}},
            ensure_ascii=False,
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
