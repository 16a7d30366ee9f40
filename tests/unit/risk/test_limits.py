"""Limits (each cap can bind; rounded down to 100; below minimum → no offer), pricing
under the cost cap, and line reviews (lower/freeze at once, raise only by consent)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mobilend.domain.compliance import CostCap, CostCapPolicy
from mobilend.domain.decisions import CreditDecision, DecisionOutcome, DecisionReason, ReviewAction
from mobilend.domain.money import Money
from mobilend.risk.limits import LimitInputs, annuity_principal, compute_limit, round_down
from mobilend.risk.line_review import review_line
from mobilend.risk.policy import PolicyBook
from mobilend.risk.pricing import price_for_band

BOOK = PolicyBook()
CASH = BOOK.get("cash").params
PHONE = BOOK.get("phone").params
SME = BOOK.get("sme").params


def inputs(**changes) -> LimitInputs:
    base = LimitInputs(
        band_limit=Money("30000"),
        product_max=CASH.product_max,
        min_limit=CASH.min_limit,
        affordability=CASH.affordability,
        annual_rate=Decimal("0.144"),
        term_months=12,
        monthly_income=Money("20000"),
        monthly_debt_service=Money("0"),
    )
    return replace(base, **changes)


def test_round_down_to_hundreds() -> None:
    assert round_down(Money("12399.99")) == Money("12300")
    assert round_down(Money("12300")) == Money("12300")
    assert round_down(Money("99.99")) == Money("0")
    assert round_down(Money("-5")) == Money("0")


def test_annuity_principal_matches_the_closed_form() -> None:
    # 1,000 a month for 12 months at 12 % nominal: PV = 1000 × (1 − 1.01^−12) / 0.01
    assert annuity_principal(Money("1000"), Decimal("0.12"), 12).round() == Money("11255.08")
    assert annuity_principal(Money("1000"), Decimal("0"), 12) == Money("12000")
    assert annuity_principal(Money("-5"), Decimal("0.12"), 12) == Money("0")


def test_score_band_binds_when_everything_else_is_generous() -> None:
    result = compute_limit(inputs())
    assert (result.limit, result.binding, result.reason_code) == (
        Money("30000"),
        "score_band",
        "LIMIT_BY_SCORE_BAND",
    )


def test_affordability_binds_with_low_income_or_heavy_debts() -> None:
    low = compute_limit(inputs(monthly_income=Money("3000")))
    # 3000 × 0.5 = 1500 a month, PV over 12 months at 14.4 % = 16,671.22 ≤ 6 × income = 18,000
    assert (low.binding, low.limit) == ("affordability", Money("16600"))
    indebted = compute_limit(
        inputs(monthly_income=Money("3000"), monthly_debt_service=Money("1000"))
    )
    assert indebted.binding == "affordability" and indebted.limit < low.limit
    multiple = compute_limit(inputs(monthly_income=Money("3000"), term_months=36))
    assert (multiple.binding, multiple.limit) == ("affordability", Money("18000"))  # 6 × income


def test_existing_debts_can_leave_nothing_to_offer() -> None:
    result = compute_limit(inputs(monthly_income=Money("3000"), monthly_debt_service=Money("1500")))
    assert result.below_minimum and result.limit == Money("0")


def test_regulatory_cap_counts_the_borrowers_other_lines() -> None:
    result = compute_limit(
        inputs(band_limit=Money("200000"), product_max=Money("200000"), monthly_income=Money("90000"),
               existing_exposure=Money("185550"))
    )  # fmt: skip
    assert (result.binding, result.limit) == ("regulatory_cap", Money("14400"))
    full = compute_limit(inputs(existing_exposure=Money("200000")))
    assert full.below_minimum


def test_product_max_binds() -> None:
    result = compute_limit(inputs(band_limit=Money("80000"), monthly_income=Money("90000")))
    assert (result.binding, result.limit) == ("product_max", Money("50000"))


def test_phone_instalment_is_limited_by_the_purchase_price() -> None:
    result = compute_limit(
        inputs(affordability=PHONE.affordability, product_max=PHONE.product_max, band_limit=Money("15000"),
               purchase_price=Money("6999"))
    )  # fmt: skip
    assert (result.binding, result.limit) == ("purchase_price", Money("6200"))  # 90 % of 6,999


def test_small_business_limit_follows_turnover() -> None:
    base = inputs(affordability=SME.affordability, product_max=SME.product_max, band_limit=Money("150000"),
                  min_limit=SME.min_limit, monthly_income=None)  # fmt: skip
    no_turnover = compute_limit(base)
    assert not no_turnover.affordability_known
    small = compute_limit(replace(base, monthly_turnover=Money("60000")))
    big = compute_limit(replace(base, monthly_turnover=Money("600000")))
    assert small.binding == "turnover" and small.limit < big.limit
    # 60,000 × 15 % margin × 50 % = 4,500 a month over 12 months at 14.4 %
    assert small.limit == round_down(annuity_principal(Money("4500"), Decimal("0.144"), 12))
    assert big.binding == "score_band"


def test_market_factor_cuts_the_limit_and_says_so() -> None:
    normal = compute_limit(inputs())
    stressed = compute_limit(inputs(market_factor=Decimal("0.8")))
    assert stressed.limit == Money("24000") and stressed.market_cut and not normal.market_cut


def test_unknown_income_is_reported_not_guessed() -> None:
    result = compute_limit(inputs(monthly_income=None))
    assert not result.affordability_known and "affordability" not in result.candidates


@given(
    band=st.integers(0, 300_000),
    income=st.one_of(st.none(), st.integers(0, 200_000)),
    debt=st.integers(0, 50_000),
    exposure=st.integers(0, 250_000),
    term=st.integers(1, 60),
    rate_bp=st.integers(0, 2400),
    factor_pct=st.integers(1, 100),
)
def test_limit_never_exceeds_any_cap_and_is_a_multiple_of_100(
    band, income, debt, exposure, term, rate_bp, factor_pct
) -> None:
    result = compute_limit(
        inputs(band_limit=Money(band), monthly_income=None if income is None else Money(income),
               monthly_debt_service=Money(debt), existing_exposure=Money(exposure), term_months=term,
               annual_rate=Decimal(rate_bp) / 10_000, market_factor=Decimal(factor_pct) / 100)
    )  # fmt: skip
    assert result.limit.amount % 100 == 0 and not result.limit.is_negative()
    for cap in result.candidates.values():
        assert result.limit <= cap
    assert result.limit <= Money("200000") - Money(exposure) or result.limit.is_zero()
    assert result.below_minimum == result.limit.is_zero()


def test_price_is_the_band_rate_under_the_cap() -> None:
    on = dt.date(2026, 11, 2)
    assert price_for_band(
        Decimal("0.18"), licence_type="micro-lender", on=on
    ).annual_rate == Decimal("0.18")
    capped = price_for_band(Decimal("0.30"), licence_type="micro-lender", on=on)
    assert (capped.annual_rate, capped.capped) == (Decimal("0.24"), True)
    tighter = CostCapPolicy(
        [CostCap(Decimal("0.24")), CostCap(Decimal("0.15"), "micro-lender", dt.date(2026, 7, 1))]
    )
    before = price_for_band(
        Decimal("0.18"), licence_type="micro-lender", on=dt.date(2026, 6, 30), cost_caps=tighter
    )
    after = price_for_band(Decimal("0.18"), licence_type="micro-lender", on=on, cost_caps=tighter)
    assert before.annual_rate == Decimal("0.18") and after.annual_rate == Decimal("0.15")


def decision(outcome: str, limit: str | None) -> CreditDecision:
    reason = (
        (DecisionReason("KO_CURRENT_OVERDUE", "当前逾期", "overdue"),)
        if outcome == "decline"
        else ()
    )
    return CreditDecision(
        "D1",
        DecisionOutcome(outcome),
        Money(limit) if limit else None,
        Decimal("0.18"),
        None,
        reason,
    )


@pytest.mark.parametrize(
    ("outcome", "offered", "action", "in_force", "proposed", "consent"),
    [
        ("decline", None, ReviewAction.FREEZE, "20000", None, False),
        ("approve", "12000", ReviewAction.LOWER, "12000", None, False),
        ("refer", "15000", ReviewAction.LOWER, "15000", None, False),
        ("approve", "30000", ReviewAction.PROPOSE_INCREASE, "20000", "30000", True),
        ("refer", "30000", ReviewAction.KEEP, "20000", None, False),
        ("approve", "20050", ReviewAction.KEEP, "20000", None, False),
        ("approve", "0", ReviewAction.FREEZE, "20000", None, False),
    ],
)
def test_line_review(outcome, offered, action, in_force, proposed, consent) -> None:
    review = review_line(Money("20000"), decision(outcome, offered))
    assert review.action == action
    assert review.new_limit == Money(in_force)
    assert review.proposed_limit == (Money(proposed) if proposed else None)
    assert review.requires_consent is consent
    assert review.decision_id == "D1"
    if outcome == "decline":
        assert review.reasons[0].code == "KO_CURRENT_OVERDUE"
