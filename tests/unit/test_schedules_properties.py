"""Properties every schedule keeps, over random terms (hypothesis)."""

from __future__ import annotations

import itertools
from decimal import Decimal

from hypothesis import given, settings
from strategies_loans import loan_terms

from mobilend.domain.money import Money
from mobilend.domain.products import LoanTerms, RepaymentMethod
from mobilend.domain.schedules import generate_schedule

FEW = settings(max_examples=150, deadline=None)


@FEW
@given(loan_terms())
def test_principal_sums_exactly_to_the_loan(terms: LoanTerms) -> None:
    schedule = generate_schedule(terms)
    assert schedule.total_principal == terms.principal
    assert schedule.disbursed == terms.principal


@FEW
@given(loan_terms())
def test_no_amount_is_ever_negative_and_all_are_exact_to_the_fen(terms: LoanTerms) -> None:
    schedule = generate_schedule(terms)
    for installment in schedule.installments:
        for amount in (
            installment.principal,
            installment.interest,
            installment.fees,
            installment.total,
            installment.balance_after,
        ):
            assert not amount.is_negative()
            assert amount.is_whole()
        assert installment.total == installment.principal + installment.interest + installment.fees


@FEW
@given(loan_terms())
def test_balance_falls_monotonically_to_zero(terms: LoanTerms) -> None:
    schedule = generate_schedule(terms)
    balance = terms.principal
    for installment in schedule.installments:
        assert installment.balance_after == balance - installment.principal
        assert installment.balance_after <= balance
        balance = installment.balance_after
    assert balance == Money.zero()


@FEW
@given(loan_terms())
def test_dates_numbers_and_grace(terms: LoanTerms) -> None:
    schedule = generate_schedule(terms)
    installments = schedule.installments
    expected_count = 1 if terms.method is RepaymentMethod.BULLET else terms.periods
    assert len(installments) == expected_count
    assert [i.n for i in installments] == list(range(1, expected_count + 1))
    assert installments[0].period_start == terms.start_date
    assert installments[-1].due_date == terms.due_dates()[-1]
    for before, after in itertools.pairwise(installments):
        assert after.period_start == before.due_date < after.due_date
    for installment in installments[: terms.principal_grace_periods]:
        assert installment.principal.is_zero()


@FEW
@given(loan_terms(methods=(RepaymentMethod.EQUAL_INSTALLMENT,), regular_first_period=True))
def test_equal_installments_are_level_or_rounded_to_the_multiple(terms: LoanTerms) -> None:
    """Amortising installments but the last are the same amount (principal + interest),
    a multiple of the rounding multiple when one is set, unless the loan is already repaid."""
    schedule = generate_schedule(terms)
    amortising = schedule.installments[terms.principal_grace_periods : -1]
    paying = [i.principal + i.interest for i in amortising if not i.balance_after.is_zero()]
    if terms.installment_multiple is not None:
        for amount in paying:
            assert amount.amount % terms.installment_multiple.amount == 0
    elif paying:
        assert len(set(paying)) == 1


@FEW
@given(
    loan_terms(
        methods=(RepaymentMethod.EQUAL_INSTALLMENT,),
        multiples=False,
        fees=False,
        regular_first_period=True,
    )
)
def test_equal_installment_level_payment_repays_the_loan_exactly(terms: LoanTerms) -> None:
    """Run the unrounded level payment through the exact per-period rates: the balance
    reaches zero, so the last installment differs from the others by rounding only."""
    schedule = generate_schedule(terms)
    level_periods = schedule.installments[terms.principal_grace_periods :]
    if len(level_periods) < 2:
        return
    level = level_periods[0].principal + level_periods[0].interest
    last = level_periods[-1].principal + level_periods[-1].interest
    # Each period's interest and principal are rounded (≤ a fen between them) and the
    # balance carries that error forward, where it earns interest until the last period:
    # the bound is a fen per period, compounded at the highest periodic rate (an actual
    # month is at most 31/30 of a nominal one).
    periodic = terms.annual_rate * Decimal(terms.frequency.nominal_days) / 360 * Decimal("1.05")
    bound = sum(
        (Decimal("0.01") * (1 + periodic) ** k for k in range(len(level_periods))), Decimal(0)
    )
    assert abs(last.amount - level.amount) <= bound
