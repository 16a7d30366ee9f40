"""The synthetic book behind the end-of-day and console benchmarks, generated set-based.

N active twelve-month loans (principal 1 000–20 000 yuan, 12–24 % a year, disbursed
0–299 days before the business date) with their installments; every tenth loan has an
unpaid past installment, so penalty and ageing have work to do. ``CONSOLE_EXTRAS`` adds
one application and one scored decision per borrower, and each overdue loan's days past
due, as the console's pages expect. The same SQL as ``bench/bench_eod.py``.
"""

from __future__ import annotations

import datetime as dt
import time

import sqlalchemy as sa

BUSINESS_DATE = dt.date(2025, 6, 30)

GENERATE = [
    "INSERT INTO products (code, definition) VALUES ('BENCH', '{}')",
    """
    INSERT INTO borrowers (id)
    SELECT 'B' || lpad(g::text, 8, '0') FROM generate_series(1, :n) g
    """,
    # Principal 1 000–20 000 yuan, 12–24 % a year, disbursed 0–299 days before the date.
    """
    INSERT INTO loans (id, borrower_id, product_code, principal, currency, status, terms,
        rules, annual_rate, penalty_rate, penalty_grace_days, day_count, method, rounding,
        disbursed_on, accrued_through, outstanding_principal)
    SELECT 'L' || lpad(g::text, 8, '0'), 'B' || lpad(g::text, 8, '0'), 'BENCH',
           100000 + (g::bigint * 7919) % 1900000, 'CNY', 'active', '{}', '{}',
           0.12 + (g % 13) * 0.01, 0.18, 3, 'ACT/360', 'equal-principal', 'half-up',
           :d - 1 - (g % 300), :d - 1, 100000 + (g::bigint * 7919) % 1900000
    FROM generate_series(1, :n) g
    """,
    # Twelve monthly installments, equal principal (the last takes the remainder), interest
    # on the balance for the period's actual days. Periods before the date are paid, except
    # on every tenth loan, whose latest past installment is left unpaid.
    """
    INSERT INTO installments (loan_id, n, borrower_id, period_start, due_date,
        principal_due, interest_scheduled, interest_accrued, principal_paid, interest_paid,
        settled_on, status)
    SELECT l.id, k, l.borrower_id, p.period_start, p.due_date, p.principal_due, p.interest,
           CASE WHEN p.due_date <= :d - 1 THEN p.interest ELSE 0 END,
           CASE WHEN p.paid THEN p.principal_due ELSE 0 END,
           CASE WHEN p.paid THEN p.interest ELSE 0 END,
           CASE WHEN p.paid THEN p.due_date END,
           CASE WHEN p.paid THEN 'paid' WHEN p.due_date < :d - 1 THEN 'overdue'
                ELSE 'scheduled' END
    FROM loans l
    CROSS JOIN generate_series(1, 12) k
    CROSS JOIN LATERAL (
        SELECT (l.disbursed_on + (k - 1) * interval '1 month')::date AS period_start,
               (l.disbursed_on + k * interval '1 month')::date AS due_date,
               CASE WHEN k < 12 THEN l.principal / 12
                    ELSE l.principal - 11 * (l.principal / 12) END AS principal_due,
               (l.principal - (k - 1) * (l.principal / 12)) AS balance
    ) s
    CROSS JOIN LATERAL (
        SELECT s.period_start, s.due_date, s.principal_due,
               round(s.balance * l.annual_rate * (s.due_date - s.period_start) / 360)::bigint
                   AS interest,
               s.due_date < :d - 1
               AND NOT (substr(l.id, 2)::int % 10 = 0
                        AND s.due_date >= (:d - 1 - interval '1 month')::date) AS paid
    ) p
    """,
]

# One application and one scored decision per borrower (7 in 10 approved, 2 declined,
# 1 referred), and each overdue loan's days past due and bucket as end of day leaves them.
CONSOLE_EXTRAS = [
    """
    INSERT INTO credit_applications (id, borrower_id, product_code, outcome, decision_id,
        applied_at, decided_on, limit_minor, annual_rate)
    SELECT 'A' || substr(l.id, 2), l.borrower_id, 'BENCH',
           CASE WHEN g % 10 < 7 THEN 'approve' WHEN g % 10 < 9 THEN 'decline' ELSE 'refer' END,
           'D' || substr(l.id, 2), l.disbursed_on::timestamptz, l.disbursed_on,
           CASE WHEN g % 10 < 7 THEN l.principal * 2 END,
           CASE WHEN g % 10 < 7 THEN l.annual_rate END
    FROM loans l CROSS JOIN LATERAL (SELECT substr(l.id, 2)::int AS g) x
    """,
    """
    INSERT INTO decisions (id, application_id, borrower_id, product_code, decided_on, outcome,
        policy_id, model_version, arm, market, cost_minor, record, record_sha256)
    SELECT a.decision_id, a.id, a.borrower_id, 'BENCH', a.decided_on, a.outcome,
           'policy-v1', 'model-1', CASE WHEN g % 10 = 0 THEN 'challenger' ELSE 'champion' END,
           'normal', 150,
           jsonb_build_object('workings', jsonb_build_object('final_score',
               jsonb_build_object('score', 480 + (g * 37) % 260))),
           repeat('0', 64)
    FROM credit_applications a CROSS JOIN LATERAL (SELECT substr(a.id, 2)::int AS g) x
    """,
    """
    UPDATE loans l SET dpd = o.dpd, max_dpd = o.dpd,
        bucket = CASE WHEN o.dpd <= 30 THEN 'M1' WHEN o.dpd <= 60 THEN 'M2' ELSE 'M3' END
    FROM (SELECT loan_id, :d - 1 - min(due_date) AS dpd FROM installments
          WHERE status = 'overdue' GROUP BY loan_id) o
    WHERE o.loan_id = l.id
    """,
]


def generate(engine: sa.Engine, loans: int, *, console: bool = False) -> float:
    """Write the book (and the console's extras); returns the seconds it took."""
    started = time.perf_counter()
    with engine.begin() as conn:
        for statement in (*GENERATE, *(CONSOLE_EXTRAS if console else ())):
            conn.execute(sa.text(statement), {"n": loans, "d": BUSINESS_DATE})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    return time.perf_counter() - started
