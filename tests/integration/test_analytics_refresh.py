"""Portfolio analytics against a small book built by hand, whose vintage curve, roll-rate
matrix, recovery and DPD distribution are worked out by hand below (definitions in
``adapters/db/analytics_refresh.py``). As of 2026-04-15:

====  ==========  =====================================================================
loan  disbursed   installments (due → settled)                           state 04-15
====  ==========  =====================================================================
L1    2026-01-10  02-10→02-10, 03-10→03-10, 04-10→04-10; closed 04-10     closed
L2    2026-01-20  02-20→02-20, 03-20 unpaid, 04-20                         M1 (26 dpd)
L3    2026-01-05  02-05, 03-05, 04-05 all unpaid                           M3 (69 dpd)
L4    2026-02-10  03-10→04-12 (33 days late), 04-10 unpaid                 M1 (5 dpd)
L5    2026-02-20  03-20 unpaid; written off 04-01                          written_off
====  ==========  =====================================================================

First 30+ DPD day: L3 03-07 (02-05 + 30), L4 04-09 (03-10 + 30, settled only 04-12);
L2's 03-20 + 30 = 04-19 is after as-of; L5 is bad from its write-off, 04-01.
Months on book observed by 04-15: L1 3, L2 2, L3 3, L4 2, L5 1. Month on book at which
each became bad: L3 3 (03-07 is past 01-05 + 2 months), L4 2, L5 2.

Vintage, cohort 2026-01: MOB 0–2 three loans, none bad; MOB 3 two loans (L2 not yet
observed), one bad (L3). Cohort 2026-02: MOB 0–1 two loans, none bad; MOB 2 one loan
(L4), bad.

Roll rates 03-31 → 04-15: at 03-31 L1 C, L2 M1 (11 dpd), L3 M2 (54), L4 M1 (21), L5 M1
(11); so C→closed 1/1, M1→M1 2/3, M1→written_off 1/3, M2→M3 1/1. 02-28 → 03-31: at 02-28
L3 is M1 (23 dpd) and the rest current: C→C 1/4, C→M1 3/4, M1→M2 1/1.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from mobilend.adapters.db.analytics_queries import SqlAnalyticsQueries
from mobilend.adapters.db.analytics_refresh import SqlAnalyticsRefresher
from mobilend.app.analytics.reports import Analytics
from mobilend.app.operations.ports import StaffActor

pytestmark = pytest.mark.db

AS_OF = dt.date(2026, 4, 15)
D = dt.date.fromisoformat
RISK = StaffActor("s1", "risk-1", frozenset({"risk"}))

# loan: (disbursed, status, closed_on, bucket, outstanding fen, [(due, settled)])
BOOK = {
    "L1": (D("2026-01-10"), "closed", D("2026-04-10"), "C", 0,
           [("2026-02-10", "2026-02-10"), ("2026-03-10", "2026-03-10"), ("2026-04-10", "2026-04-10")]),
    "L2": (D("2026-01-20"), "active", None, "M1", 200_000,
           [("2026-02-20", "2026-02-20"), ("2026-03-20", None), ("2026-04-20", None)]),
    "L3": (D("2026-01-05"), "active", None, "M3", 300_000,
           [("2026-02-05", None), ("2026-03-05", None), ("2026-04-05", None)]),
    "L4": (D("2026-02-10"), "active", None, "M1", 100_000,
           [("2026-03-10", "2026-04-12"), ("2026-04-10", None)]),
    "L5": (D("2026-02-20"), "written_off", D("2026-04-01"), "M1", 0, [("2026-03-20", None)]),
}  # fmt: skip


def build_book(db: sa.Engine) -> None:
    with db.begin() as conn:
        conn.execute(sa.text("INSERT INTO products (code, definition) VALUES ('p1', '{}')"))
        for loan_id, (disbursed, status, closed_on, bucket, outstanding, dues) in BOOK.items():
            borrower = "B" + loan_id
            conn.execute(sa.text("INSERT INTO borrowers (id) VALUES (:b)"), {"b": borrower})
            conn.execute(
                sa.text(
                    "INSERT INTO loans (id, borrower_id, product_code, principal, status, terms,"
                    " rules, annual_rate, day_count, method, disbursed_on, closed_on, bucket,"
                    " outstanding_principal, recovered)"
                    " VALUES (:id, :b, 'p1', 300000, :status, '{}', '{}', 0.18, 'ACT/360',"
                    " 'equal_installment', :disbursed, :closed, :bucket, :outstanding, :recovered)"
                ),
                {
                    "id": loan_id,
                    "b": borrower,
                    "status": status,
                    "disbursed": disbursed,
                    "closed": closed_on,
                    "bucket": bucket,
                    "outstanding": outstanding,
                    "recovered": 7_000 if status == "written_off" else 0,
                },
            )
            start = disbursed
            for n, (due, settled) in enumerate(dues, start=1):
                conn.execute(
                    sa.text(
                        "INSERT INTO installments (loan_id, n, borrower_id, period_start,"
                        " due_date, principal_due, settled_on, status)"
                        " VALUES (:l, :n, :b, :start, :due, 100000, :settled, :status)"
                    ),
                    {
                        "l": loan_id,
                        "n": n,
                        "b": borrower,
                        "start": start,
                        "due": D(due),
                        "settled": D(settled) if settled else None,
                        "status": "paid" if settled else "scheduled",
                    },
                )
                start = D(due)
        conn.execute(
            sa.text(
                "INSERT INTO repayments (id, loan_id, borrower_id, amount, received_on, channel,"
                " idempotency_key) VALUES ('R4', 'L4', 'BL4', 50000, '2026-04-12', 'app', 'k4')"
            )
        )


@pytest.fixture
def analytics(db: sa.Engine) -> Analytics:
    build_book(db)
    state = SqlAnalyticsRefresher(db).refresh(AS_OF)
    assert state.as_of == AS_OF
    return Analytics(SqlAnalyticsQueries(db), lambda: AS_OF)


def test_vintage_curves_match_the_hand_computed_ones(analytics: Analytics) -> None:
    rows = analytics.vintage(RISK).table("curves").rows
    cells = {(cohort, mob): (loans, bad) for cohort, mob, loans, bad, *_ in rows}
    assert cells == {
        ("2026-01", 0): (3, 0),
        ("2026-01", 1): (3, 0),
        ("2026-01", 2): (3, 0),
        ("2026-01", 3): (2, 1),
        ("2026-02", 0): (2, 0),
        ("2026-02", 1): (2, 0),
        ("2026-02", 2): (1, 1),
    }
    rates = {(c, m): rate for c, m, _l, _b, rate, *_ in rows}
    assert rates[("2026-01", 3)] == Decimal("0.5000")
    assert rates[("2026-02", 2)] == Decimal("1.0000")


def test_roll_rate_matrix_matches_the_hand_computed_one(analytics: Analytics) -> None:
    def matrix(period: dt.date | None) -> dict[tuple[str, str], tuple[int, Decimal | None]]:
        table = analytics.roll_rates(RISK, period).table("matrix")
        return {(f, t): (n, share) for f, t, n, share in table.rows if n}

    assert matrix(None) == {  # the latest period: 03-31 → 04-15
        ("C", "closed"): (1, Decimal("1.0000")),
        ("M1", "M1"): (2, Decimal("0.6667")),
        ("M1", "written_off"): (1, Decimal("0.3333")),
        ("M2", "M3"): (1, Decimal("1.0000")),
    }
    assert matrix(dt.date(2026, 3, 31)) == {
        ("C", "C"): (1, Decimal("0.2500")),
        ("C", "M1"): (3, Decimal("0.7500")),
        ("M1", "M2"): (1, Decimal("1.0000")),
    }
    periods = [p for (p,) in analytics.roll_rates(RISK).table("periods").rows]
    assert periods[-2:] == ["2026-03-31", "2026-04-15"]


def test_recovery_and_dpd_distribution(analytics: Analytics) -> None:
    recovery = {
        (period, bucket): (loans, cured, collected)
        for period, bucket, loans, cured, _rate, collected in analytics.recovery(RISK)
        .table("buckets")
        .rows
    }
    assert recovery[("2026-04-15", "M1")] == (3, 0, Decimal("500.00"))  # L4's 04-12 payment
    assert recovery[("2026-04-15", "M2")] == (1, 0, Decimal("0.00"))
    assert recovery[("2026-04-15", "written_off")] == (1, 0, Decimal("70.00"))
    buckets = {b: (n, amount) for b, n, amount, _share in analytics.dpd_distribution(RISK)
               .table("buckets").rows}  # fmt: skip
    assert buckets["M1"] == (2, Decimal("3000.00"))
    assert buckets["M3"] == (1, Decimal("3000.00"))
    assert buckets["C"] == (0, Decimal("0.00"))


def test_a_second_refresh_keeps_closed_months_and_gives_the_same_answers(
    analytics: Analytics, db: sa.Engine
) -> None:
    before = analytics.roll_rates(RISK, dt.date(2026, 3, 31)).tables
    SqlAnalyticsRefresher(db).refresh(AS_OF)
    assert analytics.roll_rates(RISK, dt.date(2026, 3, 31)).tables == before
    assert analytics.vintage(RISK).table("curves").rows[-1][:4] == ("2026-02", 2, 1, 1)
