"""Interest on an installment paid ahead of its due date.

The contract says interest runs to the day of payment. An installment's scheduled
interest pays for the whole balance outstanding over its period; when its principal
comes back early, the days left in the period must not be charged on that principal.
Paying ``p`` of installment ``n``'s principal on ``on`` therefore makes its interest

    earned to date + (scheduled − earned to date) × (B − p) / B

where *earned to date* is what daily accrual has earned through the end of ``on − 1``
(``InstallmentState.interest_target``) and ``B`` the principal still out in the period
(installment ``n`` and every later one, unpaid). The rest of the period then accrues
from ``on`` on what stays out (``interest_base`` / ``accrual_start``, the mechanism a
partial prepayment uses).

Example (12,000 at 12 %, equal principal, 30/360): installment 1 is 1,000 principal +
120 interest. Paid on day 10 of its period: 40.00 earned on 12,000 for 10 days, plus
80 × 11,000 / 12,000 = 73.33 for the 20 days left on the 11,000 still out: 113.33,
not 120.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from mobilend.domain.allocation import Component, OpenItem
from mobilend.domain.ledger import JournalEntry, accrual_entry, fee_entry
from mobilend.domain.loans_installments import InstallmentKind, InstallmentState
from mobilend.domain.loans_rules import ONE_DAY, IdFactory
from mobilend.domain.money import Money
from mobilend.domain.terms import LoanTerms


def earned_to_date(inst: InstallmentState, terms: LoanTerms, on: dt.date) -> Money:
    """Interest of ``inst`` earned through the end of ``on − 1`` (never less than recognised)."""
    target = inst.interest_target(on - ONE_DAY, terms.day_count, terms.rounding)
    return inst.accrued.max(target)


def balance_out(installments: Sequence[InstallmentState], inst: InstallmentState) -> Money:
    """Principal still out during ``inst``'s period: its own and every later installment's."""
    total = Money.zero(inst.currency)
    for other in installments:
        if other.kind is InstallmentKind.REGULAR and other.due_date >= inst.due_date:
            total = total + other.unpaid.principal
    return total


def interest_if_repaid(
    installments: Sequence[InstallmentState],
    inst: InstallmentState,
    terms: LoanTerms,
    on: dt.date,
    principal: Money,
) -> Money:
    """``inst``'s interest when ``principal`` of it is repaid on ``on``, before its due date."""
    scheduled = inst.interest_scheduled
    if on >= inst.due_date or not principal.is_positive():
        return scheduled
    earned = earned_to_date(inst, terms, on).min(scheduled)
    balance = balance_out(installments, inst)
    if not balance.is_positive():
        return scheduled
    kept = min(principal, balance)
    rest = (scheduled - earned).amount * (balance - kept).amount / balance.amount
    charged = earned + Money(rest, inst.currency).round(terms.rounding)
    return charged.max(inst.paid.interest).min(scheduled)


def repay_ahead(
    installments: Sequence[InstallmentState],
    inst: InstallmentState,
    terms: LoanTerms,
    on: dt.date,
    principal: Money,
) -> None:
    """Re-base ``inst`` for ``principal`` of it repaid on ``on``: interest to date fixed,
    the rest of the period accrues on what stays out."""
    charged = interest_if_repaid(installments, inst, terms, on, principal)
    if charged == inst.interest_scheduled:
        return
    earned = earned_to_date(inst, terms, on).min(charged)
    inst.interest_scheduled = charged
    inst.interest_base = earned
    inst.accrual_start = max(on, inst.period_start)


def recognition_entries(
    loan_id: str,
    ids: IdFactory,
    on: dt.date,
    interest: Money,
    fees: Money,
    payable: Mapping[str, Money] | None = None,
) -> list[JournalEntry]:
    """Interest and fees paid before end of day recognised them: recognised first, so
    receivables never go negative."""
    entries: list[JournalEntry] = []
    if interest.is_positive():
        entries.append(
            accrual_entry(ids(), on, loan_id, interest, "interest recognised on payment")
        )
    if fees.is_positive():
        entries.append(fee_entry(ids(), on, loan_id, fees, "fees recognised on payment", payable))
    return entries


def open_items_of(
    installments: Sequence[InstallmentState], terms: LoanTerms, on: dt.date, ahead: bool
) -> list[OpenItem]:
    """What a payment on ``on`` may settle: every installment due by then, and with
    ``ahead`` the next one still owing something, its interest as if its principal came
    back today (``interest_if_repaid``)."""
    chosen = [i for i in installments if i.due_date <= on]
    if ahead:
        # The next installment still owing something: one already paid ahead is skipped.
        future = [i for i in installments if i.due_date > on and i.unpaid.total.is_positive()]
        if future:
            chosen.append(min(future, key=lambda i: (i.due_date, i.n)))
    items: list[OpenItem] = []
    for inst in chosen:
        unpaid = inst.unpaid
        interest = unpaid.interest
        if inst.due_date > on:
            charged = interest_if_repaid(installments, inst, terms, on, unpaid.principal)
            interest = charged - inst.paid.interest
        for component, amount in (
            (Component.PENALTY, unpaid.penalty),
            (Component.FEES, unpaid.fees),
            (Component.INTEREST, interest),
            (Component.PRINCIPAL, unpaid.principal),
        ):
            if amount.is_positive():
                items.append(OpenItem(inst.n, inst.due_date, component, amount))
    return items
