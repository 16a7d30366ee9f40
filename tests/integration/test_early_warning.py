"""Behaviour scores computed set-based in SQL equal the reference scorecard, and flag the
loans about to roll into the next bucket."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from tests.integration.servicing_fixtures import *  # noqa: F403  (fixtures)
from tests.integration.servicing_fixtures import (
    DAY,
    LoanSpec,
    add_borrower,
    make_runtime,
    open_loan,
    stored_loan,
)

from mobilend.app.lending.repayments import post_repayment
from mobilend.app.servicing.daily import ScoredByEndOfDay, prepare_next_day, score_loans
from mobilend.app.servicing.early_warning import (
    BehaviourSignals,
    behaviour_score,
    days_to_roll,
)
from mobilend.app.servicing.settings import EarlyWarningWeights
from mobilend.domain.money import Money

pytestmark = pytest.mark.db

D = dt.date(2026, 6, 30)


def failed_debits(db: sa.Engine, loan_id: str, borrower_id: str, days: list[int]) -> None:
    with db.begin() as conn:
        for k in days:
            conn.execute(
                sa.text(
                    "INSERT INTO autodebit_attempts (id, loan_id, borrower_id, business_date,"
                    " due_date, plan_day, amount, idempotency_key, status, failure_code)"
                    " VALUES (:id, :loan, :b, :day, :day, 0, 100, :id, 'failed',"
                    " 'insufficient_funds')"
                ),
                {"id": f"ad-{loan_id}-{k}", "loan": loan_id, "b": borrower_id, "day": D - k * DAY},
            )


def reference(wired, db, loan_id: str):  # type: ignore[no-untyped-def]
    """The signals as the scorecard defines them, from the stored loan and the records."""
    loan = stored_loan(wired, loan_id)
    late = [
        (i.settled_on - i.due_date).days
        for i in loan.installments
        if i.settled_on is not None and i.settled_on > i.due_date
    ]
    partial = sum(
        1 for i in loan.installments if i.due_date <= D and not i.is_settled and i.has_payment
    )
    upcoming = [i.due_date for i in loan.installments if not i.is_settled and i.due_date >= D]
    with db.connect() as conn:
        failed = conn.execute(
            sa.text(
                "SELECT count(*) FROM autodebit_attempts WHERE loan_id = :id AND status = 'failed'"
                " AND business_date > :d - 90 AND business_date <= :d"
            ),
            {"id": loan_id, "d": D},
        ).scalar_one()
        bureau = conn.execute(
            sa.text(
                "SELECT count(*) FROM bureau_changes WHERE borrower_id = :b"
                " AND observed_on > :d - 90 AND observed_on <= :d"
            ),
            {"b": loan.borrower_id, "d": D},
        ).scalar_one()
    signals = BehaviourSignals(
        dpd=loan.dpd,
        max_dpd=loan.max_dpd,
        late_installments=len(late),
        avg_days_late=sum(late) // len(late) if late else 0,
        partial_installments=partial,
        failed_debits=failed,
        bureau_events=bureau,
        days_to_roll=days_to_roll(loan.dpd, (min(upcoming) - D).days if upcoming else None),
    )
    return signals, behaviour_score(signals)


def open_book(db, clock, vault):  # type: ignore[no-untyped-def]
    """Four loans in different shapes of trouble, and their bureau events."""
    wired = make_runtime(db, clock, vault, partitions=1)
    for k, borrower in enumerate(("B-clean", "B-risky", "B-over", "B-deep")):
        add_borrower(db, vault, borrower, phone=f"1380000{k:04d}")
    spec = LoanSpec(principal="3000.00")
    open_loan(wired, "L-clean", "B-clean", D - 25 * DAY, spec)
    # Paid its first installment a week late; due again in 3 days; debits failing lately;
    # a new delinquency reported elsewhere.
    open_loan(wired, "L-risky", "B-risky", D - 57 * DAY, spec)
    post_repayment(
        wired.lending.uow_factory, wired.lending.new_id, loan_id="L-risky",
        amount=Money("1031.50"), on=D - 20 * DAY, idempotency_key="late",
    )  # fmt: skip
    failed_debits(db, "L-risky", "B-risky", [20, 21, 23, 120])
    # 25 days past due after a partial payment, six days from M2.
    open_loan(wired, "L-over", "B-over", D - 55 * DAY, spec)
    post_repayment(
        wired.lending.uow_factory, wired.lending.new_id, loan_id="L-over",
        amount=Money("100.00"), on=D - 20 * DAY, idempotency_key="part",
    )  # fmt: skip
    # 70 days past due: a high score, but three weeks from M4.
    open_loan(wired, "L-deep", "B-deep", D - 100 * DAY, spec)
    with wired.desk.uow_factory() as uow:
        uow.servicing.scores.add_bureau_change("B-risky", D - 5 * DAY, "new_delinquency")
        uow.servicing.scores.add_bureau_change("B-over", D - 30 * DAY, "score_drop")
        uow.servicing.scores.add_bureau_change("B-deep", D - 200 * DAY, "score_drop")  # too old
        uow.commit()
    return wired


def test_sql_scores_equal_the_reference_and_flag_loans_about_to_roll(db, clock, vault) -> None:
    wired = open_book(db, clock, vault)
    wired.eod.run(D)

    flagged = score_loans(wired.desk, D)
    assert flagged == 2
    with wired.desk.uow_factory() as uow:
        scores = {loan_id: uow.servicing.scores.get(loan_id) for loan_id in
                  ("L-clean", "L-risky", "L-over", "L-deep")}  # fmt: skip
        queue = [row.loan_id for row in uow.servicing.scores.roll_risk()]
    for loan_id, row in scores.items():
        signals, expected = reference(wired, db, loan_id)
        assert row is not None
        got = (row.score, row.band, row.roll_risk, row.bucket, row.next_bucket, row.days_to_roll)
        near = signals.days_to_roll if (signals.days_to_roll or 99) <= 7 else None
        want = (expected.score, expected.band, expected.roll_risk, expected.bucket,
                expected.next_bucket, near)  # fmt: skip
        assert got == want, loan_id
        assert (row.late_installments, row.avg_days_late, row.partial_installments,
                row.failed_debits, row.bureau_events) == (
            signals.late_installments, signals.avg_days_late, signals.partial_installments,
            signals.failed_debits, signals.bureau_events)  # fmt: skip
    assert scores["L-clean"].score == 0
    assert (scores["L-risky"].bucket, scores["L-risky"].days_to_roll) == ("C", 4)
    assert (scores["L-over"].bucket, scores["L-over"].next_bucket) == ("M1", "M2")
    assert scores["L-deep"].score > scores["L-over"].score and not scores["L-deep"].roll_risk
    assert sorted(queue) == ["L-over", "L-risky"]
    # Scoring the same date again changes nothing and writes nothing: no new row version
    # and no row lock (a lock is a write to the row's page, a night's worth for a book).
    before = score_row_versions(db)
    assert all(xmax == "0" for _, xmax in before.values())
    assert score_loans(wired.desk, D) == 2
    assert score_row_versions(db) == before
    # A bureau event changes one borrower's signals: that loan's row alone is written again.
    with wired.desk.uow_factory() as uow:
        uow.servicing.scores.add_bureau_change("B-clean", D, "new_delinquency")
        uow.commit()
    score_loans(wired.desk, D)
    after = score_row_versions(db)
    assert {k for k in before if after[k] != before[k]} == {"L-clean"}


def score_row_versions(db: sa.Engine) -> dict[str, tuple[str, str]]:
    with db.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT loan_id, xmin::text, xmax::text FROM loan_behaviour_scores")
        ).all()
    return {loan_id: (xmin, xmax) for loan_id, xmin, xmax in rows}


def test_end_of_day_scores_the_loans_it_ages_as_the_scoring_step_does(db, clock, vault) -> None:
    wired = open_book(db, clock, vault)
    # Drawn the next morning while the night still runs: already accrued through the
    # business date, end of day passes it by and leaves it to the scoring step.
    add_borrower(db, vault, "B-new", phone="13800000009")
    open_loan(wired, "L-new", "B-new", D + DAY, LoanSpec(principal="1000.00"))
    run = wired.eod.run_partition(D, 0, 1, score_weights=EarlyWarningWeights())
    assert run.left_to_score == ("L-new",) and run.flagged == 2
    counts = prepare_next_day(wired.desk, D, 0, 1, ScoredByEndOfDay(run.left_to_score, 2))
    assert counts["roll_risk"] == 2
    written = score_row_versions(db)
    assert set(written) == {"L-clean", "L-risky", "L-over", "L-deep", "L-new"}
    # The whole scoring step over every loan finds nothing to change: the scores end of
    # day wrote from what it had read are the ones the step computes from the tables.
    assert score_loans(wired.desk, D) == 2
    assert score_row_versions(db) == written
    for loan_id in ("L-clean", "L-risky", "L-over", "L-deep"):
        _, expected = reference(wired, db, loan_id)
        with wired.desk.uow_factory() as uow:
            row = uow.servicing.scores.get(loan_id)
        assert row is not None and (row.score, row.roll_risk) == (
            expected.score, expected.roll_risk), loan_id  # fmt: skip
