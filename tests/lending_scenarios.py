"""Lending scenarios shared by the in-memory (tests/app) and PostgreSQL (tests/integration) suites.

The same use cases run over both; each scenario checks the ledger after every step.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from mobilend.app.lending.lines import open_credit_line
from mobilend.app.lending.products import create_product
from mobilend.bootstrap.lending import Lending
from mobilend.domain.ledger import loan_balances
from mobilend.domain.lines import CreditLine
from mobilend.domain.money import Money
from mobilend.domain.products import LoanProduct

CASH_PRODUCT = {
    "code": "cash-12m",
    "name": "现金贷 12 期",
    "min_amount": "500.00",
    "max_amount": "50000.00",
    "min_periods": 3,
    "max_periods": 12,
    "annual_rate": "0.18",
    "method": "equal-installment",
    "penalty_rate": "0.05",  # 18 % + 5 % stays within the 24 % cost cap
    "penalty_grace_days": 3,
}

OPENED_ON = dt.date(2026, 1, 15)


def make_product(lending: Lending, **overrides: object) -> LoanProduct:
    return create_product(
        lending.uow_factory,
        {**CASH_PRODUCT, **overrides},
        on=OPENED_ON,
        cost_caps=lending.cost_caps,
    )


def make_line(
    lending: Lending,
    borrower_id: str = "b-1",
    limit: str = "20000.00",
    product_code: str = "cash-12m",
) -> CreditLine:
    with lending.uow_factory() as uow:
        uow.lending.borrowers.ensure(borrower_id)
        uow.commit()
    return open_credit_line(
        lending.uow_factory,
        lending.cost_caps,
        lending.new_id,
        borrower_id=borrower_id,
        product_code=product_code,
        limit=Money(limit),
        opened_on=OPENED_ON,
        expires_on=OPENED_ON + dt.timedelta(days=365),
    )


def assert_ledger_consistent(lending: Lending, loan_id: str) -> None:
    """Every entry balanced, the whole ledger sums to zero, and the loan's balances rebuilt
    from its postings equal the balances the stored loan says it has."""
    with lending.uow_factory() as uow:
        trial = uow.lending.ledger.trial_balance()
        per_currency: dict[str, Decimal] = {}
        for (_, currency), amount in trial.items():
            per_currency[currency] = per_currency.get(currency, Decimal(0)) + amount.amount
        assert all(v == 0 for v in per_currency.values()), trial
        loan = uow.lending.loans.get(loan_id)
        rebuilt = loan_balances(uow.lending.ledger.entries_for_loan(loan_id), loan_id)
        assert rebuilt == loan.ledger_balances()
