"""PostgreSQL side of credit-bureau reporting: each loan as it stood at a month's end, and
the records sent per month so a later change to a past month goes out as a correction.

A month's figures come from what is dated in that month or before: ledger postings by
their entry's business date (a repayment reversed later shows up as a change to the
months it had counted in), installments by due date and settlement date. So the same
month can be rebuilt at any later time and compared with what was sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from mobilend.adapters.db.compliance_tables import bureau_records, bureau_submissions
from mobilend.adapters.db.statements import insert_into
from mobilend.app.compliance.ports import BureauSubmission, LoanMonthFacts, ReportedLoan
from mobilend.domain.loans_terms import terms_from_state
from mobilend.domain.money import Money

_RECEIVABLES = "('interest_receivable', 'fee_receivable', 'penalty_receivable')"
_ALL_RECEIVABLES = (
    "('loan_principal_receivable', 'interest_receivable', 'fee_receivable', 'penalty_receivable')"
)
_PAYMENT_KINDS = "('repayment', 'credit_application')"

_LOAN_FACTS = sa.text(
    f"""
    SELECT l.id, l.borrower_id, l.product_code, l.currency, l.principal, l.terms, l.method,
           l.status, l.closed_on, l.disbursed_on,
           (SELECT COALESCE(sum(p.amount_minor), 0)
              FROM postings p JOIN journal_entries e ON e.id = p.entry_id
             WHERE p.loan_id = l.id AND e.business_date <= :month_end
               AND split_part(p.account, ':', 1) = 'loan_principal_receivable'
           ) AS principal_balance,
           (SELECT COALESCE(sum(p.amount_minor), 0)
              FROM postings p JOIN journal_entries e ON e.id = p.entry_id
             WHERE p.loan_id = l.id AND e.business_date <= :month_end
               AND split_part(p.account, ':', 1) IN {_RECEIVABLES}
           ) AS charges_balance,
           (SELECT COALESCE(sum(i.principal_due + i.interest_scheduled + i.fees_due), 0)
              FROM installments i WHERE i.loan_id = l.id AND i.due_date < :month_end
           ) AS due_to_date,
           (SELECT COALESCE(-sum(p.amount_minor), 0)
              FROM postings p
              JOIN journal_entries e ON e.id = p.entry_id
              LEFT JOIN journal_entries r ON r.id = e.reverses
             WHERE p.loan_id = l.id AND e.business_date <= :month_end
               AND split_part(p.account, ':', 1) IN {_ALL_RECEIVABLES}
               AND (e.kind IN {_PAYMENT_KINDS}
                    OR (e.kind = 'reversal' AND r.kind IN {_PAYMENT_KINDS}))
           ) AS paid_to_date,
           (SELECT min(i.due_date) FROM installments i
             WHERE i.loan_id = l.id AND i.due_date < :month_end
               AND (i.settled_on IS NULL OR i.settled_on > :month_end)
           ) AS oldest_unpaid_due_on,
           (SELECT count(*) FROM installments i
             WHERE i.loan_id = l.id AND i.due_date < :month_end
               AND (i.settled_on IS NULL OR i.settled_on > :month_end)
           ) AS installments_unpaid,
           last.business_date AS last_payment_on, last.amount AS last_payment
    FROM loans l
    LEFT JOIN LATERAL (
        SELECT e.business_date, -sum(p.amount_minor) AS amount
          FROM journal_entries e
          JOIN postings p ON p.entry_id = e.id
               AND split_part(p.account, ':', 1) IN {_ALL_RECEIVABLES}
         WHERE e.loan_id = l.id AND e.kind = 'repayment' AND e.business_date <= :month_end
           AND NOT EXISTS (SELECT 1 FROM journal_entries r
                            WHERE r.reverses = e.id AND r.business_date <= :month_end)
         GROUP BY e.id, e.business_date
         ORDER BY e.business_date DESC, e.id DESC
         LIMIT 1
    ) last ON true
    WHERE l.disbursed_on <= :month_end AND l.status <> 'cancelled'
      AND (l.closed_on IS NULL OR l.closed_on >= :month_start)
    ORDER BY l.id
    """
)


def _facts(row: sa.Row[Any]) -> LoanMonthFacts:
    currency = row.currency.strip()

    def money(minor: int | None) -> Money:
        return Money.from_minor(int(minor or 0), currency)

    terms = terms_from_state(dict(row.terms))
    frequency = terms.frequency
    return LoanMonthFacts(
        loan_id=row.id,
        borrower_id=row.borrower_id,
        product_code=row.product_code,
        currency=currency,
        principal=money(row.principal),
        periods=terms.periods,
        frequency=f"{frequency.every}{frequency.unit.value}",
        method=row.method,
        opened_on=row.disbursed_on,
        final_due_on=terms.due_dates()[-1],
        status=row.status,
        closed_on=row.closed_on,
        principal_balance=money(row.principal_balance),
        charges_balance=money(row.charges_balance),
        due_to_date=money(row.due_to_date),
        paid_to_date=money(row.paid_to_date),
        oldest_unpaid_due_on=row.oldest_unpaid_due_on,
        installments_unpaid=int(row.installments_unpaid),
        last_payment_on=row.last_payment_on,
        last_payment=money(row.last_payment) if row.last_payment is not None else None,
    )


class SqlBureauStore:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def loan_facts(self, month_start: dt.date, month_end: dt.date) -> list[LoanMonthFacts]:
        rows = self._conn.execute(_LOAN_FACTS, {"month_start": month_start, "month_end": month_end})
        return [_facts(row) for row in rows]

    def reported(self, month: str) -> dict[str, ReportedLoan]:
        rows = self._conn.execute(
            sa.select(bureau_records).where(
                bureau_records.c.month == month, bureau_records.c.deleted.is_(False)
            )
        )
        return {
            row.loan_id: ReportedLoan(
                row.month,
                row.loan_id,
                row.borrower_id,
                tuple((str(k), str(v)) for k, v in row.fields),
                row.submission_id,
            )
            for row in rows
        }

    def reported_months(self, before: str) -> list[str]:
        rows = self._conn.execute(
            sa.select(bureau_submissions.c.month)
            .where(bureau_submissions.c.month < before)
            .distinct()
            .order_by(bureau_submissions.c.month)
        )
        return [str(m) for m in rows.scalars()]

    def record(
        self,
        submission: BureauSubmission,
        sent: Sequence[ReportedLoan],
        deleted: Sequence[tuple[str, str]],
    ) -> None:
        from sqlalchemy.dialects.postgresql import insert

        self._conn.execute(
            insert_into(bureau_submissions),
            dict(
                id=submission.submission_id,
                month=submission.month,
                created_at=submission.created_at,
                regular_records=submission.regular_records,
                corrections=submission.corrections,
                deletions=submission.deletions,
                sha256=submission.sha256,
            ),
        )
        for record in sent:
            statement = insert(bureau_records).values(
                month=record.month,
                loan_id=record.loan_id,
                borrower_id=record.borrower_id,
                fields=[list(pair) for pair in record.fields],
                submission_id=submission.submission_id,
                deleted=False,
            )
            self._conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["month", "loan_id"],
                    set_={
                        "fields": statement.excluded.fields,
                        "submission_id": statement.excluded.submission_id,
                        "deleted": False,
                    },
                )
            )
        for month, loan_id in deleted:
            self._conn.execute(
                bureau_records.update()
                .where(bureau_records.c.month == month, bureau_records.c.loan_id == loan_id)
                .values(deleted=True, submission_id=submission.submission_id)
            )
