"""The borrower's side of a payout's outcome: the notice in their inbox (and its SMS).

Funding settles payouts (``app.funding.disbursement``: the rail's webhook, its acknowledgement,
a status poll or the statement); ``PayoutNotices`` is the desk's ``on_final`` listener,
so the notice is written in the very transaction that marks the payout paid or cancels
the loan — never one without the other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from mobilend.app.funding.ports import PayoutRecord, PayoutStatus
from mobilend.app.journey.context import queue_notice
from mobilend.app.ports import Clock
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.loans import InstallmentKind

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

    def __call__(self, uow: UnitOfWork, payout: PayoutRecord) -> None:
        kind, params = self._notice(uow, payout)
        queue_notice(uow, self._new_id, self._now(), payout.borrower_id, kind, params)

    def _now(self) -> dt.datetime:
        return self._clock.now()

    def _notice(self, uow: UnitOfWork, payout: PayoutRecord) -> tuple[str, dict[str, str]]:
        amount = payout.amount.format()
        if payout.status == PayoutStatus.PAID:
            loan = uow.lending.loans.get(payout.loan_id)
            regular = [i.due_date for i in loan.installments if i.kind is InstallmentKind.REGULAR]
            tail = uow.journey.payees.card_tail(payout.borrower_id) or "****"
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
