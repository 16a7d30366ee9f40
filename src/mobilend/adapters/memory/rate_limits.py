"""``RateLimiter`` in memory (tests, single-process demos)."""

from __future__ import annotations

import datetime as dt
import threading


class InMemoryRateLimiter:
    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, dt.datetime], int] = {}
        self._lock = threading.Lock()

    def hit(self, bucket: str, key: str, window_start: dt.datetime, window_end: dt.datetime) -> int:
        with self._lock:
            slot = (bucket, key, window_start)
            self._counts[slot] = self._counts.get(slot, 0) + 1
            return self._counts[slot]
