"""A line's APR range is priced once per rule set, product version, size, rate and date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from mobilend.app.journey.applications import apr_range
from mobilend.domain.compliance import Rulebook
from mobilend.domain.money import Money
from mobilend.domain.products import LoanProduct, RepaymentMethod

ON = date(2025, 6, 1)


def product(rate: str = "0.18") -> LoanProduct:
    return LoanProduct.create(
        code="PHONE",
        name="手机贷",
        min_amount=Money("500"),
        max_amount=Money("20000"),
        min_periods=3,
        max_periods=12,
        annual_rate=Decimal(rate),
        method=RepaymentMethod.EQUAL_INSTALLMENT,
        day_count="30/360",
    )


class CountingRulebook(Rulebook):
    def __init__(self) -> None:
        super().__init__()
        self.priced = 0

    def fit_offer(self, *args: Any, **kwargs: Any) -> Any:
        self.priced += 1
        return super().fit_offer(*args, **kwargs)


def test_the_second_call_reads_the_first_answer() -> None:
    rules = CountingRulebook()
    first = apr_range(rules, product(), Money("5000"), Decimal("0.18"), ON)
    priced = rules.priced
    again = apr_range(rules, product(), Money("5000"), Decimal("0.18"), ON)
    assert priced == 10  # one offer per term, 3 to 12 periods
    assert rules.priced == priced
    assert again == first
    assert first is not None and first.low <= first.high


def test_a_different_rate_size_date_or_rule_set_is_priced_afresh() -> None:
    rules = CountingRulebook()
    base = apr_range(rules, product(), Money("5000"), Decimal("0.18"), ON)
    cheaper = apr_range(rules, product(), Money("5000"), Decimal("0.12"), ON)
    apr_range(rules, product(), Money("8000"), Decimal("0.18"), ON)
    apr_range(rules, product(), Money("5000"), Decimal("0.18"), date(2025, 6, 2))
    assert rules.priced == 40
    assert base is not None and cheaper is not None and cheaper.high < base.low
    other = CountingRulebook()
    assert apr_range(other, product(), Money("5000"), Decimal("0.18"), ON) == base
    assert other.priced == 10
