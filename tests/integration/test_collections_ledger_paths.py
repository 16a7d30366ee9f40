"""Collections paths one after another on one loan — a hardship plan (with or without an
overpayment held as credit), then the plan kept, settled for its principal, or broken,
aged and written off with a recovery — and the whole book verified after every step
(``mobilend ledger verify``: loans and lines rebuilt from the postings). The settlement
path found lines keeping a settled loan's waived principal as used."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from tests.integration.collections_fixtures import build_world, case_for_loan, overdue_loan
from tests.integration.servicing_fixtures import *  # noqa: F403
from tests.integration.servicing_fixtures import LoanSpec, stored_loan

from mobilend.app.collections.cases import sync_cases
from mobilend.app.collections.resolutions import (
    decide,
    pay_settlement,
    propose_plan,
    propose_settlement,
    propose_write_off,
    record_recovery,
    review_resolutions,
)
from mobilend.app.lending.repayments import post_repayment
from mobilend.bootstrap.ledger import verify_book
from mobilend.domain.collections import PlanInstalment
from mobilend.domain.errors import ValidationFailed
from mobilend.domain.money import Money

pytestmark = pytest.mark.db
DAY = dt.timedelta(days=1)


def check(db: sa.Engine, label: str) -> None:
    report = verify_book(db)
    assert report.clean, (label, report.mismatches)


@pytest.mark.parametrize("overpay", [False, True])
@pytest.mark.parametrize("ending", ["broken_writeoff", "settle", "keep"])
def test_the_book_verifies_after_every_step(db, clock, vault, overpay, ending) -> None:  # type: ignore[no-untyped-def]
    w = build_world(db, clock, vault)
    on = overdue_loan(w, "l-p", "b-p", dpd=40, spec=LoanSpec())
    sync_cases(w.desk, on)
    case = case_for_loan(w, "l-p")
    loan = stored_loan(w.wired, "l-p")
    owed = loan.receivables
    parts = (owed.principal + owed.fees).allocate([1, 1, 1])
    plan = [PlanInstalment(on + (7 + 30 * n) * DAY, p) for n, p in enumerate(parts)]
    proposal = propose_plan(w.desk, case.case_id, instalments=plan, on=on, actor="staff:a")
    decide(w.desk, proposal.resolution_id, approve=True, on=on, actor="staff:m")
    check(db, "plan")
    lending = w.wired.lending
    if overpay:
        post_repayment(
            lending.uow_factory,
            lending.new_id,
            loan_id="l-p",
            amount=parts[0] + Money("123.45"),
            on=on + DAY,
            idempotency_key="over",
            channel="transfer",
        )
        check(db, "overpay")
    day = on + DAY
    for _ in range(3):
        day += 10 * DAY
        w.wired.eod.run(day)
        sync_cases(w.desk, day)
        review_resolutions(w.desk, day)
        check(db, f"eod {day}")
    if ending == "keep":
        post_repayment(
            lending.uow_factory,
            lending.new_id,
            loan_id="l-p",
            amount=parts[1],
            on=day,
            idempotency_key="k2",
            channel="transfer",
        )
        check(db, "keep")
        return
    if ending == "settle":
        case = case_for_loan(w, "l-p")
        loan = stored_loan(w.wired, "l-p")
        amount = loan.receivables.principal.round()
        owed = loan.receivables.total - loan.held_credit
        if amount > owed:
            # The overpayment held for the borrower counts against what is owed: a
            # settlement for the whole principal would ask for more than that.
            assert overpay and loan.held_credit.is_positive()
            with pytest.raises(ValidationFailed, match="exceeds what is owed"):
                propose_settlement(w.desk, case.case_id, amount=amount, on=day, actor="staff:a")
            amount = owed
        offer = propose_settlement(w.desk, case.case_id, amount=amount, on=day, actor="staff:a")
        decide(w.desk, offer.resolution_id, approve=True, on=day, actor="staff:m")
        pay_settlement(
            w.desk, offer.resolution_id, amount=offer.amount, on=day, idempotency_key="s"
        )
        check(db, "settled")
        return
    for _ in range(20):
        day += 10 * DAY
        w.wired.eod.run(day)
        sync_cases(w.desk, day)
        review_resolutions(w.desk, day)
    check(db, "aged")
    case = case_for_loan(w, "l-p")
    wo = propose_write_off(w.desk, case.case_id, on=day, actor="system:collections")
    decide(w.desk, wo.resolution_id, approve=True, on=day, actor="staff:m")
    check(db, "written off")
    record_recovery(w.desk, case.case_id, amount=Money("100.00"), on=day + DAY, idempotency_key="r")
    check(db, "recovered")
    w.wired.eod.run(day + 5 * DAY)
    check(db, "eod after write-off")
