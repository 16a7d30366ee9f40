"""Bounced payoffs and partial prepayments on PostgreSQL: the loan goes back to where it
stood before the payment (schedule included), the ledger follows in one entry, penalty
runs again from the reversal date only, and the whole book verifies."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from tests.integration.sandbox_fixtures import *  # noqa: F403  (sandbox fixtures)
from tests.integration.servicing_fixtures import *  # noqa: F403  (fixtures)
from tests.integration.servicing_fixtures import (
    DAY,
    add_borrower,
    assert_ledger_matches,
    make_runtime,
    open_loan,
    stored_loan,
    trial_balance_is_zero,
)

from mobilend.app.lending.repayments import pay_off_loan, prepay_loan, quote_payoff
from mobilend.app.servicing.reversals import reverse_repayment
from mobilend.app.servicing.transfers import (
    TransferNotice,
    receive_transfer,
    repayment_reference,
)
from mobilend.bootstrap.ledger import verify_book
from mobilend.domain.errors import Conflict
from mobilend.domain.loans import LoanStatus
from mobilend.domain.money import Money

pytestmark = pytest.mark.db

D = dt.date(2026, 3, 10)
BANK = "cash:bank:collection"


def schedule_of(loan: object) -> list[dict[str, object]]:
    return [i.to_state() for i in loan.installments]  # type: ignore[attr-defined]


def line_used(wired: object, line_id: str) -> Money:
    with wired.desk.uow_factory() as uow:  # type: ignore[attr-defined]
        return uow.lending.lines.get(line_id).used_amount


def test_a_bounced_payoff_reopens_the_loan_with_penalty_from_the_reversal_date(
    db: sa.Engine, clock, vault
) -> None:
    wired = make_runtime(db, clock, vault)
    add_borrower(db, vault, "B1")
    # Installment 1 fell due on D - 10: overdue, past the 3 days' grace, penalty running.
    loan = open_loan(wired, "01jloan0000000000000000031", "B1", D - 40 * DAY)
    for day in range(40, 0, -1):
        wired.eod.run(D - day * DAY)
    before = stored_loan(wired, loan.loan_id)
    assert before.receivables.penalty.is_positive()
    used_before = line_used(wired, before.line_id)
    quote = quote_payoff(wired.lending.uow_factory, loan_id=loan.loan_id, on=D)
    receipt = pay_off_loan(
        wired.lending.uow_factory, wired.desk.new_id, loan_id=loan.loan_id,
        amount=quote.amount_due, on=D, idempotency_key="po-1", channel="bank_transfer",
        cash_account=BANK,
    )  # fmt: skip
    assert stored_loan(wired, loan.loan_id).status is LoanStatus.CLOSED
    assert line_used(wired, before.line_id) < used_before

    reversed_on = D + 10 * DAY
    reversal = reverse_repayment(
        wired.desk, loan_id=loan.loan_id, repayment_id=receipt.record.repayment_id,
        reason="recalled", on=reversed_on,
    )  # fmt: skip
    assert reversal.amount == quote.amount_due
    after = stored_loan(wired, loan.loan_id)
    assert after.status is LoanStatus.ACTIVE and after.closed_on is None
    assert schedule_of(after) == schedule_of(before)
    assert after.cash_received == before.cash_received
    assert after.receivables.penalty == before.receivables.penalty  # none backwards
    assert line_used(wired, before.line_id) == used_before
    assert_ledger_matches(wired, loan.loan_id)
    assert trial_balance_is_zero(db)
    with db.connect() as conn:
        bank = conn.execute(
            sa.text("SELECT coalesce(sum(amount_minor), 0) FROM postings WHERE account = :a"),
            {"a": BANK},
        ).scalar_one()
    assert bank == 0  # the cash went back out of the account it came into

    # End of day resumes on the reversal date: one day of penalty on the 3,000 overdue
    # (3,000 × 18 % / 360 = 1.50), and interest caught up by its absolute targets.
    wired.eod.run(reversed_on)
    resumed = stored_loan(wired, loan.loan_id)
    assert resumed.receivables.penalty - before.receivables.penalty == Money("1.50")
    assert resumed.installments[1].accrued > before.installments[1].accrued
    assert_ledger_matches(wired, loan.loan_id)
    report = verify_book(db)
    assert report.clean, report.mismatches


def test_a_bounced_prepayment_restores_the_schedule_unless_a_later_payment_stands(
    db: sa.Engine, clock, vault
) -> None:
    wired = make_runtime(db, clock, vault)
    add_borrower(db, vault, "B1")
    loan = open_loan(wired, "01jloan0000000000000000032", "B1", D - 20 * DAY)
    for day in range(20, 0, -1):
        wired.eod.run(D - day * DAY)
    before = stored_loan(wired, loan.loan_id)
    receipt = prepay_loan(
        wired.lending.uow_factory, wired.desk.new_id, loan_id=loan.loan_id,
        amount=Money("5000.00"), on=D, mode="lower_installment", idempotency_key="pp-1",
        channel="bank_transfer", cash_account=BANK,
    )  # fmt: skip
    prepaid = stored_loan(wired, loan.loan_id)
    assert prepaid.outstanding_principal < before.outstanding_principal
    assert schedule_of(prepaid) != schedule_of(before)
    for day in range(0, 5):
        wired.eod.run(D + day * DAY)

    # A later payment stands on the loan: the prepayment cannot be undone before it.
    later = receive_transfer(
        wired.desk,
        TransferNotice("BANK-L", Money("100.00"), D + 5 * DAY, repayment_reference(loan.loan_id)),
    )
    with pytest.raises(Conflict):
        reverse_repayment(
            wired.desk, loan_id=loan.loan_id, repayment_id=receipt.record.repayment_id,
            reason="recalled", on=D + 6 * DAY,
        )  # fmt: skip
    reverse_repayment(
        wired.desk, loan_id=loan.loan_id, repayment_id=later.repayment_id or "",
        reason="recalled", on=D + 6 * DAY,
    )  # fmt: skip
    reverse_repayment(
        wired.desk, loan_id=loan.loan_id, repayment_id=receipt.record.repayment_id,
        reason="recalled", on=D + 6 * DAY,
    )  # fmt: skip
    restored = stored_loan(wired, loan.loan_id)
    assert restored.outstanding_principal == before.outstanding_principal
    assert [i.principal_due for i in restored.installments] == [
        i.principal_due for i in before.installments
    ]
    assert [i.interest_scheduled for i in restored.installments] == [
        i.interest_scheduled for i in before.installments
    ]
    assert restored.cash_received == before.cash_received
    assert_ledger_matches(wired, loan.loan_id)
    wired.eod.run(D + 6 * DAY)
    assert_ledger_matches(wired, loan.loan_id)
    report = verify_book(db)
    assert report.clean, report.mismatches
