"""Credit-line reviews on the job queue: every night, after end of day."""

from __future__ import annotations

from typing import Any

from mobilend.bootstrap.servicing import ServicingRuntime
from mobilend.jobs.queue import previous_business_date, register_periodic


def _line_reviews(wired: ServicingRuntime) -> Any:
    """Re-score active lines of the business date that just ended (``app.reviews.line_reviews``):
    lower or freeze where risk rose; higher offers wait for the borrower's consent."""
    from mobilend.bootstrap.risk import run_line_reviews

    day = previous_business_date(wired.lending.clock.now())
    summary = run_line_reviews(day)
    return {"business_date": day.isoformat(), "summary": str(summary)}


# 02:00 in Shanghai, after end of day has aged the portfolio.
register_periodic("risk.line_reviews", "0 18 * * *", _line_reviews)
