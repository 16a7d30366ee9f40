"""The lending use-case suite again, on real PostgreSQL through the SQL repositories.

The test functions are the in-memory suite's (imported, so pytest collects them
here too); only the ``lending`` fixture differs. Extra checks below compare what
SQL stores with what the domain computes.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from tests.app.test_lending_use_cases import (  # noqa: F401  (collected here on PostgreSQL)
    test_draw_creates_loan_schedule_and_balanced_disbursement,
    test_draw_refuses_above_available_and_changes_nothing,
    test_offer_asked_above_the_cost_cap_is_priced_down_to_it,
    test_offer_whose_fees_alone_break_the_cap_is_refused,
    test_other_borrower_cannot_pay_or_draw,
    test_overdue_freezes_line_and_cure_unfreezes,
    test_overpayment_applied_at_end_of_day_restores_the_line,
    test_partial_prepayment_lowers_installment,
    test_repay_eod_payoff_journey_keeps_ledger_consistent,
)
from tests.lending_scenarios import OPENED_ON, make_line, make_product

from mobilend.app.lending.loans import draw_loan
from mobilend.bootstrap.lending import Lending, build_lending
from mobilend.domain.money import Money


@pytest.fixture
def lending(db: sa.Engine) -> Lending:
    platform = build_lending(engine=db)
    make_product(platform)
    return platform


def test_sql_balances_match_postings(lending: Lending) -> None:
    line = make_line(lending)
    loan = draw_loan(
        lending.uow_factory, lending.cost_caps, lending.new_id,
        line_id=line.line_id, amount=Money("3000.00"), periods=3, on=OPENED_ON,
    ).loan  # fmt: skip
    for day in range(1, 45):
        lending.eod.run(OPENED_ON + dt.timedelta(days=day))
    with lending.engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT outstanding_principal, interest_receivable, penalty_receivable, dpd "
                "FROM loans WHERE id = :id"
            ),
            {"id": loan.loan_id},
        ).one()
        posted = dict(
            conn.execute(
                sa.text(
                    "SELECT split_part(account, ':', 1), sum(amount_minor) FROM postings "
                    "WHERE loan_id = :id GROUP BY 1"
                ),
                {"id": loan.loan_id},
            ).all()
        )
    assert row.outstanding_principal == posted["loan_principal_receivable"]
    assert row.interest_receivable == posted.get("interest_receivable", 0)
    assert row.penalty_receivable == posted.get("penalty_receivable", 0)
    assert row.dpd > 0 and row.penalty_receivable > 0
