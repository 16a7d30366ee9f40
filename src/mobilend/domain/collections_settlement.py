"""Settling a loan for less than is owed (协商结清): the borrower pays the agreed amount,
the rest is waived, and the loan closes.

Two balanced entries: the payment (Dr cash / Cr receivables in the product's waterfall
order) and the waiver (Dr ``write_off_expense:settlement_waiver`` / Cr every receivable
still open). Interest not yet recognised is simply never recognised, as with an early
payoff. The waived amounts are kept on the loan as ``written_off`` — what the ledger's
write-off expense holds for it — so the loan's balances still rebuild from its postings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mobilend.domain.allocation import Component, OpenItem, allocate_payment
from mobilend.domain.errors import Conflict
from mobilend.domain.ledger import (
    DEFAULT_CASH_ACCOUNT,
    Account,
    ComponentAmounts,
    EntryKind,
    JournalEntry,
    Posting,
    account_key,
    repayment_entry,
)
from mobilend.domain.loans import Loan
from mobilend.domain.loans_rules import ONE_DAY, IdFactory, LoanStatus
from mobilend.domain.money import Money

#: Where waived amounts go: a sub-account of write-off expense, so reports can tell a
#: negotiated waiver from a charge-off.
WAIVER_ACCOUNT = account_key(Account.WRITE_OFF_EXPENSE, "settlement_waiver")


@dataclass(frozen=True, slots=True)
class SettlementResult:
    entries: tuple[JournalEntry, ...]
    paid: ComponentAmounts
    waived: ComponentAmounts
    principal_repaid: Money


def owed_for_settlement(loan: Loan, on: dt.date) -> Money:
    """What the loan owes today as a settlement sees it: every receivable recognised
    through yesterday (call on a copy, or after ``accrue_to(on - 1)``)."""
    return loan.receivables.total - loan.held_credit


def waiver_entry(
    entry_id: str, business_date: dt.date, loan_id: str, waived: ComponentAmounts, memo: str = ""
) -> JournalEntry:
    """Dr settlement waiver expense / Cr each receivable waived."""
    postings = [Posting(WAIVER_ACCOUNT, waived.total, loan_id)]
    for account, amount in waived.as_receivables().items():
        if amount.is_positive():
            postings.append(Posting(account.value, -amount, loan_id))
    return JournalEntry(
        entry_id,
        EntryKind.ADJUSTMENT,
        business_date,
        tuple(postings),
        loan_id,
        None,
        memo or "settlement waiver",
    )


def settle_loan(
    loan: Loan,
    amount: Money,
    on: dt.date,
    *,
    cash_account: str = DEFAULT_CASH_ACCOUNT,
    new_id: IdFactory,
) -> SettlementResult:
    """Take ``amount`` as full and final settlement on ``on`` and close the loan.

    Money the loan already holds for the borrower counts towards the settlement. Refused
    (and the loan left as it was) unless the loan is active and the amount is positive
    and no more than what is owed.
    """
    snapshot = loan.to_state()
    try:
        return _settle(loan, amount, on, cash_account, new_id)
    except Exception:
        restored = Loan.from_state(snapshot)
        for name in Loan.__dataclass_fields__:
            setattr(loan, name, getattr(restored, name))
        raise


def _settle(
    loan: Loan, amount: Money, on: dt.date, cash_account: str, new_id: IdFactory
) -> SettlementResult:
    if loan.status is not LoanStatus.ACTIVE:
        raise Conflict(f"loan {loan.loan_id} is {loan.status}; only an active loan settles")
    if loan.accrued_through is not None and on < loan.accrued_through:
        raise Conflict(f"loan {loan.loan_id} has run end of day past {on}")
    entries = list(loan.accrue_to(on - ONE_DAY, new_id))
    if loan.status is not LoanStatus.ACTIVE:
        raise Conflict(f"loan {loan.loan_id} closed while catching up to {on}")
    held = loan.held_credit
    owed = loan.receivables.total
    available = amount + held
    if not amount.is_positive() or not amount.is_whole() or available > owed:
        raise Conflict(
            f"a settlement of {amount.format()} does not fit what loan {loan.loan_id} owes "
            f"({(owed - held).format()})"
        )
    items: list[OpenItem] = []
    for inst in loan.installments:
        recv = inst.receivable
        for component, value in (
            (Component.PENALTY, recv.penalty),
            (Component.FEES, recv.fees),
            (Component.INTEREST, recv.interest),
            (Component.PRINCIPAL, recv.principal),
        ):
            if value.is_positive():
                items.append(OpenItem(inst.n, inst.due_date, component, value))
    allocation = allocate_payment(items, available, loan.rules.waterfall)
    for line in allocation.lines:
        inst = loan.installment(line.installment)
        paid = inst.paid
        if line.component is Component.PRINCIPAL:
            inst.principal_paid = paid.principal + line.amount
        elif line.component is Component.INTEREST:
            inst.interest_paid = paid.interest + line.amount
        elif line.component is Component.FEES:
            inst.fees_paid = paid.fees + line.amount
        else:
            inst.penalty_paid = paid.penalty + line.amount
    paid = allocation.by_component()
    entries.append(
        repayment_entry(
            new_id(), on, loan.loan_id, paid, None, cash_account, None,
            "settlement payment", credit_used=held if held.is_positive() else None,
        )
    )  # fmt: skip
    waived = loan.receivables
    if waived.total.is_positive():
        entries.append(waiver_entry(new_id(), on, loan.loan_id, waived))
    assert loan.cash_received is not None
    loan.cash_received = loan.cash_received + amount
    loan.credit_balance = Money.zero(loan.currency)
    previous = loan.written_off or ComponentAmounts.zero(loan.currency)
    loan.written_off = previous + waived
    loan.status = LoanStatus.CLOSED
    loan.closed_on = on
    return SettlementResult(tuple(entries), paid, waived, paid.principal)
