"""Undoing a bounced payoff or partial prepayment: both re-wrote the schedule, so the
loan is put back as it stood just before the payment (kept on the receipt,
``allocation["before"]``), and the ledger follows in one adjusting entry.

The adjusting entry moves every account of the loan from what the ledger holds now to
what the restored loan must hold (``Loan.ledger_balances``): the cash the payment
brought in goes back out of the account it came into, interest and fees it recognised
ahead of time leave income again, the receivables are owed again, and held credit it
used is held again. Interest for the days since is recognised by the next end of day
from the restored schedule (interest targets are absolute, so none is lost); penalty is
charged from the reversal date on, never backwards for the days the payment was
believed good.

Refused while a later payment or a refund stands on the loan: undo those first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from mobilend.app.lending.ports import RepaymentRecord
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.errors import Conflict
from mobilend.domain.ledger import (
    Account,
    EntryKind,
    JournalEntry,
    Posting,
    base_account,
    loan_balances,
)
from mobilend.domain.loans import InstallmentState, Loan, LoanStatus
from mobilend.domain.money import Money


def rewrites_schedule(record: RepaymentRecord) -> bool:
    return "before" in record.allocation


def _later_payments(uow: UnitOfWork, record: RepaymentRecord) -> list[str]:
    records = uow.lending.repayments.for_loan(record.loan_id)
    after = records[records.index(record) + 1 :] if record in records else []
    return [
        r.repayment_id
        for r in after
        if uow.servicing.reversals.for_repayment(r.repayment_id) is None
    ]


def undo_rewrite(
    uow: UnitOfWork,
    new_id: Callable[[], str],
    loan: Loan,
    record: RepaymentRecord,
    *,
    cash_account: str,
    on: dt.date,
    reason: str,
    reverses: str | None = None,
) -> tuple[list[JournalEntry], Money]:
    """Put ``loan`` back as it stood before the payment; returns the adjusting entry
    (marked as reversing the payment's entry ``reverses``) and the principal the payment
    had given back (to draw on the line again)."""
    if loan.status not in (LoanStatus.ACTIVE, LoanStatus.CLOSED):
        raise Conflict(f"loan {loan.loan_id} is {loan.status}")
    later = _later_payments(uow, record)
    if later:
        raise Conflict(f"reverse the later payments first: {', '.join(later)}")
    before: dict[str, Any] = record.allocation["before"]
    currency = loan.currency
    refunded = Money.from_minor(int(before["cash_refunded_minor"]), currency)
    if loan.cash_refunded != refunded:
        raise Conflict("money from this payment was refunded; reverse the refund first")
    now = loan_balances(
        [
            e
            for e in uow.lending.ledger.entries_for_loan(loan.loan_id)
            if e.kind is not EntryKind.FUNDER_SHARE
        ],
        loan.loan_id,
    )
    outstanding = loan.outstanding_principal
    loan.installments = [
        InstallmentState.from_state(dict(i), currency) for i in before["installments"]
    ]
    loan.credit_balance = Money.from_minor(int(before["credit_balance_minor"]), currency)
    loan.cash_received = Money.from_minor(int(before["cash_received_minor"]), currency)
    if loan.status is LoanStatus.CLOSED:
        loan.status = LoanStatus.ACTIVE
        loan.closed_on = None
    # End of day resumes from the reversal date: interest catches up by its absolute
    # targets, penalty starts from here.
    yesterday = on - dt.timedelta(days=1)
    if loan.accrued_through is None or loan.accrued_through < yesterday:
        loan.accrued_through = yesterday
    loan.dpd = loan.days_past_due(loan.accrued_through)
    loan.max_dpd = max(loan.max_dpd, loan.dpd)
    target = loan.ledger_balances()
    postings: list[Posting] = []
    for account in sorted(set(now) | set(target), key=lambda a: a.value):
        zero = Money.zero(currency)
        delta = target.get(account, zero) - now.get(account, zero)
        if delta.is_zero():
            continue
        key = cash_account if account is Account.CASH else account.value
        base_account(key)
        postings.append(Posting(key, delta, loan.loan_id))
    entries = []
    if postings:
        entries.append(
            JournalEntry(
                new_id(),
                EntryKind.REVERSAL,
                on,
                tuple(postings),
                loan.loan_id,
                reverses,
                f"bounced {(record.allocation.get('mode') and 'prepayment') or 'payoff'}: {reason}",
            )
        )
    return entries, loan.outstanding_principal - outstanding
