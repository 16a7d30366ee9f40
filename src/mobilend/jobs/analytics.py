"""Portfolio analytics on the job queue: the summaries behind the console's dashboard and
charts are rebuilt as each business date closes, and once on a fresh install.

- ``analytics.refresh`` is queued by end of day's close (``register_after_close``), so
  the figures follow the book's own day: no separate clock time to keep in step with end
  of day, and a date caught up late is still followed by a refresh. Work done after the
  close (the 02:00 line reviews) is counted by the next night's refresh.
- ``analytics.first_refresh`` is queued by every worker as it starts (``mobilend
  worker``, ``make run``); it rebuilds only when the summaries were never built, so a
  fresh install shows real figures within moments, and costs one look-up otherwise.

Both hold the procrastinate lock ``analytics.refresh`` (never two at once on the queue);
the refresher's advisory lock also keeps the console and the command line in turn.
"""

from __future__ import annotations

import contextlib
from typing import Any

from procrastinate.exceptions import AlreadyEnqueued

from mobilend.bootstrap.servicing import ServicingRuntime
from mobilend.jobs.queue import (
    SERVICING_QUEUE,
    previous_business_date,
    queue_app,
    register_after_close,
    runtime,
)

REFRESH = "analytics.refresh"
FIRST_REFRESH = "analytics.first_refresh"


def _refresh(wired: ServicingRuntime) -> dict[str, Any]:
    from mobilend.adapters.db.analytics_refresh import SqlAnalyticsRefresher

    engine = wired.lending.engine
    assert engine is not None
    day = previous_business_date(wired.lending.clock.now())
    state = SqlAnalyticsRefresher(engine).refresh(day)
    return {"as_of": day.isoformat(), "seconds": str(state.seconds)}


@queue_app.task(name=REFRESH, queue=SERVICING_QUEUE, queueing_lock=REFRESH, lock=REFRESH)
def refresh(timestamp: int | None = None) -> dict[str, Any]:
    """Rebuild the summaries as of the business date that ended last. (``timestamp``:
    jobs queued by the former nightly schedule still carry it.)"""
    return _refresh(runtime())


@queue_app.task(
    name=FIRST_REFRESH, queue=SERVICING_QUEUE, queueing_lock=FIRST_REFRESH, lock=REFRESH
)
def first_refresh() -> dict[str, Any]:
    """Rebuild the summaries if they were never built (a fresh install)."""
    from mobilend.adapters.db.analytics_queries import SqlAnalyticsQueries

    wired = runtime()
    engine = wired.lending.engine
    assert engine is not None
    if SqlAnalyticsQueries(engine).state() is not None:
        return {"skipped": "already refreshed"}
    return _refresh(wired)


def refresh_after_close() -> None:
    """Queue a refresh (one already waiting covers this close too)."""
    with contextlib.suppress(AlreadyEnqueued):
        refresh.defer()


register_after_close(REFRESH, refresh_after_close)
