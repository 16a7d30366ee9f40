"""Early repayment: payoff quotes, payoff in full, and partial prepayment.

Interest to date: on a payment dated ``on`` the borrower owes interest for the
nights the money was out, i.e. through the end of ``on - 1``, computed exactly
as daily accrual computes it (``InstallmentState.interest_target``). Interest
and fees of periods not yet begun are not charged. Penalty and anything
already due are owed in full. Money the loan holds for the borrower (an
earlier overpayment) counts towards a payoff.

Partial prepayment pays everything owed now (arrears and interest to date),
the rest reduces principal. The remaining principal is re-amortised with
``generate_schedule`` from the payment date, keeping the original due dates
and installment numbers: the current installment keeps its number and due
date and now carries the interest to date and the prepaid principal (both
paid) plus the first installment of the new schedule; later installments are
replaced by the rest of the new schedule:

- ``lower_installment``: same number of remaining periods, smaller installments;
- ``shorten_term``: the fewest periods whose installments (principal + interest)
  are no larger than the largest remaining one was (amortising methods only).

The new schedule's principal sums exactly to the new outstanding principal, so
the loan's principal still sums exactly to the contract principal.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from mobilend.domain.allocation import (
    Allocation,
    AllocationLine,
    Component,
    OpenItem,
    allocate_payment,
)
from mobilend.domain.daycount import period_year_fraction
from mobilend.domain.errors import Conflict, Problem, ValidationFailed
from mobilend.domain.ledger import (
    DEFAULT_CASH_ACCOUNT,
    ComponentAmounts,
    JournalEntry,
    repayment_entry,
)
from mobilend.domain.loans import (
    ONE_DAY,
    BackdatedOperation,
    IdFactory,
    Loan,
    LoanStatus,
    RepaymentResult,
)
from mobilend.domain.loans_installments import InstallmentState
from mobilend.domain.money import Money
from mobilend.domain.schedules import Schedule, generate_schedule
from mobilend.domain.terms import FeeKind, LoanTerms, RepaymentMethod


class PrepaymentMode(enum.StrEnum):
    SHORTEN_TERM = "shorten_term"
    LOWER_INSTALLMENT = "lower_installment"


class InsufficientPayoff(ValidationFailed):
    code = "payoff_insufficient"


@dataclass(frozen=True, slots=True)
class PayoffQuote:
    """What settles the loan on ``on``: ``amount_due`` after money already held is used."""

    loan_id: str
    on: dt.date
    components: ComponentAmounts
    credit_balance: Money
    items: tuple[OpenItem, ...]

    @property
    def principal(self) -> Money:
        return self.components.principal

    @property
    def interest(self) -> Money:
        return self.components.interest

    @property
    def fees(self) -> Money:
        return self.components.fees

    @property
    def penalty(self) -> Money:
        return self.components.penalty

    @property
    def total(self) -> Money:
        return self.components.total

    @property
    def amount_due(self) -> Money:
        return (self.total - self.credit_balance).max(Money.zero(self.total.currency))


@dataclass(frozen=True, slots=True)
class PrepaymentResult:
    entries: tuple[JournalEntry, ...]
    allocation: Allocation
    principal_prepaid: Money
    principal_repaid: (
        Money  # arrears principal + prepaid principal: what a revolving line gets back
    )
    closed: bool
    periods_before: int
    periods_after: int


def _interest_to_date(inst: InstallmentState, loan: Loan, on: dt.date) -> Money:
    target = inst.interest_target(on - ONE_DAY, loan.terms.day_count, loan.terms.rounding)
    return inst.accrued.max(target).max(inst.paid.interest)


def _settlement_items(loan: Loan, on: dt.date) -> list[OpenItem]:
    """Every amount that settles the loan on ``on`` (the loan must be caught up to ``on - 1``)."""
    items: list[OpenItem] = []
    for inst in loan.installments:
        unpaid = inst.unpaid
        if inst.due_date > on:
            paid = inst.paid
            unpaid = ComponentAmounts(
                principal=unpaid.principal,
                interest=_interest_to_date(inst, loan, on) - paid.interest,
                fees=inst.charged - paid.fees,
                penalty=unpaid.penalty,
            )
        for component, amount in (
            (Component.PENALTY, unpaid.penalty),
            (Component.FEES, unpaid.fees),
            (Component.INTEREST, unpaid.interest),
            (Component.PRINCIPAL, unpaid.principal),
        ):
            if amount.is_positive():
                items.append(OpenItem(inst.n, inst.due_date, component, amount))
    return items


def _components(items: list[OpenItem], currency: str) -> ComponentAmounts:
    allocation = Allocation(
        paid=Money.zero(currency),
        lines=tuple(AllocationLine(i.installment, i.component, i.amount) for i in items),
        leftover=Money.zero(currency),
    )
    return allocation.by_component()


def _caught_up(loan: Loan, on: dt.date) -> None:
    if loan.accrued_through is not None and loan.accrued_through > on - ONE_DAY:
        raise BackdatedOperation(
            f"end of day has already run for {loan.accrued_through} on loan {loan.loan_id}; "
            f"date the payment {loan.accrued_through + ONE_DAY} or later"
        )


def payoff_quote(loan: Loan, on: dt.date) -> PayoffQuote:
    """The amount that closes the loan on ``on`` (the loan itself is not changed)."""
    if loan.status is not LoanStatus.ACTIVE:
        raise Conflict(f"loan {loan.loan_id} is {loan.status}; there is nothing to pay off")
    _caught_up(loan, on)
    probe = Loan.from_state(loan.to_state())
    probe.accrue_to(on - ONE_DAY, lambda: "quote")
    items = _settlement_items(probe, on)
    return PayoffQuote(
        loan.loan_id, on, _components(items, loan.currency), probe.held_credit, tuple(items)
    )


def pay_off(
    loan: Loan,
    amount: Money,
    on: dt.date,
    *,
    cash_account: str = DEFAULT_CASH_ACCOUNT,
    party: str | None = None,
    new_id: IdFactory | None = None,
) -> RepaymentResult:
    """Settle the loan in full on ``on``; anything paid above the quote is held as credit.

    On any refusal the loan is left exactly as it was.
    """
    return loan._atomically(lambda: _pay_off(loan, amount, on, cash_account, party, new_id))


def _pay_off(
    loan: Loan,
    amount: Money,
    on: dt.date,
    cash_account: str,
    party: str | None,
    new_id: IdFactory | None,
) -> RepaymentResult:
    loan._require_status(LoanStatus.ACTIVE)
    if amount.currency != loan.currency or amount.is_negative() or not amount.is_whole():
        raise ValidationFailed([Problem("amount", "must be zero or more, exact to the fen")])
    _caught_up(loan, on)
    ids = loan._id_source(new_id)
    principal_before = loan.principal_repaid
    entries = loan.accrue_to(on - ONE_DAY, ids)
    if loan.status is not LoanStatus.ACTIVE:
        raise Conflict(f"loan {loan.loan_id} closed while catching up to {on}")
    items = _settlement_items(loan, on)
    owed = _components(items, loan.currency)
    credit = loan.held_credit
    if amount + credit < owed.total:
        raise InsufficientPayoff(
            [
                Problem(
                    "amount",
                    f"{amount} with {credit} held does not cover the payoff of {owed.total}",
                )
            ]
        )
    for inst in loan.installments:
        if inst.due_date > on:
            # Unearned interest and fees not yet charged are not owed on payoff.
            inst.interest_scheduled = _interest_to_date(inst, loan, on)
            inst.fees_due = inst.charged
    allocation = Allocation(
        paid=amount,
        lines=tuple(AllocationLine(i.installment, i.component, i.amount) for i in items),
        leftover=Money.zero(loan.currency),
    )
    early_interest, early_fees, payable = loan._apply_allocation(allocation, on)
    entries.extend(loan._recognition_entries(ids, on, early_interest, early_fees, payable))
    credit_used = credit.min(owed.total)
    overpayment = amount + credit_used - owed.total
    if owed.total.is_positive() or overpayment.is_positive():
        entries.append(
            repayment_entry(
                ids(),
                on,
                loan.loan_id,
                owed,
                overpayment,
                cash_account,
                party,
                "payoff",
                credit_used=credit_used,
            )
        )
    assert loan.cash_received is not None
    loan.cash_received = loan.cash_received + amount
    loan.credit_balance = credit - credit_used + overpayment
    closed = loan._close_if_settled(on)
    assert closed, "a payoff settles every installment"
    return RepaymentResult(
        entries=tuple(entries),
        allocation=Allocation(amount, allocation.lines, overpayment),
        principal_repaid=loan.principal_repaid - principal_before,
        overpayment=overpayment,
        closed=True,
    )


def _remaining_grace(loan: Loan, remaining: list[InstallmentState], periods: int) -> int:
    if loan.terms.method in (RepaymentMethod.INTEREST_FIRST, RepaymentMethod.BULLET):
        return 0
    grace = 0
    for inst in remaining[:-1]:
        if not inst.principal_due.is_zero():
            break
        grace += 1
    return min(grace, loan.terms.principal_grace_periods, periods - 1)


def _reamortise(
    loan: Loan, remaining: list[InstallmentState], principal: Money, start: dt.date, periods: int
) -> Schedule:
    terms = loan.terms
    grace = _remaining_grace(loan, remaining, periods)
    multiple = terms.installment_multiple
    if multiple is not None and multiple.amount * (periods - grace) > principal.amount:
        multiple = None  # too little left to repay a whole multiple each period
    return generate_schedule(
        LoanTerms(
            principal=principal,
            periods=periods,
            annual_rate=terms.annual_rate,
            method=terms.method,
            start_date=start,
            frequency=terms.frequency,
            day_count=terms.day_count,
            rounding=terms.rounding,
            installment_multiple=multiple,
            principal_grace_periods=grace,
            fees=tuple(f for f in terms.fees if f.kind is FeeKind.PER_INSTALLMENT),
            first_due_date=remaining[0].due_date,
            anchor_day=terms.anchor,
            first_number=remaining[0].n,
            fee_base=terms.fee_base or terms.principal,
        )
    )


def _new_schedule(
    loan: Loan,
    remaining: list[InstallmentState],
    principal: Money,
    start: dt.date,
    mode: PrepaymentMode,
) -> Schedule:
    count = len(remaining)
    if mode is PrepaymentMode.LOWER_INSTALLMENT:
        return _reamortise(loan, remaining, principal, start, count)
    if loan.terms.method in (RepaymentMethod.INTEREST_FIRST, RepaymentMethod.BULLET):
        raise ValidationFailed(
            [Problem("mode", "shorten_term applies to amortising loans; use lower_installment")]
        )
    reference = max(i.principal_due + i.interest_scheduled for i in remaining)
    for periods in range(1, count):
        schedule = _reamortise(loan, remaining, principal, start, periods)
        if all(i.principal + i.interest <= reference for i in schedule.installments):
            return schedule
    return _reamortise(loan, remaining, principal, start, count)


def _first_period_interest(
    loan: Loan, scheduled: Money, principal: Money, start: dt.date, current: InstallmentState
) -> Money:
    """Interest for the rest of the current period on the principal left. A flat-rate
    schedule charges a whole period whatever its length; the rest of a period is charged
    pro rata (principal × rate × the days left), as balance-based methods do."""
    terms = loan.terms
    if terms.method is not RepaymentMethod.FLAT:
        return scheduled
    fraction = period_year_fraction(
        start, current.due_date, terms.day_count, terms.frequency, regular=False
    )
    return Money(principal.amount * terms.annual_rate * fraction, loan.currency).round(
        terms.rounding
    )


def prepay(
    loan: Loan,
    amount: Money,
    on: dt.date,
    mode: PrepaymentMode | str = PrepaymentMode.LOWER_INSTALLMENT,
    *,
    cash_account: str = DEFAULT_CASH_ACCOUNT,
    party: str | None = None,
    new_id: IdFactory | None = None,
) -> PrepaymentResult:
    """Partial prepayment on ``on``; an amount that settles everything becomes a payoff.

    On any refusal the loan is left exactly as it was.
    """
    try:
        chosen = PrepaymentMode(mode)
    except ValueError:
        modes = ", ".join(m.value for m in PrepaymentMode)
        raise ValidationFailed([Problem("mode", f"must be one of {modes}")]) from None
    return loan._atomically(lambda: _prepay(loan, amount, on, chosen, cash_account, party, new_id))


def _prepay(
    loan: Loan,
    amount: Money,
    on: dt.date,
    mode: PrepaymentMode,
    cash_account: str,
    party: str | None,
    new_id: IdFactory | None,
) -> PrepaymentResult:
    loan._require_status(LoanStatus.ACTIVE)
    loan._check_amount(amount)
    _caught_up(loan, on)
    ids = loan._id_source(new_id)
    entries = loan.accrue_to(on - ONE_DAY, ids)
    if loan.status is not LoanStatus.ACTIVE:
        raise Conflict(f"loan {loan.loan_id} closed while catching up to {on}")
    quote_items = _settlement_items(loan, on)
    ahead = [i for i in loan.installments if i.due_date > on and not i.is_settled]
    if amount + loan.held_credit >= _components(quote_items, loan.currency).total:
        future_principal = sum((i.unpaid.principal for i in ahead), Money.zero(loan.currency))
        result = _pay_off(loan, amount, on, cash_account, party, ids)
        return PrepaymentResult(
            entries=tuple(entries) + result.entries,
            allocation=result.allocation,
            principal_prepaid=future_principal,
            principal_repaid=result.principal_repaid,
            closed=True,
            periods_before=len(ahead),
            periods_after=0,
        )
    if not ahead:
        raise ValidationFailed(
            [Problem("amount", "nothing falls due later; pay what is due with a repayment")]
        )
    current = ahead[0]
    later = ahead[1:]
    arrears = allocate_payment(
        loan.open_items(on, include_next=False), amount, loan.rules.waterfall
    )
    current_paid = current.paid
    to_date = ComponentAmounts(
        principal=Money.zero(loan.currency),
        interest=_interest_to_date(current, loan, on) - current_paid.interest,
        fees=current.charged - current_paid.fees,
        penalty=current.unpaid.penalty,
    )
    owed_now = arrears.applied + to_date.total
    prepaid = amount - owed_now
    if arrears.leftover < to_date.total or not prepaid.is_positive():
        raise ValidationFailed(
            [
                Problem(
                    "amount", f"must exceed {owed_now}, what is owed on {on}, to reduce principal"
                )
            ]
        )
    new_principal = sum((i.unpaid.principal for i in ahead), Money.zero(loan.currency)) - prepaid
    start = max(on, current.period_start)
    remaining = [current, *later]
    schedule = _new_schedule(loan, remaining, new_principal, start, mode)

    # The current installment keeps its number and due date: interest to date is
    # fixed and paid now, the prepaid principal is paid now, and the rest of the
    # period follows the first installment of the new schedule.
    first = schedule.installments[0]
    first_interest = _first_period_interest(loan, first.interest, new_principal, start, current)
    interest_to_date = current_paid.interest + to_date.interest
    lines = list(arrears.lines)
    for component, value in (
        (Component.PENALTY, to_date.penalty),
        (Component.FEES, to_date.fees),
        (Component.INTEREST, to_date.interest),
        (Component.PRINCIPAL, prepaid),
    ):
        if value.is_positive():
            lines.append(AllocationLine(current.n, component, value))
    allocation = Allocation(amount, tuple(lines), Money.zero(loan.currency))
    current.interest_scheduled = interest_to_date + first_interest
    current.principal_due = current_paid.principal + prepaid + first.principal
    current.interest_base = interest_to_date
    current.accrual_start = start
    principal_before = loan.principal_repaid
    early_interest, early_fees, payable = loan._apply_allocation(allocation, on)
    entries.extend(loan._recognition_entries(ids, on, early_interest, early_fees, payable))
    entries.append(
        repayment_entry(
            ids(),
            on,
            loan.loan_id,
            allocation.by_component(),
            None,
            cash_account,
            party,
            f"partial prepayment ({mode.value})",
        )
    )
    index = loan.installments.index(current)
    loan.installments[index + 1 :] = [
        InstallmentState(i.n, i.period_start, i.due_date, i.principal, i.interest, i.fees)
        for i in schedule.installments[1:]
    ]
    assert (
        sum((i.principal_due for i in loan.installments), Money.zero(loan.currency))
        == loan.principal
    )
    assert loan.cash_received is not None
    loan.cash_received = loan.cash_received + amount
    return PrepaymentResult(
        entries=tuple(entries),
        allocation=allocation,
        principal_prepaid=prepaid,
        principal_repaid=loan.principal_repaid - principal_before,
        closed=False,
        periods_before=len(remaining),
        periods_after=len(schedule.installments),
    )
