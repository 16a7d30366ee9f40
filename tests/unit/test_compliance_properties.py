"""Properties (hypothesis): no offer the platform makes costs more than the cap in force,
and equal installments stay level within the rounding multiple."""

from __future__ import annotations

import math
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from strategies_loans import frequencies, loan_terms

from mobilend.domain.apr import annual_percentage_rate
from mobilend.domain.compliance import RATE_STEP, AprAboveCap, CostCap, Rulebook
from mobilend.domain.daycount import DayCount, PeriodUnit
from mobilend.domain.money import Money, RoundingMode
from mobilend.domain.products import FeeKind, FeeRule, LoanProduct, LoanTerms, RepaymentMethod
from mobilend.domain.schedules import Schedule, generate_schedule, period_rates

FEW = settings(max_examples=60, deadline=None)


def actual_day_apr(schedule: Schedule) -> float:
    """An independent oracle in floats: the IRR of the borrower's dated cash flows with
    time in periods of 365 / periods-per-year actual days, × periods per year (one
    repayment: the simple rate over its actual days)."""
    start = schedule.start_date
    flows = [(0, float(schedule.disbursed.amount - schedule.upfront_fee_total.amount))]
    flows += [((i.due_date - start).days, -float(i.total.amount)) for i in schedule.installments]
    if len(flows) == 2:
        days = flows[1][0]
        return (-flows[1][1] / flows[0][1] - 1) * 365 / days
    per_year = float(schedule.frequency.periods_per_year)

    def npv(rate: float) -> float:
        return sum(a * math.exp(-d * per_year / 365 * math.log1p(rate)) for d, a in flows)

    low, high = -0.99, 10.0  # the NPV of what the borrower gets and pays rises with the rate
    for _ in range(200):
        middle = (low + high) / 2
        if npv(middle) > 0:
            high = middle
        else:
            low = middle
    return (low + high) / 2 * per_year


@st.composite
def products(draw: st.DrawFn) -> LoanProduct:
    method = draw(st.sampled_from(RepaymentMethod))
    frequency = draw(frequencies())
    if method is RepaymentMethod.BULLET:
        most = 12 // frequency.every if frequency.unit is PeriodUnit.MONTHS else 12
        shortest, longest = 1, max(1, most)
    else:
        shortest = draw(st.integers(1, 12))
        longest = draw(st.integers(shortest, 24))
    low = draw(st.integers(500, 20_000))
    fees = ()
    if draw(st.booleans()):
        kind = draw(st.sampled_from(FeeKind))
        fees = (FeeRule(kind, rate=Decimal(draw(st.integers(1, 50))) / 10000, payee="insurer"),)
    return LoanProduct.create(
        code="p", name="p", min_amount=Money(low), max_amount=Money(low * 4),
        min_periods=shortest, max_periods=longest, method=method, frequency=frequency,
        annual_rate=Decimal(draw(st.integers(0, 3000))) / 10000,
        day_count=draw(st.sampled_from(DayCount)), fees=fees,
        rounding=draw(st.sampled_from(RoundingMode)),
        penalty_rate=Decimal(draw(st.integers(0, 3600))) / 10000,
    )  # fmt: skip


CAPS = st.sampled_from([Decimal("0.24"), Decimal("0.154"), Decimal("0.36"), Decimal("0.124")])


@FEW
@given(products(), st.data(), CAPS)
def test_no_offer_has_an_apr_above_the_cap_in_force(
    product: LoanProduct, data: st.DataObject, cap: Decimal
) -> None:
    """Whatever rate the line asks for, amount, term and first due date (a short or long
    stub), the offer made has a disclosed APR and an actual-day APR within the cap, at the
    highest rate step that fits; it is refused only when its fees alone break the cap."""
    rules = Rulebook(
        [CostCap(Decimal("0.36"), "*"), CostCap(cap, "micro-lender", date(2025, 1, 1))]
    )
    start = data.draw(st.dates(date(2025, 1, 1), date(2030, 12, 31)))
    amount = Money(
        data.draw(st.integers(int(product.min_amount.amount), int(product.max_amount.amount)))
    )
    periods = data.draw(st.integers(product.min_periods, product.max_periods))
    first_due = None
    if product.method is not RepaymentMethod.BULLET and data.draw(st.booleans()):
        first_due = start + timedelta(days=data.draw(st.integers(1, 60)))
    asked = Decimal(data.draw(st.integers(0, 9000))) / 10000
    try:
        offer = rules.fit_offer(product, amount, periods, start, first_due, asked)
    except AprAboveCap:
        at_zero = generate_schedule(
            product.terms_for(amount, periods, start, first_due, Decimal(0))
        )
        assert annual_percentage_rate(at_zero).apr_for_cap > cap
        event("refused: fees alone above the cap")
        return
    event("rate lowered" if offer.rate_lowered else "rate as asked")
    assert offer.annual_rate <= asked
    assert offer.apr.apr <= cap
    assert offer.apr.apr_for_cap <= cap
    assert actual_day_apr(offer.schedule) <= float(cap) + 1e-9
    # interest and penalty together within the cap too
    yearly_penalty = (
        offer.penalty_rate * 365 / (365 if product.day_count is DayCount.ACT_365 else 360)
    )
    assert offer.apr.apr_for_cap + yearly_penalty <= cap
    if offer.rate_lowered:  # the highest step that fits: one step more breaks the cap
        higher = product.terms_for(amount, periods, start, first_due, offer.annual_rate + RATE_STEP)
        assert annual_percentage_rate(generate_schedule(higher)).apr_for_cap > cap


@settings(max_examples=15, deadline=None)
@given(products(), CAPS)
def test_a_line_priced_for_the_product_never_needs_lowering(
    product: LoanProduct, cap: Decimal
) -> None:
    """``max_rate``: every loan of the product (worst case over amounts, terms and start
    months) fits the cap at the rate a line is priced at."""
    rules = Rulebook([CostCap(cap)])
    on = date(2026, 3, 15)
    try:
        rate = rules.max_rate(product, on)
    except AprAboveCap:
        return
    for periods in {product.min_periods, product.max_periods}:
        for start in (on, date(2026, 4, 1), date(2027, 2, 1)):
            terms = product.terms_for(product.min_amount, periods, start, None, rate)
            assert annual_percentage_rate(generate_schedule(terms)).apr_for_cap <= cap


def level_bounds(terms: LoanTerms) -> tuple[Decimal, Decimal]:
    """The rounding step, and how far the last installment may drift from the level one:
    a step, plus a fen per period carried at the highest periodic rate."""
    step = terms.installment_multiple.amount if terms.installment_multiple else Decimal("0.01")
    highest = max(rate for _, _, rate in period_rates(terms))
    drift = sum((Decimal("0.01") * (1 + highest) ** k for k in range(terms.periods)), Decimal(0))
    return step, step + drift


@settings(max_examples=200, deadline=None)
@given(loan_terms(methods=(RepaymentMethod.EQUAL_INSTALLMENT,), max_periods=60))
def test_equal_installments_are_level_with_no_zero_and_no_balloon(terms: LoanTerms) -> None:
    """Irregular first periods (up to 70 days) and rounding multiples included: every
    installment after the grace periods pays something, each but the last is within one
    rounding step of the level one, and the last within a step and the fen remainder."""
    schedule = generate_schedule(terms)
    paying = [
        i.principal + i.interest for i in schedule.installments[terms.principal_grace_periods :]
    ]
    assert all(amount.is_positive() for amount in paying)
    if len(paying) < 2:
        return
    step, last_drift = level_bounds(terms)
    level = Counter(a.amount for a in paying[:-1]).most_common(1)[0][0]
    for amount in paying[:-1]:
        assert abs(amount.amount - level) <= step
    assert abs(paying[-1].amount - level) <= last_drift


@pytest.mark.parametrize(
    ("terms", "level"),
    [
        (  # 10 000 at 18 %, 36 periods, ACT/360, first due five months after the start
            LoanTerms(principal=Money("10000"), periods=36, annual_rate=Decimal("0.18"),
                      method=RepaymentMethod.EQUAL_INSTALLMENT, start_date=date(2024, 1, 15),
                      first_due_date=date(2024, 6, 15)),
            Decimal("384.28"),
        ),
        (  # 7 000 at 18 %, 12 periods, rounded to multiples of 100
            LoanTerms(principal=Money("7000"), periods=12, annual_rate=Decimal("0.18"),
                      method=RepaymentMethod.EQUAL_INSTALLMENT, start_date=date(2024, 1, 15),
                      installment_multiple=Money("100")),
            Decimal("641.70"),
        ),
    ],
)  # fmt: skip
def test_the_reported_zero_and_balloon_installments_are_gone(
    terms: LoanTerms, level: Decimal
) -> None:
    """The first case had installment 36 at 0.00 (the long first period's unpaid interest
    was dropped, then over-repaid); the second a last installment of 1 156.78 after eleven
    of 600. Now the first period's unpaid interest is carried to the next installments and
    the multiple alternates 600 / 700 along the exact plan."""
    schedule = generate_schedule(terms)
    totals = [i.total.amount for i in schedule.installments]
    step = terms.installment_multiple.amount if terms.installment_multiple else Decimal("0.01")
    assert all(abs(t - level) <= step for t in totals[:-1])
    assert Decimal(0) < totals[-1] and abs(totals[-1] - level) < step + Decimal("0.5")
    assert schedule.total_principal == terms.principal
    # the long first period's interest is all paid: nothing dropped
    exact_interest = sum((i.interest.amount for i in schedule.installments), Decimal(0))
    assert exact_interest == sum(totals, Decimal(0)) - terms.principal.amount


@settings(max_examples=10, deadline=None)
@given(products(), CAPS, st.integers(min_value=0, max_value=400))
def test_the_ceiling_worked_out_per_start_is_the_one_over_every_loan(
    product: LoanProduct, cap: Decimal, day: int
) -> None:
    """``max_rate`` keeps each start date's ceiling and takes the lowest: the answer is
    the one found by weighing every candidate loan of the date at once."""
    from mobilend.domain.compliance import offers

    rules = Rulebook([CostCap(cap)])
    on = date(2026, 1, 1) + timedelta(days=day)
    try:
        whole = offers.max_product_rate(rules, product, on, Decimal(cap))
    except AprAboveCap:
        with pytest.raises(AprAboveCap):
            rules.max_rate(product, on)
        return
    assert rules.max_rate(product, on) == whole
    # A later date reuses the starts it shares with this one and still agrees.
    later = on + timedelta(days=1)
    assert rules.max_rate(product, later) == offers.max_product_rate(
        rules, product, later, Decimal(cap)
    )
