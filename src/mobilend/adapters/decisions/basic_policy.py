"""A basic credit policy behind the ``DecisionEngine`` port, for when the scoring engine
(policy files, PD model, paid data sources) is not configured.

It decides from what the application itself says — age from the verified resident ID
and the declared monthly income — with fixed, published rules, and says why:

* age outside 20–55 → decline ``AGE_OUTSIDE_POLICY``;
* no income declared → refer ``INCOME_UNVERIFIED``;
* income below CNY 3,000 a month → decline ``INCOME_BELOW_MINIMUM``;
* otherwise approve a limit of three months' income, in whole hundreds, between
  CNY 1,000 and CNY 50,000, priced by income tier (21 % / 18 % / 15 % / 12 % a year),
  valid for a year.

It buys no bureau report and scores nothing: a lender must not run real credit on it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from mobilend.domain.borrowers import age_on
from mobilend.domain.decisions import Applicant, CreditDecision, DecisionOutcome, DecisionReason
from mobilend.domain.money import Money

POLICY_VERSION = "basic-policy-1"
MIN_AGE, MAX_AGE = 20, 55
MIN_INCOME = Money("3000")
MIN_LIMIT, MAX_LIMIT = Money("1000"), Money("50000")
INCOME_MULTIPLE = 3
LINE_DAYS = 365
#: (monthly income at least, annual rate), richest first.
PRICE_TIERS = (
    (Money("20000"), Decimal("0.12")),
    (Money("10000"), Decimal("0.15")),
    (Money("5000"), Decimal("0.18")),
    (Money("0"), Decimal("0.21")),
)

REASONS = {
    "AGE_OUTSIDE_POLICY": (
        f"年龄不在{MIN_AGE}至{MAX_AGE}周岁之间",
        f"age is outside {MIN_AGE}-{MAX_AGE}",
    ),
    "INCOME_UNVERIFIED": ("未申报月收入，需人工审核", "no income declared; referred for review"),
    "INCOME_BELOW_MINIMUM": (
        "月收入低于3000元",
        "monthly income is below CNY 3,000",
    ),
    "IDENTITY_INCOMPLETE": ("实名信息不完整", "identity details are incomplete"),
}


def _reason(code: str) -> DecisionReason:
    zh, en = REASONS[code]
    return DecisionReason(code, zh, en)


class BasicPolicyEngine:
    """Implements ``DecisionEngine`` with the rules in this module's docstring."""

    def decide(self, applicant: Applicant, on: dt.date) -> CreditDecision:
        decision_id = f"BAS-{applicant.application_id}"
        versions = {"engine": "basic", "policy": POLICY_VERSION}

        def refuse(outcome: DecisionOutcome, code: str) -> CreditDecision:
            return CreditDecision(
                decision_id, outcome, None, None, None, (_reason(code),), versions
            )

        if applicant.birth_date is None:
            return refuse(DecisionOutcome.REFER, "IDENTITY_INCOMPLETE")
        if not MIN_AGE <= age_on(applicant.birth_date, on) <= MAX_AGE:
            return refuse(DecisionOutcome.DECLINE, "AGE_OUTSIDE_POLICY")
        income = applicant.monthly_income
        if income is None:
            return refuse(DecisionOutcome.REFER, "INCOME_UNVERIFIED")
        if income < MIN_INCOME:
            return refuse(DecisionOutcome.DECLINE, "INCOME_BELOW_MINIMUM")
        hundreds = (income.amount * INCOME_MULTIPLE) // 100 * 100
        limit = max(MIN_LIMIT, min(MAX_LIMIT, Money(hundreds, income.currency)))
        rate = next(r for floor, r in PRICE_TIERS if income >= floor)
        return CreditDecision(
            decision_id,
            DecisionOutcome.APPROVE,
            limit,
            rate,
            on + dt.timedelta(days=LINE_DAYS),
            (),
            versions,
        )
