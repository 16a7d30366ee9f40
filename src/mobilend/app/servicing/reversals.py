"""Bounced payments: a debit returned by the bank, a transfer recalled, a card charge-back.

The repayment's journal entry is reversed (the same postings, opposite signs, marked as
reversing it) and the loan is put back as if the money had never arrived: the amounts
the payment settled are owed again (installments re-opened, a closed loan re-opened),
any overpayment it left is taken back from the credit balance, and principal it gave
back to a revolving line is drawn again. When end of day had already applied that
overpayment to later installments, those amounts are owed again too, by one adjustment
entry (Dr receivables / Cr borrower credit balance).

Penalty is not charged backwards for the days the payment was believed good; end of day
charges it from the reversal date on. Payoffs and partial prepayments re-write the
schedule: they are undone from the state their receipt kept (``rewrite_reversals``).
"""

from __future__ import annotations

import datetime as dt

from mobilend.app.funding.funder_shares import post_funder_shares_in
from mobilend.app.lending.ports import RepaymentRecord
from mobilend.app.servicing.desk import ServicingDesk
from mobilend.app.servicing.payments import REPAY_METHOD
from mobilend.app.servicing.ports import ReversalRecord
from mobilend.app.servicing.rewrite_reversals import rewrites_schedule, undo_rewrite
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.allocation import Component
from mobilend.domain.errors import Conflict, NotFound
from mobilend.domain.ledger import (
    Account,
    ComponentAmounts,
    EntryKind,
    JournalEntry,
    Posting,
)
from mobilend.domain.lines import CreditLine
from mobilend.domain.loans import InstallmentState, Loan, LoanStatus
from mobilend.domain.money import Money

#: Channels whose payments a bank can take back.
BOUNCEABLE_CHANNELS = frozenset({"autodebit", "bank_transfer", "card", "app"})

_FIELDS = {
    Component.PRINCIPAL: "principal_paid",
    Component.INTEREST: "interest_paid",
    Component.FEES: "fees_paid",
    Component.PENALTY: "penalty_paid",
}
_RECEIVABLE = {
    Component.PRINCIPAL: Account.LOAN_PRINCIPAL_RECEIVABLE,
    Component.INTEREST: Account.INTEREST_RECEIVABLE,
    Component.FEES: Account.FEE_RECEIVABLE,
    Component.PENALTY: Account.PENALTY_RECEIVABLE,
}


def reverse_repayment(
    desk: ServicingDesk, *, loan_id: str, repayment_id: str, reason: str, on: dt.date
) -> ReversalRecord:
    """Undo a bounced repayment (idempotent: a second call returns the first reversal)."""
    with desk.uow_factory() as uow:
        done = uow.servicing.reversals.for_repayment(repayment_id)
        if done is not None:
            return done
        loan = uow.lending.loans.get(loan_id, for_update=True)
        record = _repayment(uow, loan_id, repayment_id)
        _check_reversible(record, loan)
        on = max(on, loan.accrued_through or on)
        original = _original_entry(uow, loan, record)
        if rewrites_schedule(record):
            cash = next(p.account for p in original.postings if p.base is Account.CASH)
            entries, principal_back = undo_rewrite(
                uow, desk.new_id, loan, record, cash_account=cash, on=on, reason=reason,
                reverses=original.entry_id,
            )  # fmt: skip
        else:
            entries = [original.reversal(desk.new_id(), on, f"bounced: {reason}")]
            principal_back = _undo_waterfall(desk, loan, record, on, entries)
        if loan.line_id is not None and principal_back.is_positive():
            line = uow.lending.lines.get(loan.line_id, for_update=True)
            _draw_back(line, principal_back)
            uow.lending.lines.save(line)
        reversal = ReversalRecord(
            reversal_id=desk.new_id(),
            repayment_id=repayment_id,
            loan_id=loan_id,
            borrower_id=loan.borrower_id,
            amount=record.amount,
            reason=reason,
            business_date=on,
            entry_ids=tuple(e.entry_id for e in entries),
        )
        uow.lending.loans.save(loan)
        uow.lending.ledger.append(entries, loan.borrower_id)
        uow.servicing.reversals.add(reversal)
        # Partners' shares of that day's collections, already posted, give this one back.
        post_funder_shares_in(uow, record.received_on, {loan_id})
        uow.commit()
        return reversal


def _undo_waterfall(
    desk: ServicingDesk,
    loan: Loan,
    record: RepaymentRecord,
    on: dt.date,
    entries: list[JournalEntry],
) -> Money:
    """Owe again what a waterfall payment settled; returns the principal among it."""
    principal_back = _unpay_allocation(loan, record)
    overpayment = Money(record.allocation.get("overpayment", "0"), loan.currency)
    from_credit = overpayment.min(loan.held_credit)
    loan.credit_balance = loan.held_credit - from_credit
    applied = overpayment - from_credit
    if applied.is_positive():
        unapplied = _unpay_newest(loan, applied)
        principal_back = principal_back + unapplied.principal
        entries.append(_unapply_entry(desk.new_id(), on, loan, unapplied))
    assert loan.cash_received is not None
    loan.cash_received = loan.cash_received - record.amount
    _reopen(loan, on)
    return principal_back


def _repayment(uow: UnitOfWork, loan_id: str, repayment_id: str) -> RepaymentRecord:
    for record in uow.lending.repayments.for_loan(loan_id):
        if record.repayment_id == repayment_id:
            return record
    raise NotFound(f"repayment {repayment_id} not found on loan {loan_id}")


def _check_reversible(record: RepaymentRecord, loan: Loan) -> None:
    if record.channel not in BOUNCEABLE_CHANNELS:
        raise Conflict(f"a {record.channel} repayment cannot bounce")
    if rewrites_schedule(record):
        return  # payoff or prepayment: undone from the state kept on its receipt
    if "mode" in record.allocation:
        raise Conflict("a partial prepayment from before receipts kept the schedule; by hand")
    if loan.status is LoanStatus.CLOSED and record.allocation.get("method") != REPAY_METHOD:
        raise Conflict("the loan was paid off before receipts kept the schedule; by hand")
    if loan.status not in (LoanStatus.ACTIVE, LoanStatus.CLOSED):
        raise Conflict(f"loan {loan.loan_id} is {loan.status}")


def _original_entry(uow: UnitOfWork, loan: Loan, record: RepaymentRecord) -> JournalEntry:
    """The repayment entry this record posted: same loan, date and cash amount; among
    several such payments, the one in the same position."""
    twins = [
        r.repayment_id
        for r in uow.lending.repayments.for_loan(loan.loan_id)
        if r.received_on == record.received_on and r.amount == record.amount
    ]
    ids = uow.servicing.reversals.repayment_entry_id(
        loan.loan_id, record.received_on, record.amount
    )
    position = twins.index(record.repayment_id)
    if position >= len(ids):
        raise Conflict(f"no repayment entry found for repayment {record.repayment_id}")
    wanted = ids[position]
    for entry in uow.lending.ledger.entries_for_loan(loan.loan_id):
        if entry.entry_id == wanted and entry.kind is EntryKind.REPAYMENT:
            return entry
    raise Conflict(f"repayment entry {wanted} not found")


def _unpay(inst: InstallmentState, component: Component, amount: Money) -> None:
    name = _FIELDS[component]
    current = getattr(inst, name)
    if amount > current:
        raise Conflict(f"installment {inst.n} has only {current} of {component} paid")
    setattr(inst, name, current - amount)


def _unpay_allocation(loan: Loan, record: RepaymentRecord) -> Money:
    """Take back what the payment settled; returns the principal among it."""
    principal = Money.zero(loan.currency)
    for line in record.allocation.get("lines", []):
        component = Component(line["component"])
        amount = Money(line["amount"], loan.currency)
        _unpay(loan.installment(int(line["installment"])), component, amount)
        if component is Component.PRINCIPAL:
            principal = principal + amount
    return principal


def _unpay_newest(loan: Loan, amount: Money) -> ComponentAmounts:
    """Owe ``amount`` again from the latest payments (newest installment first, the
    waterfall backwards) — what held credit settled at end of day."""
    left = amount
    taken = {c: Money.zero(loan.currency) for c in _FIELDS}
    order = (Component.PRINCIPAL, Component.INTEREST, Component.FEES, Component.PENALTY)
    for inst in sorted(loan.installments, key=lambda i: i.n, reverse=True):
        for component in order:
            if not left.is_positive():
                break
            paid = getattr(inst, _FIELDS[component])
            part = paid.min(left)
            if part.is_positive():
                _unpay(inst, component, part)
                taken[component] = taken[component] + part
                left = left - part
    if left.is_positive():
        raise Conflict(f"loan {loan.loan_id} has less paid than the payment to reverse")
    return ComponentAmounts(
        taken[Component.PRINCIPAL],
        taken[Component.INTEREST],
        taken[Component.FEES],
        taken[Component.PENALTY],
    )


def _unapply_entry(
    entry_id: str, on: dt.date, loan: Loan, amounts: ComponentAmounts
) -> JournalEntry:
    postings = [
        Posting(_RECEIVABLE[c].value, value, loan.loan_id)
        for c, value in (
            (Component.PRINCIPAL, amounts.principal),
            (Component.INTEREST, amounts.interest),
            (Component.FEES, amounts.fees),
            (Component.PENALTY, amounts.penalty),
        )
        if value.is_positive()
    ]
    postings.append(Posting(Account.BORROWER_CREDIT_BALANCE.value, -amounts.total, loan.loan_id))
    return JournalEntry(
        entry_id,
        EntryKind.ADJUSTMENT,
        on,
        tuple(postings),
        loan.loan_id,
        None,
        "credit application undone: the payment that funded it bounced",
    )


def _reopen(loan: Loan, on: dt.date) -> None:
    for inst in loan.installments:
        if inst.settled_on is not None and not inst.is_settled:
            inst.settled_on = None
    if loan.status is LoanStatus.CLOSED and not all(i.is_settled for i in loan.installments):
        loan.status = LoanStatus.ACTIVE
        loan.closed_on = None
        # End of day skipped the loan while it was closed; it resumes from the reversal
        # date (interest targets are absolute, so none is lost; no penalty backwards).
        yesterday = on - dt.timedelta(days=1)
        if loan.accrued_through is None or loan.accrued_through < yesterday:
            loan.accrued_through = yesterday
    as_of = loan.accrued_through or loan.terms.start_date
    loan.dpd = loan.days_past_due(as_of)
    loan.max_dpd = max(loan.max_dpd, loan.dpd)


def _draw_back(line: CreditLine, principal: Money) -> None:
    """The line lends the principal again; it never goes above its limit (the rest is
    simply not available until repaid)."""
    if not line.revolving:
        return
    line.used = (line.used_amount + principal).min(line.limit)
