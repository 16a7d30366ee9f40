"""Servicing work on the job queue: sending reminders and notices, auto-debits, outbox
dispatch (refunds, payouts, the journey's messages) and retrying jobs of dead workers.

Each task is a pass over what is due and is safe to run on several workers at once
(rows are claimed with ``SKIP LOCKED``; every outside call carries an idempotency key).
A failing gateway only leaves work queued for the next pass; none of this holds up end
of day, which merely queues the work and wakes these tasks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
from typing import Any

from procrastinate.exceptions import AlreadyEnqueued

from mobilend.app.servicing.autodebit import plan_debits, poll_debits, submit_debits
from mobilend.app.servicing.notifications import (
    SendReport,
    plan_reminders,
    poll_receipts,
    send_due_messages,
)
from mobilend.app.servicing.payments import poll_refunds, send_refunds
from mobilend.bootstrap import ServicingRuntime
from mobilend.jobs.queue import (
    HOUSEKEEPING_QUEUE,
    SERVICING_QUEUE,
    dispatchers,
    queue_app,
    register_dispatcher,
    register_periodic,
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


@queue_app.periodic(cron=_settings.stalled_cron, periodic_id="jobs.retry_stalled")
@queue_app.task(
    name="jobs.retry_stalled", queue=HOUSEKEEPING_QUEUE, queueing_lock="jobs.retry_stalled"
)
async def retry_stalled(timestamp: int | None = None) -> int:
    """Put back in the queue the jobs of workers that stopped sending heartbeats."""
    stalled = list(await queue_app.job_manager.get_stalled_jobs())
    for job in stalled:
        await queue_app.job_manager.retry_job(job)
    return len(stalled)


@queue_app.periodic(cron="0 18 * * *", periodic_id="jobs.prune")
@queue_app.task(name="jobs.prune", queue=HOUSEKEEPING_QUEUE, queueing_lock="jobs.prune")
async def prune(timestamp: int | None = None) -> None:
    """Keep a week of finished jobs for operators; delete older ones (failed ones stay)."""
    await queue_app.job_manager.delete_old_jobs(nb_hours=24 * 7)


def wake_senders() -> None:
    """Queue a pass of each sender now (no-op for one already queued)."""
    for task in (reminders_plan_and_send, autodebit_run, outbox_dispatch):
        with contextlib.suppress(AlreadyEnqueued):
            task.defer()


# --------------------------------------------------------------------------- built-in dispatchers


def _refunds(wired: ServicingRuntime) -> dict[str, int]:
    return {"sent": send_refunds(wired.desk), "resolved": poll_refunds(wired.desk)}


_payout_desks: dict[int, Any] = {}


def _disbursement_desk(wired: ServicingRuntime) -> Any:
    from mobilend.bootstrap import build_disbursement

    desk = _payout_desks.get(id(wired))
    if desk is None:
        desk = _payout_desks[id(wired)] = build_disbursement(wired.lending, rail=wired.rail)
    return desk


def _payouts(wired: ServicingRuntime) -> Any:
    """Partner approvals, payouts and unconfirmed payouts (``app.disbursement_worker``)."""
    if wired.rail is None:
        return "no payment gateway configured"
    from mobilend.app.disbursement_worker import run_cycle

    result = run_cycle(_disbursement_desk(wired))
    return {"payouts": result.payouts, "approvals": result.approvals, "polled": result.polled}


def _reconcile(wired: ServicingRuntime) -> Any:
    """The rail's statement of the business date that just ended against the ledger."""
    if wired.rail is None:
        return "no payment gateway configured"
    from mobilend.app.reconciliation import reconcile_rail
    from mobilend.jobs.eod import previous_business_date

    day = previous_business_date(wired.lending.clock.now())
    report = reconcile_rail(_disbursement_desk(wired), day)
    return {"business_date": day.isoformat(), "breaks": len(report.breaks)}


register_dispatcher("servicing.refunds", _refunds)
register_dispatcher("funding.payouts", _payouts)
# 01:00 in Shanghai, once the rail's statement of the previous day is final.
register_periodic("funding.reconcile", "0 17 * * *", _reconcile)


def _line_reviews(wired: ServicingRuntime) -> Any:
    """Re-score active lines of the business date that just ended (``app.line_reviews``):
    lower or freeze where risk rose; higher offers wait for the borrower's consent."""
    from mobilend.bootstrap_risk import run_line_reviews
    from mobilend.jobs.eod import previous_business_date

    day = previous_business_date(wired.lending.clock.now())
    summary = run_line_reviews(day)
    return {"business_date": day.isoformat(), "summary": str(summary)}


# 02:00 in Shanghai, after end of day has aged the portfolio.
register_periodic("risk.line_reviews", "0 18 * * *", _line_reviews)
