"""Signed callbacks sent by the sandbox services (a copy of the wire format, not an import).

``X-Timestamp`` is Unix seconds; ``X-Signature`` is ``sha256=`` + hex HMAC-SHA256 over
``timestamp + "." + raw body`` with the shared secret. Like a real gateway, a callback the
receiver does not acknowledge with 2xx is retried with exponential backoff; each attempt
is signed afresh with the current time, but the body (and its event id) never changes.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx


def sign(secret: str, timestamp: str, raw_body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + raw_body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


@dataclass(slots=True)
class Delivery:
    event_id: str
    event_type: str
    url: str
    attempts: int = 0
    delivered: bool = False
    last_status: int | None = None
    last_error: str = ""


@dataclass(slots=True)
class CallbackSender:
    """Delivers events in the background; ``in_flight`` tells tests when all are done."""

    secret: str
    max_attempts: int = 6
    backoff_s: float = 0.2
    timeout_s: float = 5.0
    recent: deque[Delivery] = field(default_factory=lambda: deque(maxlen=10_000))
    scheduled: int = 0
    delivered: int = 0
    undelivered: int = 0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _client: httpx.AsyncClient | None = None

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def schedule(self, url: str, payload: dict[str, Any], delay_s: float = 0.0) -> None:
        """Send ``payload`` to ``url`` after ``delay_s`` seconds (no URL: dropped)."""
        if not url:
            return
        delivery = Delivery(str(payload.get("event_id", "")), str(payload.get("type", "")), url)
        self.recent.append(delivery)
        self.scheduled += 1
        task = asyncio.get_running_loop().create_task(self._deliver(delivery, payload, delay_s))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, delivery: Delivery, payload: dict[str, Any], delay_s: float) -> None:
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        body = encode(payload)
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout_s)
        for attempt in range(self.max_attempts):
            delivery.attempts = attempt + 1
            stamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "X-Timestamp": stamp,
                "X-Signature": sign(self.secret, stamp, body),
            }
            try:
                response = await self._client.post(delivery.url, content=body, headers=headers)
                delivery.last_status = response.status_code
                if 200 <= response.status_code < 300:
                    delivery.delivered = True
                    self.delivered += 1
                    return
            except httpx.HTTPError as exc:
                delivery.last_error = f"{type(exc).__name__}: {exc}"
            if attempt + 1 < self.max_attempts:
                await asyncio.sleep(self.backoff_s * 2**attempt)
        self.undelivered += 1

    async def cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.recent.clear()
        self.scheduled = self.delivered = self.undelivered = 0

    def stats(self) -> dict[str, int]:
        return {
            "callbacks_scheduled": self.scheduled,
            "callbacks_delivered": self.delivered,
            "callbacks_undelivered": self.undelivered,
            "callbacks_in_flight": self.in_flight,
        }
