"""Funding work on the job queue: partner approvals and payouts on every outbox dispatch,
the nightly reconciliation of the payment rail's statement with the ledger, and the
partners' shares of the day's collections posted as owed to them."""

from __future__ import annotations

from typing import Any

from mobilend.bootstrap.servicing import ServicingRuntime
from mobilend.jobs.queue import previous_business_date, register_dispatcher, register_periodic

_payout_desks: dict[int, Any] = {}


def _disbursement_desk(wired: ServicingRuntime) -> Any:
    from mobilend.bootstrap.funding import build_disbursement

    assert wired.rail is not None, "payouts need the payment gateway"
    desk = _payout_desks.get(id(wired))
    if desk is None:
        desk = _payout_desks[id(wired)] = build_disbursement(
            wired.lending, rail=wired.rail, vault=wired.vault
        )
    return desk


def _payouts(wired: ServicingRuntime) -> Any:
    """Partner approvals, payouts and unconfirmed payouts (``app.funding.worker``)."""
    if wired.rail is None:
        return "no payment gateway configured"
    from mobilend.app.funding.worker import run_cycle

    result = run_cycle(_disbursement_desk(wired))
    return {"payouts": result.payouts, "approvals": result.approvals, "polled": result.polled}


def _reconcile(wired: ServicingRuntime) -> Any:
    """The rail's statement of the business date that just ended against the ledger."""
    if wired.rail is None:
        return "no payment gateway configured"
    from mobilend.app.funding.reconciliation import reconcile_rail

    day = previous_business_date(wired.lending.clock.now())
    report = reconcile_rail(_disbursement_desk(wired), day)
    return {"business_date": day.isoformat(), "breaks": len(report.breaks)}


def _funder_shares(wired: ServicingRuntime) -> Any:
    """What partner funders are owed out of the business date that just ended."""
    from mobilend.app.funding.funder_shares import post_funder_shares

    day = previous_business_date(wired.lending.clock.now())
    return {
        "business_date": day.isoformat(),
        "posted": post_funder_shares(wired.lending.uow_factory, day),
    }


register_dispatcher("funding.payouts", _payouts)
# 01:00 in Shanghai, once the rail's statement of the previous day is final.
register_periodic("funding.reconcile", "0 17 * * *", _reconcile)
register_periodic("funding.shares", "0 17 * * *", _funder_shares)
