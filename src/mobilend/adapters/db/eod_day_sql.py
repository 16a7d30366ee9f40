"""End of day's statements for one chunk of loans: accrual, fees, penalty, days past due
and buckets.

The rules are the domain's (``Loan.accrue_to`` / ``_end_of_day`` in ``domain.loans`` and
the arithmetic in ``domain.loans_installments``); these statements apply them to many
loans at once. For each day after a loan's ``accrued_through`` up to the business date:

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

The chunk is a temporary table (``MAKE_CHUNK``) of locked loans; ``ONE_DAY`` moves those
at the previous day by one day; ``ONE_DAY_SCORED`` does the same on the business date and
scores them (``servicing_sql``'s scorecard). ``eod.py`` runs them.
"""

from __future__ import annotations

import sqlalchemy as sa

from mobilend.adapters.db import servicing_sql

# An installment with nothing left to pay (domain: InstallmentState.is_settled).
SETTLED = (
    "(i.principal_paid = i.principal_due AND i.interest_paid = i.interest_scheduled"
    " AND i.fees_paid = i.fees_due AND i.penalty_paid = i.penalty_posted)"
)

MAKE_CHUNK = sa.text(
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
    """.replace("{settled}", SETTLED)
)

# The penalty rate a day may accrue (domain: ``Rulebook.penalty_rate_for``): the contract's,
# lowered so that the loan's APR plus the penalty stay within the cost cap in force that
# day for its licence type (``:caps``: [{"licence_type", "cap"}]); floored to the rate step.
CAP_PENALTY = sa.text(
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
_DAY = """
    WITH inst AS MATERIALIZED (
        -- every installment of the loans moving today, read once by key for both the
        -- amounts and the ageing
        SELECT i.ctid AS row_at, i.loan_id, i.n, i.status, i.kind, i.period_start,
               i.due_date, i.settled_on, i.principal_due, i.interest_scheduled, i.fees_due,
               i.interest_accrued, i.fees_charged, i.penalty_exact, i.penalty_posted,
               i.principal_paid, i.interest_paid, i.fees_paid, i.penalty_paid,
               c.borrower_id, c.currency, c.rounding, c.day_count, c.penalty_rate,
               c.penalty_grace_days
        FROM eod_chunk c
        JOIN installments i ON i.loan_id = c.id
        WHERE c.accrued_through = :day - 1 AND NOT c.holds_credit
          AND i.loan_id = ANY(:ids)  -- the chunk's keys, so the read is by index
          -- an installment whose period has not begun has nothing to accrue, charge or
          -- age today: most of a loan's installments, kept out of everything below
          -- (when the day's statement also scores the loans, those falling due within
          -- the warning horizon are read too: ``:horizon_end`` is then past ``:day``)
          AND (i.period_start <= :day OR i.due_date <= :day OR i.due_date < :horizon_end)
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
"""

# The loans moved to the day, with their balances, days past due and bucket.
_AGE_LOANS = """
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

ONE_DAY = sa.text(_DAY + _AGE_LOANS)

# The business date's statement when end of day also scores the loans it ages
# (``servicing_sql``'s scorecard, from the installments it read and the days past due it
# wrote): the partition's behaviour scores without reading every installment again.
ONE_DAY_SCORED = sa.text(
    f"""{_DAY}, aged AS (
        {_AGE_LOANS}
        RETURNING l.id, l.borrower_id, l.dpd, l.max_dpd
    ), signals_read AS (
        SELECT i.loan_id, {servicing_sql.SIGNAL_AGGREGATES}
        FROM inst i GROUP BY i.loan_id
    ), scoring AS (
        SELECT a.id AS loan_id, a.borrower_id, a.dpd, a.max_dpd,
               coalesce(s.late, 0) AS late, coalesce(s.avg_late, 0) AS avg_late,
               coalesce(s.partial, 0) AS partial, s.next_due
        FROM aged a LEFT JOIN signals_read s ON s.loan_id = a.id
    ), {
        servicing_sql.scoring_ctes(
            "scoring",
            "a.loan_id = ANY(:ids)",
            "c.borrower_id IN (SELECT borrower_id FROM eod_chunk)",
        )
    }
    SELECT count(*) FILTER (WHERE roll_risk), count(*) FROM final
    """
)
