"""Servicing work on the job queue: sending reminders and notices, auto-debits, and outbox
dispatch (every registered dispatcher: refunds here, payouts in ``jobs.funding``, …).

Each task is a pass over what is due and is safe to run on several workers at once
(rows are claimed with ``SKIP LOCKED``; every outside call carries an idempotency key).
A failing gateway only leaves work queued for the next pass; none of this holds up end
of day, which merely queues the work and wakes these tasks (``register_after_close``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
from typing import Any

from procrastinate.exceptions import AlreadyEnqueued

from mobilend.app.servicing.autodebit import plan_debits, poll_debits, submit_debits
from mobilend.app.servicing.collection_settlement import settle_collections
from mobilend.app.servicing.notifications import (
    SendReport,
    plan_reminders,
    poll_receipts,
    send_due_messages,
)
from mobilend.app.servicing.payments import poll_refunds, send_refunds
from mobilend.bootstrap.servicing import ServicingRuntime
from mobilend.domain.business_day import business_date
from mobilend.jobs.queue import (
    SERVICING_QUEUE,
    dispatchers,
    queue_app,
    register_after_close,
    register_dispatcher,
    runtime,
)
from mobilend.jobs.settings import get_job_settings

log = logging.getLogger(__name__)

_settings = get_job_settings()


def send_messages(wired: ServicingRuntime, rounds: int = 50, batch: int = 500) -> SendReport:
    """Send what is due until a pass finds nothing (or ``rounds`` passes)."""
    total = SendReport()
    for _ in range(rounds):
        report = send_due_messages(wired.desk, batch)
        total = total + report
        if not any(dataclasses.astuple(report)):
            break
    return total


@queue_app.periodic(cron=_settings.messages_cron, periodic_id="reminders.plan_and_send")
@queue_app.task(
    name="reminders.plan_and_send", queue=SERVICING_QUEUE, queueing_lock="reminders.plan_and_send"
)
def reminders_plan_and_send(
    timestamp: int | None = None, send_day: str | None = None
) -> dict[str, Any]:
    """Queue the reminder plan of ``send_day`` (when given), send what is due, and record
    the gateway's delivery receipts."""
    wired = runtime()
    planned = plan_reminders(wired.desk, dt.date.fromisoformat(send_day)) if send_day else 0
    report = send_messages(wired)
    try:
        receipts = poll_receipts(wired.desk)
    except Exception as exc:  # receipts come again on the next pass
        log.warning("receipts not polled: %s", type(exc).__name__)
        receipts = 0
    return {"planned": planned, "receipts": receipts, **dataclasses.asdict(report)}


@queue_app.periodic(cron=_settings.autodebit_cron, periodic_id="autodebit.run")
@queue_app.task(name="autodebit.run", queue=SERVICING_QUEUE, queueing_lock="autodebit.run")
def autodebit_run(timestamp: int | None = None, business_date: str | None = None) -> dict[str, int]:
    """Plan ``business_date``'s debits (when given), send planned ones, poll open ones."""
    wired = runtime()
    planned = plan_debits(wired.desk, dt.date.fromisoformat(business_date)) if business_date else 0
    return {
        "planned": planned,
        "submitted": submit_debits(wired.desk),
        "resolved": poll_debits(wired.desk),
    }


@queue_app.periodic(cron=_settings.dispatch_cron, periodic_id="outbox.dispatch")
@queue_app.task(name="outbox.dispatch", queue=SERVICING_QUEUE, queueing_lock="outbox.dispatch")
def outbox_dispatch(timestamp: int | None = None) -> dict[str, Any]:
    """Run every registered dispatcher once; one failing does not stop the others."""
    wired = runtime()
    results: dict[str, Any] = {}
    for dispatcher in dispatchers():
        try:
            results[dispatcher.name] = dispatcher.run(wired)
        except Exception as exc:
            log.exception("dispatcher %s failed", dispatcher.name)
            results[dispatcher.name] = f"failed: {type(exc).__name__}"
    return results


def wake_senders() -> None:
    """Queue a pass of each sender now (no-op for one already queued)."""
    for task in (reminders_plan_and_send, autodebit_run, outbox_dispatch):
        with contextlib.suppress(AlreadyEnqueued):
            task.defer()


# --------------------------------------------------------------------------- built-in dispatchers


def _refunds(wired: ServicingRuntime) -> dict[str, int]:
    return {"sent": send_refunds(wired.desk), "resolved": poll_refunds(wired.desk)}


def _collections(wired: ServicingRuntime) -> dict[str, int]:
    """Debits the rail's statements of yesterday and today say reached the bank."""
    today = business_date(wired.desk.now())
    moved = 0
    for day in (today - dt.timedelta(days=1), today):
        moved += settle_collections(wired.desk, day)
    return {"settled": moved}


register_dispatcher("servicing.collections", _collections)
register_dispatcher("servicing.refunds", _refunds)
register_after_close("servicing.wake_senders", wake_senders)
