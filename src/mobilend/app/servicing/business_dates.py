"""Which business date end of day runs next: each date once, missed dates in order.

Asking for date ``D`` starts the first date not yet closed (the day after the last
closed one; ``D`` itself when none ever closed) and remembers ``D`` as the target; when
that date closes, the next one is started, until ``D`` is closed. Asking while a date is
running only moves the target. Asking for a date already closed does nothing. So a
scheduler may ask every night, a developer may ask for today after a week away, and two
workers may ask at once: every date runs exactly once, oldest first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class BusinessDate:
    business_date: dt.date
    partitions: int
    status: str  # running | done
    catch_up_to: dt.date | None = None
    started_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    summary: dict[str, Any] | None = None


class BusinessDateStore(Protocol):
    """Each method is its own transaction; ``lock`` serialises callers across processes."""

    def running(self) -> BusinessDate | None: ...

    def last_closed(self) -> dt.date | None: ...

    def get(self, business_date: dt.date) -> BusinessDate | None: ...

    def start(self, business_date: dt.date, partitions: int, catch_up_to: dt.date) -> bool:
        """Record the date as running (False when it was already recorded)."""
        ...

    def extend(self, business_date: dt.date, catch_up_to: dt.date) -> None:
        """Move the running date's target to ``catch_up_to`` if that is later."""
        ...

    def add_counts(self, business_date: dt.date, counts: dict[str, int]) -> None:
        """Add ``counts`` to the date's summary (partitions report as they finish)."""
        ...

    def close(self, business_date: dt.date, summary: dict[str, Any]) -> BusinessDate:
        """Mark the date done; returns it as stored (with its target)."""
        ...

    def recent(self, limit: int = 30) -> list[BusinessDate]: ...


@dataclass(frozen=True, slots=True)
class NextStep:
    """``start``: the date to fan out now (None: nothing to start); ``reason`` says why.
    ``resume``: a date already running whose partitions may be asked for again (they run
    once; asking again recovers a date whose jobs were lost)."""

    start: dt.date | None
    reason: str
    resume: dt.date | None = None

    @property
    def fan_out(self) -> dt.date | None:
        return self.start or self.resume


def request_business_date(
    store: BusinessDateStore, requested: dt.date, partitions: int
) -> NextStep:
    """Ask for end of day through ``requested``; the caller fans out ``start`` if given.
    Callers must be serialised (the job queue runs this under one lock)."""
    running = store.running()
    if running is not None:
        store.extend(running.business_date, requested)
        return NextStep(
            None,
            f"{running.business_date} is running; target {requested}",
            resume=running.business_date,
        )
    last = store.last_closed()
    if last is not None and requested <= last:
        return NextStep(None, f"already closed through {last}")
    day = requested if last is None else last + ONE_DAY
    if not store.start(day, partitions, requested):
        return NextStep(None, f"{day} was already started")
    return NextStep(day, "catching up" if day < requested else "on time")


def after_close(closed: BusinessDate) -> dt.date | None:
    """The date to ask for next once ``closed`` is done (its target, if later)."""
    target = closed.catch_up_to
    if target is not None and target > closed.business_date:
        return target
    return None
