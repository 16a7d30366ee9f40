"""A hardship plan reschedules the loan when a second person approves it: the plan's
instalments replace the unsettled installments, principal stays exact to the fen, the
concession is posted through the ledger, interest and penalty stop while the plan is
kept, a plan costing more than the cap is refused, and a missed instalment breaks the
plan and puts the case back to work. Figures by hand below.

The loan: 9,000.00 over 3 × 30 days at 12 % (ACT/360), equal principal: 3,000.00 and
interest 90.00, 60.00, 30.00, due 2026-01-31, 03-02, 04-01; penalty 18 % a year after
3 days' grace. On 2026-03-12 (end of day run) installment 1 is 40 days past due and
installment 2 ten:
- interest recognised: 90.00 + 60.00 + 30.00 × 11/30 = 161.00;
- penalty: 3,000.00 × 18 % / 360 per day, for days 4–40 of installment 1 (37) and days
  4–10 of installment 2 (7): 44 × 1.50 = 66.00;
- owed: 9,000.00 + 161.00 + 66.00 = 9,227.00.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from tests.integration.collections_fixtures import build_world, case_for_loan, overdue_loan
from tests.integration.servicing_fixtures import *  # noqa: F403  (fixtures)
from tests.integration.servicing_fixtures import (
    LoanSpec,
    assert_ledger_matches,
    stored_loan,
    trial_balance_is_zero,
)

from mobilend.api.views import loan_out
from mobilend.app.collections.cases import sync_cases
from mobilend.app.collections.resolutions import decide, propose_plan, review_resolutions
from mobilend.app.journey.loans import loan_view
from mobilend.app.lending.repayments import post_repayment
from mobilend.bootstrap.ledger import verify_book
from mobilend.domain.collections import ApprovalStatus, CaseStatus, PlanInstalment
from mobilend.domain.collections_reschedule import plan_cost_apr
from mobilend.domain.compliance import AprAboveCap
from mobilend.domain.money import Money

pytestmark = pytest.mark.db

DAY = dt.timedelta(days=1)
ON = dt.date(2026, 3, 12)


def plan(*rows: tuple[int, str]) -> list[PlanInstalment]:
    return [PlanInstalment(ON + days * DAY, Money(amount)) for days, amount in rows]


def postings(db: sa.Engine, loan_id: str, account: str) -> int:
    with db.connect() as conn:
        return int(
            conn.execute(
                sa.text(
                    "SELECT coalesce(sum(amount_minor), 0) FROM postings"
                    " WHERE loan_id = :l AND account = :a"
                ),
                {"l": loan_id, "a": account},
            ).scalar_one()
        )


@pytest.fixture
def world(db: sa.Engine, clock, vault):  # type: ignore[no-untyped-def]
    w = build_world(db, clock, vault)
    assert overdue_loan(w, "l-h", "b-h", dpd=40, spec=LoanSpec()) == ON
    sync_cases(w.desk, ON)
    return w


def test_the_owed_figures_are_the_hand_computed_ones(world) -> None:  # type: ignore[no-untyped-def]
    loan = stored_loan(world.wired, "l-h")
    owed = loan.receivables
    assert (owed.principal, owed.interest, owed.penalty) == (
        Money("9000.00"), Money("161.00"), Money("66.00"),
    )  # fmt: skip


def test_an_approved_plan_replaces_the_schedule_through_the_ledger(world, db) -> None:  # type: ignore[no-untyped-def]
    case = case_for_loan(world, "l-h")
    # 9,200.00: the 27.00 short of 9,227.00 is waived from penalty (66.00 → 39.00).
    proposal = propose_plan(
        world.desk, case.case_id, on=ON, actor="staff:a-1",
        instalments=plan((30, "3100.00"), (60, "3100.00"), (90, "3000.00")),
    )  # fmt: skip
    assert stored_loan(world.wired, "l-h").installments[-1].n == 3  # nothing moves yet
    decide(world.desk, proposal.resolution_id, approve=True, on=ON, actor="staff:mgr")

    loan = stored_loan(world.wired, "l-h")
    rows = [
        (i.n, i.due_date, i.principal_due, i.interest_scheduled, i.penalty, i.fees_due)
        for i in loan.installments
    ]
    # Nothing was paid, so installments 1–3 are gone; the plan's are 4–6. The first
    # carries penalty and interest first (the product's order), then principal.
    assert rows == [
        (4, ON + 30 * DAY, Money("2900.00"), Money("161.00"), Money("39.00"), Money("0.00")),
        (5, ON + 60 * DAY, Money("3100.00"), Money("0.00"), Money("0.00"), Money("0.00")),
        (6, ON + 90 * DAY, Money("3000.00"), Money("0.00"), Money("0.00"), Money("0.00")),
    ]
    assert sum((i.principal_due for i in loan.installments), Money("0")) == Money("9000.00")
    # The borrower's loan page (the API's view of the loan) shows the new schedule.
    with world.wired.lending.uow_factory() as uow:
        page = loan_out(loan_view(uow, uow.lending.loans.get("l-h"), ON))
    assert [
        (line.n, line.due_date, line.status, line.remaining.amount_fen) for line in page.schedule
    ] == [
        (4, ON + 30 * DAY, "scheduled", 310000),
        (5, ON + 60 * DAY, "scheduled", 310000),
        (6, ON + 90 * DAY, "scheduled", 300000),
    ]
    assert loan.receivables.total == Money("9200.00") and loan.dpd == 0
    # The concession: penalty income given back (Dr income, Cr receivable), 27.00.
    assert postings(db, "l-h", "penalty_income") == -6600 + 2700
    assert postings(db, "l-h", "penalty_receivable") == 6600 - 2700
    assert_ledger_matches(world.wired, "l-h")
    assert trial_balance_is_zero(db)

    # End of day runs on: no interest (recognised in full) and no penalty (nothing past
    # due) while the plan is kept; the case stays in arrangement, not cured.
    world.wired.eod.run(ON + 20 * DAY)
    sync_cases(world.desk, ON + 20 * DAY)
    later = stored_loan(world.wired, "l-h")
    assert later.receivables.total == Money("9200.00")
    assert case_for_loan(world, "l-h").status is CaseStatus.ARRANGEMENT

    # The first instalment is paid on its day; the second is missed: after its grace the
    # plan is broken, the case back at work, and penalty runs again on its principal.
    post_repayment(
        world.wired.lending.uow_factory, world.wired.lending.new_id, loan_id="l-h",
        amount=Money("3100.00"), on=ON + 30 * DAY, idempotency_key="plan-1", channel="transfer",
    )  # fmt: skip
    world.wired.eod.run(ON + 65 * DAY)
    sync_cases(world.desk, ON + 65 * DAY)
    review = review_resolutions(world.desk, ON + 65 * DAY)
    assert review.plans_broken == 1
    case = case_for_loan(world, "l-h")
    assert case.status is CaseStatus.OPEN and case.dpd == 5
    # Days 4 and 5 after 05-11: 2 × 3,100.00 × 18 % / 360 = 3.10.
    assert stored_loan(world.wired, "l-h").receivables.penalty == Money("3.10")
    assert_ledger_matches(world.wired, "l-h")
    verified = verify_book(db)
    assert verified.clean, verified.mismatches


def test_a_plan_costing_more_than_the_cap_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    case = case_for_loan(world, "l-h")
    # All 9,227.00 in ten days: ((9227 / 9000) ^ (1/10) − 1) × 365 ≈ 91.0 % > 24 %.
    costly = plan((10, "9227.00"))
    assert plan_cost_apr(Money("9000.00"), costly, ON).quantize(Decimal("0.001")) == Decimal(
        "0.910"
    )
    with pytest.raises(AprAboveCap):
        propose_plan(world.desk, case.case_id, on=ON, actor="staff:a-1", instalments=costly)
    # The same money over three months costs about 12 %, within the cap.
    fair = plan((30, "3100.00"), (60, "3100.00"), (90, "3027.00"))
    assert Decimal("0.10") < plan_cost_apr(Money("9000.00"), fair, ON) < Decimal("0.24")
    proposal = propose_plan(world.desk, case.case_id, on=ON, actor="staff:a-1", instalments=fair)
    assert proposal.status is ApprovalStatus.PROPOSED


def test_a_plan_below_principal_and_fees_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    from mobilend.domain.errors import ValidationFailed

    case = case_for_loan(world, "l-h")
    with pytest.raises(ValidationFailed) as caught:
        propose_plan(
            world.desk, case.case_id, on=ON, actor="staff:a-1",
            instalments=plan((7, "400.00"), (37, "400.00")),
        )  # fmt: skip
    assert "9000.00" in caught.value.problems[0].message


def test_a_partly_paid_installment_keeps_its_payments_and_principal_stays_exact(world, db) -> None:  # type: ignore[no-untyped-def]
    # 1,000.00 paid first goes to installment 1 (penalty 55.50, interest 90.00, then
    # principal 854.50): left are principal 8,145.50, interest 71.00, penalty 10.50.
    post_repayment(
        world.wired.lending.uow_factory, world.wired.lending.new_id, loan_id="l-h",
        amount=Money("1000.00"), on=ON, idempotency_key="before-plan", channel="transfer",
    )  # fmt: skip
    case = case_for_loan(world, "l-h")
    # 8,200.00 against 8,227.00: 27.00 waived, penalty 10.50 then interest 16.50.
    proposal = propose_plan(
        world.desk, case.case_id, on=ON, actor="staff:a-1",
        instalments=plan((30, "4100.00"), (60, "4100.00")),
    )  # fmt: skip
    decide(world.desk, proposal.resolution_id, approve=True, on=ON, actor="staff:mgr")
    loan = stored_loan(world.wired, "l-h")
    rows = [
        (i.n, i.principal_due, i.interest_scheduled, i.penalty, i.paid.total, i.is_settled)
        for i in loan.installments
    ]
    assert rows == [
        (1, Money("854.50"), Money("90.00"), Money("55.50"), Money("1000.00"), True),
        (4, Money("4045.50"), Money("54.50"), Money("0.00"), Money("0.00"), False),
        (5, Money("4100.00"), Money("0.00"), Money("0.00"), Money("0.00"), False),
    ]
    assert sum((i.principal_due for i in loan.installments), Money("0")) == Money("9000.00")
    assert postings(db, "l-h", "interest_income") == -(16100 - 1650)
    assert postings(db, "l-h", "penalty_income") == -(6600 - 1050)
    assert_ledger_matches(world.wired, "l-h")
    verified = verify_book(db)
    assert verified.clean, verified.mismatches


def test_approving_a_plan_after_the_case_was_cured_is_a_clean_refusal(world) -> None:  # type: ignore[no-untyped-def]
    from mobilend.app.collections.resolutions import CaseAlreadyClosed

    case = case_for_loan(world, "l-h")
    proposal = propose_plan(
        world.desk, case.case_id, on=ON, actor="staff:a-1",
        instalments=plan((30, "3100.00"), (60, "3100.00"), (90, "3000.00")),
    )  # fmt: skip
    # Before the manager looks, the borrower pays everything past due: the case closes.
    before = stored_loan(world.wired, "l-h")
    post_repayment(
        world.wired.lending.uow_factory, world.wired.lending.new_id, loan_id="l-h",
        amount=before.overdue_amounts(ON + DAY).total, on=ON, idempotency_key="cure",
        channel="transfer",
    )  # fmt: skip
    world.wired.eod.run(ON + DAY)
    sync_cases(world.desk, ON + DAY)

    def status() -> CaseStatus:
        with world.desk.uow_factory() as uow:
            return uow.collections.cases.get(case.case_id).status

    assert status() is CaseStatus.CLOSED
    schedule = [(i.n, i.due_date) for i in stored_loan(world.wired, "l-h").installments]

    with pytest.raises(CaseAlreadyClosed) as refused:
        decide(world.desk, proposal.resolution_id, approve=True, on=ON + DAY, actor="staff:mgr")
    assert refused.value.code == "case_closed"
    assert "案件已结案" in refused.value.message and "is closed" in refused.value.message
    # Nothing moved: the schedule is the loan's own, the proposal still waits.
    assert [(i.n, i.due_date) for i in stored_loan(world.wired, "l-h").installments] == schedule
    assert status() is CaseStatus.CLOSED
    with world.desk.uow_factory() as uow:
        assert uow.collections.resolutions.get(proposal.resolution_id).status is (
            ApprovalStatus.PROPOSED
        )
    assert_ledger_matches(world.wired, "l-h")
