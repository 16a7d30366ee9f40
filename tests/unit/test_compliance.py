"""Cost caps by licence type and date; offers and products above the cap are refused."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from mobilend.domain.compliance import (
    AprAboveCap,
    CostCap,
    CostCapPolicy,
    NoCostCap,
)
from mobilend.domain.errors import ComplianceViolation
from mobilend.domain.money import Money
from mobilend.domain.products import FeeKind, FeeRule, LoanProduct, RepaymentMethod

ON = date(2025, 6, 1)


def product(**overrides: object) -> LoanProduct:
    fields: dict[str, object] = {
        "code": "PHONE",
        "name": "手机贷",
        "min_amount": Money("500"),
        "max_amount": Money("20000"),
        "min_periods": 3,
        "max_periods": 12,
        "annual_rate": Decimal("0.18"),
        "method": RepaymentMethod.EQUAL_INSTALLMENT,
        "day_count": "30/360",
    }
    fields.update(overrides)
    return LoanProduct.create(**fields)


def test_default_cap_is_24_percent_for_every_licence_type() -> None:
    policy = CostCapPolicy()
    for licence in ("micro-lender", "consumer-finance", "bank"):
        assert policy.cap_for(licence, ON).limit == Decimal("0.24")


def test_latest_cap_in_force_on_the_date_applies() -> None:
    policy = CostCapPolicy(
        [
            CostCap(Decimal("0.36"), "*", date(2017, 12, 1)),
            CostCap(Decimal("0.24"), "*", date(2021, 1, 1)),
            CostCap(Decimal("0.20"), "micro-lender", date(2026, 1, 1)),
        ]
    )
    assert policy.cap_for("micro-lender", date(2019, 5, 1)).limit == Decimal("0.36")
    assert policy.cap_for("micro-lender", date(2021, 1, 1)).limit == Decimal("0.24")
    assert policy.cap_for("micro-lender", date(2026, 1, 1)).limit == Decimal("0.20")
    assert policy.cap_for("bank", date(2026, 1, 1)).limit == Decimal("0.24")
    with pytest.raises(NoCostCap):
        policy.cap_for("micro-lender", date(2017, 1, 1))


def test_a_licence_specific_cap_wins_a_tie() -> None:
    policy = CostCapPolicy(
        [
            CostCap(Decimal("0.24"), "micro-lender", date(2021, 1, 1)),
            CostCap(Decimal("0.36"), "*", date(2021, 1, 1)),
        ]
    )
    assert policy.cap_for("micro-lender", ON).limit == Decimal("0.24")
    assert policy.cap_for("other", ON).limit == Decimal("0.36")


def test_offer_above_the_cap_is_refused_with_both_figures() -> None:
    policy = CostCapPolicy()
    with pytest.raises(AprAboveCap) as refused:
        policy.check_offer(Decimal("0.2451"), "micro-lender", ON)
    assert refused.value.code == "apr_above_cap"
    assert isinstance(refused.value, ComplianceViolation)
    assert "24.51%" in refused.value.message
    assert "24.00%" in refused.value.message


def test_offer_at_or_below_the_cap_passes() -> None:
    policy = CostCapPolicy()
    assert policy.check_offer(Decimal("0.24"), "micro-lender", ON).limit == Decimal("0.24")
    assert policy.check_offer(Decimal("0.1"), "micro-lender", ON).limit == Decimal("0.24")
    with pytest.raises(AprAboveCap):
        policy.check_offer(Decimal("0.2400001"), "micro-lender", ON)


def test_a_plain_product_under_the_cap_passes() -> None:
    """18 % on 30/360 without fees: the APR is 18 % whatever the amount and term."""
    check = CostCapPolicy().check_product(product(), ON)
    assert abs(check.worst.apr - Decimal("0.18")) < Decimal("0.0001")
    assert check.cap.limit == Decimal("0.24")


def test_a_fixed_upfront_fee_is_worst_on_the_smallest_shortest_loan() -> None:
    """A 30 yuan fee on 500 over 3 months pushes the APR far past 24 %, while on 20 000
    over 12 months it adds well under a point: the product is refused on its worst case."""
    risky = product(fees=(FeeRule(FeeKind.UPFRONT, amount=Money("30")),))
    with pytest.raises(AprAboveCap) as refused:
        CostCapPolicy().check_product(risky, ON)
    assert "500.00" in refused.value.message
    assert "3 periods" in refused.value.message
    allowed = CostCapPolicy([CostCap(Decimal("0.99"))]).check_product(risky, ON)
    assert allowed.principal == Money("500")
    assert allowed.periods == 3


def test_act_360_short_bullet_is_checked_in_its_longest_month() -> None:
    """A one-month ACT/360 bullet at 23.5 %: 31 days give 23.5 × 31/30 = 24.28 % > 24 %,
    although a February 2025 start (28 days) gives 21.9 %. The scan starts loans on the
    first of every month, so the check from February still finds the 31-day months."""
    bullet = product(
        method="bullet",
        day_count="ACT/360",
        annual_rate=Decimal("0.235"),
        min_periods=1,
        max_periods=1,
    )
    with pytest.raises(AprAboveCap):
        CostCapPolicy().check_product(bullet, date(2025, 2, 1))
    february_only = CostCapPolicy().check_product(
        bullet, date(2025, 2, 1), start_dates=[date(2025, 2, 1)]
    )
    assert february_only.worst.apr < Decimal("0.24")
