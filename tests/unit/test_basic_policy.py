"""The basic credit policy (the decision engine used when the scoring engine is not
configured): its published rules, case by case."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from mobilend.adapters.decisions.basic_policy import BasicPolicyEngine
from mobilend.domain.decisions import Applicant
from mobilend.domain.money import Money

ON = dt.date(2026, 3, 2)


def applicant(
    birth: dt.date | None = dt.date(1990, 5, 1), income: str | None = "10000"
) -> Applicant:
    return Applicant(
        application_id="A1",
        borrower_id="B1",
        product_code="cash",
        full_name="王小明",
        national_id="110101199005011234",
        phone="+8613812345678",
        birth_date=birth,
        monthly_income=Money(income) if income is not None else None,
    )


@pytest.mark.parametrize(
    ("income", "limit", "rate"),
    [
        ("3000", "9000", "0.21"),
        ("4999.99", "14900", "0.21"),
        ("5000", "15000", "0.18"),
        ("10000", "30000", "0.15"),
        ("19999", "50000", "0.15"),
        ("20000", "50000", "0.12"),
    ],
)
def test_approval_limit_and_price_follow_income(income: str, limit: str, rate: str) -> None:
    decision = BasicPolicyEngine().decide(applicant(income=income), ON)
    assert decision.outcome == "approve"
    assert decision.limit == Money(limit)
    assert decision.annual_rate == Decimal(rate)
    assert decision.expires_on == ON + dt.timedelta(days=365)
    assert decision.reasons == ()
    assert decision.versions["engine"] == "basic"


@pytest.mark.parametrize(
    ("birth", "income", "outcome", "code"),
    [
        (dt.date(2007, 3, 3), "10000", "decline", "AGE_OUTSIDE_POLICY"),  # 18
        (dt.date(1970, 3, 1), "10000", "decline", "AGE_OUTSIDE_POLICY"),  # 56
        (dt.date(1990, 1, 1), "2999.99", "decline", "INCOME_BELOW_MINIMUM"),
        (dt.date(1990, 1, 1), None, "refer", "INCOME_UNVERIFIED"),
        (None, "10000", "refer", "IDENTITY_INCOMPLETE"),
    ],
)
def test_refusals_say_why(
    birth: dt.date | None, income: str | None, outcome: str, code: str
) -> None:
    decision = BasicPolicyEngine().decide(applicant(birth, income), ON)
    assert decision.outcome == outcome
    assert decision.limit is None and decision.annual_rate is None
    (reason,) = decision.reasons
    assert reason.code == code and reason.text_zh and reason.text_en


def test_age_bounds_are_inclusive() -> None:
    twenty_today = dt.date(2006, 3, 2)
    fifty_five_today = dt.date(1971, 3, 2)
    engine = BasicPolicyEngine()
    assert engine.decide(applicant(twenty_today), ON).outcome == "approve"
    assert engine.decide(applicant(fifty_five_today), ON).outcome == "approve"
    assert engine.decide(applicant(dt.date(2006, 3, 3)), ON).outcome == "decline"
