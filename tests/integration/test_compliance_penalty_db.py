"""When a lower cost cap comes into force after a loan was made, end of day lowers the
penalty it accrues so that APR + penalty stay within the cap in force that day — in
the set-based SQL end of day and in the domain's loan-by-loan one alike."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from tests.lending_scenarios import make_line, make_product

from mobilend.adapters.db.eod_runner import SqlEndOfDay
from mobilend.app.compliance.pricing import penalty_rate_on
from mobilend.app.lending.loans import draw_loan
from mobilend.bootstrap.lending import build_lending
from mobilend.domain.compliance import CostCap, CostCapPolicy
from mobilend.domain.ledger import Account
from mobilend.domain.loans import Loan
from mobilend.domain.money import Money

pytestmark = pytest.mark.db

OPENED = dt.date(2026, 1, 15)
CAP_FALLS = dt.date(2026, 2, 24)  # after the first installment (15 Feb) went overdue
RULES = CostCapPolicy(
    [
        CostCap(Decimal("0.24"), effective_until=CAP_FALLS - dt.timedelta(days=1)),
        CostCap(Decimal("0.20"), effective_from=CAP_FALLS),
    ]
)


def _penalty(loan: Loan) -> Money:
    return loan.ledger_balances().get(Account.PENALTY_RECEIVABLE, Money.zero())


def test_penalty_falls_with_the_cap_in_sql_and_domain_end_of_day(db: sa.Engine) -> None:
    platform = build_lending(engine=db)
    lending = dataclasses.replace(
        platform, cost_caps=RULES, eod=SqlEndOfDay(db, platform.new_id, rules=RULES)
    )
    make_product(lending)  # 18 % a year, penalty 5 %: 23 % within 24 %
    line = make_line(lending)
    drawn = draw_loan(
        lending.uow_factory, lending.cost_caps, lending.new_id,
        line_id=line.line_id, amount=Money("12000.00"), periods=12, on=OPENED,
    )  # fmt: skip
    as_drawn = Loan.from_state(drawn.loan.to_state())
    with lending.uow_factory() as uow:
        pricing = uow.compliance.pricing.get(drawn.loan.loan_id)
    assert pricing is not None and pricing.rulebook_version == RULES.version
    assert Decimal("0.18") < pricing.apr_for_cap < Decimal("0.20")

    last = CAP_FALLS + dt.timedelta(days=20)
    day = OPENED
    while day < last:
        day += dt.timedelta(days=1)
        lending.eod.run(day)
    with lending.uow_factory() as uow:
        in_sql = uow.lending.loans.get(drawn.loan.loan_id)

    contract = as_drawn.rules.penalty_rate
    capped = Loan.from_state(as_drawn.to_state())
    capped.accrue_to(last, None, penalty_rate_on(RULES, pricing, contract, capped.terms.day_count))
    uncapped = Loan.from_state(as_drawn.to_state())
    uncapped.accrue_to(last)

    assert _penalty(in_sql) == _penalty(capped)
    assert Money.zero() < _penalty(capped) < _penalty(uncapped)
    ceiling = RULES.penalty_rate_for(
        pricing.apr_for_cap, contract, capped.terms.day_count, "micro-lender", CAP_FALLS
    )
    assert ceiling < contract
    # Before the cap fell the contract's rate applied: the first days are the same.
    early = Loan.from_state(as_drawn.to_state())
    early.accrue_to(CAP_FALLS - dt.timedelta(days=1))
    early_capped = Loan.from_state(as_drawn.to_state())
    early_capped.accrue_to(
        CAP_FALLS - dt.timedelta(days=1),
        None,
        penalty_rate_on(RULES, pricing, contract, capped.terms.day_count),
    )
    assert _penalty(early) == _penalty(early_capped) > Money.zero()


def test_loan_by_loan_end_of_day_caps_the_penalty_too() -> None:
    lending = build_lending(in_memory=True)
    from mobilend.app.lending.eod import LoanByLoanEndOfDay

    lending = dataclasses.replace(
        lending,
        cost_caps=RULES,
        eod=LoanByLoanEndOfDay(lending.uow_factory, lending.new_id, rules=RULES),
    )
    make_product(lending)
    line = make_line(lending)
    drawn = draw_loan(
        lending.uow_factory, lending.cost_caps, lending.new_id,
        line_id=line.line_id, amount=Money("12000.00"), periods=12, on=OPENED,
    )  # fmt: skip
    uncapped = Loan.from_state(drawn.loan.to_state())
    last = CAP_FALLS + dt.timedelta(days=20)
    day = OPENED
    while day < last:
        day += dt.timedelta(days=1)
        lending.eod.run(day)
    uncapped.accrue_to(last)
    with lending.uow_factory() as uow:
        aged = uow.lending.loans.get(drawn.loan.loan_id)
    assert Money.zero() < _penalty(aged) < _penalty(uncapped)
    assert aged.rules.penalty_rate == uncapped.rules.penalty_rate  # the contract is unchanged
