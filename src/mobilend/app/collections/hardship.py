"""A hardship plan reschedules its loan (``domain.collections_reschedule``): checked when
proposed, carried out when a second person approves it — the plan's cost within the cost
cap in force for the loan's licence type, the unsettled installments replaced by the
plan's, the concession posted through the ledger in the same transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from mobilend.app.collections.desk import CollectionsDesk
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.collections import PlanInstalment
from mobilend.domain.collections_reschedule import (
    RescheduleResult,
    plan_cost_apr,
    plan_split,
    reschedule_for_plan,
)
from mobilend.domain.compliance import ANY_LICENCE, Rulebook
from mobilend.domain.errors import NotFound, ValidationFailed
from mobilend.domain.ledger import ComponentAmounts
from mobilend.domain.loans import InstallmentKind, Loan
from mobilend.domain.money import Money


def _licence(uow: UnitOfWork, loan: Loan) -> str:
    """The licence type the loan was lent under: its recorded pricing's, else its
    product's; the rules for any licence when neither can be read."""
    pricing = uow.compliance.pricing.get(loan.loan_id)
    if pricing is not None:
        return pricing.licence_type
    if loan.product_code:
        try:
            return uow.lending.products.get(loan.product_code).licence_type
        except (NotFound, ValidationFailed):
            pass
    return ANY_LICENCE


def owed_by_component(loan: Loan) -> ComponentAmounts:
    """Recognised and unpaid on the installments a plan would replace."""
    owed = ComponentAmounts.zero(loan.currency)
    for inst in loan.installments:
        if inst.kind is InstallmentKind.REGULAR and not inst.is_settled:
            owed = owed + inst.receivable
    return owed


def check_plan(
    desk: CollectionsDesk,
    uow: UnitOfWork,
    loan: Loan,
    instalments: Sequence[PlanInstalment],
    on: dt.date,
) -> None:
    """Refuse a plan that cannot reschedule the loan: below principal and fees, or costing
    more than the cap (``apr_above_cap``)."""
    owed = owed_by_component(loan)
    total = sum((i.amount for i in instalments), Money.zero(loan.currency))
    plan_split(owed, total)
    rules = desk.cost_caps or Rulebook()
    rules.check_offer(plan_cost_apr(owed.principal, instalments, on), _licence(uow, loan), on)


def reschedule_in(
    desk: CollectionsDesk,
    uow: UnitOfWork,
    loan_id: str,
    instalments: Sequence[PlanInstalment],
    on: dt.date,
) -> RescheduleResult:
    """Inside the approval's transaction: check again on the day, reschedule, post."""
    loan = uow.lending.loans.get(loan_id, for_update=True)
    check_plan(desk, uow, loan, instalments, on)
    result = reschedule_for_plan(loan, instalments, on, new_id=desk.new_id)
    uow.lending.loans.save(loan)
    if result.entries:
        uow.lending.ledger.append(list(result.entries), loan.borrower_id)
    return result
