"""End of day through the job queue on PostgreSQL: a loan walked day by day against a
worked example, idempotency, catch-up of missed dates, and payments taken while end of
day runs."""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections import Counter

import pytest
import sqlalchemy as sa
from tests.conftest import REFERENCE_TABLES
from tests.integration.servicing_fixtures import *  # noqa: F403  (fixtures)
from tests.integration.servicing_fixtures import (
    DAY,
    LoanSpec,
    account_balances,
    add_borrower,
    assert_ledger_matches,
    make_runtime,
    open_loan,
    stored_loan,
    trial_balance_is_zero,
)

from mobilend.app.lending.repayments import pay_off_loan, post_repayment, quote_payoff
from mobilend.domain.lines import LineStatus
from mobilend.domain.money import Money

pytestmark = pytest.mark.db

START = dt.date(2026, 1, 1)


def installment_view(wired, loan_id):  # type: ignore[no-untyped-def]
    loan = stored_loan(wired, loan_id)
    return {
        i.n: (i.status_on(loan.accrued_through), i.accrued.format(), i.penalty.format())
        for i in loan.installments
    }


def line_status(wired, loan_id):  # type: ignore[no-untyped-def]
    with wired.lending.uow_factory() as uow:
        loan = uow.lending.loans.get(loan_id)
        return uow.lending.lines.get(loan.line_id).status


def test_a_loan_walked_day_by_day_matches_the_worked_example(db, clock, vault, jobs) -> None:
    """9,000.00 over three 30-day periods from 1 Jan 2026, equal principal (3,000.00 each),
    12 % a year ACT/360, penalty 18 % a year on overdue principal after 3 grace days:

    - interest: 9,000 × 0.12 × 30/360 = 90.00, then 60.00 (on 6,000) and 30.00 (on 3,000);
      due 31 Jan, 2 Mar, 1 Apr. By the end of 30 Jan the first 90.00 is recognised; the
      night of 31 Jan earns 60/30 = 2.00 of the second: 92.00.
    - unpaid, installment 1 is overdue from 1 Feb (1 day past due, M1); days 1–3 are grace;
      from 4 Feb penalty is 3,000 × 0.18 / 360 = 1.50 a day.
    - on 3 Mar it is 31 days past due (M2); its penalty ran 4 Feb–3 Mar, 28 days = 42.00;
      installment 2 (due 2 Mar) is 1 day past due, still in grace.
    - on 9 Mar: 37 days past due; penalty 34 × 1.50 + 4 × 1.50 (6–9 Mar) = 57.00;
      interest 90 + 60 + 8 days of installment 3 (8.00) = 158.00. The line is frozen.
    - 10 Mar the borrower pays the arrears: 3,090 + 51 + 3,060 + 6 = 6,207.00. That night
      the loan is current (C) again and the line unfrozen.
    - 20 Mar payoff: 3,000 principal + 18 days of interest (18.00) = 3,018.00. In all the
      borrower paid 9,225.00: 9,000 principal, 168.00 interest, 57.00 penalty.
    """
    wired = make_runtime(db, clock, vault, partitions=2)
    jobs.use(wired)
    add_borrower(db, vault, "B1")
    open_loan(wired, "L-worked", "B1", START)

    def walk_to(day: dt.date) -> None:
        # The scheduler asks for one date; missed ones run first, one by one, in order.
        jobs.run_date(day)

    walk_to(START)
    walk_to(dt.date(2026, 1, 30))
    loan = stored_loan(wired, "L-worked")
    assert (loan.dpd, loan.bucket().code) == (0, "C")
    assert account_balances(db, "L-worked")["interest_receivable"] == 9000
    walk_to(dt.date(2026, 1, 31))
    assert account_balances(db, "L-worked")["interest_receivable"] == 9200
    assert installment_view(wired, "L-worked")[1][0] == "due"
    walk_to(dt.date(2026, 2, 1))
    loan = stored_loan(wired, "L-worked")
    assert (loan.dpd, loan.bucket().code) == (1, "M1")
    assert installment_view(wired, "L-worked")[1][0] == "overdue"
    assert line_status(wired, "L-worked") is LineStatus.FROZEN
    walk_to(dt.date(2026, 2, 3))
    assert "penalty_receivable" not in account_balances(db, "L-worked")  # grace
    walk_to(dt.date(2026, 2, 4))
    assert account_balances(db, "L-worked")["penalty_receivable"] == 150
    walk_to(dt.date(2026, 3, 3))
    loan = stored_loan(wired, "L-worked")
    assert (loan.dpd, loan.bucket().code) == (31, "M2")
    assert account_balances(db, "L-worked")["penalty_receivable"] == 4200
    assert installment_view(wired, "L-worked")[2][0] == "overdue"
    walk_to(dt.date(2026, 3, 9))
    balances = account_balances(db, "L-worked")
    assert (balances["penalty_receivable"], balances["interest_receivable"]) == (5700, 15800)
    assert stored_loan(wired, "L-worked").dpd == 37

    post_repayment(
        wired.lending.uow_factory, wired.lending.new_id, loan_id="L-worked",
        amount=Money("6207.00"), on=dt.date(2026, 3, 10), idempotency_key="cure",
    )  # fmt: skip
    walk_to(dt.date(2026, 3, 10))
    loan = stored_loan(wired, "L-worked")
    assert (loan.dpd, loan.bucket().code, loan.max_dpd) == (0, "C", 37)
    assert line_status(wired, "L-worked") is LineStatus.ACTIVE
    assert installment_view(wired, "L-worked")[1][0] == "paid"

    walk_to(dt.date(2026, 3, 19))
    quote = quote_payoff(wired.lending.uow_factory, loan_id="L-worked", on=dt.date(2026, 3, 20))
    assert quote.total == Money("3018.00")
    pay_off_loan(
        wired.lending.uow_factory, wired.lending.new_id, loan_id="L-worked",
        amount=Money("3018.00"), on=dt.date(2026, 3, 20), idempotency_key="payoff",
    )  # fmt: skip
    walk_to(dt.date(2026, 3, 25))
    loan = stored_loan(wired, "L-worked")
    assert loan.status.value == "closed" and loan.closed_on == dt.date(2026, 3, 20)
    with db.connect() as conn:
        income = dict(
            conn.execute(
                sa.text(
                    "SELECT account, -sum(amount_minor) FROM postings WHERE loan_id = 'L-worked'"
                    " AND account IN ('interest_income', 'penalty_income') GROUP BY account"
                )
            ).all()
        )
        paid_in = conn.execute(
            sa.text("SELECT sum(amount) FROM repayments WHERE loan_id = 'L-worked'")
        ).scalar_one()
    assert income == {"interest_income": 16800, "penalty_income": 5700}
    assert paid_in == 922500
    assert account_balances(db, "L-worked") == {
        "cash": 922500 - 900000,
        "interest_income": -16800,
        "penalty_income": -5700,
    }
    assert_ledger_matches(wired, "L-worked")
    # Every date from 1 Jan to 25 Mar ran exactly once, in order, through the queue.
    closed = jobs.closed_dates()
    assert closed == [START + DAY * k for k in range((dt.date(2026, 3, 25) - START).days + 1)]
    assert jobs.statuses().get("failed", 0) == 0


def snapshot(db: sa.Engine) -> tuple[object, ...]:
    with db.connect() as conn:
        postings = Counter(
            conn.execute(
                sa.text(
                    "SELECT e.loan_id, e.business_date, e.kind, p.account, p.amount_minor"
                    " FROM journal_entries e JOIN postings p ON p.entry_id = e.id"
                )
            ).all()
        )
        loans = conn.execute(
            sa.text(
                "SELECT id, accrued_through, dpd, max_dpd, bucket, interest_receivable,"
                " penalty_receivable, fee_receivable, accrued_interest FROM loans ORDER BY id"
            )
        ).all()
        installments = conn.execute(
            sa.text(
                "SELECT loan_id, n, status, interest_accrued, penalty_exact, penalty_posted"
                " FROM installments ORDER BY loan_id, n"
            )
        ).all()
        lines = conn.execute(
            sa.text("SELECT id, status, frozen_reason, used FROM credit_lines ORDER BY id")
        ).all()
    return postings, loans, installments, lines


def portfolio(wired, db, vault) -> None:  # type: ignore[no-untyped-def]
    """A handful of loans: on time, overdue into penalty, monthly, holding credit."""
    for k in range(6):
        add_borrower(db, vault, f"B{k}", phone=f"1380013800{k}")
    open_loan(wired, "L-a", "B0", START - 25 * DAY)
    open_loan(wired, "L-b", "B1", START - 40 * DAY)
    open_loan(wired, "L-c", "B2", START - 33 * DAY, LoanSpec(every_days=None, periods=6))
    open_loan(wired, "L-d", "B3", START - 29 * DAY, LoanSpec(principal="1200.00", grace=0))
    open_loan(wired, "L-e", "B4", START - 10 * DAY, LoanSpec(principal="3000.00", periods=6))
    open_loan(wired, "L-f", "B5", START - 5 * DAY, LoanSpec(principal="1500.00"))
    # Three installments' worth paid up front: the rest is held and settles at end of day.
    post_repayment(
        wired.lending.uow_factory, wired.lending.new_id, loan_id="L-f",
        amount=Money("1000.00"), on=START - 4 * DAY, idempotency_key="ahead",
    )  # fmt: skip


def test_catch_up_over_ten_missed_days_equals_ten_single_days(db, clock, vault, jobs) -> None:
    wired = make_runtime(db, clock, vault, partitions=3)
    jobs.use(wired)
    portfolio(wired, db, vault)
    jobs.run_date(START - DAY)  # everything current to the day before
    for k in range(10):
        jobs.run_date(START + k * DAY)
    day_by_day = snapshot(db)
    assert jobs.closed_dates()[-10:] == [START + k * DAY for k in range(10)]

    # The same portfolio again, with ten dates missed and then one request.
    db_reset(db)
    jobs.use(wired := make_runtime(db, clock, vault, partitions=3))
    portfolio(wired, db, vault)
    jobs.run_date(START - DAY)
    jobs.run_date(START + 9 * DAY)
    assert jobs.closed_dates()[-10:] == [START + k * DAY for k in range(10)]
    assert snapshot(db) == day_by_day

    # And once more, end of day run for the tenth date directly: every loan is caught up
    # day by day inside one run.
    db_reset(db)
    wired = make_runtime(db, clock, vault, partitions=1)
    portfolio(wired, db, vault)
    wired.eod.run(START - DAY)
    wired.eod.run(START + 9 * DAY)
    assert snapshot(db) == day_by_day
    assert trial_balance_is_zero(db)


def db_reset(db: sa.Engine) -> None:
    with db.begin() as conn:
        names = conn.execute(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).scalars()
        # Reference tables (the seeded collection templates) stay as migrated.
        tables = ", ".join(f'"{n}"' for n in names if n not in REFERENCE_TABLES)
        conn.execute(sa.text("SET LOCAL mobilend.allow_ledger_truncate = 'on'"))
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    from tests.integration.servicing_fixtures import reset_job_queue

    reset_job_queue(db)


def test_end_of_day_twice_for_the_same_date_changes_nothing(db, clock, vault, jobs) -> None:
    wired = make_runtime(db, clock, vault, partitions=2)
    jobs.use(wired)
    portfolio(wired, db, vault)
    day = START + 12 * DAY
    jobs.run_date(day)
    before = snapshot(db)
    jobs.run_date(day)  # asked again through the queue
    jobs.run_date(day - 3 * DAY)  # an older date: already closed
    summary = wired.eod.run(day)  # and run directly
    assert summary.loans_processed == 0 and summary.entries_posted == 0
    assert snapshot(db) == before
    assert jobs.statuses().get("failed", 0) == 0


def test_payments_taken_while_end_of_day_runs_are_never_counted_twice(db, clock, vault) -> None:
    """Two partitions age 120 loans in small chunks while two threads take payments for
    the next day on random loans; every loan's ledger still rebuilds its balances."""
    wired = make_runtime(db, clock, vault, partitions=2, chunk_size=7)
    loan_ids = [f"L{k:03d}" for k in range(120)]
    for k, loan_id in enumerate(loan_ids):
        add_borrower(db, vault, f"B{k:03d}", phone=f"139{k:08d}")
        open_loan(wired, loan_id, f"B{k:03d}", START - 35 * DAY, LoanSpec(principal="900.00"))
    day = START
    rng = random.Random(7)
    paid = rng.sample(loan_ids, 60)
    errors: list[BaseException] = []

    def pay(share: list[str]) -> None:
        try:
            for loan_id in share:
                post_repayment(
                    wired.lending.uow_factory, wired.lending.new_id, loan_id=loan_id,
                    amount=Money("150.00"), on=day + DAY, idempotency_key=f"pay-{loan_id}",
                )  # fmt: skip
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def age(partition: int) -> None:
        try:
            wired.eod.run_partition(day, partition, 2)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=age, args=(p,)) for p in range(2)]
    threads += [threading.Thread(target=pay, args=(paid[i::2],)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    wired.eod.run(day)  # whatever the payments left: nothing, or the rest
    for loan_id in loan_ids:
        assert_ledger_matches(wired, loan_id)
        assert stored_loan(wired, loan_id).accrued_through == day
    with db.connect() as conn:
        days_accrued = conn.execute(
            sa.text(
                "SELECT loan_id, business_date, count(*) FROM journal_entries"
                " WHERE kind = 'accrual' AND memo = 'interest accrual'"
                " GROUP BY loan_id, business_date HAVING count(*) > 1"
            )
        ).all()
        payments = conn.execute(sa.text("SELECT count(*) FROM repayments")).scalar_one()
    assert days_accrued == []  # no day accrued twice for any loan
    assert payments == len(paid)
    assert trial_balance_is_zero(db)
