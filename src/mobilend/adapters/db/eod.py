"""End of day as set-based SQL: accrual, fees, penalty, days past due and buckets.

The rules are the domain's (``Loan.accrue_to`` / ``_end_of_day`` in ``domain.loans`` and
the arithmetic in ``domain.loans_installments``); this module applies them to many loans
per statement. For each day after a loan's ``accrued_through`` up to the business date:

1. interest: each installment whose period has started is brought to
   ``round(scheduled × elapsed / period length)`` (day-count days, the loan's rounding),
   posting the increase — a whole period therefore accrues exactly its scheduled interest;
2. fees of installments due by that day are charged;
3. penalty: one day on the unpaid principal of each installment overdue by more than the
   grace days, accumulated unrounded (``penalty_exact``) and posted as the rounded total's
   increase;
4. one journal entry per loan and kind (accrual, fee, penalty accrual), written with
   ``INSERT … SELECT`` so the ledger stays balanced;
5. on the business date itself, the installments' statuses (in the same write as the
   amounts) and the loans' days past due and bucket.

Work is split into partitions by a hash of the loan id (``partition`` of
``partition_count``) so several workers can share a date, and each partition into chunks
of loans, each chunk one transaction. ``eod_runs`` records progress per (date, partition).
Running a date again changes nothing: loans already at that date are not picked.

Loans holding money for the borrower (``credit_balance > 0``) need the payment waterfall
to apply it, and loans with fees owed to third parties need them split by payee, both of
which live in the domain; they are handed to ``per_loan`` (inside the
chunk's transaction) or, without one, left behind and reported in ``EodResult.skipped``.
"""

from __future__ import annotations

import datetime as dt
import json
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from mobilend.adapters.db.security_repository import append_to_chain
from mobilend.app.audit import AuditEntry

ONE_DAY = dt.timedelta(days=1)

#: Called for a loan the SQL leaves to the domain: (connection, loan id, business date).
PerLoan = Callable[[sa.Connection, str, dt.date], None]
#: The cost cap limit in force per licence type on a day (penalties are kept within it).
PenaltyCaps = Callable[[dt.date], Mapping[str, Decimal]]


@dataclass(frozen=True, slots=True)
class EodResult:
    business_date: dt.date
    partition: int
    partition_count: int
    rows_total: int = 0
    rows_done: int = 0
    already_done: bool = False
    busy: bool = False  # another process holds this partition right now
    skipped: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- SQL

# Loans of one partition still to run; ``closed_on IS NULL`` lets ix_loans_open serve it.
_ELIGIBLE = """
    status = 'active' AND closed_on IS NULL AND accrued_through < :business_date
    AND (hashtext(id) & 2147483647) % :partition_count = :partition
"""

# The partition's pending loans, read in one pass at the start: picking each chunk with
# ``id > :after ORDER BY id LIMIT n`` scanned the whole loans table once per chunk (no
# index serves the hash filter), 0.4–0.5 s a chunk at a million loans.
_PENDING = sa.text(f"SELECT id FROM loans WHERE {_ELIGIBLE} ORDER BY id")

_ADD_TO_TOTAL = sa.text(
    "UPDATE eod_runs SET rows_total = rows_total + :n WHERE business_date = :business_date"
    " AND partition_count = :partition_count AND partition = :partition"
)

# A chunk of them, locked; a loan closed or run since the list was read drops out here.
_LOCK_CHUNK = sa.text(
    f"""
    SELECT id FROM loans
    WHERE id = ANY(:ids) AND {_ELIGIBLE}
    ORDER BY id
    FOR UPDATE
    """
)

# An installment with nothing left to pay (domain: InstallmentState.is_settled).
_SETTLED = (
    "(i.principal_paid = i.principal_due AND i.interest_paid = i.interest_scheduled"
    " AND i.fees_paid = i.fees_due AND i.penalty_paid = i.penalty_posted)"
)

_MAKE_CHUNK = sa.text(
    """
    CREATE TEMP TABLE eod_chunk ON COMMIT DROP AS
    SELECT l.id, l.borrower_id, l.currency, l.penalty_rate, l.penalty_grace_days, l.day_count,
           l.rounding, l.accrued_through,
           -- left to the domain: held credit the waterfall may apply on one of the days
           -- (something unpaid falls due by the business date, or nothing is unpaid and
           -- the loan may close) and fees owed to third parties (split by payee as they
           -- are recognised, domain.loans_fees). Credit held against installments not
           -- yet due just waits (Loan._apply_credit finds nothing to settle), so those
           -- days are plain SQL days.
           (l.credit_balance > 0 AND (
                EXISTS (SELECT 1 FROM installments i
                        WHERE i.loan_id = l.id AND i.due_date <= :business_date
                          AND NOT {settled})
                OR NOT EXISTS (SELECT 1 FROM installments i
                               WHERE i.loan_id = l.id AND NOT {settled})))
           OR jsonb_path_exists(l.terms, '$.fees[*] ? (@.payee != "lender")') AS holds_credit,
           l.penalty_rate AS contract_penalty_rate, p.apr_for_cap, p.licence_type
    FROM loans l LEFT JOIN loan_pricing p ON p.loan_id = l.id
    WHERE l.id = ANY(:ids)
    """.replace("{settled}", _SETTLED)
)

# The penalty rate a day may accrue (domain: ``Rulebook.penalty_rate_for``): the contract's,
# lowered so that the loan's APR plus the penalty stay within the cost cap in force that
# day for its licence type (``:caps``: [{"licence_type", "cap"}]); floored to the rate step.
_CAP_PENALTY = sa.text(
    """
    UPDATE eod_chunk c
    SET penalty_rate = LEAST(
        c.contract_penalty_rate,
        floor(GREATEST(cap.cap - c.apr_for_cap, 0) * days_in_year(c.day_count) / 365
              * 1000000) / 1000000)
    FROM jsonb_to_recordset(CAST(:caps AS jsonb)) AS cap(licence_type text, cap numeric)
    WHERE cap.licence_type = c.licence_type AND c.apr_for_cap IS NOT NULL
      AND c.contract_penalty_rate > 0
    """
)

# One day for every loan of the chunk that is at the previous day, in one statement:
# per-installment amounts (only rows with something to do), their update, one journal
# entry per loan and kind with its two postings, and the loans moved to the day with
# their balances, days past due and bucket. (Sub-statements see the tables as they were
# before the statement; days past due do not depend on what this statement changes.)
_ONE_DAY = sa.text(
    """
    WITH inst AS MATERIALIZED (
        -- every installment of the loans moving today, read once by key for both the
        -- amounts and the ageing
        SELECT i.ctid AS row_at, i.loan_id, i.n, i.status, i.period_start, i.due_date,
               i.principal_due, i.interest_scheduled, i.fees_due, i.interest_accrued,
               i.fees_charged, i.penalty_exact, i.penalty_posted, i.principal_paid,
               i.interest_paid, i.fees_paid, i.penalty_paid, c.borrower_id, c.currency,
               c.rounding, c.day_count, c.penalty_rate, c.penalty_grace_days
        FROM eod_chunk c
        JOIN installments i ON i.loan_id = c.id
        WHERE c.accrued_through = :day - 1 AND NOT c.holds_credit
          AND i.loan_id = ANY(:ids)  -- the chunk's keys, so the read is by index
          -- an installment whose period has not begun has nothing to accrue, charge or
          -- age today: most of a loan's installments, kept out of everything below
          AND (i.period_start <= :day OR i.due_date <= :day)
    ), base AS MATERIALIZED (
        SELECT i.loan_id, i.n, i.borrower_id, i.currency, i.rounding,
               i.interest_accrued, i.fees_charged, i.penalty_posted,
               -- interest earned by the end of the day (domain: interest_target),
               -- unrounded; NULL when the installment has nothing more to earn today
               CASE
                   WHEN i.interest_accrued >= i.interest_scheduled OR i.period_start > :day
                       THEN NULL
                   WHEN least(:day + 1, i.due_date) >= i.due_date
                        OR day_count_days(i.period_start, i.due_date, i.day_count) <= 0
                       THEN i.interest_scheduled::numeric
                   ELSE i.interest_scheduled::numeric
                        * greatest(day_count_days(i.period_start, :day + 1, i.day_count), 0)
                        / day_count_days(i.period_start, i.due_date, i.day_count)
               END AS interest_earned,
               CASE WHEN i.due_date <= :day THEN greatest(i.fees_due, i.fees_charged)
                    ELSE i.fees_charged END AS fees_charged_new,
               -- one day of penalty (domain: add_penalty_day), unrounded, in currency units
               CASE WHEN i.due_date < :day AND :day - i.due_date > i.penalty_grace_days
                         AND i.principal_due > i.principal_paid AND i.penalty_rate > 0
                    THEN decimal_context_round(i.penalty_exact + decimal_context_div(
                        decimal_context_round(
                            (i.principal_due - i.principal_paid) / minor_per_unit(i.currency)
                            * i.penalty_rate),
                        days_in_year(i.day_count)))
                    ELSE i.penalty_exact END AS penalty_exact_new
        FROM inst i
        WHERE (   (i.interest_accrued < i.interest_scheduled AND i.period_start <= :day)
               OR (i.due_date <= :day AND i.fees_charged < i.fees_due)
               OR (i.due_date < :day AND :day - i.due_date > i.penalty_grace_days
                   AND i.principal_due > i.principal_paid AND i.penalty_rate > 0))
    ), rounded AS (
        -- rounding functions get plain columns, so PostgreSQL inlines them
        SELECT *,
               CASE WHEN interest_earned IS NULL THEN interest_accrued
                    ELSE greatest(interest_accrued, round_minor(interest_earned, rounding))
               END AS interest_accrued_new,
               penalty_exact_new * minor_per_unit(currency) AS penalty_exact_minor
        FROM base
    ), calc AS (
        SELECT *,
               greatest(penalty_posted, round_minor(penalty_exact_minor, rounding))
                   AS penalty_posted_new
        FROM rounded
    ), new_state AS (
        -- each installment as it stands at the end of the day: new amounts where it
        -- accrues, and on the business date its status (domain:
        -- InstallmentState.status_on), so a row is written once a night, not twice
        SELECT i.row_at, i.status, c.loan_id IS NOT NULL AS accrues,
               coalesce(c.interest_accrued_new, i.interest_accrued) AS interest_accrued_new,
               coalesce(c.fees_charged_new, i.fees_charged) AS fees_charged_new,
               coalesce(c.penalty_exact_new, i.penalty_exact) AS penalty_exact_new,
               coalesce(c.penalty_posted_new, i.penalty_posted) AS penalty_posted_new,
               CASE
                   -- only these can change with the date; payments set the others
                   WHEN :day <> :business_date OR i.due_date > :day
                        OR i.status NOT IN ('scheduled', 'due', 'partially_paid')
                       THEN i.status
                   WHEN (i.principal_due - i.principal_paid)
                        + (i.interest_scheduled - i.interest_paid) + (i.fees_due - i.fees_paid)
                        + (coalesce(c.penalty_posted_new, i.penalty_posted) - i.penalty_paid) = 0
                       THEN 'paid'
                   WHEN i.due_date < :day THEN 'overdue'
                   WHEN i.principal_paid + i.interest_paid + i.fees_paid + i.penalty_paid > 0
                       THEN 'partially_paid'
                   ELSE 'due'
               END AS status_new
        FROM inst i LEFT JOIN calc c ON c.loan_id = i.loan_id AND c.n = i.n
    ), changed AS MATERIALIZED (
        -- only the rows to write (about one in five of ``inst``) go on to find their
        -- row: joined before this filter, every row read was looked up by address
        SELECT * FROM new_state s WHERE s.accrues OR s.status_new <> s.status
    ), updated_installments AS (
        UPDATE installments i
        SET interest_accrued = s.interest_accrued_new,
            fees_charged = s.fees_charged_new,
            penalty_exact = s.penalty_exact_new,
            penalty_posted = s.penalty_posted_new,
            status = s.status_new
        FROM changed s
        -- by the row's address read above (its loan is locked, so nothing else moved
        -- it): a join on the key hashed every installment of the chunk's loans
        WHERE i.ctid = s.row_at
    ), loan_day AS (
        SELECT loan_id, borrower_id, currency,
               sum(interest_accrued_new - interest_accrued)::bigint AS interest,
               sum(fees_charged_new - fees_charged)::bigint AS fees,
               sum(penalty_posted_new - penalty_posted)::bigint AS penalty
        FROM calc GROUP BY loan_id, borrower_id, currency
    ), entry_lines AS (
        -- as the domain's entry builders: kind, debit account, credit account, memo
        SELECT d.loan_id || ':' || k.kind || ':' || :day AS entry_id, k.kind, k.memo,
               k.debit_account, k.credit_account, d.loan_id, d.borrower_id, d.currency,
               CASE k.kind WHEN 'accrual' THEN d.interest WHEN 'fee' THEN d.fees
                           ELSE d.penalty END AS amount
        FROM loan_day d CROSS JOIN (VALUES
            ('accrual', 'interest_receivable', 'interest_income', 'interest accrual'),
            ('fee', 'fee_receivable', 'fee_income', 'installment fees due'),
            ('penalty_accrual', 'penalty_receivable', 'penalty_income', 'penalty accrual')
        ) AS k(kind, debit_account, credit_account, memo)
    ), new_entries AS (
        INSERT INTO journal_entries (id, kind, business_date, loan_id, borrower_id, memo)
        SELECT entry_id, kind, :day, loan_id, borrower_id, memo
        FROM entry_lines WHERE amount > 0
    ), new_postings AS (
        INSERT INTO postings (entry_id, account, loan_id, borrower_id, amount_minor, currency)
        SELECT e.entry_id,
               CASE WHEN side.sign = 1 THEN e.debit_account ELSE e.credit_account END,
               e.loan_id, e.borrower_id, side.sign * e.amount, e.currency
        FROM entry_lines e CROSS JOIN (VALUES (1), (-1)) AS side(sign)
        WHERE e.amount > 0
    ), moved AS (
        UPDATE eod_chunk SET accrued_through = :day
        WHERE accrued_through = :day - 1 AND NOT holds_credit
        RETURNING id
    ), aging AS (
        SELECT i.loan_id,
               max(CASE WHEN i.due_date < :day
                         AND (i.principal_due - i.principal_paid)
                           + (i.interest_scheduled - i.interest_paid)
                           + (i.fees_due - i.fees_paid) + (i.penalty_posted - i.penalty_paid) <> 0
                        THEN :day - i.due_date ELSE 0 END) AS dpd
        FROM inst i  -- the loans of ``moved``, as they were before this statement
        WHERE i.status <> 'paid' AND i.due_date < :day  -- paid ones are settled: 0 days
        GROUP BY i.loan_id
    )
    UPDATE loans l
    SET accrued_through = :day,
        accrued_interest = l.accrued_interest + coalesce(d.interest, 0),
        interest_receivable = l.interest_receivable + coalesce(d.interest, 0),
        fee_receivable = l.fee_receivable + coalesce(d.fees, 0),
        penalty_receivable = l.penalty_receivable + coalesce(d.penalty, 0),
        dpd = coalesce(a.dpd, 0),
        max_dpd = greatest(l.max_dpd, coalesce(a.dpd, 0)),
        bucket = CASE WHEN coalesce(a.dpd, 0) = 0 THEN 'C'
                      WHEN a.dpd > 180 THEN 'M6+'
                      ELSE 'M' || ((a.dpd + 29) / 30) END,
        version = l.version + 1
    FROM moved m
    LEFT JOIN loan_day d ON d.loan_id = m.id
    LEFT JOIN aging a ON a.loan_id = m.id
    WHERE l.id = m.id AND l.id = ANY(:ids)
    """
)

# Planner settings for a chunk's statements (see ``_run_chunk``).
_CHUNK_PLANNER_SETTINGS = ("enable_seqscan = off", "random_page_cost = 1.1", "jit = off")

# --------------------------------------------------------------------------- running


def _partition_lock_key(business_date: dt.date, partition: int, partition_count: int) -> int:
    # Advisory-lock key: one run per (date, partition) at a time, across processes.
    return zlib.crc32(f"eod:{business_date}:{partition}/{partition_count}".encode())


def run_partition(
    engine: sa.Engine,
    business_date: dt.date,
    partition: int = 0,
    partition_count: int = 1,
    *,
    chunk_size: int = 20_000,
    per_loan: PerLoan | None = None,
    penalty_caps: PenaltyCaps | None = None,
) -> EodResult:
    """Run end of day for one partition of the loans, chunk by chunk (penalties kept
    within ``penalty_caps`` when given)."""
    if not 0 <= partition < partition_count:
        raise ValueError("partition must be in [0, partition_count)")
    with engine.connect() as lock_conn:
        key = _partition_lock_key(business_date, partition, partition_count)
        if not lock_conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
            return EodResult(business_date, partition, partition_count, busy=True)
        lock_conn.commit()
        try:
            return _run_locked(
                engine, business_date, partition, partition_count, chunk_size, per_loan,
                penalty_caps,
            )  # fmt: skip
        finally:
            lock_conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            lock_conn.commit()


def _run_locked(
    engine: sa.Engine,
    business_date: dt.date,
    partition: int,
    partition_count: int,
    chunk_size: int,
    per_loan: PerLoan | None,
    penalty_caps: PenaltyCaps | None = None,
) -> EodResult:
    params = {
        "business_date": business_date,
        "partition": partition,
        "partition_count": partition_count,
    }
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO eod_runs (business_date, partition_count, partition)"
                " VALUES (:business_date, :partition_count, :partition) ON CONFLICT DO NOTHING"
            ),
            params,
        )
        status = conn.execute(
            sa.text(
                "SELECT status FROM eod_runs WHERE business_date = :business_date"
                " AND partition_count = :partition_count AND partition = :partition"
            ),
            params,
        ).scalar_one()
        if status == "done":
            return EodResult(business_date, partition, partition_count, already_done=True)
        pending = list(conn.execute(_PENDING, params).scalars())
        total = len(pending)
        conn.execute(
            sa.text(
                "UPDATE eod_runs SET status = 'running', rows_total = rows_done + :total,"
                " started_at = now(), finished_at = NULL"
                " WHERE business_date = :business_date AND partition_count = :partition_count"
                " AND partition = :partition"
            ),
            {**params, "total": total},
        )

    done = 0
    skipped: list[str] = []
    tried: set[str] = set()
    while pending:
        for start in range(0, len(pending), chunk_size):
            listed = pending[start : start + chunk_size]
            tried.update(listed)
            n, chunk_skipped = _run_listed_chunk(
                engine, params, listed, business_date, per_loan, penalty_caps
            )
            done += n
            skipped.extend(chunk_skipped)
        # Loans paid out while the partition ran: one more read, usually empty.
        with engine.begin() as conn:
            pending = [i for i in conn.execute(_PENDING, params).scalars() if i not in tried]
            if pending:
                total += len(pending)
                conn.execute(_ADD_TO_TOTAL, {**params, "n": len(pending)})

    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE eod_runs SET status = :status, finished_at = now()"
                " WHERE business_date = :business_date AND partition_count = :partition_count"
                " AND partition = :partition"
            ),
            {**params, "status": "incomplete" if skipped else "done"},
        )
    return EodResult(
        business_date, partition, partition_count, rows_total=total, rows_done=done, skipped=skipped
    )


def _run_listed_chunk(
    engine: sa.Engine,
    params: dict[str, Any],
    listed: list[str],
    business_date: dt.date,
    per_loan: PerLoan | None,
    penalty_caps: PenaltyCaps | None,
) -> tuple[int, list[str]]:
    """Lock the listed loans still pending and run them in one transaction with their
    progress and audit record; returns how many were run and the ids left undone."""
    with engine.begin() as conn:
        ids = list(conn.execute(_LOCK_CHUNK, {**params, "ids": listed}).scalars())
        if not ids:
            return 0, []
        chunk_skipped = _run_chunk(conn, ids, business_date, per_loan, penalty_caps)
        ran = len(ids) - len(chunk_skipped)
        conn.execute(
            sa.text(
                "UPDATE eod_runs SET rows_done = rows_done + :n"
                " WHERE business_date = :business_date AND partition_count = :partition_count"
                " AND partition = :partition"
            ),
            {**params, "n": ran},
        )
        # One audit record per chunk (not per loan), committed with the chunk.
        target = (
            f"eod:{business_date.isoformat()}:{params['partition']}/{params['partition_count']}"
        )
        append_to_chain(
            conn,
            [
                AuditEntry(
                    "system:eod",
                    "eod.chunk_done",
                    target,
                    {
                        "loans": ran,
                        "skipped": len(chunk_skipped),
                        "first_loan": ids[0],
                        "last_loan": ids[-1],
                    },
                )
            ],
        )
    return ran, chunk_skipped


def _run_chunk(
    conn: sa.Connection,
    ids: list[str],
    business_date: dt.date,
    per_loan: PerLoan | None,
    penalty_caps: PenaltyCaps | None = None,
) -> list[str]:
    """Run every pending day for the loans ``ids`` (locked); return the ids left undone."""
    # Room for the chunk's sorts and hashes in memory rather than on disk.
    conn.execute(sa.text("SET LOCAL work_mem = '64MB'"))
    # A chunk touches a few percent of the loans and installments, every row by key
    # (``= ANY(:ids)``); the planner, misled by CTE row estimates, would otherwise scan
    # whole tables once per chunk, which grows with the square of the portfolio. JIT
    # compiling costs more than these plans take to run.
    for setting in _CHUNK_PLANNER_SETTINGS:
        conn.execute(sa.text(f"SET LOCAL {setting}"))
    # Not waiting for the commit to reach disk is safe: after a crash, chunks whose commit
    # was lost are simply picked again (end of day is idempotent per loan and date).
    conn.execute(sa.text("SET LOCAL synchronous_commit = off"))
    conn.execute(_MAKE_CHUNK, {"ids": ids, "business_date": business_date})
    conn.execute(sa.text("ANALYZE eod_chunk"))
    first = conn.execute(
        sa.text("SELECT min(accrued_through) FROM eod_chunk WHERE NOT holds_credit")
    ).scalar()
    day = first + ONE_DAY if first is not None else business_date + ONE_DAY
    while day <= business_date:
        if penalty_caps is not None:
            caps = [{"licence_type": k, "cap": str(v)} for k, v in penalty_caps(day).items()]
            conn.execute(_CAP_PENALTY, {"caps": json.dumps(caps)})
        conn.execute(_ONE_DAY, {"day": day, "ids": ids, "business_date": business_date})
        day += ONE_DAY
    for setting in _CHUNK_PLANNER_SETTINGS:  # per_loan's domain code plans as usual
        conn.execute(sa.text(f"RESET {setting.split()[0]}"))
    held = list(
        conn.execute(sa.text("SELECT id FROM eod_chunk WHERE holds_credit ORDER BY id")).scalars()
    )
    if per_loan is not None:
        for loan_id in held:
            per_loan(conn, loan_id, business_date)
        held = []
    conn.execute(sa.text("DROP TABLE eod_chunk"))
    return held


def run_eod(
    engine: sa.Engine,
    business_date: dt.date,
    *,
    partition_count: int = 1,
    chunk_size: int = 20_000,
    per_loan: PerLoan | None = None,
    penalty_caps: PenaltyCaps | None = None,
) -> list[EodResult]:
    """Run every partition of ``business_date`` one after another (in this process)."""
    return [
        run_partition(
            engine,
            business_date,
            partition,
            partition_count,
            chunk_size=chunk_size,
            per_loan=per_loan,
            penalty_caps=penalty_caps,
        )
        for partition in range(partition_count)
    ]
