"""``mobilend ledger verify`` over real PostgreSQL: clean on a consistent book, and a
clear report with a non-zero exit on each kind of mismatch."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from tests.lending_scenarios import OPENED_ON, make_line, make_product
from typer.testing import CliRunner

from mobilend.app.lending.loans import draw_loan
from mobilend.app.lending.repayments import post_repayment
from mobilend.bootstrap.ledger import verify_book
from mobilend.bootstrap.lending import Lending, build_lending
from mobilend.cli.main import app
from mobilend.domain.ledger import EntryKind, JournalEntry, Posting
from mobilend.domain.money import Money


def _book(db: sa.Engine) -> tuple[Lending, str, str]:
    lending = build_lending(engine=db)
    make_product(lending)
    line = make_line(lending)
    loan = draw_loan(
        lending.uow_factory, lending.cost_caps, lending.new_id,
        line_id=line.line_id, amount=Money("3000.00"), periods=3, on=OPENED_ON,
    ).loan  # fmt: skip
    for day in range(1, 40):
        lending.eod.run(OPENED_ON + dt.timedelta(days=day))
    post_repayment(
        lending.uow_factory, lending.new_id, loan_id=loan.loan_id, amount=Money("1500.00"),
        on=OPENED_ON + dt.timedelta(days=40), idempotency_key="verify-1",
    )  # fmt: skip
    return lending, loan.loan_id, line.line_id


def test_a_consistent_book_verifies_clean(db: sa.Engine) -> None:
    _book(db)
    report = verify_book(db)
    assert report.clean, report.mismatches
    assert (report.loans, report.lines) == (1, 1)
    assert report.entries > 40 and report.postings > 2 * 40
    result = CliRunner().invoke(app, ["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "no mismatch" in result.output


def test_a_balanced_entry_that_misstates_a_loan_is_reported(db: sa.Engine) -> None:
    lending, loan_id, _ = _book(db)
    # Balanced (the database takes it), but nothing in the loan's state explains it.
    stray = JournalEntry(
        "stray-1",
        EntryKind.ADJUSTMENT,
        OPENED_ON + dt.timedelta(days=40),
        (
            Posting("interest_receivable", Money("0.01"), loan_id),
            Posting("interest_income", Money("-0.01"), loan_id),
        ),
        loan_id,
    )
    with lending.uow_factory() as uow:
        uow.lending.ledger.append([stray])
        uow.commit()
    report = verify_book(db)
    assert {(m.check, m.subject) for m in report.mismatches} == {("loan_balance", loan_id)}
    details = " ".join(m.detail for m in report.mismatches)
    assert "interest_receivable" in details and "interest_income" in details
    result = CliRunner().invoke(app, ["ledger", "verify"])
    assert result.exit_code == 1
    assert loan_id in result.output


def test_a_line_whose_used_amount_drifted_is_reported(db: sa.Engine) -> None:
    _, _, line_id = _book(db)
    with db.begin() as conn:
        conn.execute(
            sa.text("UPDATE credit_lines SET used = used + 100 WHERE id = :id"), {"id": line_id}
        )
    report = verify_book(db)
    assert [(m.check, m.subject) for m in report.mismatches] == [("line_used", line_id)]


def test_a_posting_without_its_entry_is_reported(db: sa.Engine) -> None:
    _book(db)
    with db.begin() as conn:
        # Bypasses the ledger rules on purpose (the ledger's own trigger is what stops
        # this in normal operation): the check must not trust that it never happens.
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        conn.execute(
            sa.text(
                "INSERT INTO postings (entry_id, account, amount_minor, currency) "
                "VALUES ('ghost', 'cash:own_pool', 5, 'CNY')"
            )
        )
    report = verify_book(db)
    checks = {m.check for m in report.mismatches}
    assert checks == {"entry_unbalanced", "currency_unbalanced"}


def test_insurer_fees_are_payable_to_the_insurer_through_set_based_end_of_day(
    db: sa.Engine,
) -> None:
    """The phone product's insurer fee: end of day (set-based SQL, which leaves such loans
    to the domain) books it as owed to the insurer, and the book verifies."""
    lending = build_lending(engine=db)
    insurer_fee = {"kind": "per-installment", "amount": "5.00", "rate": None, "payee": "insurer"}
    make_product(lending, fees=[insurer_fee], min_amount="3000.00", annual_rate="0.12")
    line = make_line(lending)
    loan = draw_loan(
        lending.uow_factory, lending.cost_caps, lending.new_id,
        line_id=line.line_id, amount=Money("3000.00"), periods=3, on=OPENED_ON,
    ).loan  # fmt: skip
    for day in range(1, 70):  # two installments fall due
        lending.eod.run(OPENED_ON + dt.timedelta(days=day))
    with db.connect() as conn:
        posted = dict(
            conn.execute(
                sa.text(
                    "SELECT account, sum(amount_minor) FROM postings WHERE loan_id = :l"
                    " AND account IN ('third_party_payable:insurer', 'fee_income')"
                    " GROUP BY account"
                ),
                {"l": loan.loan_id},
            ).all()
        )
    assert posted == {"third_party_payable:insurer": -1_000}  # 2 × 5.00, no fee income
    report = verify_book(db)
    assert report.clean, report.mismatches
