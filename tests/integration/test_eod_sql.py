"""End of day in SQL gives what the domain's per-loan rules give, to the fen.

The domain (``Loan.accrue_to``) is the reference: each scenario builds a loan with the
domain, stores it, then runs the same dates through both and compares every installment,
the loan's aging and the ledger postings.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections import Counter
from decimal import Decimal

import pytest
import sqlalchemy as sa

from mobilend.adapters.db import eod
from mobilend.domain.daycount import DayCount, Frequency, PeriodUnit
from mobilend.domain.ledger import EntryKind, base_account
from mobilend.domain.loans import Loan
from mobilend.domain.loans_rules import ServicingRules
from mobilend.domain.money import Money, RoundingMode
from mobilend.domain.schedules import generate_schedule
from mobilend.domain.terms import FeeKind, FeeRule, LoanTerms, RepaymentMethod

pytestmark = pytest.mark.db

EOD_KINDS = (EntryKind.ACCRUAL, EntryKind.FEE, EntryKind.PENALTY_ACCRUAL)
DAY = dt.timedelta(days=1)


# --------------------------------------------------------------------------- storing loans


def store_loan(conn: sa.Connection, loan: Loan) -> None:
    """Write a domain loan into the tables (what a loan repository does)."""
    state = loan.to_state()
    conn.execute(
        sa.text("INSERT INTO borrowers (id) VALUES (:id) ON CONFLICT DO NOTHING"),
        {"id": loan.borrower_id},
    )
    conn.execute(
        sa.text(
            "INSERT INTO products (code, definition) VALUES ('P1', '{}') ON CONFLICT DO NOTHING"
        )
    )
    receivables = loan.receivables
    conn.execute(
        sa.text(
            """
            INSERT INTO loans (id, borrower_id, product_code, principal, currency, status,
                funding_account, terms, rules, annual_rate, penalty_rate, penalty_grace_days,
                day_count, method, rounding, disbursed_on, accrued_through, dpd, max_dpd,
                bucket, credit_balance, cash_received, outstanding_principal,
                accrued_interest, interest_receivable, fee_receivable, penalty_receivable)
            VALUES (:id, :borrower_id, 'P1', :principal, :currency, :status, :funding_account,
                :terms, :rules, :annual_rate, :penalty_rate, :grace, :day_count, :method,
                :rounding, :disbursed_on, :accrued_through, :dpd, :max_dpd, :bucket,
                :credit_balance, :cash_received, :outstanding, :accrued, :interest_recv,
                :fee_recv, :penalty_recv)
            """
        ),
        {
            "id": loan.loan_id,
            "borrower_id": loan.borrower_id,
            "principal": state["principal_minor"],
            "currency": loan.currency,
            "status": loan.status.value,
            "funding_account": loan.funding_account,
            "terms": json.dumps(state["terms"]),
            "rules": json.dumps(state["rules"]),
            "annual_rate": loan.terms.annual_rate,
            "penalty_rate": loan.rules.penalty_rate,
            "grace": loan.rules.penalty_grace_days,
            "day_count": loan.terms.day_count.value,
            "method": loan.terms.method.value,
            "rounding": loan.terms.rounding.value,
            "disbursed_on": loan.disbursed_on,
            "accrued_through": loan.accrued_through,
            "dpd": loan.dpd,
            "max_dpd": loan.max_dpd,
            "bucket": loan.bucket().code,
            "credit_balance": state["credit_balance_minor"],
            "cash_received": state["cash_received_minor"],
            "outstanding": loan.outstanding_principal.to_minor(),
            "accrued": sum(i.accrued.to_minor() for i in loan.installments),
            "interest_recv": receivables.interest.to_minor(),
            "fee_recv": receivables.fees.to_minor(),
            "penalty_recv": receivables.penalty.to_minor(),
        },
    )
    for inst in state["installments"]:
        conn.execute(
            sa.text(
                """
                INSERT INTO installments (loan_id, n, borrower_id, kind, period_start, due_date,
                    principal_due, interest_scheduled, fees_due, interest_accrued, fees_charged,
                    penalty_exact, penalty_posted, principal_paid, interest_paid, fees_paid,
                    penalty_paid, settled_on, status)
                VALUES (:loan_id, :n, :borrower_id, :kind, :period_start, :due_date,
                    :principal_due_minor, :interest_scheduled_minor, :fees_due_minor,
                    :interest_accrued_minor, :fees_charged_minor, :penalty_exact,
                    :penalty_posted_minor, :principal_paid_minor, :interest_paid_minor,
                    :fees_paid_minor, :penalty_paid_minor, :settled_on, :status)
                """
            ),
            {
                **inst,
                "loan_id": loan.loan_id,
                "borrower_id": loan.borrower_id,
                "penalty_exact": Decimal(inst["penalty_exact"]),
            },
        )


def installment_rows(engine: sa.Engine, loan_id: str) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT n, interest_accrued, fees_charged, penalty_exact, penalty_posted, status"
                " FROM installments WHERE loan_id = :id ORDER BY n"
            ),
            {"id": loan_id},
        ).mappings()
        return [dict(r) for r in rows]


def expected_installments(loan: Loan) -> list[dict[str, object]]:
    state = loan.to_state()
    return [
        {
            "n": i["n"],
            "interest_accrued": i["interest_accrued_minor"],
            "fees_charged": i["fees_charged_minor"],
            "penalty_exact": Decimal(i["penalty_exact"]),
            "penalty_posted": i["penalty_posted_minor"],
            "status": i["status"],
        }
        for i in state["installments"]
    ]


def sql_postings(engine: sa.Engine, loan_id: str, after: dt.date) -> Counter[tuple[object, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT e.business_date, e.kind, p.account, p.amount_minor"
                " FROM journal_entries e JOIN postings p ON p.entry_id = e.id"
                " WHERE e.loan_id = :id AND e.business_date > :after"
            ),
            {"id": loan_id, "after": after},
        ).all()
    return Counter((r[0], r[1], r[2], r[3]) for r in rows)


def domain_postings(entries: list, after: dt.date) -> Counter[tuple[object, ...]]:
    result: Counter[tuple[object, ...]] = Counter()
    for entry in entries:
        assert entry.kind in EOD_KINDS
        if entry.business_date > after:
            for p in entry.postings:
                result[(entry.business_date, entry.kind.value, p.account, p.amount.to_minor())] += 1
    return result


def loan_row(engine: sa.Engine, loan_id: str) -> dict[str, object]:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                sa.text(
                    "SELECT accrued_through, dpd, max_dpd, bucket, accrued_interest,"
                    " interest_receivable, fee_receivable, penalty_receivable, credit_balance, version"
                    " FROM loans WHERE id = :id"
                ),
                {"id": loan_id},
            )
            .mappings()
            .one()
        )


def ledger_by_account(engine: sa.Engine, loan_id: str) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT account, sum(amount_minor) FROM postings WHERE loan_id = :id"
                " GROUP BY account HAVING sum(amount_minor) <> 0"
            ),
            {"id": loan_id},
        ).all()
    return {account: int(total) for account, total in rows}


# --------------------------------------------------------------------------- scenarios


def make_loan(
    loan_id: str,
    *,
    principal: str,
    periods: int,
    rate: str,
    method: RepaymentMethod,
    start: dt.date,
    day_count: DayCount = DayCount.ACT_360,
    rounding: RoundingMode = RoundingMode.HALF_UP,
    frequency: Frequency | None = None,
    fees: tuple[FeeRule, ...] = (),
    penalty_rate: str = "0",
    grace: int = 0,
) -> Loan:
    terms = LoanTerms(
        principal=Money(principal),
        periods=periods,
        annual_rate=Decimal(rate),
        method=method,
        start_date=start,
        frequency=frequency or Frequency.monthly(),
        day_count=day_count,
        rounding=rounding,
        fees=fees,
    )
    rules = ServicingRules(penalty_rate=Decimal(penalty_rate), penalty_grace_days=grace)
    loan = Loan.create(loan_id, f"B-{loan_id}", generate_schedule(terms), rules)
    loan.disburse(start)
    return loan


START = dt.date(2025, 1, 31)


def scenario_loans() -> list[Loan]:
    """A handful of loans covering every method, day count, both roundings, fees,
    penalties with and without grace, and a partly repaid overdue installment."""
    loans = [
        make_loan(
            "L-equal-installment",
            principal="5000.00",
            periods=12,
            rate="0.24",
            method=RepaymentMethod.EQUAL_INSTALLMENT,
            start=START,  # month-end anchor: 28 Feb, 31 Mar, ...
            penalty_rate="0.18",
            grace=3,
        ),
        make_loan(
            "L-equal-principal",
            principal="12345.67",
            periods=6,
            rate="0.1795",
            method=RepaymentMethod.EQUAL_PRINCIPAL,
            start=START,
            day_count=DayCount.THIRTY_360,
            rounding=RoundingMode.HALF_EVEN,
            fees=(FeeRule(FeeKind.PER_INSTALLMENT, amount=Money("5.00")),),
            penalty_rate="0.365",
        ),
        make_loan(
            "L-flat-biweekly",
            principal="3000.00",
            periods=6,
            rate="0.15",
            method=RepaymentMethod.FLAT,
            start=START,
            day_count=DayCount.ACT_365,
            frequency=Frequency(2, PeriodUnit.WEEKS),
            penalty_rate="0.24",
            grace=1,
        ),
        make_loan(
            "L-interest-first",
            principal="8000.00",
            periods=3,
            rate="0.2",
            method=RepaymentMethod.INTEREST_FIRST,
            start=START,
            day_count=DayCount.ACT_365,
            rounding=RoundingMode.HALF_EVEN,
            fees=(FeeRule(FeeKind.UPFRONT, amount=Money("50.00")),),
            penalty_rate="0.0005",
        ),
        make_loan(
            "L-bullet",
            principal="1.25",
            periods=1,
            rate="0.0365",
            method=RepaymentMethod.BULLET,
            start=START,
            frequency=Frequency(14, PeriodUnit.DAYS),
            penalty_rate="0.24",
        ),
    ]
    # Pay part of the first installment of one loan on its due date: it stays overdue
    # on less principal, so penalty runs on an odd amount.
    partly = loans[1]
    first_due = partly.installments[0].due_date
    partly.repay(Money("1500.00"), first_due)
    return loans


def test_sql_end_of_day_matches_the_domain_rules(db: sa.Engine) -> None:
    loans = scenario_loans()
    snapshot = {loan.loan_id: loan.accrued_through for loan in loans}
    with db.begin() as conn:
        for loan in loans:
            store_loan(conn, loan)
    domain = {loan.loan_id: copy.deepcopy(loan) for loan in loans}
    entries: dict[str, list] = {loan.loan_id: [] for loan in loans}

    # Every business date for two months, then a jump of four months in one run (a loan
    # that missed dates is caught up day by day, as accrue_to does).
    last_daily = START + dt.timedelta(days=60)
    checkpoints = [START + dt.timedelta(days=k) for k in range(0, 61)] + [dt.date(2025, 8, 15)]
    for day in checkpoints:
        result = eod.run_eod(db, day)
        assert sum(r.rows_done for r in result) == sum(
            1
            for loan in domain.values()
            if loan.accrued_through is not None
            and loan.accrued_through < day
            and loan.status.value == "active"
        )
        for loan_id, loan in domain.items():
            entries[loan_id].extend(loan.accrue_to(day))
        if day in (START + dt.timedelta(days=30), last_daily, checkpoints[-1]):
            for loan_id, loan in domain.items():
                assert installment_rows(db, loan_id) == expected_installments(loan), loan_id
                row = loan_row(db, loan_id)
                assert row["accrued_through"] == loan.accrued_through
                assert (row["dpd"], row["max_dpd"], row["bucket"]) == (
                    loan.dpd,
                    loan.max_dpd,
                    loan.bucket().code,
                ), loan_id

    for loan_id, loan in domain.items():
        after = snapshot[loan_id]
        assert after is not None
        assert sql_postings(db, loan_id, after) == domain_postings(entries[loan_id], after), loan_id
        # The SQL kept the loan's balances in step with what it posted, and the ledger
        # holds exactly what the domain says this loan's accounts hold.
        row = loan_row(db, loan_id)
        receivables = loan.receivables
        assert (row["interest_receivable"], row["fee_receivable"], row["penalty_receivable"]) == (
            receivables.interest.to_minor(),
            receivables.fees.to_minor(),
            receivables.penalty.to_minor(),
        )

    # Penalties, fees and overdue statuses all happened in these scenarios.
    kinds = Counter(k for c in (sql_postings(db, i, START) for i in domain) for (_, k, _, _) in c)
    assert kinds["penalty_accrual"] > 0 and kinds["fee"] > 0 and kinds["accrual"] > 0


def test_eod_ledger_rebuilds_the_loan_balances(db: sa.Engine) -> None:
    loan = make_loan(
        "L1",
        principal="10000.00",
        periods=3,
        rate="0.18",
        method=RepaymentMethod.EQUAL_INSTALLMENT,
        start=START,
        penalty_rate="0.24",
        grace=2,
    )
    with db.begin() as conn:
        store_loan(conn, loan)
    eod.run_eod(db, dt.date(2025, 6, 30))
    domain_entries = loan.accrue_to(dt.date(2025, 6, 30))
    expected: Counter[str] = Counter()
    for entry in domain_entries:
        for p in entry.postings:
            expected[base_account(p.account).value] += p.amount.to_minor()
    assert ledger_by_account(db, "L1") == {k: v for k, v in expected.items() if v}


def test_worked_example_bullet_accrual_and_penalty(db: sa.Engine) -> None:
    """10,000.00 for 30 days at 12 % ACT/360, bullet: scheduled interest
    10000 × 0.12 × 30/360 = 100.00. The night of 1 Jan earns 1/30 of it: 3.33.
    By the end of 15 Jan, 15/30: 50.00 in all. By 30 Jan (the day before the due
    date) the whole 100.00. Unpaid on 31 Jan, it is overdue from 1 Feb; with 18 %
    penalty, 3 grace days, one day of penalty is 10000 × 0.18 / 360 = 5.00, first
    on 4 Feb (4 days past due): through 10 Feb that is 7 days = 35.00, DPD 10, M1."""
    loan = make_loan(
        "L1",
        principal="10000.00",
        periods=1,
        rate="0.12",
        method=RepaymentMethod.BULLET,
        start=dt.date(2025, 1, 1),
        frequency=Frequency(30, PeriodUnit.DAYS),
        penalty_rate="0.18",
        grace=3,
    )
    with db.begin() as conn:
        store_loan(conn, loan)

    def interest_posted() -> int:
        return ledger_by_account(db, "L1").get("interest_receivable", 0)

    eod.run_eod(db, dt.date(2025, 1, 1))
    assert interest_posted() == 333
    eod.run_eod(db, dt.date(2025, 1, 15))
    assert interest_posted() == 5000
    eod.run_eod(db, dt.date(2025, 1, 30))
    assert interest_posted() == 10000
    eod.run_eod(db, dt.date(2025, 2, 3))
    assert installment_rows(db, "L1")[0]["status"] == "overdue"
    assert ledger_by_account(db, "L1").get("penalty_receivable", 0) == 0
    eod.run_eod(db, dt.date(2025, 2, 10))
    assert interest_posted() == 10000
    assert ledger_by_account(db, "L1")["penalty_receivable"] == 3500
    row = loan_row(db, "L1")
    assert (row["dpd"], row["bucket"]) == (10, "M1")


def test_running_a_date_twice_changes_nothing(db: sa.Engine) -> None:
    loan = make_loan(
        "L1", principal="1000.00", periods=2, rate="0.2", method=RepaymentMethod.BULLET, start=START
    )
    with db.begin() as conn:
        store_loan(conn, loan)
    first = eod.run_eod(db, START + DAY * 10, partition_count=3)
    before = (ledger_by_account(db, "L1"), loan_row(db, "L1"), installment_rows(db, "L1"))
    second = eod.run_eod(db, START + DAY * 10, partition_count=3)
    assert sum(r.rows_done for r in first) == 1
    assert all(r.already_done for r in second)
    assert (ledger_by_account(db, "L1"), loan_row(db, "L1"), installment_rows(db, "L1")) == before
    # A new partitioning of the same date finds nothing left to do either.
    third = eod.run_eod(db, START + DAY * 10, partition_count=2)
    assert sum(r.rows_total for r in third) == 0
    assert ledger_by_account(db, "L1") == before[0]


def test_partitions_split_the_loans_without_overlap(db: sa.Engine) -> None:
    with db.begin() as conn:
        for k in range(40):
            store_loan(
                conn,
                make_loan(
                    f"L{k:03d}",
                    principal="100.00",
                    periods=1,
                    rate="0.1",
                    method=RepaymentMethod.BULLET,
                    start=START,
                ),
            )
    results = eod.run_eod(db, START, partition_count=4, chunk_size=3)
    assert sum(r.rows_done for r in results) == 40
    assert sum(1 for r in results if r.rows_done > 0) > 1  # the hash spreads them
    with db.connect() as conn:
        runs = conn.execute(
            sa.text(
                "SELECT partition, status, rows_done, rows_total FROM eod_runs"
                " WHERE business_date = :d ORDER BY partition"
            ),
            {"d": START},
        ).all()
        advanced = conn.execute(
            sa.text("SELECT count(*) FROM loans WHERE accrued_through = :d"), {"d": START}
        ).scalar_one()
    assert [r[0] for r in runs] == [0, 1, 2, 3]
    assert all(r[1] == "done" and r[2] == r[3] for r in runs)
    assert advanced == 40


def test_a_loan_paid_out_while_its_partition_runs_is_aged_in_the_same_run(
    db: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The partition reads its pending loans once, then runs them chunk by chunk; a loan
    that becomes pending meanwhile is found by a second read, not left to the next date."""

    def bullet(loan_id: str):  # type: ignore[no-untyped-def]
        return make_loan(
            loan_id, principal="100.00", periods=1, rate="0.1",
            method=RepaymentMethod.BULLET, start=START,
        )  # fmt: skip

    with db.begin() as conn:
        for k in range(5):
            store_loan(conn, bullet(f"L{k:03d}"))
    listed_chunks: list[list[str]] = []
    run_listed = eod._run_listed_chunk

    def paid_out_meanwhile(engine, params, listed, *args):  # type: ignore[no-untyped-def]
        if not listed_chunks:
            with db.begin() as conn:
                store_loan(conn, bullet("L999"))  # sorts after every listed id
        listed_chunks.append(list(listed))
        return run_listed(engine, params, listed, *args)

    monkeypatch.setattr(eod, "_run_listed_chunk", paid_out_meanwhile)
    [result] = eod.run_eod(db, START, chunk_size=2)
    assert listed_chunks[-1] == ["L999"] and sum(map(len, listed_chunks)) == 6
    assert result.rows_done == result.rows_total == 6 and not result.skipped
    with db.connect() as conn:
        behind = conn.execute(
            sa.text("SELECT count(*) FROM loans WHERE accrued_through < :d"), {"d": START}
        ).scalar_one()
        progress = conn.execute(
            sa.text("SELECT rows_done, rows_total, status FROM eod_runs WHERE business_date = :d"),
            {"d": START},
        ).one()
    assert behind == 0
    assert tuple(progress) == (6, 6, "done")


def test_loans_holding_credit_go_to_the_domain(db: sa.Engine) -> None:
    held = make_loan(
        "L-held",
        principal="1000.00",
        periods=3,
        rate="0.2",
        method=RepaymentMethod.EQUAL_INSTALLMENT,
        start=START,
    )
    # More than the next installment: the rest is held for the borrower, the loan stays open.
    held.repay(Money("500.00"), START + DAY * 5)
    assert held.held_credit.is_positive() and held.status.value == "active"
    plain = make_loan(
        "L-plain",
        principal="1000.00",
        periods=2,
        rate="0.2",
        method=RepaymentMethod.BULLET,
        start=START,
    )
    with db.begin() as conn:
        store_loan(conn, held)
        store_loan(conn, plain)
    domain = copy.deepcopy(held)
    # The first installment is paid ahead and nothing else is due yet: the held credit has
    # nothing to settle, so these days are plain accrual days, run by the SQL.
    first_due, second_due = (i.due_date for i in held.installments[:2])
    before = first_due + DAY * 3
    result = eod.run_eod(db, before)
    assert result[0].skipped == []
    domain.accrue_to(before)
    assert loan_row(db, "L-held")["accrued_through"] == before
    assert installment_rows(db, "L-held") == expected_installments(domain)
    row = loan_row(db, "L-held")
    assert row["credit_balance"] == domain.held_credit.to_minor() > 0
    assert row["interest_receivable"] == domain.receivables.interest.to_minor()

    # Once an installment with something unpaid falls due, the waterfall must apply the
    # credit on that day: the loan is left to the domain.
    day = second_due
    result = eod.run_eod(db, day)
    assert result[0].skipped == ["L-held"]
    assert loan_row(db, "L-held")["accrued_through"] == before
    assert loan_row(db, "L-plain")["accrued_through"] == day

    seen: list[tuple[str, dt.date]] = []
    eod.run_eod(db, day, per_loan=lambda conn, loan_id, on: seen.append((loan_id, on)))
    assert seen == [("L-held", day)]
