"""Portfolio analytics on the job queue: the summaries behind the console's charts are
rebuilt every night, after end of day and the line reviews."""

from __future__ import annotations

from typing import Any

from mobilend.bootstrap.servicing import ServicingRuntime
from mobilend.jobs.queue import previous_business_date, register_periodic


def _refresh(wired: ServicingRuntime) -> Any:
    from mobilend.adapters.db.analytics_refresh import SqlAnalyticsRefresher

    engine = wired.lending.engine
    assert engine is not None
    day = previous_business_date(wired.lending.clock.now())
    state = SqlAnalyticsRefresher(engine).refresh(day)
    return {"as_of": day.isoformat(), "seconds": str(state.seconds)}


# 03:00 in Shanghai (19:00 UTC): after end of day (and the 02:00 line reviews).
register_periodic("analytics.refresh", "0 19 * * *", _refresh)
