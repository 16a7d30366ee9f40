"""Hypothesis strategies for loan terms, shared by the schedule and APR properties."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from mobilend.domain.daycount import DayCount, Frequency, PeriodUnit
from mobilend.domain.money import Money, RoundingMode
from mobilend.domain.products import FeeKind, FeeRule, LoanTerms, RepaymentMethod

MAX_EVERY = {PeriodUnit.MONTHS: 3, PeriodUnit.WEEKS: 4, PeriodUnit.DAYS: 30}


@st.composite
def frequencies(draw: st.DrawFn, units: tuple[PeriodUnit, ...] = tuple(PeriodUnit)) -> Frequency:
    unit = draw(st.sampled_from(units))
    return Frequency(draw(st.integers(1, MAX_EVERY[unit])), unit)


@st.composite
def fee_rules(draw: st.DrawFn, principal: Money, kind: FeeKind | None = None) -> FeeRule:
    """A fee of 0.1 %–3 % of the principal, as a rate or as the equivalent fixed amount.

    The floor keeps every fee well above the fen rounding of a schedule.
    """
    fee_kind = kind or draw(st.sampled_from(FeeKind))
    rate = Decimal(draw(st.integers(10, 300))) / 10000
    payee = draw(st.sampled_from(["lender", "guarantor", "insurer"]))
    if draw(st.booleans()):
        return FeeRule(fee_kind, rate=rate, payee=payee)
    return FeeRule(fee_kind, amount=(principal * rate).round(), payee=payee)


@st.composite
def loan_terms(
    draw: st.DrawFn,
    *,
    methods: tuple[RepaymentMethod, ...] = tuple(RepaymentMethod),
    day_counts: tuple[DayCount, ...] = tuple(DayCount),
    units: tuple[PeriodUnit, ...] = tuple(PeriodUnit),
    max_periods: int = 36,
    regular_first_period: bool = False,
    fees: bool | None = None,
    multiples: bool = True,
) -> LoanTerms:
    method = draw(st.sampled_from(methods))
    frequency = draw(frequencies(units))
    periods = draw(st.integers(1, max_periods))
    principal = Money.from_minor(draw(st.integers(100_00, 1_000_000_00)))
    rate = Decimal(draw(st.integers(0, 3600))) / 10000
    grace = 0
    if method is not RepaymentMethod.BULLET and draw(st.booleans()):
        grace = draw(st.integers(0, min(periods - 1, 6)))
    start = draw(st.dates(date(2020, 1, 1), date(2030, 12, 31)))
    first_due = None
    if not regular_first_period and draw(st.booleans()):
        first_due = start + timedelta(days=draw(st.integers(1, 70)))
    multiple = None
    # A multiple must fit each amortising installment's share of the principal at least once.
    amortising = 1 if method is RepaymentMethod.BULLET else periods - grace
    fitting = [m for m in ("0.10", "1", "10", "100") if Decimal(m) * amortising <= principal.amount]
    if multiples and fitting and draw(st.booleans()):
        multiple = Money(draw(st.sampled_from(fitting)))
    with_fees = draw(st.booleans()) if fees is None else fees
    fee_list: list[FeeRule] = []
    if with_fees:
        fee_list = draw(st.lists(fee_rules(principal), min_size=1, max_size=3))
    return LoanTerms(
        principal=principal,
        periods=periods,
        annual_rate=rate,
        method=method,
        frequency=frequency,
        day_count=draw(st.sampled_from(day_counts)),
        rounding=draw(st.sampled_from(RoundingMode)),
        installment_multiple=multiple,
        principal_grace_periods=grace,
        fees=tuple(fee_list),
        start_date=start,
        first_due_date=first_due,
    )
