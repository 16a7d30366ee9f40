"""Use cases: the borrower's loans (schedule, and the payout as funding's
``disbursement_view`` tells it: pending / paid / failed) and paying them from the app —
the installment due, a chosen amount, the full payoff, or a partial prepayment.

Every payment is a once-only request (``run_once``): the client's key is claimed in the
transaction that posts the payment, so a replay returns the first receipt and moves no
money twice. A loan whose payout has not reached the borrower takes no payment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mobilend.app.funding.disbursement import DisbursementView, disbursement_view
from mobilend.app.journey.context import JourneyContext, Once, notify, run_once
from mobilend.app.lending.ports import RepaymentRecord
from mobilend.app.lending.repayments import (
    RepaymentReceipt,
    pay_off_loan_in,
    post_repayment_in,
    prepay_loan_in,
    quote_payoff_in,
)
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


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    kind: str
    receipt: RepaymentReceipt
    loan: LoanView
    outbox: tuple[str, ...]


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


def _settle(
    ctx: JourneyContext,
    uow: UnitOfWork,
    *,
    borrower_id: str,
    loan_id: str,
    kind: str,
    amount: Money | None,
    mode: str | None,
    key: str,
) -> PaymentOutcome:
    loan = _owned_loan(uow, borrower_id, loan_id)
    payout = disbursement_view(uow, loan_id)
    if payout is not None and payout.status != "paid":
        raise DisbursementNotPaid(
            _text(
                "放款尚未完成，暂不能还款", f"the payout is {payout.status}; nothing to repay yet"
            )
        )
    on = ctx.today()
    inner_key = f"{borrower_id}:{key}"
    common: dict[str, Any] = {
        "loan_id": loan_id, "on": on, "idempotency_key": inner_key, "borrower_id": borrower_id,
    }  # fmt: skip
    if kind == "due":
        owed = due_now(loan, on)
        if not owed.is_positive():
            raise NothingDue(_text("当前没有应还款项", "nothing is due now"))
        receipt = post_repayment_in(uow, ctx.new_id, amount=owed, **common)
    elif kind == "amount":
        receipt = post_repayment_in(uow, ctx.new_id, amount=_require_amount(amount), **common)
    elif kind == "payoff":
        if amount is None:
            amount = quote_payoff_in(
                uow, loan_id=loan_id, on=on, borrower_id=borrower_id
            ).amount_due
        receipt = pay_off_loan_in(uow, ctx.new_id, amount=amount, **common)
    elif kind == "prepay":
        chosen = mode or PrepaymentMode.SHORTEN_TERM.value
        receipt = prepay_loan_in(
            uow, ctx.new_id, amount=_require_amount(amount), mode=chosen, **common
        )
    else:
        raise ValidationFailed([Problem("kind", f"one of {', '.join(PAYMENT_KINDS)}")])
    after = uow.lending.loans.get(loan_id)
    outbox = [
        notify(
            uow,
            ctx,
            borrower_id,
            "repayment_received",
            {
                "amount": receipt.record.amount.format(),
                "outstanding": after.outstanding_principal.format(),
            },
        )
    ]
    if receipt.closed:
        outbox.append(
            notify(uow, ctx, borrower_id, "loan_closed", {"loan_ref": loan_id[-8:].upper()})
        )
    return PaymentOutcome(kind, receipt, loan_view(uow, after, on), tuple(outbox))


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
    """Take a payment from the app, once per key."""
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
            key=str(idempotency_key),
        ),
        render=render,
    )
