"""End of day on the job queue: one business date at a time, fanned out by loan id.

``eod.run_business_date(D)`` starts the first date not yet closed (missed dates are
caught up in order, see ``app.servicing.business_dates``) and defers one
``eod.run_partition`` per partition; any worker takes them. Each partition ages and
scores its loans, then plans their reminders and debits for the next day. The
partition that finds every partition done defers ``eod.close_business_date``, which
syncs credit-line freezes, refunds what closed loans still hold, marks the date closed,
runs what features registered to follow a close (``queue.register_after_close``: the
servicing senders wake), and asks for the next date when the target lies further ahead.

Asking for a date while another runs also asks again for the running date's partitions:
a partition runs once (already-done partitions return at once), so this recovers a date
whose jobs were lost, and costs nothing otherwise.

Locks: the coordinator and the close share the procrastinate lock ``eod-dates`` (they
never run at the same time, anywhere); queueing locks keep a date's jobs from being
queued twice; each partition also holds a PostgreSQL advisory lock while it runs, and a
partition run twice changes nothing. Jobs retry on failure; a worker that dies leaves
its job to ``jobs.retry_stalled``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from procrastinate import RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued

from mobilend.app.servicing.business_dates import after_close, request_business_date
from mobilend.app.servicing.daily import ScoredByEndOfDay, prepare_next_day
from mobilend.app.servicing.daily import close_business_date as close_servicing_day
from mobilend.jobs.queue import (
    EOD_QUEUE,
    HOUSEKEEPING_QUEUE,
    previous_business_date,
    queue_app,
    run_after_close,
    runtime,
)
from mobilend.jobs.settings import get_job_settings

log = logging.getLogger(__name__)

DATES_LOCK = "eod-dates"


class PartitionBusy(Exception):
    """Another process is running this partition right now; try again shortly."""


class PartitionsPending(Exception):
    """Not every partition of the date is done yet; try the close again shortly."""


def _defer_once(task: Any, queueing_lock: str, **kwargs: Any) -> bool:
    try:
        task.configure(queueing_lock=queueing_lock).defer(**kwargs)
    except AlreadyEnqueued:
        return False
    return True


@queue_app.task(
    name="eod.run_business_date",
    queue=EOD_QUEUE,
    lock=DATES_LOCK,
    retry=RetryStrategy(max_attempts=10, wait=5, exponential_wait=2),
)
def run_business_date(business_date: str, partitions: int | None = None) -> dict[str, Any]:
    """Ask for end of day through ``business_date`` (ISO date)."""
    wired = runtime()
    count = partitions or wired.partitions
    step = request_business_date(wired.dates, dt.date.fromisoformat(business_date), count)
    if step.fan_out is not None:
        record = wired.dates.get(step.fan_out)
        count = record.partitions if record is not None else count
        day = step.fan_out.isoformat()
        for partition in range(count):
            _defer_once(
                run_partition,
                f"eod:{day}:{partition}/{count}",
                business_date=day,
                partition=partition,
                partitions=count,
            )
    log.info("end of day %s: %s", business_date, step.reason)
    return {"started": step.start.isoformat() if step.start else None, "reason": step.reason}


@queue_app.task(
    name="eod.run_partition",
    queue=EOD_QUEUE,
    retry=RetryStrategy(
        max_attempts=20, wait=2, exponential_wait=2, retry_exceptions={PartitionBusy}
    ),
)
def run_partition(business_date: str, partition: int, partitions: int) -> dict[str, Any]:
    """Age one partition's loans to ``business_date`` (scoring them in the same
    statement), score those it left, and plan their reminders and debits for the next
    day."""
    wired = runtime()
    day = dt.date.fromisoformat(business_date)
    run = wired.eod.run_partition(
        day, partition, partitions, count_entries=False,
        score_weights=wired.desk.settings.early_warning,
    )  # fmt: skip
    if run.busy:
        raise PartitionBusy(f"{business_date} partition {partition}/{partitions}")
    scored = (
        ScoredByEndOfDay(run.left_to_score, run.flagged) if run.left_to_score is not None else None
    )
    counts = prepare_next_day(wired.desk, day, partition, partitions, scored)
    wired.dates.add_counts(day, {k: v for k, v in counts.items() if k != "roll_risk"})
    progress = wired.progress(day)
    if progress and all(p.status == "done" for p in progress) and len(progress) == partitions:
        _defer_once(close_business_date, f"eod-close:{business_date}", business_date=business_date)
    return {"rows_done": run.rows_done, **counts}


@queue_app.task(
    name="eod.close_business_date",
    queue=EOD_QUEUE,
    lock=DATES_LOCK,
    retry=RetryStrategy(max_attempts=20, wait=5, exponential_wait=2),
)
def close_business_date(business_date: str) -> dict[str, Any]:
    """Everything after the loans are aged; then the next date of a catch-up."""
    wired = runtime()
    day = dt.date.fromisoformat(business_date)
    record = wired.dates.get(day)
    if record is None or record.status == "done":
        return {"closed": False}
    progress = wired.progress(day)
    if len(progress) != record.partitions or any(p.status != "done" for p in progress):
        raise PartitionsPending(business_date)
    frozen, unfrozen = wired.eod.sync_lines()
    planned = record.summary or {}
    steps = close_servicing_day(
        wired.desk,
        day,
        prepared={k: int(planned.get(k, 0)) for k in ("reminders", "debits")},
    )
    summary = {
        **steps.to_state(),
        "lines_frozen": frozen,
        "lines_unfrozen": unfrozen,
        "loans": sum(p.rows_done for p in progress),
    }
    closed = wired.dates.close(day, summary)
    run_after_close()  # wakes the senders (``jobs.servicing``)
    target = after_close(closed)
    if target is not None:
        _defer_once(run_business_date, f"eod-request:{target}", business_date=target.isoformat())
    log.info("business date %s closed: %s", business_date, summary)
    return summary


@queue_app.periodic(cron=get_job_settings().eod_cron, periodic_id="eod.nightly")
@queue_app.task(name="eod.nightly", queue=HOUSEKEEPING_QUEUE, queueing_lock="eod.nightly")
def nightly(timestamp: int) -> dict[str, Any]:
    """Every night: end of day for the business date that just ended."""
    day = previous_business_date(dt.datetime.fromtimestamp(timestamp, dt.UTC))
    _defer_once(run_business_date, f"eod-request:{day}", business_date=day.isoformat())
    return {"requested": day.isoformat()}
