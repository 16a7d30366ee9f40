"""Requests that arrive together: ``at_once`` releases N threads at the same instant."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def at_once(count: int, action: Callable[[int], T]) -> list[T | BaseException]:
    """``action(0..count-1)`` from ``count`` threads released together; each result or
    the exception it raised."""
    barrier = threading.Barrier(count)

    def run(n: int) -> T | BaseException:
        barrier.wait(timeout=60)
        try:
            return action(n)
        except Exception as exc:
            return exc

    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))
