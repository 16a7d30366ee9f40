"""The borrower journey as one object: the use cases a phone needs, from credit line to
payoff, shared by the HTTP API and the mobile web pages.

Methods that move money are once-only (``Idempotency-Key``) and take a ``render``
function turning their result into the plain response the caller wants to replay; they
return ``Once`` (the response, whether it was a replay, and the result). Methods that
queue SMS notices return the outbox ids; call ``dispatch`` with them after the response
is sent (a background job sends anything left with ``dispatch_due``).

Signing queues the loan's payout in funding's outbox (``app.disbursement``): the
disbursement worker (``app.disbursement_worker.run_cycle``) sends it, the rail's signed
webhook settles it, and ``PayoutNotices`` tells the borrower.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mobilend.app.funding.disbursement import DisbursementView, disbursement_status
from mobilend.app.journey import applications as _applications
from mobilend.app.journey import contracts as _contracts
from mobilend.app.journey import loans as _loans
from mobilend.app.journey.applications import LineView
from mobilend.app.journey.context import JourneyContext, JourneySettings, Once, notify, run_once
from mobilend.app.journey.contracts import SignedContract
from mobilend.app.journey.loans import LoanView, PaymentOutcome, PaymentView
from mobilend.app.journey.outbox import dispatch, dispatch_due
from mobilend.app.journey.ports import CreditApplication, LoanContract, Notification, OfferTerms
from mobilend.app.lending.ports import RepaymentRecord
from mobilend.app.onboarding.service import Onboarding
from mobilend.app.reviews.line_reviews import (
    accept_proposal_in,
    decline_proposal_in,
    open_proposals,
)
from mobilend.app.reviews.ports import LineReviewRecord
from mobilend.domain.lines import CreditLine
from mobilend.domain.money import Money
from mobilend.domain.prepayment import PayoffQuote

log = logging.getLogger(__name__)

__all__ = ["BorrowerJourney", "JourneyContext", "JourneySettings", "Once"]


class BorrowerJourney:
    def __init__(self, context: JourneyContext) -> None:
        self.ctx = context

    @property
    def onboarding(self) -> Onboarding:
        return self.ctx.onboarding

    # -- outside calls ------------------------------------------------------------
    def dispatch(self, outbox_ids: Sequence[str]) -> None:
        """Send queued messages now; failures stay queued for a retry."""
        try:
            dispatch(self.ctx, outbox_ids)
        except Exception as exc:  # after the response: never let it surface to the borrower
            # The type only: a driver's message may quote the statement's parameters.
            log.error("dispatch failed (%s); the outbox keeps the messages", type(exc).__name__)

    def dispatch_due(self, limit: int = 100) -> int:
        return dispatch_due(self.ctx, limit)

    def collect(self, debit_keys: Sequence[str]) -> None:
        """Send the card debits of payments just asked for; failures stay pending for the
        background pass."""
        if self.ctx.collector is None or not debit_keys:
            return
        try:
            self.ctx.collector(debit_keys)
        except Exception as exc:  # after the response: the debit stays pending
            log.error("sending debits failed (%s); they stay pending", type(exc).__name__)

    # -- credit line (授信) -----------------------------------------------------------
    def apply_for_line(
        self,
        borrower_id: str,
        *,
        product_code: str | None = None,
        monthly_income: Money | None = None,
        device_id: str = "",
        ip_address: str = "",
    ) -> tuple[CreditApplication, list[str]]:
        return _applications.apply_for_line(
            self.ctx,
            borrower_id=borrower_id,
            product_code=product_code,
            monthly_income=monthly_income,
            device_id=device_id,
            ip_address=ip_address,
        )

    def applications(self, borrower_id: str) -> list[CreditApplication]:
        return _applications.applications(self.ctx, borrower_id)

    def application(self, borrower_id: str, application_id: str) -> CreditApplication:
        return _applications.application(self.ctx, borrower_id, application_id)

    def lines(self, borrower_id: str) -> list[LineView]:
        return _applications.lines(self.ctx, borrower_id)

    def line(self, borrower_id: str, line_id: str) -> LineView:
        return _applications.line(self.ctx, borrower_id, line_id)

    # -- drawdown (用信) --------------------------------------------------------------
    def quote_offer(
        self, borrower_id: str, *, line_id: str, amount: Money, periods: int
    ) -> OfferTerms:
        return _contracts.quote_offer(
            self.ctx, borrower_id=borrower_id, line_id=line_id, amount=amount, periods=periods
        )

    def draft_contract(
        self, borrower_id: str, *, line_id: str, amount: Money, periods: int
    ) -> LoanContract:
        return _contracts.draft_contract(
            self.ctx, borrower_id=borrower_id, line_id=line_id, amount=amount, periods=periods
        )

    def sign_contract(
        self,
        borrower_id: str,
        contract_id: str,
        *,
        sha256: str,
        idempotency_key: str | None,
        render: Callable[[SignedContract], Mapping[str, Any]],
        ip_address: str = "",
        device_id: str = "",
    ) -> Once[SignedContract]:
        """Sign (accept) a drafted contract: the loan is drawn, routed to its funders and
        its payout queued."""
        _contracts.check_can_sign(self.ctx, borrower_id)
        return run_once(
            self.ctx,
            key=idempotency_key,
            borrower_id=borrower_id,
            operation="contract.sign",
            request={"contract_id": contract_id, "sha256": sha256},
            action=lambda uow: _contracts.sign_in_transaction(
                self.ctx,
                uow,
                borrower_id=borrower_id,
                contract_id=contract_id,
                sha256=sha256,
                ip_address=ip_address,
                device_id=device_id,
            ),
            render=render,
        )

    def contracts(self, borrower_id: str) -> list[LoanContract]:
        return _contracts.contracts(self.ctx, borrower_id)

    def contract(self, borrower_id: str, contract_id: str) -> LoanContract:
        return _contracts.contract(self.ctx, borrower_id, contract_id)

    # -- loans and repayments ------------------------------------------------------------
    def loans(self, borrower_id: str) -> list[LoanView]:
        return _loans.loans(self.ctx, borrower_id)

    def loan(self, borrower_id: str, loan_id: str) -> LoanView:
        return _loans.loan(self.ctx, borrower_id, loan_id)

    def disbursement(self, borrower_id: str, loan_id: str) -> DisbursementView:
        """Where the borrower's loan's payout stands; NotFound for another's loan."""
        return disbursement_status(self.ctx.uow, loan_id, borrower_id)

    def payoff_quote(self, borrower_id: str, loan_id: str) -> PayoffQuote:
        return _loans.payoff(self.ctx, borrower_id, loan_id)

    def pay(
        self,
        borrower_id: str,
        loan_id: str,
        *,
        kind: str,
        amount: Money | None,
        idempotency_key: str | None,
        render: Callable[[PaymentOutcome], Mapping[str, Any]],
        mode: str | None = None,
    ) -> Once[PaymentOutcome]:
        """``kind``: ``due`` (the installment due), ``amount`` (a chosen amount), ``payoff``
        (everything, interest to today) or ``prepay`` (partial, re-amortised by ``mode``).
        Collected from the card through the rail: the outcome is ``pending`` until the
        rail confirms; send it with ``collect(outcome.debit_key)`` after the response."""
        return _loans.pay(
            self.ctx,
            borrower_id=borrower_id,
            loan_id=loan_id,
            kind=kind,
            amount=amount,
            idempotency_key=idempotency_key,
            render=render,
            mode=mode,
        )

    def payments(self, borrower_id: str, loan_id: str) -> list[PaymentView]:
        return _loans.payments(self.ctx, borrower_id, loan_id)

    def payment(self, borrower_id: str, loan_id: str, payment_id: str) -> PaymentView:
        return _loans.payment(self.ctx, borrower_id, loan_id, payment_id)

    def receipts(self, borrower_id: str, loan_id: str) -> list[RepaymentRecord]:
        return _loans.receipts(self.ctx, borrower_id, loan_id)

    def receipt(self, borrower_id: str, loan_id: str, repayment_id: str) -> RepaymentRecord:
        return _loans.receipt(self.ctx, borrower_id, loan_id, repayment_id)

    # -- higher limits proposed by line reviews -------------------------------------
    def limit_proposals(self, borrower_id: str) -> list[LineReviewRecord]:
        """Proposed increases the borrower may still accept today, newest first."""
        return open_proposals(self.ctx.uow, borrower_id, self.ctx.today())

    def accept_limit_proposal(
        self, borrower_id: str, review_id: str
    ) -> tuple[CreditLine, list[str]]:
        """The borrower consents: the limit rises, and a notice says so (same commit)."""
        with self.ctx.uow() as uow:
            line = accept_proposal_in(
                uow,
                self.ctx.cost_caps,
                borrower_id,
                review_id,
                self.ctx.today(),
                self.ctx.now(),
            )
            outbox = notify(
                uow,
                self.ctx,
                borrower_id,
                "line_increased",
                {"limit": line.limit.format(), "available": line.available.format()},
            )
            uow.commit()
        return line, [outbox]

    def decline_limit_proposal(self, borrower_id: str, review_id: str) -> LineReviewRecord:
        with self.ctx.uow() as uow:
            declined = decline_proposal_in(
                uow, borrower_id, review_id, self.ctx.today(), self.ctx.now()
            )
            uow.commit()
        return declined

    # -- inbox --------------------------------------------------------------------------
    def notifications(self, borrower_id: str, limit: int = 100) -> list[Notification]:
        with self.ctx.uow() as uow:
            return uow.journey.notifications.for_borrower(borrower_id, limit)
