"""A hardship plan reschedules the loan (还款计划重组): the plan's instalments replace
every installment not yet settled.

What the plan carries, on the day it is approved (end of day caught up to the day before):

- every fen of principal still unpaid — the loan's principal still sums exactly to the
  contract principal;
- the fees recognised and unpaid (fees are never waived here: part of them may be owed to
  a third party);
- the penalty and interest recognised and unpaid, less the concession: when the plan's
  total is below what is owed, the difference is waived from penalty first, then
  interest. Interest and fees of periods not yet begun are not charged (never recognised,
  so nothing to post), as with an early payoff.

The waiver is posted as a reversal of the income recognised (Dr penalty or interest
income / Cr the receivable), so the loan's balances still rebuild from its postings.

Each plan instalment takes the carried charges first, in the product's component order,
then principal. The new installments are recognised in full when they are created
(nothing accrues on them: interest stops) and fall due on the plan's dates; nothing is
past due any more, so penalty stops too. A missed instalment is past due like any other
installment, and penalty runs again after its grace days: that is the plan broken.

An installment partly paid before the plan closes at what was paid (it keeps its
payments); one with nothing paid is replaced. The new installments are numbered on from
the loan's last number (numbers are never reused).

The cost of the plan — everything it asks beyond the principal it carries — must pass
the cost cap: its APR (``plan_cost_apr``: the daily IRR of +principal on the day of
approval and −each instalment on its date, × 365) is checked against the cap in force.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from mobilend.domain.allocation import Component
from mobilend.domain.apr import DAYS_A_YEAR, PRECISION, irr_at_times
from mobilend.domain.collections import PlanInstalment
from mobilend.domain.errors import Conflict, Problem, ValidationFailed
from mobilend.domain.ledger import (
    Account,
    ComponentAmounts,
    EntryKind,
    JournalEntry,
    Posting,
)
from mobilend.domain.loans import InstallmentKind, InstallmentState, Loan
from mobilend.domain.loans_fees import has_third_party_fees
from mobilend.domain.loans_rules import ONE_DAY, IdFactory, LoanStatus
from mobilend.domain.money import Money


@dataclass(frozen=True, slots=True)
class PlanSplit:
    """What a plan of ``total`` carries and waives, per component."""

    carried: ComponentAmounts
    waived: ComponentAmounts

    @property
    def total(self) -> Money:
        return self.carried.total


@dataclass(frozen=True, slots=True)
class RescheduleResult:
    entries: tuple[JournalEntry, ...]
    split: PlanSplit
    replaced: tuple[int, ...]  # numbers of the installments the plan replaced
    added: tuple[int, ...]  # numbers of the plan's installments


def plan_split(owed: ComponentAmounts, total: Money) -> PlanSplit:
    """Split a plan's ``total`` against what is ``owed`` (recognised and unpaid):
    principal and fees in full, the concession from penalty, then interest."""
    zero = Money.zero(total.currency)
    floor = owed.principal + owed.fees
    if total < floor:
        raise ValidationFailed(
            [
                Problem(
                    "instalments",
                    f"还款计划至少须覆盖本金与费用 {floor.format()} (a plan carries at least "
                    f"the principal and fees still owed, {floor.format()})",
                )
            ]
        )
    if total > owed.total:
        raise ValidationFailed(
            [Problem("instalments", f"sum {total.format()} exceeds what is owed")]
        )
    concession = owed.total - total
    waived_penalty = min(concession, owed.penalty)
    waived_interest = concession - waived_penalty
    waived = ComponentAmounts(zero, waived_interest, zero, waived_penalty)
    carried = ComponentAmounts(
        owed.principal, owed.interest - waived_interest, owed.fees, owed.penalty - waived_penalty
    )
    return PlanSplit(carried, waived)


def plan_cost_apr(principal: Money, instalments: Sequence[PlanInstalment], on: dt.date) -> Decimal:
    """The plan's cost as an APR: the daily IRR of receiving ``principal`` on ``on`` and
    paying each instalment on its date, × 365 (0 when the plan asks for no more than
    the principal)."""
    total = sum((i.amount.amount for i in instalments), Decimal(0))
    if total <= principal.amount:
        return Decimal(0)
    if not principal.is_positive():
        raise ValidationFailed(
            [Problem("instalments", "no principal left to reschedule: settle or waive instead")]
        )
    flows = [(Decimal(0), principal.amount)]
    flows += [(Decimal((i.due_on - on).days), -i.amount.amount) for i in instalments]
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return +(irr_at_times(flows) * DAYS_A_YEAR)


def _fill(
    instalments: Sequence[PlanInstalment], carried: ComponentAmounts, order: Sequence[Component]
) -> list[dict[Component, Money]]:
    """Each instalment's components: charges first in ``order``, then principal."""
    left = {
        Component.PENALTY: carried.penalty,
        Component.FEES: carried.fees,
        Component.INTEREST: carried.interest,
        Component.PRINCIPAL: carried.principal,
    }
    sequence = [c for c in order if c is not Component.PRINCIPAL] + [Component.PRINCIPAL]
    parts: list[dict[Component, Money]] = []
    for inst in instalments:
        room = inst.amount
        mine: dict[Component, Money] = {}
        for component in sequence:
            take = min(room, left[component])
            mine[component] = take
            left[component] = left[component] - take
            room = room - take
        parts.append(mine)
    return parts


def waiver_reversal_entry(
    entry_id: str, on: dt.date, loan_id: str, waived: ComponentAmounts
) -> JournalEntry:
    """Dr penalty / interest income, Cr the receivable: recognised income given up."""
    postings: list[Posting] = []
    for income, receivable, amount in (
        (Account.PENALTY_INCOME, Account.PENALTY_RECEIVABLE, waived.penalty),
        (Account.INTEREST_INCOME, Account.INTEREST_RECEIVABLE, waived.interest),
    ):
        if amount.is_positive():
            postings.append(Posting(income.value, amount, loan_id))
            postings.append(Posting(receivable.value, -amount, loan_id))
    return JournalEntry(
        entry_id, EntryKind.ADJUSTMENT, on, tuple(postings), loan_id, None,
        "hardship plan concession",
    )  # fmt: skip


def reschedule_for_plan(
    loan: Loan, instalments: Sequence[PlanInstalment], on: dt.date, *, new_id: IdFactory
) -> RescheduleResult:
    """Replace the loan's unsettled installments by the plan's (the loan is left as it
    was when refused)."""
    snapshot = loan.to_state()
    try:
        return _reschedule(loan, instalments, on, new_id)
    except Exception:
        restored = Loan.from_state(snapshot)
        for name in Loan.__dataclass_fields__:
            setattr(loan, name, getattr(restored, name))
        raise


def _reschedule(
    loan: Loan, instalments: Sequence[PlanInstalment], on: dt.date, new_id: IdFactory
) -> RescheduleResult:
    if loan.status is not LoanStatus.ACTIVE:
        raise Conflict(f"loan {loan.loan_id} is {loan.status}; only an active loan is rescheduled")
    if has_third_party_fees(loan.terms):
        raise Conflict(
            f"loan {loan.loan_id} carries fees owed to third parties; agree a plan without "
            "rescheduling it"
        )
    if not instalments or any(i.due_on <= on for i in instalments):
        raise ValidationFailed([Problem("instalments", "every instalment falls due after today")])
    entries = list(loan.accrue_to(on - ONE_DAY, new_id))
    if loan.status is not LoanStatus.ACTIVE:
        raise Conflict(f"loan {loan.loan_id} closed while catching up to {on}")
    zero = Money.zero(loan.currency)
    total = sum((i.amount for i in instalments), zero)
    open_ones = [
        i for i in loan.installments if i.kind is InstallmentKind.REGULAR and not i.is_settled
    ]
    owed = ComponentAmounts.zero(loan.currency)
    for inst in open_ones:
        owed = owed + inst.receivable
    split = plan_split(owed, total)
    if split.waived.total.is_positive():
        entries.append(waiver_reversal_entry(new_id(), on, loan.loan_id, split.waived))

    kept: list[InstallmentState] = []
    replaced: list[int] = []
    for inst in loan.installments:
        if inst not in open_ones:
            kept.append(inst)
            continue
        replaced.append(inst.n)
        paid = inst.paid
        if paid.total.is_zero():
            continue
        # Closes at what was paid: the rest moves into the plan.
        inst.principal_due = paid.principal
        inst.interest_scheduled = paid.interest
        inst.interest_accrued = paid.interest
        inst.interest_base = min(inst.interest_base or zero, paid.interest)
        inst.fees_due = paid.fees
        inst.fees_charged = paid.fees
        inst.penalty_posted = paid.penalty
        inst.penalty_exact = paid.penalty.amount
        inst.settled_on = on
        kept.append(inst)
    # Numbers are never reused: payments already recorded name the installments they paid.
    number = max((i.n for i in loan.installments), default=0)
    start = on
    added: list[int] = []
    new: list[InstallmentState] = []
    for plan, parts in zip(
        instalments, _fill(instalments, split.carried, loan.rules.waterfall.components), strict=True
    ):
        number += 1
        interest, fees = parts[Component.INTEREST], parts[Component.FEES]
        penalty = parts[Component.PENALTY]
        new.append(
            InstallmentState(
                number, start, plan.due_on, parts[Component.PRINCIPAL], interest, fees,
                interest_accrued=interest, fees_charged=fees, penalty_posted=penalty,
                penalty_exact=penalty.amount,
            )
        )  # fmt: skip
        added.append(number)
        start = plan.due_on
    loan.installments = kept + new
    principal = sum((i.principal_due for i in loan.installments), zero)
    assert principal == loan.principal, (principal, loan.principal)
    loan.dpd = 0
    return RescheduleResult(tuple(entries), split, tuple(replaced), tuple(added))
