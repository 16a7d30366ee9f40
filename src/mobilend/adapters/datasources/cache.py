"""Report cache: a paid report is reused for N days instead of being bought again.

Ages are counted in business days from the date the report was bought, never by the
wall clock, so a decision on a given date sees the same cache hits whenever it runs.
The in-process cache below is what tests and a single process use; the service shares
one cache between its processes in PostgreSQL (``adapters/db/risk_repository.py``
``SqlReportCache``), behind the same ``ReportCache`` interface.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from typing import Protocol

from mobilend.risk.ports import SourceReport


def cache_key(source: str, *identity: str) -> str:
    """Key by a hash of the identifying fields, so the cache holds no raw PII in its keys."""
    text = "\x1f".join((source, *(part.strip().upper() for part in identity)))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ReportCache(Protocol):
    def get(self, key: str, on: dt.date, max_age_days: int) -> SourceReport | None:
        """A report bought at most ``max_age_days - 1`` days before ``on`` (never after it)."""
        ...

    def put(self, key: str, report: SourceReport) -> None: ...


class InMemoryReportCache:
    """Thread-safe, bounded (least recently used entries go first) in-process cache."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, SourceReport] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, on: dt.date, max_age_days: int) -> SourceReport | None:
        with self._lock:
            report = self._entries.get(key)
            if report is None:
                return None
            age = (on - report.fetched_on).days
            if age < 0 or age >= max_age_days:
                return None
            self._entries.move_to_end(key)
            return report

    def put(self, key: str, report: SourceReport) -> None:
        with self._lock:
            self._entries[key] = report
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
