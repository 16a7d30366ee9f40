"""Use cases: the borrower's loans (schedule, and the payout as funding's
``disbursement_view`` tells it: pending / paid / failed) and paying them from the app —
the installment due, a chosen amount, the full payoff, or a partial prepayment.

A payment from the app is a card debit through the payment rail
(``app.servicing.card_payments``): asking for it books nothing and answers ``pending``;
the rail's confirmation books it and the borrower is told (``PaymentNotices``). Every
request is once-only (``run_once``): the client's key is claimed in the transaction that
records the debit, so a replay returns the first answer and never debits twice. The
amount is checked against what is owed today under the loan's lock, in that same
transaction. A loan whose payout has not reached the borrower takes no payment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mobilend.app.funding.disbursement import DisbursementView, disbursement_view
from mobilend.app.journey.context import JourneyContext, Once, queue_notice, run_once
from mobilend.app.lending.ports import RepaymentRecord
from mobilend.app.lending.repayments import quote_payoff_in
from mobilend.app.ports import Clock
from mobilend.app.servicing.card_payments import in_flight_amount, request_card_payment_in
from mobilend.app.servicing.ports import DebitAttempt
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.errors import Conflict, NotFound, Problem, ValidationFailed
from mobilend.domain.loans import ONE_DAY, Loan, LoanStatus
from mobilend.domain.money import Money
from mobilend.domain.prepayment import PayoffQuote, PrepaymentMode


class DisbursementNotPaid(Conflict):
    code = "disbursement_not_paid"


class NothingDue(Conflict):
    code = "nothing_due"


PAYMENT_KINDS = ("due", "amount", "payoff", "prepay")


@dataclass(frozen=True, slots=True)
class LoanView:
    loan: Loan
    #: The payout (None for a loan drawn without one, e.g. before payouts went through funding).
    disbursement: DisbursementView | None
    contract_id: str | None
    as_of: dt.date
    #: What "pay the installment due" charges today (the next one may be paid early).
    due_now: Money
    #: The APR the contract disclosed (None for a loan drawn without one).
    apr: Decimal | None = None
    #: Card payments asked for and not yet confirmed by the rail (nothing booked yet).
    in_flight: Money | None = None

    @property
    def credit_balance(self) -> Money:
        """Money received beyond what was owed, held for the borrower (applied to the
        next installments, or refunded)."""
        return self.loan.held_credit


def due_now(loan: Loan, on: dt.date) -> Money:
    """Installments due by ``on`` (and the next, where the product allows paying it early),
    less money already held for the borrower."""
    if loan.status is not LoanStatus.ACTIVE:
        return Money.zero(loan.currency)
    probe = Loan.from_state(loan.to_state())
    if probe.accrued_through is None or probe.accrued_through < on - ONE_DAY:
        probe.accrue_to(on - ONE_DAY, lambda: "probe")
    total = Money.zero(loan.currency)
    for item in probe.open_items(on):
        total = total + item.amount
    return (total - probe.held_credit).max(Money.zero(loan.currency))


def _owned_loan(uow: UnitOfWork, borrower_id: str, loan_id: str) -> Loan:
    loan = uow.lending.loans.get(loan_id)
    if loan.borrower_id != borrower_id:
        raise NotFound(f"loan {loan_id} not found")
    return loan


def loan_view(
    uow: UnitOfWork, loan: Loan, on: dt.date, payout: DisbursementView | None = None
) -> LoanView:
    """``payout``: the loan's payout as read before the loan itself (see ``loan``)."""
    contract = uow.journey.contracts.by_loan(loan.loan_id)
    return LoanView(
        loan=loan,
        disbursement=payout if payout is not None else disbursement_view(uow, loan.loan_id),
        contract_id=contract.contract_id if contract else None,
        as_of=on,
        due_now=due_now(loan, on),
        apr=contract.terms.apr if contract else None,
        in_flight=in_flight_amount(uow, loan),
    )


def loans(ctx: JourneyContext, borrower_id: str) -> list[LoanView]:
    today = ctx.today()
    with ctx.uow() as uow:
        ids = [loan.loan_id for loan in uow.lending.loans.for_borrower(borrower_id)]
        payouts = {
            loan_id: disbursement_view(uow, loan_id) for loan_id in ids
        }  # first, as in ``loan``
        found = sorted(
            uow.lending.loans.for_borrower(borrower_id), key=lambda x: x.loan_id, reverse=True
        )
        return [loan_view(uow, loan, today, payouts.get(loan.loan_id)) for loan in found]


def loan(ctx: JourneyContext, borrower_id: str, loan_id: str) -> LoanView:
    """One loan with its schedule and payout status. Reading never calls the rail: the
    disbursement worker and the rail's webhook move the payout on."""
    with ctx.uow() as uow:
        # Each statement sees what was committed when it began: a payout's final outcome
        # and the loan's cancellation commit together, so reading the payout first never
        # shows a failed payout beside the loan as it was before.
        payout = disbursement_view(uow, loan_id)
        return loan_view(uow, _owned_loan(uow, borrower_id, loan_id), ctx.today(), payout)


def payoff(ctx: JourneyContext, borrower_id: str, loan_id: str) -> PayoffQuote:
    with ctx.uow() as uow:
        return quote_payoff_in(uow, loan_id=loan_id, on=ctx.today(), borrower_id=borrower_id)


def receipts(ctx: JourneyContext, borrower_id: str, loan_id: str) -> list[RepaymentRecord]:
    with ctx.uow() as uow:
        _owned_loan(uow, borrower_id, loan_id)
        return uow.lending.repayments.for_loan(loan_id)


def receipt(
    ctx: JourneyContext, borrower_id: str, loan_id: str, repayment_id: str
) -> RepaymentRecord:
    for record in receipts(ctx, borrower_id, loan_id):
        if record.repayment_id == repayment_id:
            return record
    raise NotFound(f"repayment {repayment_id} not found")


# --------------------------------------------------------------------------- paying


def _text(zh: str, en: str) -> str:
    return f"{zh} ({en})"


def _require_amount(amount: Money | None) -> Money:
    if amount is None:
        raise ValidationFailed([Problem("amount_fen", _text("请填写金额", "amount is required"))])
    return amount


#: Why a card payment failed, in words a borrower understands (rail and our own codes).
PAYMENT_FAILURES = {
    "insufficient_funds": "银行卡余额不足 (insufficient funds)",
    "card_expired": "银行卡已过期 (card expired)",
    "invalid_card": "银行卡无效 (invalid card)",
    "card_restricted": "银行卡受限 (card restricted)",
    "no_card": "未绑定可扣款的银行卡 (no card to debit)",
    "invalid_request": "扣款信息有误 (the debit was refused as invalid)",
    "loan_closed": "借款已结清，未扣款 (the loan was already settled; nothing was taken)",
}


@dataclass(frozen=True, slots=True)
class PaymentView:
    """One card payment as the borrower sees it: ``pending`` until the rail confirms,
    then ``paid`` (with its receipt) or ``failed`` (with the reason)."""

    payment_id: str
    loan_id: str
    kind: str  # due | amount | payoff | prepay | autodebit
    status: str  # pending | paid | failed
    amount: Money
    requested_on: dt.date
    failure_code: str = ""
    settled_on: dt.date | None = None
    repayment_id: str | None = None
    mode: str = ""

    @property
    def failure_reason(self) -> str:
        if not self.failure_code:
            return ""
        return PAYMENT_FAILURES.get(self.failure_code, self.failure_code)


def payment_view(attempt: DebitAttempt) -> PaymentView:
    status = {"succeeded": "paid", "failed": "failed"}.get(attempt.status, "pending")
    return PaymentView(
        payment_id=attempt.attempt_id,
        loan_id=attempt.loan_id,
        kind=attempt.purpose if attempt.from_app else "autodebit",
        status=status,
        amount=attempt.amount,
        requested_on=attempt.business_date,
        failure_code=attempt.failure_code,
        settled_on=attempt.settled_on,
        repayment_id=attempt.repayment_id,
        mode=attempt.mode,
    )


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    """A payment asked for: collected from the card through the rail, so ``pending``
    until the rail confirms (``debit_key`` is sent after the commit)."""

    kind: str
    payment: PaymentView
    loan: LoanView
    debit_key: str


def payments(ctx: JourneyContext, borrower_id: str, loan_id: str) -> list[PaymentView]:
    with ctx.uow() as uow:
        _owned_loan(uow, borrower_id, loan_id)
        attempts = uow.servicing.debits.for_loan(loan_id)
    return [payment_view(a) for a in reversed(attempts)]


def payment(ctx: JourneyContext, borrower_id: str, loan_id: str, payment_id: str) -> PaymentView:
    for view in payments(ctx, borrower_id, loan_id):
        if view.payment_id == payment_id:
            return view
    raise NotFound(f"payment {payment_id} not found")


def _settle(
    ctx: JourneyContext,
    uow: UnitOfWork,
    *,
    borrower_id: str,
    loan_id: str,
    kind: str,
    amount: Money | None,
    mode: str | None,
) -> PaymentOutcome:
    if kind not in PAYMENT_KINDS:
        raise ValidationFailed([Problem("kind", f"one of {', '.join(PAYMENT_KINDS)}")])
    loan = uow.lending.loans.get(loan_id, for_update=True)
    if loan.borrower_id != borrower_id:
        raise NotFound(f"loan {loan_id} not found")
    payout = disbursement_view(uow, loan_id)
    if payout is not None and payout.status != "paid":
        raise DisbursementNotPaid(
            _text(
                "放款尚未完成，暂不能还款", f"the payout is {payout.status}; nothing to repay yet"
            )
        )
    on = ctx.today()
    if kind == "due":
        owed = due_now(loan, on) - in_flight_amount(uow, loan)
        if not owed.is_positive():
            raise NothingDue(_text("当前没有应还款项", "nothing is due now"))
        amount = owed
    elif kind in ("amount", "prepay"):
        amount = _require_amount(amount)
    chosen = (mode or PrepaymentMode.SHORTEN_TERM.value) if kind == "prepay" else ""
    attempt = request_card_payment_in(
        uow, ctx.new_id, loan, purpose=kind, amount=amount, on=on, mode=chosen
    )
    return PaymentOutcome(
        kind, payment_view(attempt), loan_view(uow, loan, on), attempt.idempotency_key
    )


def pay(
    ctx: JourneyContext,
    *,
    borrower_id: str,
    loan_id: str,
    kind: str,
    amount: Money | None,
    idempotency_key: str | None,
    render: Callable[[PaymentOutcome], Mapping[str, Any]],
    mode: str | None = None,
) -> Once[PaymentOutcome]:
    """Ask for a payment from the app, once per key: a card debit through the rail,
    ``pending`` until the rail confirms it."""
    request = {
        "loan_id": loan_id,
        "kind": kind,
        "amount_fen": amount.to_minor() if amount is not None else None,
        "mode": mode,
    }
    return run_once(
        ctx,
        key=idempotency_key,
        borrower_id=borrower_id,
        operation="loan.payment",
        request=request,
        action=lambda uow: _settle(
            ctx,
            uow,
            borrower_id=borrower_id,
            loan_id=loan_id,
            kind=kind,
            amount=amount,
            mode=mode,
        ),
        render=render,
    )


class PaymentNotices:
    """The servicing desk's ``on_collection`` listener: the borrower's inbox notice (and
    its SMS) in the transaction that books their payment or records its failure."""

    def __init__(self, new_id: Callable[[], str], clock: Clock) -> None:
        self._new_id = new_id
        self._clock = clock

    def __call__(
        self, uow: UnitOfWork, attempt: DebitAttempt, record: RepaymentRecord | None
    ) -> None:
        now = self._clock.now()
        view = payment_view(attempt)
        if view.status == "failed":
            params = {"amount": view.amount.format(), "reason": view.failure_reason}
            queue_notice(uow, self._new_id, now, attempt.borrower_id, "repayment_failed", params)
            return
        loan = uow.lending.loans.get(attempt.loan_id)
        params = {
            "amount": view.amount.format(),
            "outstanding": loan.outstanding_principal.format(),
        }
        queue_notice(uow, self._new_id, now, attempt.borrower_id, "repayment_received", params)
        if loan.status is LoanStatus.CLOSED and record is not None:
            ref = {"loan_ref": loan.loan_id[-8:].upper()}
            queue_notice(uow, self._new_id, now, attempt.borrower_id, "loan_closed", ref)
