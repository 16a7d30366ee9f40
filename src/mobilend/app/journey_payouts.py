"""The borrower's side of a payout's outcome: the notice in their inbox (and its SMS).

Funding settles payouts (``app.disbursement``: the rail's webhook, its acknowledgement,
a status poll or the statement); ``PayoutNotices`` is the desk's ``on_final`` listener,
so the notice is written in the very transaction that marks the payout paid or cancels
the loan — never one without the other.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import cast

from mobilend.app.journey_context import queue_notice
from mobilend.app.ports import Clock
from mobilend.app.ports_funding import PayoutRecord, PayoutStatus
from mobilend.app.ports_journey import JourneyUnitOfWork
from mobilend.app.ports_lending import LendingUnitOfWork
from mobilend.domain.loans import InstallmentKind

log = logging.getLogger(__name__)

#: Why a payout failed, in words a borrower understands (rail and routing codes).
FAILURE_TEXT = {
    "card_expired": "银行卡已过期 card expired",
    "invalid_card": "银行卡无效 invalid card",
    "card_restricted": "银行卡受限 card restricted",
    "invalid_request": "收款信息有误 payee details rejected",
    "rejected": "收款银行拒绝 refused by the bank",
    "no_funder_approved": "资金方未批准 no funder approved the loan",
}


class PayoutNotices:
    """Tells the borrower their loan was paid out (``loan_disbursed``) or that the payout
    failed and the loan was cancelled (``disbursement_failed``)."""

    def __init__(self, new_id: Callable[[], str], clock: Clock) -> None:
        self._new_id = new_id
        self._clock = clock

    def __call__(self, uow: LendingUnitOfWork, payout: PayoutRecord) -> None:
        if not hasattr(uow, "notifications"):
            # A unit of work without the journey's stores (a bare funding one): no inbox.
            log.warning("payout %s final without a notice: no inbox here", payout.loan_id)
            return
        journey = cast(JourneyUnitOfWork, uow)
        kind, params = self._notice(journey, payout)
        queue_notice(journey, self._new_id, self._now(), payout.borrower_id, kind, params)

    def _now(self) -> dt.datetime:
        return self._clock.now()

    def _notice(self, uow: JourneyUnitOfWork, payout: PayoutRecord) -> tuple[str, dict[str, str]]:
        amount = payout.amount.format()
        if payout.status == PayoutStatus.PAID:
            loan = uow.loans.get(payout.loan_id)
            regular = [i.due_date for i in loan.installments if i.kind is InstallmentKind.REGULAR]
            tail = uow.payees.card_tail(payout.borrower_id) or "****"
            return "loan_disbursed", {
                "amount": amount,
                "card_tail": tail,
                "first_due": min(regular).isoformat() if regular else "",
            }
        failure = payout.failure_code or "payout_failed"
        return "disbursement_failed", {
            "amount": amount,
            "failure": FAILURE_TEXT.get(failure, failure),
        }
