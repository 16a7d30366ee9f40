"""Loan product definitions: valid ones build, invalid ones list every problem."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mobilend.domain.daycount import DayCount, Frequency, PeriodUnit
from mobilend.domain.errors import ValidationFailed
from mobilend.domain.money import Money, RoundingMode
from mobilend.domain.products import (
    FeeKind,
    FeeRule,
    LoanProduct,
    RepaymentMethod,
    validate_product,
)
from mobilend.domain.schedules import generate_schedule


def product_fields(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "code": "PHONE-12",
        "name": "手机贷 12 期",
        "min_amount": Money("500"),
        "max_amount": Money("20000"),
        "min_periods": 3,
        "max_periods": 12,
        "annual_rate": Decimal("0.18"),
        "method": RepaymentMethod.EQUAL_INSTALLMENT,
    }
    fields.update(overrides)
    return fields


def test_a_valid_product_takes_the_documented_defaults() -> None:
    product = LoanProduct.create(**product_fields())
    assert product.day_count is DayCount.ACT_360
    assert product.rounding is RoundingMode.HALF_UP
    assert product.frequency == Frequency(1, PeriodUnit.MONTHS)
    assert product.allocation_order == ("penalty", "fees", "interest", "principal")
    assert product.licence_type == "micro-lender"
    assert product.fees == ()
    assert validate_product(**product_fields()) == []


def test_loose_input_is_turned_into_types() -> None:
    """Configuration files give enum values and amounts as strings."""
    product = LoanProduct.create(
        **product_fields(
            method="flat",
            day_count="30/360",
            rounding="half-even",
            min_amount="500",
            annual_rate="0.12",
            fees=[FeeRule(FeeKind.UPFRONT, rate=Decimal("0.01"), payee="guarantor")],
        )
    )
    assert product.method is RepaymentMethod.FLAT
    assert product.day_count is DayCount.THIRTY_360
    assert product.rounding is RoundingMode.HALF_EVEN
    assert product.min_amount == Money("500")
    assert product.annual_rate == Decimal("0.12")
    assert isinstance(product.fees, tuple)
    assert product.upfront_fees == product.fees


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ValidationFailed) as refused:
        LoanProduct.create(
            **product_fields(
                code=" ",
                min_amount=Money("5000"),
                max_amount=Money("100"),
                min_periods=6,
                max_periods=3,
                annual_rate=Decimal("18"),
                method="balloon",
                principal_grace_periods=-1,
                fees=(FeeRule(FeeKind.PER_INSTALLMENT, amount=Money("1"), rate=Decimal("0.1")),),
                allocation_order=("interest", "principal"),
                penalty_grace_days=-3,
                colour="red",
            )
        )
    fields = [p.field for p in refused.value.problems]
    assert sorted(fields) == sorted(
        [
            "colour",
            "method",
            "code",
            "max_amount",
            "max_periods",
            "annual_rate",
            "principal_grace_periods",
            "penalty_grace_days",
            "fees[0]",
            "allocation_order",
        ]
    )
    for problem in refused.value.problems:
        assert problem.message.strip()
        assert " / " in problem.message  # Chinese first, then English
    assert "annual_rate" in str(refused.value)


def test_missing_fields_are_problems_too() -> None:
    problems = validate_product(code="X", name="Y")
    assert {p.field for p in problems} == {
        "min_amount",
        "max_amount",
        "min_periods",
        "max_periods",
        "annual_rate",
        "method",
    }


def test_direct_construction_is_validated_as_well() -> None:
    with pytest.raises(ValidationFailed) as refused:
        LoanProduct(
            code="X",
            name="Y",
            min_amount=Money("0"),
            max_amount=Money("10", "USD"),
            min_periods=1,
            max_periods=1,
            annual_rate=Decimal("-0.01"),
            method=RepaymentMethod.BULLET,
            installment_multiple=Money("-1"),
        )
    assert {p.field for p in refused.value.problems} == {
        "min_amount",
        "max_amount",
        "annual_rate",
        "installment_multiple",
    }


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"principal_grace_periods": 3}, "principal_grace_periods"),  # = min_periods
        ({"method": "bullet", "principal_grace_periods": 1}, "principal_grace_periods"),
        ({"penalty_rate": Decimal("-0.1")}, "penalty_rate"),
        ({"currency": "XYZ"}, "currency"),
        ({"fees": (FeeRule(FeeKind.UPFRONT, amount=Money("500")),)}, "fees"),  # = min amount
        ({"fees": (FeeRule(FeeKind.UPFRONT, rate=Decimal("0.01"), payee=""),)}, "fees[0].payee"),
        ({"fees": (FeeRule(FeeKind.UPFRONT, amount=Money("1", "USD")),)}, "fees[0].amount"),
        ({"min_amount": Money("0.001")}, "min_amount"),
        ({"frequency": "monthly"}, "frequency"),
    ],
)
def test_single_rules(overrides: dict[str, object], field: str) -> None:
    assert [p.field for p in validate_product(**product_fields(**overrides))] == [field]


def test_terms_for_checks_amount_and_term_together() -> None:
    product = LoanProduct.create(**product_fields())
    with pytest.raises(ValidationFailed) as refused:
        product.terms_for(Money("100"), 24, date(2024, 1, 1))
    assert {p.field for p in refused.value.problems} == {"principal", "periods"}
    with pytest.raises(ValidationFailed):
        product.terms_for(Money("1000", "USD"), 6, date(2024, 1, 1))


def test_terms_for_carries_the_product_and_an_overridden_rate() -> None:
    product = LoanProduct.create(
        **product_fields(
            day_count="ACT/365",
            installment_multiple=Money("1"),
            fees=(FeeRule(FeeKind.PER_INSTALLMENT, amount=Money("3")),),
        )
    )
    terms = product.terms_for(Money("6000"), 6, date(2024, 1, 31), annual_rate=Decimal("0.12"))
    assert terms.annual_rate == Decimal("0.12")
    assert terms.day_count is DayCount.ACT_365
    assert terms.installment_multiple == Money("1")
    assert terms.fees == product.fees
    assert terms.first_due == date(2024, 2, 29)
    assert terms.due_dates()[1] == date(2024, 3, 31)


def test_fee_rule_charges() -> None:
    principal = Money("3333.33")
    assert FeeRule(FeeKind.UPFRONT, rate=Decimal("0.015")).charge(principal) == Money("50.00")
    assert FeeRule(FeeKind.UPFRONT, amount=Money("9.99")).charge(principal) == Money("9.99")


@st.composite
def product_definitions(draw: st.DrawFn) -> dict[str, object]:
    min_minor = draw(st.integers(100_00, 50_000_00))
    min_periods = draw(st.integers(1, 12))
    return product_fields(
        min_amount=Money.from_minor(min_minor),
        max_amount=Money.from_minor(draw(st.integers(min_minor, 100_000_00))),
        min_periods=min_periods,
        max_periods=draw(st.integers(min_periods, 36)),
        annual_rate=Decimal(draw(st.integers(0, 2400))) / 10000,
        method=draw(st.sampled_from(RepaymentMethod)),
        day_count=draw(st.sampled_from(DayCount)),
        frequency=Frequency(draw(st.integers(1, 2)), draw(st.sampled_from(PeriodUnit))),
    )


@settings(max_examples=60, deadline=None)
@given(product_definitions(), st.data())
def test_any_loan_within_a_valid_products_ranges_schedules_exactly(
    fields: dict[str, object], data: st.DataObject
) -> None:
    product = LoanProduct.create(**fields)
    principal = Money.from_minor(
        data.draw(st.integers(product.min_amount.to_minor(), product.max_amount.to_minor()))
    )
    periods = data.draw(st.integers(product.min_periods, product.max_periods))
    start = data.draw(st.dates(date(2020, 1, 1), date(2030, 12, 31)))
    schedule = generate_schedule(product.terms_for(principal, periods, start))
    assert schedule.total_principal == principal
    assert schedule.installments[-1].balance_after.is_zero()
