"""APR by IRR of the borrower's real cash flows (PBOC [2021] No. 3)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import numpy_financial as npf
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies_loans import fee_rules, loan_terms

from mobilend.domain.apr import (
    AprUndefined,
    annual_percentage_rate,
    borrower_cash_flows,
    irr,
    xirr,
)
from mobilend.domain.daycount import DayCount, Frequency, PeriodUnit
from mobilend.domain.money import Money
from mobilend.domain.products import FeeKind, FeeRule, LoanTerms, RepaymentMethod
from mobilend.domain.schedules import generate_schedule

FEW = settings(max_examples=60, deadline=None)


def terms(**overrides: object) -> LoanTerms:
    fields: dict[str, object] = {
        "principal": Money("10000"),
        "periods": 12,
        "annual_rate": Decimal("0.18"),
        "method": RepaymentMethod.EQUAL_INSTALLMENT,
        "start_date": date(2024, 3, 10),
        "day_count": DayCount.THIRTY_360,
    }
    fields.update(overrides)
    return LoanTerms(**fields)  # type: ignore[arg-type]


# -- the IRR solvers ---------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1_000, 1_000_000),
    st.lists(st.integers(1, 200_000), min_size=1, max_size=36),
)
def test_periodic_irr_agrees_with_numpy_financial(loan: int, payments: list[int]) -> None:
    flows = [Decimal(loan), *(Decimal(-p) for p in payments)]
    assume(sum(payments) <= loan * 50)  # beyond 5000 % a period numpy's solver gives up
    expected = npf.irr([float(f) for f in flows])
    assert abs(float(irr(flows)) - expected) < 1e-9


def test_irr_of_a_known_annuity() -> None:
    """Receive 1000, pay 110 for 10 periods: numpy-financial rate(10, -110, 1000, 0)."""
    assert (
        abs(float(irr([Decimal(1000)] + [Decimal(-110)] * 10)) - npf.rate(10, -110, 1000, 0))
        < 1e-12
    )


def test_xirr_over_exactly_one_year() -> None:
    """Pay 1000 on 1 Jan 2023, get 1100 on 1 Jan 2024 (365 days): 10 %."""
    rate = xirr([(date(2023, 1, 1), Decimal(-1000)), (date(2024, 1, 1), Decimal(1100))])
    assert abs(rate - Decimal("0.10")) < Decimal("1e-20")


def test_xirr_is_the_root_of_the_dated_npv() -> None:
    flows = [
        (date(2024, 1, 5), Decimal("5000")),
        (date(2024, 2, 29), Decimal("-1800")),
        (date(2024, 4, 1), Decimal("-1800")),
        (date(2024, 4, 30), Decimal("-1800")),
    ]
    rate = float(xirr(flows))
    npv = sum(float(a) * (1 + rate) ** (-(d - flows[0][0]).days / 365) for d, a in flows)
    assert abs(npv) < 1e-6


def test_flows_that_never_change_sign_have_no_irr() -> None:
    with pytest.raises(AprUndefined):
        irr([Decimal(100), Decimal(5)])


# -- APR of schedules, worked ------------------------------------------------------------


def test_equal_installment_without_fees_is_the_nominal_rate() -> None:
    """30/360 monthly: the periodic rate is exactly 1.5 %, so the APR is 18 % (to fen rounding)."""
    result = annual_percentage_rate(generate_schedule(terms()))
    assert abs(result.apr - Decimal("0.18")) < Decimal("0.00001")
    assert result.periods_per_year == 12
    assert abs(result.effective_annual_rate - (Decimal("1.015") ** 12 - 1)) < Decimal("0.00002")


def test_flat_rate_apr_matches_numpy_financial() -> None:
    """12 000 at a 10 % flat rate, 12 × 1100: APR = rate(12, -1100, 12000, 0) × 12 ≈ 17.97 %."""
    result = annual_percentage_rate(
        generate_schedule(
            terms(
                principal=Money("12000"), annual_rate=Decimal("0.10"), method=RepaymentMethod.FLAT
            )
        )
    )
    periodic = npf.rate(12, -1100, 12000, 0)
    assert abs(float(result.apr) - periodic * 12) < 1e-10
    assert abs(float(result.effective_annual_rate) - ((1 + periodic) ** 12 - 1)) < 1e-10


def test_upfront_fee_counts_as_money_not_received() -> None:
    """10 000 at 18 %, fee 200 paid at disbursement: the borrower nets 9 800 and pays
    916.80 × 11 + 916.81 (worked in test_schedules); APR = irr(...) × 12 by numpy-financial."""
    schedule = generate_schedule(terms(fees=(FeeRule(FeeKind.UPFRONT, amount=Money("200")),)))
    payments = [float(i.total.amount) for i in schedule.installments]
    assert payments[:-1] == [916.80] * 11
    expected = npf.irr([9800.0, *(-p for p in payments)]) * 12
    result = annual_percentage_rate(schedule)
    assert abs(float(result.apr) - expected) < 1e-10
    assert result.apr > Decimal("0.21")  # 200 on 10 000 over a year adds ~3.7 points


def test_cash_flows_are_the_borrowers_real_ones() -> None:
    schedule = generate_schedule(
        terms(
            periods=2,
            fees=(
                FeeRule(FeeKind.UPFRONT, amount=Money("100"), payee="guarantor"),
                FeeRule(FeeKind.PER_INSTALLMENT, amount=Money("5")),
            ),
        )
    )
    flows = borrower_cash_flows(schedule)
    assert flows[0] == (date(2024, 3, 10), Decimal("9900.00"))
    assert [d for d, _ in flows[1:]] == [date(2024, 4, 10), date(2024, 5, 10)]
    assert [-a for _, a in flows[1:]] == [i.total.amount for i in schedule.installments]


def test_bullet_apr_is_the_simple_rate() -> None:
    """到期一次还本付息 over 12 months at 18 % (30/360): one repayment a year later, so the
    period is the whole year and APR = 1800 / 10000 = 18 %."""
    result = annual_percentage_rate(generate_schedule(terms(method=RepaymentMethod.BULLET)))
    assert result.periods_per_year == 1
    assert abs(result.apr - Decimal("0.18")) < Decimal("1e-20")


def test_weekly_act_365_uses_52_periods_a_year() -> None:
    """Every 2 weeks on ACT/365: periodic rate 0.26 × 14/365, APR = that × 26 (26 periods)."""
    result = annual_percentage_rate(
        generate_schedule(
            terms(
                annual_rate=Decimal("0.26"),
                frequency=Frequency(2, PeriodUnit.WEEKS),
                day_count=DayCount.ACT_365,
                method=RepaymentMethod.INTEREST_FIRST,
                principal=Money("36500"),
            )
        )
    )
    assert result.periods_per_year == 26
    periodic = Decimal("0.26") * 14 / 365
    assert abs(result.periodic_rate - periodic) < Decimal("1e-7")
    assert abs(result.apr - periodic * 26) < Decimal("1e-6")


def test_irregular_first_period_counts_its_actual_days() -> None:
    """A 50-day first period (10 Jan → 29 Feb 2024, 30/360) carries 50 days of interest.
    Counted as one whole period it would look like 24 % a year; counted by its days
    (50 × 12 / 365 periods) the APR stays between the 18 % of the regular months and
    the 18.25 % a 30/360 day costs over 365 days. The actual-day figure counts every
    month by its days too: 29 Feb → 29 Mar is 29 days charged as a 30-day month, so it
    is the higher one, and the one the cost cap is checked on."""
    schedule = generate_schedule(
        terms(start_date=date(2024, 1, 10), first_due_date=date(2024, 2, 29), periods=3)
    )
    result = annual_percentage_rate(schedule)
    as_whole_periods = irr([Decimal(10000), *(-i.total.amount for i in schedule.installments)])
    assert as_whole_periods * 12 > Decimal("0.24")
    assert Decimal("0.18") < result.apr < Decimal("0.1825")
    assert result.actual_day_apr is not None
    assert result.apr < result.actual_day_apr < Decimal("0.19")
    assert result.apr_for_cap == result.actual_day_apr
    assert result.xirr is not None
    assert annual_percentage_rate(schedule, with_xirr=False).xirr is None


# -- properties ----------------------------------------------------------------------


@FEW
@given(
    loan_terms(
        day_counts=(DayCount.THIRTY_360,),
        regular_first_period=True,
        fees=True,
        max_periods=24,
    )
)
def test_apr_is_at_least_the_nominal_rate_whenever_a_fee_exists(loan: LoanTerms) -> None:
    """On 30/360 with whole periods the fee-free APR is the nominal rate (the periodic
    rate is rate × period length exactly); any fee can only add to it."""
    assert loan.fees
    result = annual_percentage_rate(generate_schedule(loan), with_xirr=False)
    assert result.apr >= loan.annual_rate


@FEW
@given(loan_terms(max_periods=24), st.data())
def test_adding_an_upfront_fee_raises_the_apr(loan: LoanTerms, data: st.DataObject) -> None:
    fee = data.draw(fee_rules(loan.principal, FeeKind.UPFRONT))
    with_fee = replace(loan, fees=(*loan.fees, fee))
    before = annual_percentage_rate(generate_schedule(loan), with_xirr=False).apr
    after = annual_percentage_rate(generate_schedule(with_fee), with_xirr=False).apr
    assert after > before


@FEW
@given(
    st.integers(1_000_00, 1_000_000_00),
    st.integers(50, 800),
    st.dates(date(2020, 1, 1), date(2030, 12, 31)),
)
def test_flat_rate_apr_is_1_8_to_2_times_the_quoted_rate(
    minor: int, basis_points: int, start: date
) -> None:
    """12 monthly periods: with interest on the full principal while half of it is repaid
    on average, the APR approaches 2n/(n+1) ≈ 1.85× the flat rate for the flat rates
    lenders quote (0.5 %–8 % a year, i.e. under 0.7 % a month)."""
    rate = Decimal(basis_points) / 10000
    loan = LoanTerms(
        principal=Money.from_minor(minor),
        periods=12,
        annual_rate=rate,
        method=RepaymentMethod.FLAT,
        start_date=start,
    )
    ratio = annual_percentage_rate(generate_schedule(loan), with_xirr=False).apr / rate
    assert Decimal("1.8") <= ratio <= Decimal("2.0")


def test_flat_rate_ratio_falls_below_1_8_at_higher_rates() -> None:
    """The 1.8–2× rule of thumb is for low flat rates: at 18 % flat the APR is ~1.76×."""
    loan = terms(method=RepaymentMethod.FLAT, start_date=date(2024, 1, 1) + timedelta(days=3))
    ratio = annual_percentage_rate(generate_schedule(loan)).apr / Decimal("0.18")
    assert Decimal("1.7") < ratio < Decimal("1.8")


def test_the_exact_solve_does_not_rely_on_the_floating_point_guess() -> None:
    # Cash flows whose root a float solve cannot reach (each discount factor underflows
    # to zero at the first guess): the wide bracket still finds it.
    flows = [Decimal(-1), *([Decimal(0)] * 4000), Decimal("1e-300")]
    assert irr(flows) == pytest.approx(Decimal("-0.1584"), abs=Decimal("1e-3"))
