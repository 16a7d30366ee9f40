"""Rebuilding the portfolio summaries (``analytics_tables``) set-based, as of the end of
one business date. Run after end of day closes a date (job ``analytics.refresh``), once
by the first worker of a fresh install, from the console's "refresh now", or by
``mobilend analytics refresh``; one refresh at a time (an advisory lock), and every statement is one pass over its source table, so the cost
grows with the book once a night instead of with every page view.

Definitions (the tests compute them by hand on a small book):

- A loan is **30+ days past due** on day ``t`` when an installment due on ``d`` with
  ``d + 30 <= t`` is not settled by ``t`` (``settled_on`` empty or after ``t``); its
  first such day is ``d + 30``. Written-off loans count as bad from their write-off.
- **Month on book** ``m`` of a loan disbursed on ``D`` ends on ``D + m months``. A
  vintage cell (cohort, m) counts the cohort's loans observed that long by ``as_of`` and,
  of those, the loans whose first bad day is on or before ``D + m months``.
- **Days past due** on ``t``: ``t`` minus the oldest due date before ``t`` not settled by
  ``t``; the bucket follows the default table (C, M1 1–30 … M6+ over 180). A loan's
  **state** on ``t`` is its bucket, or ``closed`` / ``written_off`` from its closing day.
- **Roll rates** count loans by state at the previous month end (active ones only) and
  at the period's end (a month end, or ``as_of`` for the month under way).
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from decimal import Decimal

import sqlalchemy as sa

from mobilend.app.analytics.ports import RefreshState
from mobilend.domain.delinquency import DEFAULT_BUCKETS

#: Loans older than this on ``as_of`` are matured: their outcome is known enough to
#: judge the score they were given.
MATURITY_MONTHS = 3
#: Vintage curves go this many months on book at most; roll rates this many months back.
MAX_MOB = 36
ROLL_MONTHS = 12
LEDGER_ACCOUNTS = (
    "interest_income", "fee_income", "penalty_income", "recovery_income", "write_off_expense",
)  # fmt: skip
SCORE = "(d.record #>> '{workings,final_score,score}')::int"
#: Serialises refreshes from every process: two at once would each delete and re-insert
#: the same summary rows and one would fail on the duplicates.
REFRESH_LOCK_KEY = 0x6D6F62696C616E61  # "mobilana"


def bucket_case(dpd: str) -> str:
    """SQL mapping days past due to the default bucket codes."""
    parts = [
        f"WHEN {dpd} <= {b.max_dpd} THEN '{b.code}'"
        for b in DEFAULT_BUCKETS.buckets
        if b.max_dpd is not None
    ]
    return f"CASE {' '.join(parts)} ELSE '{DEFAULT_BUCKETS.buckets[-1].code}' END"


def _utc_day(column: str) -> str:
    return f"({column} AT TIME ZONE 'UTC')::date"


FUNNEL = f"""
INSERT INTO analytics_funnel_daily (day, registered, kyc_passed, applied, approved, declined,
    referred, contracts_signed, loans_disbursed, disbursed_minor, score_sum, scored,
    data_cost_minor)
SELECT day, sum(registered), sum(kyc_passed), sum(applied), sum(approved), sum(declined),
    sum(referred), sum(contracts_signed), sum(loans_disbursed), sum(disbursed_minor),
    sum(score_sum), sum(scored), sum(data_cost_minor)
FROM (
    SELECT {_utc_day("created_at")} AS day, count(*) AS registered, 0 AS kyc_passed,
        0 AS applied, 0 AS approved, 0 AS declined, 0 AS referred, 0 AS contracts_signed,
        0 AS loans_disbursed, 0 AS disbursed_minor, 0 AS score_sum, 0 AS scored,
        0 AS data_cost_minor
    FROM borrowers GROUP BY 1
    UNION ALL
    SELECT {_utc_day("kyc_verified_at")}, 0, count(*), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    FROM borrowers WHERE kyc_verified_at IS NOT NULL GROUP BY 1
    UNION ALL
    SELECT decided_on, 0, 0, count(*), count(*) FILTER (WHERE outcome = 'approve'),
        count(*) FILTER (WHERE outcome = 'decline'), count(*) FILTER (WHERE outcome = 'refer'),
        0, 0, 0, 0, 0, 0
    FROM credit_applications GROUP BY 1
    UNION ALL
    SELECT d.decided_on, 0, 0, 0, 0, 0, 0, 0, 0, 0, coalesce(sum({SCORE}), 0),
        count({SCORE}), sum(d.cost_minor)
    FROM decisions d GROUP BY 1
    UNION ALL
    SELECT {_utc_day("signed_at")}, 0, 0, 0, 0, 0, 0, count(*), 0, 0, 0, 0, 0
    FROM loan_contracts WHERE signed_at IS NOT NULL GROUP BY 1
    UNION ALL
    SELECT disbursed_on, 0, 0, 0, 0, 0, 0, 0, count(*), sum(principal), 0, 0, 0
    FROM loans WHERE disbursed_on IS NOT NULL
        AND status NOT IN ('cancelled', 'pending_disbursement')
    GROUP BY 1
) AS parts
WHERE day <= :as_of
GROUP BY day
"""

# The month difference from D to x, and whether x falls after D + that many months.
_MONTHS = "(date_part('year', age({x}, {d})) * 12 + date_part('month', age({x}, {d})))::int"
_PART = "CASE WHEN date_part('day', age({x}, {d})) > 0 THEN 1 ELSE 0 END"

VINTAGE = f"""
WITH first_bad AS (
    SELECT loan_id, min(due_date + 30) AS first_bad
    FROM installments
    WHERE due_date + 30 <= :as_of AND (settled_on IS NULL OR settled_on > due_date + 30)
    GROUP BY loan_id
), book AS (
    SELECT date_trunc('month', l.disbursed_on)::date AS cohort, l.principal,
        {_MONTHS.format(x=":as_of", d="l.disbursed_on")} AS observed,
        CASE
            WHEN fb.first_bad IS NOT NULL AND (l.status <> 'written_off'
                                              OR fb.first_bad <= l.closed_on)
                THEN {_MONTHS.format(x="fb.first_bad", d="l.disbursed_on")}
                     + {_PART.format(x="fb.first_bad", d="l.disbursed_on")}
            WHEN l.status = 'written_off' AND l.closed_on <= :as_of
                THEN {_MONTHS.format(x="l.closed_on", d="l.disbursed_on")}
                     + {_PART.format(x="l.closed_on", d="l.disbursed_on")}
        END AS bad_mob
    FROM loans l LEFT JOIN first_bad fb ON fb.loan_id = l.id
    WHERE l.disbursed_on IS NOT NULL AND l.disbursed_on <= :as_of
        AND l.status NOT IN ('cancelled', 'pending_disbursement')
), grouped AS (
    SELECT cohort, observed, bad_mob, count(*) AS loans, sum(principal) AS principal
    FROM book GROUP BY 1, 2, 3
)
INSERT INTO analytics_vintage (cohort, mob, loans, principal_minor, bad_loans,
    bad_principal_minor)
SELECT g.cohort, m.mob, sum(g.loans), sum(g.principal),
    coalesce(sum(g.loans) FILTER (WHERE g.bad_mob <= m.mob), 0),
    coalesce(sum(g.principal) FILTER (WHERE g.bad_mob <= m.mob), 0)
FROM grouped g JOIN generate_series(0, :max_mob) AS m(mob) ON m.mob <= g.observed
GROUP BY g.cohort, m.mob
"""


def _state_at(name: str) -> str:
    """Each disbursed loan's state on day ``:<name>``."""
    dpd = f"coalesce(:{name} - d.oldest, 0)"
    return f"""
    SELECT l.id AS loan_id,
        CASE WHEN l.status = 'written_off' AND l.closed_on <= :{name} THEN 'written_off'
             WHEN l.status = 'closed' AND l.closed_on <= :{name} THEN 'closed'
             ELSE {bucket_case(dpd)} END AS state
    FROM loans l
    LEFT JOIN (
        SELECT loan_id, min(due_date) AS oldest FROM installments
        WHERE due_date < :{name} AND (settled_on IS NULL OR settled_on > :{name})
        GROUP BY loan_id
    ) d ON d.loan_id = l.id
    WHERE l.disbursed_on <= :{name} AND l.status NOT IN ('cancelled', 'pending_disbursement')
    """


ROLL = f"""
WITH s1 AS ({_state_at("start")}), s2 AS ({_state_at("end")}),
paid AS (
    SELECT loan_id, sum(amount) AS amount FROM repayments
    WHERE received_on > :start AND received_on <= :end GROUP BY loan_id
), moves AS (
    SELECT s1.state AS from_state, s2.state AS to_state, coalesce(paid.amount, 0) AS paid
    FROM s1 JOIN s2 USING (loan_id) LEFT JOIN paid USING (loan_id)
    WHERE s1.state NOT IN ('closed', 'written_off')
), rolls AS (
    INSERT INTO analytics_roll_rates (period_end, from_state, to_state, loans)
    SELECT :end, from_state, to_state, count(*) FROM moves GROUP BY from_state, to_state
)
INSERT INTO analytics_recovery (period_end, bucket, loans, cured, collected_minor)
SELECT :end, from_state, count(*),
    count(*) FILTER (WHERE to_state IN ('C', 'closed')), sum(paid)
FROM moves WHERE from_state <> 'C' GROUP BY from_state
"""

WRITTEN_OFF_RECOVERY = """
INSERT INTO analytics_recovery (period_end, bucket, loans, cured, collected_minor)
SELECT :as_of, 'written_off', count(*), 0, coalesce(sum(recovered), 0)
FROM loans WHERE status = 'written_off' AND closed_on <= :as_of
HAVING count(*) > 0
ON CONFLICT (period_end, bucket) DO UPDATE
SET loans = EXCLUDED.loans, collected_minor = EXCLUDED.collected_minor
"""

BOOK = """
INSERT INTO analytics_book_cells (product_code, funder_code, bucket, loans, outstanding_minor,
    receivable_minor)
SELECT l.product_code, coalesce(tr.funder_code, regexp_replace(l.funding_account, '^cash:', '')),
    l.bucket, count(*),
    sum(round(l.outstanding_principal * coalesce(tr.share, 1))),
    sum(round((l.interest_receivable + l.fee_receivable + l.penalty_receivable)
              * coalesce(tr.share, 1)))
FROM loans l
LEFT JOIN loan_tranches tr ON tr.loan_id = l.id AND NOT tr.released
WHERE l.status = 'active'
GROUP BY 1, 2, 3
"""

SCORE_MONTHLY = f"""
INSERT INTO analytics_score_monthly (month, score, applications)
SELECT date_trunc('month', d.decided_on)::date, {SCORE}, count(*)
FROM decisions d
WHERE d.decided_on <= :as_of AND d.record #>> '{{workings,final_score,score}}' IS NOT NULL
GROUP BY 1, 2
"""

SCORE_PERFORMANCE = f"""
INSERT INTO analytics_score_performance (score, good, bad)
SELECT score, count(*) FILTER (WHERE NOT bad), count(*) FILTER (WHERE bad)
FROM (
    SELECT {SCORE} AS score, (l.max_dpd >= 30 OR l.status = 'written_off') AS bad
    FROM loans l
    JOIN credit_applications a ON a.line_id = l.line_id
    JOIN decisions d ON d.id = a.decision_id
    WHERE l.disbursed_on <= (:as_of - make_interval(months => :maturity))::date
        AND l.status NOT IN ('cancelled', 'pending_disbursement')
) AS matured
WHERE score IS NOT NULL
GROUP BY score
"""

LEDGER = f"""
INSERT INTO analytics_ledger_daily (business_date, account, currency, amount_minor)
SELECT e.business_date, split_part(p.account, ':', 1), p.currency, sum(p.amount_minor)
FROM journal_entries e JOIN postings p ON p.entry_id = e.id
WHERE e.business_date >= :since AND e.business_date <= :as_of
    AND split_part(p.account, ':', 1) IN ({", ".join(repr(a) for a in LEDGER_ACCOUNTS)})
GROUP BY 1, 2, 3
"""

FUNDER_DAY = """
INSERT INTO analytics_funder_daily (day, funder_code, outstanding_minor, cost_minor)
SELECT :as_of, c.funder_code, sum(c.outstanding_minor),
    sum(c.outstanding_minor) * coalesce(f.cost_of_funds, 0) / 365
FROM analytics_book_cells c LEFT JOIN funders f ON f.code = c.funder_code
GROUP BY c.funder_code, f.cost_of_funds
ON CONFLICT (day, funder_code) DO UPDATE
SET outstanding_minor = EXCLUDED.outstanding_minor, cost_minor = EXCLUDED.cost_minor
"""


def month_ends(as_of: dt.date, months: int) -> list[dt.date]:
    """The last ``months`` month ends before ``as_of``, oldest first."""
    ends = []
    end = as_of.replace(day=1) - dt.timedelta(days=1)
    for _ in range(months):
        ends.append(end)
        end = end.replace(day=1) - dt.timedelta(days=1)
    return sorted(ends)


class SqlAnalyticsRefresher:
    """Implements ``AnalyticsRefresher``: one transaction, readers see the old summaries
    until it commits."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def refresh(self, as_of: dt.date, *, full: bool = False) -> RefreshState:
        """Rebuild as of ``as_of``, after any refresh already running has finished."""
        state = self._refresh(as_of, full, wait=True)
        assert state is not None
        return state

    def try_refresh(self, as_of: dt.date, *, full: bool = False) -> RefreshState | None:
        """Rebuild as of ``as_of``; None at once when another refresh is running (a
        person asking should hear so rather than wait behind the nightly rebuild)."""
        return self._refresh(as_of, full, wait=False)

    def _refresh(self, as_of: dt.date, full: bool, *, wait: bool) -> RefreshState | None:
        with self._engine.begin() as conn:
            key = {"key": REFRESH_LOCK_KEY}
            if wait:
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), key)
            elif not conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(:key)"), key).scalar():
                return None
            started = time.perf_counter()  # the rebuild's own time, not the wait
            conn.execute(sa.text("SET LOCAL work_mem = '64MB'"))
            previous = conn.execute(
                sa.text("SELECT as_of FROM analytics_state WHERE name = 'portfolio'")
            ).scalar_one_or_none()
            params = {"as_of": as_of, "max_mob": MAX_MOB, "maturity": MATURITY_MONTHS}
            for table in ("analytics_funnel_daily", "analytics_vintage", "analytics_book_cells",
                          "analytics_score_monthly", "analytics_score_performance"):  # fmt: skip
                conn.execute(sa.text(f"DELETE FROM {table}"))
            conn.execute(sa.text(FUNNEL), params)
            conn.execute(sa.text(VINTAGE), params)
            conn.execute(sa.text(BOOK), params)
            conn.execute(sa.text(SCORE_MONTHLY), params)
            conn.execute(sa.text(SCORE_PERFORMANCE), params)
            self._roll_rates(conn, as_of, full)
            # The ledger is append-only: only recent business dates can still change.
            since = dt.date.min if full or previous is None else previous - dt.timedelta(days=7)
            conn.execute(
                sa.text("DELETE FROM analytics_ledger_daily WHERE business_date >= :since"),
                {"since": since},
            )
            conn.execute(sa.text(LEDGER), {"since": since, "as_of": as_of})
            conn.execute(sa.text(FUNDER_DAY), params)
            seconds = Decimal(str(round(time.perf_counter() - started, 3)))
            now = conn.execute(sa.text("SELECT now()")).scalar_one()
            conn.execute(
                sa.text(
                    "INSERT INTO analytics_state (name, as_of, refreshed_at, seconds)"
                    " VALUES ('portfolio', :as_of, :now, :seconds)"
                    " ON CONFLICT (name) DO UPDATE SET as_of = EXCLUDED.as_of,"
                    " refreshed_at = EXCLUDED.refreshed_at, seconds = EXCLUDED.seconds"
                ),
                {"as_of": as_of, "now": now, "seconds": seconds},
            )
        return RefreshState(as_of, now, seconds)

    def _roll_rates(self, conn: sa.Connection, as_of: dt.date, full: bool) -> None:
        """Completed months are kept; only missing ones and the month under way are built."""
        ends = month_ends(as_of, ROLL_MONTHS + 1)
        periods = [(a, b) for a, b in itertools.pairwise(ends)]
        if as_of > ends[-1]:
            periods.append((ends[-1], as_of))
        done = set() if full else {
            row[0]
            for row in conn.execute(sa.text("SELECT DISTINCT period_end FROM analytics_roll_rates"))
        }  # fmt: skip
        month_end_days = set(ends)
        for table in ("analytics_roll_rates", "analytics_recovery"):
            # Partial periods (and everything, when full) are rebuilt.
            conn.execute(
                sa.text(f"DELETE FROM {table} WHERE :full OR NOT (period_end = ANY(:ends))"),
                {"full": full, "ends": sorted(month_end_days)},
            )
        for start, end in periods:
            if end in month_end_days and end in done:
                continue
            conn.execute(sa.text(ROLL), {"start": start, "end": end})
        conn.execute(sa.text(WRITTEN_OFF_RECOVERY), {"as_of": as_of})
