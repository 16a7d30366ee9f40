"""Use cases: repayments, payoff and partial prepayment.

Every payment carries an idempotency key: replaying it returns the first
receipt and moves no money twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mobilend.app.audit import repayment_details
from mobilend.app.lending.ports import RepaymentRecord
from mobilend.app.unit_of_work import UnitOfWork, command
from mobilend.domain.allocation import Allocation
from mobilend.domain.errors import Conflict, NotFound, Problem, ValidationFailed
from mobilend.domain.ledger import DEFAULT_CASH_ACCOUNT, JournalEntry
from mobilend.domain.loans import Loan
from mobilend.domain.money import Money
from mobilend.domain.prepayment import PayoffQuote, PrepaymentMode, pay_off, payoff_quote, prepay


class NothingToPay(Conflict):
    code = "nothing_owed"


@dataclass(frozen=True, slots=True)
class RepaymentReceipt:
    record: RepaymentRecord
    replayed: bool
    closed: bool


def allocation_to_state(allocation: Allocation, overpayment: Money) -> dict[str, Any]:
    return {
        "paid": allocation.paid.format(),
        "lines": [
            {
                "installment": a.installment,
                "component": a.component.value,
                "amount": a.amount.format(),
            }
            for a in allocation.lines
        ],
        "overpayment": overpayment.format(),
    }


def state_before(loan: Loan) -> dict[str, Any]:
    """What a payoff or a prepayment re-writes, as it was: kept on the receipt so a
    bounced one can be undone (``app.servicing.reversals``)."""
    state = loan.to_state()
    keys = ("installments", "credit_balance_minor", "cash_received_minor", "cash_refunded_minor")
    return {key: state[key] for key in keys}


def _load_for_payment(uow: UnitOfWork, loan_id: str, borrower_id: str | None) -> Loan:
    loan = uow.lending.loans.get(loan_id, for_update=True)
    if borrower_id is not None and loan.borrower_id != borrower_id:
        raise NotFound(f"loan {loan_id} not found")
    return loan


def _replay(uow: UnitOfWork, key: str, loan_id: str, amount: Money) -> RepaymentReceipt | None:
    previous = uow.lending.repayments.by_idempotency_key(key)
    if previous is None:
        return None
    if previous.loan_id != loan_id or previous.amount != amount:
        raise Conflict("this idempotency key was already used for a different payment")
    loan = uow.lending.loans.get(loan_id)
    return RepaymentReceipt(previous, replayed=True, closed=loan.status.value == "closed")


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What the domain did with one payment, in the shape the receipt records."""

    entries: tuple[JournalEntry, ...]
    principal_repaid: Money
    allocation: dict[str, Any]
    closed: bool


def _check_key(idempotency_key: str) -> None:
    if not idempotency_key or len(idempotency_key) > 200:
        raise ValidationFailed([Problem("idempotency_key", "is required (1–200 characters)")])


def _take_payment(
    uow: UnitOfWork,
    new_id: Callable[[], str],
    apply: Callable[[Loan], _Outcome],
    *,
    loan_id: str,
    amount: Money,
    on: dt.date,
    idempotency_key: str,
    channel: str,
    borrower_id: str | None,
) -> RepaymentReceipt:
    """The one path every kind of payment takes: replay check, row lock, domain rule,
    line restore, ledger, receipt — in the caller's unit of work."""
    _check_key(idempotency_key)
    if not amount.is_positive():
        raise NothingToPay(
            "没有需要支付的金额，已存余额足以抵扣 (nothing to pay: money already held covers it)"
        )
    replayed = _replay(uow, idempotency_key, loan_id, amount)
    if replayed is not None:
        return replayed
    loan = _load_for_payment(uow, loan_id, borrower_id)
    outcome = apply(loan)
    if loan.line_id is not None and outcome.principal_repaid.is_positive():
        line = uow.lending.lines.get(loan.line_id, for_update=True)
        line.restore(outcome.principal_repaid)
        uow.lending.lines.save(line)
    record = RepaymentRecord(
        repayment_id=new_id(),
        loan_id=loan.loan_id,
        borrower_id=loan.borrower_id,
        amount=amount,
        received_on=on,
        channel=channel,
        idempotency_key=idempotency_key,
        allocation=outcome.allocation,
    )
    uow.lending.loans.save(loan)
    uow.lending.ledger.append(outcome.entries, loan.borrower_id)
    uow.lending.repayments.add(record)
    uow.audit.record(
        f"borrower:{borrower_id}" if borrower_id else f"system:{channel}",
        "repayment.received",
        f"loan:{loan.loan_id}",
        repayment_details(record, [e.entry_id for e in outcome.entries]),
    )
    return RepaymentReceipt(record, replayed=False, closed=outcome.closed)


def post_repayment_in(
    uow: UnitOfWork,
    new_id: Callable[[], str],
    *,
    loan_id: str,
    amount: Money,
    on: dt.date,
    idempotency_key: str,
    channel: str = "app",
    borrower_id: str | None = None,
    cash_account: str = DEFAULT_CASH_ACCOUNT,
) -> RepaymentReceipt:
    """Take a payment: allocate by the product's waterfall, post the ledger, restore the line."""

    def apply(loan: Loan) -> _Outcome:
        result = loan.repay(amount, on, cash_account=cash_account, new_id=new_id)
        allocation = allocation_to_state(result.allocation, result.overpayment)
        return _Outcome(result.entries, result.principal_repaid, allocation, result.closed)

    return _take_payment(
        uow, new_id, apply, loan_id=loan_id, amount=amount, on=on,
        idempotency_key=idempotency_key, channel=channel, borrower_id=borrower_id,
    )  # fmt: skip


def quote_payoff_in(
    uow: UnitOfWork,
    *,
    loan_id: str,
    on: dt.date,
    borrower_id: str | None = None,
) -> PayoffQuote:
    loan = uow.lending.loans.get(loan_id)
    if borrower_id is not None and loan.borrower_id != borrower_id:
        raise NotFound(f"loan {loan_id} not found")
    return payoff_quote(loan, on)


def pay_off_loan_in(
    uow: UnitOfWork,
    new_id: Callable[[], str],
    *,
    loan_id: str,
    amount: Money,
    on: dt.date,
    idempotency_key: str,
    channel: str = "app",
    borrower_id: str | None = None,
    cash_account: str = DEFAULT_CASH_ACCOUNT,
) -> RepaymentReceipt:
    """Settle the loan in full (interest only to the payment date)."""

    def apply(loan: Loan) -> _Outcome:
        before = state_before(loan)
        result = pay_off(loan, amount, on, cash_account=cash_account, new_id=new_id)
        allocation = allocation_to_state(result.allocation, result.overpayment)
        allocation["before"] = before
        return _Outcome(result.entries, result.principal_repaid, allocation, result.closed)

    return _take_payment(
        uow, new_id, apply, loan_id=loan_id, amount=amount, on=on,
        idempotency_key=idempotency_key, channel=channel, borrower_id=borrower_id,
    )  # fmt: skip


def prepay_loan_in(
    uow: UnitOfWork,
    new_id: Callable[[], str],
    *,
    loan_id: str,
    amount: Money,
    on: dt.date,
    mode: PrepaymentMode | str,
    idempotency_key: str,
    channel: str = "app",
    borrower_id: str | None = None,
    cash_account: str = DEFAULT_CASH_ACCOUNT,
) -> RepaymentReceipt:
    """Partial prepayment: shorter term or lower installment, the schedule re-amortised."""

    def apply(loan: Loan) -> _Outcome:
        before = state_before(loan)
        result = prepay(loan, amount, on, mode, cash_account=cash_account, new_id=new_id)
        allocation = allocation_to_state(result.allocation, Money.zero(amount.currency))
        allocation["before"] = before
        allocation["mode"] = str(mode)
        allocation["periods_before"] = result.periods_before
        allocation["periods_after"] = result.periods_after
        return _Outcome(result.entries, result.principal_repaid, allocation, result.closed)

    return _take_payment(
        uow, new_id, apply, loan_id=loan_id, amount=amount, on=on,
        idempotency_key=idempotency_key, channel=channel, borrower_id=borrower_id,
    )  # fmt: skip


post_repayment = command(post_repayment_in)
quote_payoff = command(quote_payoff_in)
pay_off_loan = command(pay_off_loan_in)
prepay_loan = command(prepay_loan_in)
