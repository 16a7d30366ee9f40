"""Ids and time for the real platform: sortable random ids and the UTC clock."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


class SortableIds:
    """ULID-style ids: 48-bit millisecond time + 80 random bits, 26 characters.

    Ids made later sort later (within a process, strictly), so id order is a
    good default order for lists and for partitioning batches.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def new_id(self) -> str:
        with self._lock:
            value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
            if value <= self._last:
                value = self._last + 1
            self._last = value
        return _base32(value, 26)

    __call__ = new_id


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class SequentialIds(SortableIds):
    """Ids from a counter, in the same 26-character form: a run that makes the same calls
    in the same order gets the same ids (portfolio simulations, for repeatable output)."""

    def __init__(self, start: int = 1 << 80) -> None:
        super().__init__()
        self._last = start

    def new_id(self) -> str:
        with self._lock:
            self._last += 1
            value = self._last
        return _base32(value, 26)

    __call__ = new_id

    @contextmanager
    def numbering_from(self, start: int) -> Iterator[None]:
        """Ids counted from ``start`` inside the block (work that must get the same ids
        whatever else ran before it), then from where the counter was."""
        with self._lock:
            kept, self._last = self._last, start
        try:
            yield
        finally:
            with self._lock:
                self._last = kept
