"""Worked examples for the schedule generator, day counts and due dates.

Expected figures are worked out by hand in each docstring, or computed with
numpy-financial / exact fractions, never copied from the code under test.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import numpy_financial as npf
import pytest

from mobilend.domain.daycount import (
    DayCount,
    Frequency,
    PeriodUnit,
    add_months,
    due_dates,
    year_fraction,
)
from mobilend.domain.errors import ValidationFailed
from mobilend.domain.money import Money, RoundingMode
from mobilend.domain.products import FeeKind, FeeRule, LoanTerms, RepaymentMethod
from mobilend.domain.schedules import Schedule, generate_schedule

MONTHLY = Frequency(1, PeriodUnit.MONTHS)


def terms(**overrides: object) -> LoanTerms:
    fields: dict[str, object] = {
        "principal": Money("10000"),
        "periods": 12,
        "annual_rate": Decimal("0.18"),
        "method": RepaymentMethod.EQUAL_INSTALLMENT,
        "start_date": date(2024, 1, 15),
        "day_count": DayCount.THIRTY_360,
    }
    fields.update(overrides)
    return LoanTerms(**fields)  # type: ignore[arg-type]


def amounts(schedule: Schedule, attribute: str) -> list[Decimal]:
    return [getattr(i, attribute).amount for i in schedule.installments]


def cents(value: float | Fraction) -> Decimal:
    """Round an independently computed figure to the fen, half-up."""
    return Decimal(str(float(value))).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")


# -- due dates and day counts -----------------------------------------------------


def test_month_end_anchor_in_a_leap_year() -> None:
    """31 Jan 2024 → 29 Feb → 31 Mar → 30 Apr → 31 May: the 31st comes back."""
    assert due_dates(date(2024, 1, 31), MONTHLY, 5) == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2024, 5, 31),
    ]


def test_month_end_anchor_in_a_common_year() -> None:
    """2025 is not a leap year: 31 Jan → 28 Feb → 31 Mar."""
    assert due_dates(date(2025, 1, 31), MONTHLY, 3) == [
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 31),
    ]


def test_loan_started_on_the_31st_keeps_the_31st() -> None:
    schedule = generate_schedule(terms(start_date=date(2024, 1, 31), periods=4))
    assert [i.due_date for i in schedule.installments] == [
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2024, 5, 31),
    ]
    assert [i.period_start for i in schedule.installments][1:] == [
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
    ]


def test_explicit_anchor_day_survives_a_february_first_due_date() -> None:
    """A re-amortisation whose next due date is 29 Feb keeps the loan's anchor 31."""
    loan = terms(start_date=date(2024, 2, 10), first_due_date=date(2024, 2, 29), anchor_day=31)
    assert loan.due_dates()[:3] == [date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)]


def test_every_two_weeks_and_every_ten_days() -> None:
    assert due_dates(date(2024, 1, 1), Frequency(2, PeriodUnit.WEEKS), 3) == [
        date(2024, 1, 1),
        date(2024, 1, 15),
        date(2024, 1, 29),
    ]
    assert Frequency(10, PeriodUnit.DAYS).add(date(2024, 2, 25)) == date(2024, 3, 6)
    assert add_months(date(2023, 12, 31), 2) == date(2024, 2, 29)


@pytest.mark.parametrize(
    ("every", "unit", "expected"),
    [
        (1, PeriodUnit.MONTHS, Decimal(12)),
        (3, PeriodUnit.MONTHS, Decimal(4)),
        (2, PeriodUnit.WEEKS, Decimal(26)),
        (5, PeriodUnit.DAYS, Decimal(73)),
    ],
)
def test_periods_per_year(every: int, unit: PeriodUnit, expected: Decimal) -> None:
    assert Frequency(every, unit).periods_per_year == expected


def test_year_fractions() -> None:
    """15 Jan → 15 Feb 2024: 31 actual days; 31 Jan → 29 Feb is 30 days on 30/360."""
    assert year_fraction(date(2024, 1, 15), date(2024, 2, 15), DayCount.ACT_360) == Decimal(
        31
    ) / Decimal(360)
    assert year_fraction(date(2024, 1, 15), date(2024, 2, 15), DayCount.ACT_365) == Decimal(
        31
    ) / Decimal(365)
    assert year_fraction(date(2024, 1, 31), date(2024, 2, 29), DayCount.THIRTY_360) == Decimal(
        30
    ) / Decimal(360)
    assert year_fraction(date(2024, 1, 10), date(2024, 2, 29), DayCount.THIRTY_360) == Decimal(
        50
    ) / Decimal(360)


# -- the five methods, worked ----------------------------------------------------------


def test_equal_installment_matches_numpy_financial() -> None:
    """10 000 at 18 % over 12 months, 30/360: rate 1.5 % a month.

    numpy-financial pmt(0.015, 12, -10000) = 916.7999 → 916.80 each month; the
    interest of each month is ipmt() of the same annuity (within a fen, since the
    schedule runs on fen-rounded balances), and the last installment settles.
    """
    schedule = generate_schedule(terms())
    level = cents(npf.pmt(0.015, 12, -10000))
    assert level == Decimal("916.80")
    assert amounts(schedule, "total")[:-1] == [level] * 11
    for k, interest in enumerate(amounts(schedule, "interest"), start=1):
        assert abs(interest - cents(npf.ipmt(0.015, k, 12, -10000))) <= Decimal("0.01")
    assert amounts(schedule, "interest")[0] == Decimal("150.00")
    assert schedule.total_principal == Money("10000")
    assert abs(schedule.installments[-1].total.amount - level) <= Decimal("0.05")


def test_equal_installment_act_360_irregular_month_lengths() -> None:
    """3 000 at 12 %, ACT/360, from 15 Jan 2024: periods of 31, 29 and 31 days.

    r = 0.12×31/360, 0.12×29/360, 0.12×31/360; P = 3000 / Σ_k Π_{i≤k} 1/(1+r_i)
    = 1020.2907 (exact fractions) → 1020.29.
    1: interest 3000×0.12×31/360 = 31.00, principal 989.29, balance 2010.71
    2: interest 2010.71×0.12×29/360 = 19.4369 → 19.44, principal 1000.85, balance 1009.86
    3: interest 1009.86×0.12×31/360 = 10.4352 → 10.44, principal 1009.86, total 1020.30
    """
    rates = [Fraction(12, 100) * Fraction(d, 360) for d in (31, 29, 31)]
    discount, annuity = Fraction(1), Fraction(0)
    for rate in rates:
        discount /= 1 + rate
        annuity += discount
    level = cents(Fraction(3000) / annuity)
    schedule = generate_schedule(
        terms(
            principal=Money("3000"),
            periods=3,
            annual_rate=Decimal("0.12"),
            day_count=DayCount.ACT_360,
        )
    )
    assert level == Decimal("1020.29")
    assert amounts(schedule, "interest") == [Decimal("31.00"), Decimal("19.44"), Decimal("10.44")]
    assert amounts(schedule, "principal") == [
        Decimal("989.29"),
        Decimal("1000.85"),
        Decimal("1009.86"),
    ]
    assert amounts(schedule, "total") == [level, level, Decimal("1020.30")]


def test_equal_principal_act_360() -> None:
    """36 000 at 12 %, ACT/360, from 15 Jan 2024, 3 months.

    Principal 12 000 a month. Interest: 36000×0.12×31/360 = 372.00,
    24000×0.12×29/360 = 232.00, 12000×0.12×31/360 = 124.00.
    """
    schedule = generate_schedule(
        terms(
            principal=Money("36000"),
            periods=3,
            annual_rate=Decimal("0.12"),
            method=RepaymentMethod.EQUAL_PRINCIPAL,
            day_count=DayCount.ACT_360,
        )
    )
    assert amounts(schedule, "principal") == [Decimal("12000.00")] * 3
    assert amounts(schedule, "interest") == [
        Decimal("372.00"),
        Decimal("232.00"),
        Decimal("124.00"),
    ]
    assert amounts(schedule, "balance_after") == [
        Decimal("24000.00"),
        Decimal("12000.00"),
        Decimal("0.00"),
    ]


def test_equal_principal_remainder_goes_to_the_last_installment() -> None:
    """10 000 over 3 months: 3333.33, 3333.33 and 3333.34 (the spare fen last)."""
    schedule = generate_schedule(
        terms(periods=3, method=RepaymentMethod.EQUAL_PRINCIPAL, annual_rate=Decimal("0.12"))
    )
    assert amounts(schedule, "principal") == [
        Decimal("3333.33"),
        Decimal("3333.33"),
        Decimal("3333.34"),
    ]
    # 30/360: 1 % a month on 10000, 6666.67, 3333.34
    assert amounts(schedule, "interest") == [Decimal("100.00"), Decimal("66.67"), Decimal("33.33")]


def test_flat_rate_spreads_interest_equally() -> None:
    """等本等息: 12 000 at a 10 % flat rate for 12 months.

    Interest = 12000 × 0.10 × 12/12 = 1200, 100 a month; principal 1000 a month;
    each installment 1100 whatever the day count. numpy-financial:
    rate(12, -1100, 12000, 0) × 12 = 17.97 % — the true APR, not 10 %.
    """
    for day_count in DayCount:
        schedule = generate_schedule(
            terms(
                principal=Money("12000"),
                annual_rate=Decimal("0.10"),
                method=RepaymentMethod.FLAT,
                day_count=day_count,
            )
        )
        assert amounts(schedule, "interest") == [Decimal("100.00")] * 12
        assert amounts(schedule, "total") == [Decimal("1100.00")] * 12
        assert schedule.total_interest == Money("1200")


def test_interest_first_act_365() -> None:
    """先息后本: 36 500 at 12 %, ACT/365, from 15 Jan 2025, 3 months.

    Interest: 36500×0.12×31/365 = 372.00 (15 Jan→15 Feb), ×28/365 = 336.00,
    ×31/365 = 372.00; principal all at the end.
    """
    schedule = generate_schedule(
        terms(
            principal=Money("36500"),
            periods=3,
            annual_rate=Decimal("0.12"),
            method=RepaymentMethod.INTEREST_FIRST,
            day_count=DayCount.ACT_365,
            start_date=date(2025, 1, 15),
        )
    )
    assert amounts(schedule, "interest") == [
        Decimal("372.00"),
        Decimal("336.00"),
        Decimal("372.00"),
    ]
    assert amounts(schedule, "principal") == [Decimal("0.00"), Decimal("0.00"), Decimal("36500.00")]
    assert amounts(schedule, "total")[-1] == Decimal("36872.00")


def test_interest_first_30_360_with_an_irregular_first_period() -> None:
    """From 10 Jan 2024, first due 29 Feb: 30E/360 counts 50 days (10 Jan→30 Jan→30 Feb).

    36 000 × 0.12 × 50/360 = 600.00, then 360.00 for each whole month.
    """
    schedule = generate_schedule(
        terms(
            principal=Money("36000"),
            periods=3,
            annual_rate=Decimal("0.12"),
            method=RepaymentMethod.INTEREST_FIRST,
            start_date=date(2024, 1, 10),
            first_due_date=date(2024, 2, 29),
        )
    )
    assert [i.due_date for i in schedule.installments] == [
        date(2024, 2, 29),
        date(2024, 3, 29),
        date(2024, 4, 29),
    ]
    assert amounts(schedule, "interest") == [
        Decimal("600.00"),
        Decimal("360.00"),
        Decimal("360.00"),
    ]


def test_thirty_360_makes_every_month_equal() -> None:
    """From 31 Jan 2024 every month is 30 days: 0.5 % of 20 000 = 100.00 each month."""
    schedule = generate_schedule(
        terms(
            principal=Money("20000"),
            periods=6,
            annual_rate=Decimal("0.06"),
            method=RepaymentMethod.INTEREST_FIRST,
            start_date=date(2024, 1, 31),
        )
    )
    assert amounts(schedule, "interest") == [Decimal("100.00")] * 6


def test_bullet_simple_interest_act_365() -> None:
    """到期一次还本付息: 10 000 at 18 %, ACT/365, 3 months from 1 Feb 2025.

    1 Feb → 1 May 2025 = 28 + 31 + 30 = 89 days; 10000×0.18×89/365 = 438.9041 → 438.90.
    """
    schedule = generate_schedule(
        terms(
            periods=3,
            method=RepaymentMethod.BULLET,
            day_count=DayCount.ACT_365,
            start_date=date(2025, 2, 1),
        )
    )
    (only,) = schedule.installments
    assert only.due_date == date(2025, 5, 1)
    assert only.period_start == date(2025, 2, 1)
    assert only.interest == Money("438.90")
    assert only.total == Money("10438.90")
    assert only.balance_after == Money("0")


# -- grace, rounding multiples, modes, fees ---------------------------------------------


def test_principal_grace_periods_count_towards_the_term() -> None:
    """12 000 at 12 % (30/360), 6 periods of which 2 are grace: 120.00 interest only,
    then equal-principal 3000 a month on 12000, 9000, 6000, 3000 (120, 90, 60, 30)."""
    schedule = generate_schedule(
        terms(
            principal=Money("12000"),
            periods=6,
            annual_rate=Decimal("0.12"),
            method=RepaymentMethod.EQUAL_PRINCIPAL,
            principal_grace_periods=2,
        )
    )
    assert len(schedule.installments) == 6
    assert amounts(schedule, "principal") == [Decimal(0)] * 2 + [Decimal("3000.00")] * 4
    assert amounts(schedule, "interest") == [
        Decimal("120.00"),
        Decimal("120.00"),
        Decimal("120.00"),
        Decimal("90.00"),
        Decimal("60.00"),
        Decimal("30.00"),
    ]


def test_equal_installment_with_grace_amortises_over_the_rest() -> None:
    """Grace 3 of 12: the level payment is that of 10 000 over 9 months at 1.5 %."""
    schedule = generate_schedule(terms(principal_grace_periods=3))
    assert amounts(schedule, "total")[:3] == [Decimal("150.00")] * 3
    assert amounts(schedule, "total")[3] == cents(npf.pmt(0.015, 9, -10000))


def test_installment_multiple_rounds_to_whole_yuan() -> None:
    """The exact level payment is 916.7998: each installment is 917 or 916, whichever
    keeps what is owed within half a yuan of the exact plan, so the 20 fen a month paid
    ahead are given back as they add up and the last installment is within a yuan too
    (917 every month would leave 914.6 to the last)."""
    schedule = generate_schedule(terms(installment_multiple=Money("1")))
    totals = amounts(schedule, "total")
    assert totals[:3] == [Decimal("917.00"), Decimal("917.00"), Decimal("916.00")]
    assert set(totals[:-1]) == {Decimal("917.00"), Decimal("916.00")}
    assert abs(totals[-1] - Decimal("916.80")) < 1
    assert schedule.total_principal == Money("10000")


def test_installment_multiple_of_ten_with_equal_principal() -> None:
    """Principal + interest is a multiple of 10 on every installment but the last."""
    schedule = generate_schedule(
        terms(method=RepaymentMethod.EQUAL_PRINCIPAL, installment_multiple=Money("10"))
    )
    for installment in schedule.installments[:-1]:
        assert (installment.principal + installment.interest).amount % 10 == 0
    assert schedule.total_principal == Money("10000")


def test_half_even_rounding_mode_applies_to_interest() -> None:
    """2 500 at 0.06 % for 30 days (1 Apr → 1 May) on ACT/360:
    2500×0.0006×30/360 = 0.125 exactly → 0.13 half-up, 0.12 half-even."""
    common = {
        "principal": Money("2500"),
        "periods": 1,
        "annual_rate": Decimal("0.0006"),
        "method": RepaymentMethod.INTEREST_FIRST,
        "day_count": DayCount.ACT_360,
        "start_date": date(2024, 4, 1),
    }
    up = generate_schedule(terms(**common, rounding=RoundingMode.HALF_UP))
    even = generate_schedule(terms(**common, rounding=RoundingMode.HALF_EVEN))
    assert up.installments[0].interest == Money("0.13")
    assert even.installments[0].interest == Money("0.12")


def test_fees_per_installment_and_upfront_by_payee() -> None:
    """Per-installment 0.5 % of 10 000 = 50.00 to a guarantor on every installment;
    a 200.00 upfront fee is listed apart and never reduces the disbursed amount."""
    schedule = generate_schedule(
        terms(
            fees=(
                FeeRule(FeeKind.PER_INSTALLMENT, rate=Decimal("0.005"), payee="guarantor"),
                FeeRule(FeeKind.UPFRONT, amount=Money("200"), payee="lender"),
            )
        )
    )
    assert amounts(schedule, "fees") == [Decimal("50.00")] * 12
    for installment in schedule.installments:
        assert installment.total == installment.principal + installment.interest + installment.fees
        assert [(f.payee, f.amount) for f in installment.fee_items] == [("guarantor", Money("50"))]
    assert [(f.payee, f.amount) for f in schedule.upfront_fees] == [("lender", Money("200"))]
    assert schedule.disbursed == Money("10000")
    assert schedule.total_fees == Money("600")


def test_upfront_fees_as_large_as_the_loan_are_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        terms(principal=Money("100"), fees=(FeeRule(FeeKind.UPFRONT, amount=Money("100")),))
    assert [p.field for p in refused.value.problems] == ["fees"]


def test_terms_report_every_problem_at_once() -> None:
    with pytest.raises(ValidationFailed) as refused:
        terms(
            principal=Money("-1"),
            periods=2,
            principal_grace_periods=2,
            first_due_date=date(2024, 1, 1),
            annual_rate=Decimal("-0.1"),
        )
    fields = {p.field for p in refused.value.problems}
    assert fields == {"principal", "principal_grace_periods", "first_due_date", "annual_rate"}


# -- re-amortisation after a prepayment ---------------------------------------------------


@pytest.mark.parametrize(
    "method", [m for m in RepaymentMethod if m is not RepaymentMethod.BULLET]
)  # a bullet loan has a single installment: there is no remainder to continue
def test_remaining_schedule_continues_the_original(method: RepaymentMethod) -> None:
    """Re-amortising the balance after period 4 with the same dates and anchor reproduces
    the remaining installments' dates and numbers and repays exactly that balance."""
    original = generate_schedule(terms(method=method, start_date=date(2024, 1, 31)))
    fourth = original.installments[3]
    remaining = generate_schedule(
        terms(
            method=method,
            principal=fourth.balance_after,
            periods=8,
            start_date=fourth.due_date,
            first_due_date=original.installments[4].due_date,
            anchor_day=31,
            first_number=5,
            annual_rate=Decimal("0.18"),
        )
    )
    assert [i.n for i in remaining.installments] == list(range(5, 13))
    assert [i.due_date for i in remaining.installments] == [
        i.due_date for i in original.installments[4:]
    ]
    assert remaining.total_principal == fourth.balance_after
    if method is RepaymentMethod.INTEREST_FIRST:
        assert remaining.installments == original.installments[4:]
    if method in (RepaymentMethod.EQUAL_INSTALLMENT, RepaymentMethod.EQUAL_PRINCIPAL):
        # the same amortisation re-solved on a fen-rounded balance: a fen or two apart
        pairs = list(zip(remaining.installments, original.installments[4:], strict=True))
        for new, old in pairs[:-1]:
            assert abs(new.total.amount - old.total.amount) <= Decimal("0.02")
        # the last installment gathers each side's rounding remainders (≤ a fen a period)
        assert abs(pairs[-1][0].total.amount - pairs[-1][1].total.amount) <= Decimal("0.12")
