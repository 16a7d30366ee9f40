"""Repayment schedules for the five repayment methods.

Rules every schedule keeps:
- principal sums exactly to the loan principal: rounding remainders go to the
  last installment, which repays whatever balance is left;
- no amount is ever negative and the balance never rises;
- interest runs on the outstanding balance for the period's actual dates under
  the day count (30/360: every regular month is 30 days), at full precision,
  rounded once per installment with the product's rounding mode;
- during principal-grace periods only interest (and fees) are due;
- the disbursed amount is the contract principal: upfront fees are paid by the
  borrower separately and listed as ``upfront_fees``, never deducted.

Method notes:
- equal-installment (等额本息): the level payment solves
  ``L = P * sum_k prod_{i<=k} 1/(1+r_i)`` for the actual per-period rates r_i, so
  with irregular periods the balance still reaches zero. When a long first
  period's interest is more than the level payment, the installment pays what
  it can and the rest of the interest is carried (without interest on it) to
  the next installments; the level payment is then solved for that, so every
  installment stays level and none is zero.
- equal-principal (等额本金): principal L/m each period, interest on the balance.
- flat (等本等息): interest = L x annual rate x term in years (periods / periods
  per year, independent of the day count), spread equally; principal L/m.
- interest-first (先息后本): interest each period, principal at the end.
- bullet (到期一次还本付息): one installment at the last due date with simple
  interest over the whole term.

An installment rounding multiple (e.g. whole yuan) makes the principal+interest
of each amortising installment a multiple, chosen so that what is still owed
after it stays within half a multiple of the exact (unrounded) plan: rounding
errors never pile up into a balloon or a zero last installment. An
equal-installment amount is always one of the two multiples either side of the
exact level payment. The multiple does not apply to grace, interest-first or
bullet installments (rounding an interest-only amount would repay principal
early), nor to the last installment, which settles the remainder. Fees are not
part of the rounded amount.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext

from mobilend.domain.daycount import Frequency, period_year_fraction
from mobilend.domain.errors import ValidationFailed
from mobilend.domain.money import Money, total
from mobilend.domain.terms import FeeKind, LoanTerms, RepaymentMethod

#: Working precision for interest and level payments: far beyond the fen on any
#: realistic loan, and fixed here so results never depend on the caller's context.
PRECISION = 34


@dataclass(frozen=True, slots=True)
class FeeCharge:
    """One fee owed to one payee."""

    payee: str
    amount: Money


@dataclass(frozen=True, slots=True)
class Installment:
    n: int
    period_start: date
    due_date: date
    principal: Money
    interest: Money
    fees: Money
    total: Money
    balance_after: Money
    fee_items: tuple[FeeCharge, ...] = ()


@dataclass(frozen=True, slots=True)
class Schedule:
    terms: LoanTerms
    installments: tuple[Installment, ...]
    upfront_fees: tuple[FeeCharge, ...] = ()

    @property
    def currency(self) -> str:
        return self.terms.currency

    @property
    def principal(self) -> Money:
        """The contract principal, which is also the amount disbursed."""
        return self.terms.principal

    @property
    def disbursed(self) -> Money:
        return self.terms.principal

    @property
    def start_date(self) -> date:
        return self.terms.start_date

    @property
    def frequency(self) -> Frequency:
        return self.terms.frequency

    @property
    def method(self) -> RepaymentMethod:
        return self.terms.method

    @property
    def maturity_date(self) -> date:
        return self.installments[-1].due_date

    @property
    def total_principal(self) -> Money:
        return total((i.principal for i in self.installments), self.currency)

    @property
    def total_interest(self) -> Money:
        return total((i.interest for i in self.installments), self.currency)

    @property
    def total_fees(self) -> Money:
        """Fees on installments (upfront fees are in ``upfront_fee_total``)."""
        return total((i.fees for i in self.installments), self.currency)

    @property
    def total_amount(self) -> Money:
        """Everything due on installments: principal + interest + fees."""
        return total((i.total for i in self.installments), self.currency)

    @property
    def upfront_fee_total(self) -> Money:
        return total((f.amount for f in self.upfront_fees), self.currency)


def _split_evenly(
    amount: Decimal, count: int, quantum: Decimal, mode: str
) -> tuple[Decimal, Decimal]:
    """(each, last) with ``each * (count-1) + last == amount``, none negative.

    ``each`` is amount/count rounded; when rounding up would leave the last part
    negative (tiny amounts over many parts), ``each`` is rounded down instead.
    """
    if count == 1:
        return amount, amount
    each = (amount / count).quantize(quantum, rounding=mode)
    if each * (count - 1) > amount:
        each = (amount / count).quantize(quantum, rounding=ROUND_FLOOR)
    return each, amount - each * (count - 1)


def _round_to_multiple(value: Decimal, multiple: Decimal, mode: str) -> Decimal:
    return (value / multiple).quantize(Decimal(1), rounding=mode) * multiple


def _ceil_to_multiple(value: Decimal, multiple: Decimal) -> Decimal:
    return (value / multiple).to_integral_value(rounding=ROUND_CEILING) * multiple


def period_rates(terms: LoanTerms) -> list[tuple[date, date, Decimal]]:
    """(period start, due date, periodic rate) for each period of the terms."""
    dues = terms.due_dates()
    starts = [terms.start_date, *dues[:-1]]
    first_regular = terms.first_period_is_regular
    return [
        (
            start,
            due,
            terms.annual_rate
            * period_year_fraction(
                start, due, terms.day_count, terms.frequency, regular=k > 0 or first_regular
            ),
        )
        for k, (start, due) in enumerate(zip(starts, dues, strict=True))
    ]


def level_payment_exact(principal: Decimal, rates: Sequence[Decimal]) -> Decimal:
    """Level payment P with ``principal = P * sum_k prod_{i<=k} 1/(1+r_i)``."""
    discount = Decimal(1)
    annuity = Decimal(0)
    for rate in rates:
        discount /= 1 + rate
        annuity += discount
    return principal / annuity


def _owed_after_level_payments(
    principal: Decimal, rates: Sequence[Decimal], payment: Decimal
) -> tuple[list[Decimal], bool]:
    """Balance + carried interest after each payment, unrounded; and whether any
    interest had to be carried (a period's interest above the payment)."""
    balance = principal
    carried = Decimal(0)
    owed: list[Decimal] = []
    any_carried = False
    for rate in rates:
        due = balance * rate + carried
        paid = min(due, payment)
        carried = due - paid
        any_carried = any_carried or carried > 0
        balance -= payment - paid
        owed.append(balance + carried)
    return owed, any_carried


#: Bisection steps for a level payment with carried interest: far below the fen.
_LEVEL_STEPS = 200


def level_payment_plan(
    principal: Decimal, rates: Sequence[Decimal]
) -> tuple[Decimal, list[Decimal]]:
    """The exact level payment and what is still owed after each payment.

    Without carried interest this is ``level_payment_exact``. When a period's
    interest exceeds it, the unpaid interest is carried without interest, which
    costs the borrower less than the annuity formula assumes, so the payment
    that clears the loan is solved for (the owed amount falls as it rises).
    """
    payment = level_payment_exact(principal, rates)
    owed, carried = _owed_after_level_payments(principal, rates, payment)
    if not carried:
        return payment, owed
    low, high = principal / len(rates), payment  # owed at the end: >= 0 at low, <= 0 at high
    tolerance = principal.scaleb(-24)
    for _ in range(_LEVEL_STEPS):
        middle = (low + high) / 2
        rest = _owed_after_level_payments(principal, rates, middle)[0][-1]
        if rest > 0:
            low = middle
        else:
            high = middle
        if high - low <= tolerance:
            break
    return high, _owed_after_level_payments(principal, rates, high)[0]


def generate_schedule(terms: LoanTerms) -> Schedule:
    """The full repayment schedule of ``terms`` (see the module notes for the rules).

    Raises ``ValidationFailed`` when the principal cannot repay a rounding multiple
    (or a fen) in every amortising installment.
    """
    problems = terms.size_problems()
    if problems:
        raise ValidationFailed(problems)
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return _generate(terms)


def _generate(terms: LoanTerms) -> Schedule:
    currency = terms.currency
    quantum = terms.principal.quantum
    mode = terms.rounding.decimal_mode
    periods = period_rates(terms)
    fee_items = tuple(
        FeeCharge(payee, amount) for payee, amount in terms.fee_charges(FeeKind.PER_INSTALLMENT)
    )
    fee_total = sum((f.amount.amount for f in fee_items), Decimal(0))
    upfront = tuple(
        FeeCharge(payee, amount) for payee, amount in terms.fee_charges(FeeKind.UPFRONT)
    )

    def money(value: Decimal) -> Money:
        return Money(value.quantize(quantum), currency)

    fees = money(fee_total)  # the same on every installment: built once

    def rounded(value: Decimal) -> Decimal:
        return value.quantize(quantum, rounding=mode)

    def make(
        k: int, start: date, due: date, principal: Decimal, interest: Decimal, balance: Decimal
    ) -> Installment:
        return Installment(
            n=terms.first_number + k,
            period_start=start,
            due_date=due,
            principal=money(principal),
            interest=money(interest),
            fees=fees,
            total=money(principal + interest + fee_total),
            balance_after=money(balance),
            fee_items=fee_items,
        )

    loan = terms.principal.amount
    method = terms.method
    if method is RepaymentMethod.BULLET:
        interest = rounded(loan * sum((rate for _, _, rate in periods), Decimal(0)))
        only = make(0, terms.start_date, periods[-1][1], loan, interest, Decimal(0))
        return Schedule(terms=terms, installments=(only,), upfront_fees=upfront)

    count = len(periods)
    grace = terms.principal_grace_periods
    amortising = count - grace
    multiple = terms.installment_multiple.amount if terms.installment_multiple else None
    uses_multiple = multiple is not None and method is not RepaymentMethod.INTEREST_FIRST
    level_method = method is RepaymentMethod.EQUAL_INSTALLMENT

    level = Decimal(0)
    # What the exact (unrounded) plan still owes after each amortising installment:
    # rounding to a multiple steers towards it, so errors never pile up.
    planned: list[Decimal] = []
    if level_method:
        level, planned = level_payment_plan(loan, [rate for _, _, rate in periods[grace:]])
    elif uses_multiple:
        planned = [loan - loan * (j + 1) / amortising for j in range(amortising)]
    level_low = level_high = Decimal(0)
    if level_method and uses_multiple:
        assert multiple is not None
        level_low = max(_round_to_multiple(level, multiple, ROUND_FLOOR), multiple)
        level_high = max(_ceil_to_multiple(level, multiple), level_low)
    principal_each, _ = _split_evenly(loan, amortising, quantum, mode)
    flat_each = flat_last = Decimal(0)
    if method is RepaymentMethod.FLAT:
        flat_exact = loan * terms.annual_rate / terms.periods_per_year
        flat_each, flat_last = _split_evenly(rounded(flat_exact * count), count, quantum, mode)

    installments: list[Installment] = []
    balance = loan
    carried = Decimal(0)  # interest an earlier level installment could not cover
    for k, (start, due, rate) in enumerate(periods):
        last = k == count - 1
        if method is RepaymentMethod.FLAT:
            interest = flat_last if last else flat_each
        else:
            interest = rounded(balance * rate)
        interest_due = interest + carried
        interest_paid = interest_due
        if last:
            principal = balance
        elif k < grace or method is RepaymentMethod.INTEREST_FIRST:
            principal = Decimal(0)
        else:
            if uses_multiple:
                assert multiple is not None
                target = balance + interest_due - planned[k - grace]
                installment = _round_to_multiple(target, multiple, mode)
                if level_method:
                    installment = min(max(installment, level_low), level_high)
                elif installment < interest_due:
                    installment = _ceil_to_multiple(interest_due, multiple)
            elif level_method:
                installment = rounded(level)
            else:
                installment = principal_each + interest_due
            interest_paid = min(interest_due, installment)
            principal = min(max(installment - interest_paid, Decimal(0)), balance)
        carried = interest_due - interest_paid
        balance -= principal
        installments.append(make(k, start, due, principal, interest_paid, balance))
    return Schedule(terms=terms, installments=tuple(installments), upfront_fees=upfront)
