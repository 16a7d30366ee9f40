"""``SqlEndOfDay``: the ``EndOfDayRunner`` for PostgreSQL.

End of day for many loans at once: the set-based SQL of ``eod.py`` (accrual, fees,
penalty, days past due, buckets) partitioned by loan id and chunked; loans holding
overpaid money go through the domain (``Loan.accrue_to``) inside the chunk's transaction,
getting their line's limit back when that money settles principal (as
``app.eod.LoanByLoanEndOfDay`` does); then credit lines are frozen and unfrozen set-based
with the rules of ``app.eod``: a line is frozen (reason ``overdue``) while any active loan
on it is past due, and unfrozen once none is.

A date already run for a partition changes nothing; loans that became due for it later
(drawn after the run) are caught up loan by loan through the domain.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from mobilend.adapters.db import eod
from mobilend.adapters.db.compliance_repository import SqlLoanPricingStore
from mobilend.adapters.db.lending_ledger_repository import SqlLedgerRepository
from mobilend.adapters.db.lending_repository import SqlCreditLineRepository, SqlLoanRepository
from mobilend.app.compliance.pricing import caps_on, penalty_rate_on
from mobilend.app.lending.eod import OVERDUE_FREEZE_REASON
from mobilend.app.lending.ports import EndOfDaySummary
from mobilend.app.servicing.settings import EarlyWarningWeights
from mobilend.domain.compliance import CostCapPolicy

_IN_PARTITION = "(hashtext({column}) & 2147483647) % :partitions = :partition"

_STRAGGLERS = sa.text(
    f"""
    SELECT id FROM loans
    WHERE status = 'active' AND closed_on IS NULL AND accrued_through < :business_date
      AND {_IN_PARTITION.format(column="id")}
    ORDER BY id
    """
)

_SQL_ENTRIES = sa.text(
    f"""
    SELECT count(*) FROM journal_entries e
    WHERE e.created_txid > :since AND e.kind IN ('accrual', 'fee', 'penalty_accrual')
      AND e.id = e.loan_id || ':' || e.kind || ':' || e.business_date
      AND {_IN_PARTITION.format(column="e.loan_id")}
    """
)

_FREEZE = sa.text(
    f"""
    WITH overdue AS (
        SELECT DISTINCT line_id FROM loans
        WHERE status = 'active' AND dpd > 0 AND line_id IS NOT NULL
          AND {_IN_PARTITION.format(column="id")}
    ), frozen AS (
        UPDATE credit_lines c
        SET status = 'frozen', frozen_reason = :reason, version = c.version + 1
        FROM overdue o
        WHERE c.id = o.line_id AND c.status = 'active'
        RETURNING c.id
    )
    SELECT count(*) FROM frozen
    """
)

_UNFREEZE = sa.text(
    f"""
    WITH cured AS (
        UPDATE credit_lines c
        SET status = 'active', frozen_reason = NULL, version = c.version + 1
        WHERE c.status = 'frozen' AND c.frozen_reason = :reason
          AND EXISTS (SELECT 1 FROM loans l WHERE l.line_id = c.id
                      AND {_IN_PARTITION.format(column="l.id")})
          AND NOT EXISTS (SELECT 1 FROM loans l WHERE l.line_id = c.id
                          AND l.status = 'active' AND l.dpd > 0)
        RETURNING c.id
    )
    SELECT count(*) FROM cured
    """
)


@dataclass(frozen=True, slots=True)
class PartitionRun:
    """What one partition's run did (``eod.EodResult`` plus the domain's share)."""

    business_date: dt.date
    partition: int
    partitions: int
    rows_total: int
    rows_done: int
    already_done: bool
    busy: bool
    entries_posted: int
    #: When asked to score: the partition's active loans the run left to score (None:
    #: it scored none), and how many it scored are flagged roll risk.
    left_to_score: tuple[str, ...] | None = None
    flagged: int = 0


@dataclass(frozen=True, slots=True)
class PartitionProgress:
    partition: int
    partitions: int
    status: str
    rows_done: int
    rows_total: int
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class SqlEndOfDay:
    """End of day on PostgreSQL; ``run`` is the ``EndOfDayRunner`` port."""

    def __init__(
        self,
        engine: sa.Engine,
        new_id: Callable[[], str],
        *,
        chunk_size: int = 20_000,
        rules: CostCapPolicy | None = None,
    ) -> None:
        self.engine = engine
        self._new_id = new_id
        self.chunk_size = chunk_size
        #: Penalties are kept within the cost cap in force each day when given.
        self.rules = rules

    def _penalty_caps(self) -> eod.PenaltyCaps | None:
        if self.rules is None:
            return None
        with self.engine.connect() as conn:
            licences = set(
                conn.execute(sa.text("SELECT DISTINCT licence_type FROM loan_pricing")).scalars()
            )
        return caps_on(self.rules, licences)

    # -- the port -------------------------------------------------------------------
    def run(
        self, business_date: dt.date, partition: int = 0, partitions: int = 1
    ) -> EndOfDaySummary:
        done = self.run_partition(business_date, partition, partitions)
        frozen, unfrozen = self.sync_lines(partition, partitions)
        return EndOfDaySummary(business_date, done.rows_done, done.entries_posted, frozen, unfrozen)

    # -- the pieces the job queue runs separately -------------------------------------
    def run_partition(
        self,
        business_date: dt.date,
        partition: int = 0,
        partitions: int = 1,
        *,
        count_entries: bool = True,
        score_weights: EarlyWarningWeights | None = None,
    ) -> PartitionRun:
        """Age one partition of the loans to ``business_date`` (no line changes).

        ``count_entries`` counts the journal entries posted (a scan of the day's new
        entries; the job queue leaves it out at scale). With ``score_weights`` the loans
        aged on the business date are also scored (``left_to_score`` names the rest)."""
        with self.engine.begin() as conn:
            since = int(conn.execute(sa.text("SELECT txid_current()")).scalar_one())
        domain_entries = [0]

        def per_loan(conn: sa.Connection, loan_id: str, on: dt.date) -> None:
            domain_entries[0] += self._domain_end_of_day(conn, loan_id, on)

        result = eod.run_partition(
            self.engine,
            business_date,
            partition,
            partitions,
            chunk_size=self.chunk_size,
            per_loan=per_loan,
            penalty_caps=self._penalty_caps(),
            score_weights=score_weights,
        )
        rows_done = result.rows_done
        if result.already_done:
            rows_done += self._catch_up_stragglers(business_date, partition, partitions, per_loan)
        params = {"since": since, "partition": partition, "partitions": partitions}
        sql_entries = 0
        if count_entries:
            with self.engine.connect() as conn:
                sql_entries = int(conn.execute(_SQL_ENTRIES, params).scalar_one())
        return PartitionRun(
            business_date,
            partition,
            partitions,
            result.rows_total,
            rows_done,
            result.already_done,
            result.busy,
            sql_entries + domain_entries[0],
            tuple(result.unscored) if result.unscored is not None else None,
            result.flagged,
        )

    def sync_lines(self, partition: int = 0, partitions: int = 1) -> tuple[int, int]:
        """Freeze lines with an overdue active loan, unfreeze cured ones (lines with a loan
        in this partition); returns (frozen, unfrozen)."""
        params = {"reason": OVERDUE_FREEZE_REASON, "partition": partition, "partitions": partitions}
        with self.engine.begin() as conn:
            frozen = int(conn.execute(_FREEZE, params).scalar_one())
            unfrozen = int(conn.execute(_UNFREEZE, params).scalar_one())
        return frozen, unfrozen

    # -- inside ---------------------------------------------------------------------------
    def _domain_end_of_day(self, conn: sa.Connection, loan_id: str, on: dt.date) -> int:
        """End of day for one loan by the domain rules, on the chunk's connection."""
        loans = SqlLoanRepository(conn)
        loan = loans.get(loan_id, for_update=True)
        repaid_before = loan.principal_repaid
        pricing = SqlLoanPricingStore(conn).get(loan_id) if self.rules is not None else None
        capped = None
        if self.rules is not None and pricing is not None:
            capped = penalty_rate_on(
                self.rules, pricing, loan.rules.penalty_rate, loan.terms.day_count
            )
        entries = loan.accrue_to(on, self._new_id, capped)
        repaid = loan.principal_repaid - repaid_before
        if repaid.is_positive() and loan.line_id is not None:
            lines = SqlCreditLineRepository(conn)
            line = lines.get(loan.line_id, for_update=True)
            line.restore(repaid)
            lines.save(line)
        loans.save(loan)
        SqlLedgerRepository(conn).append(entries, loan.borrower_id)
        return len(entries)

    def _catch_up_stragglers(
        self,
        business_date: dt.date,
        partition: int,
        partitions: int,
        per_loan: Callable[[sa.Connection, str, dt.date], None],
    ) -> int:
        params = {"business_date": business_date, "partition": partition, "partitions": partitions}
        with self.engine.connect() as conn:
            ids = list(conn.execute(_STRAGGLERS, params).scalars())
        done = 0
        for loan_id in ids:
            with self.engine.begin() as conn:
                locked = conn.execute(
                    sa.text(
                        "SELECT 1 FROM loans WHERE id = :id AND status = 'active'"
                        " AND accrued_through < :d FOR UPDATE SKIP LOCKED"
                    ),
                    {"id": loan_id, "d": business_date},
                ).first()
                if locked is not None:
                    per_loan(conn, loan_id, business_date)
                    done += 1
        return done


def eod_progress(engine: sa.Engine, business_date: dt.date) -> list[PartitionProgress]:
    """Rows done and total per partition of ``business_date`` (the latest partitioning)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                """
                SELECT partition, partition_count, status, rows_done, rows_total,
                       started_at, finished_at
                FROM eod_runs
                WHERE business_date = :d AND partition_count = (
                    SELECT partition_count FROM eod_runs WHERE business_date = :d
                    ORDER BY started_at DESC LIMIT 1)
                ORDER BY partition
                """
            ),
            {"d": business_date},
        ).all()
    return [PartitionProgress(*row) for row in rows]
