"""End of day as set-based SQL, partitioned and chunked.

The day's statements (``eod_day_sql``: accrual, fees, penalty, statuses, days past due
and bucket, with the domain's rules) run for many loans at once. Work is split into
partitions by a hash of the loan id (``partition`` of ``partition_count``) so several
workers can share a date, and each partition into chunks of loans, each chunk one
transaction. ``eod_runs`` records progress per (date, partition). Running a date again
changes nothing: loans already at that date are not picked. Given the early-warning
weights, the business date's statement also scores the loans it ages.

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

from mobilend.adapters.db import eod_day_sql, servicing_sql
from mobilend.adapters.db.security_repository import append_to_chain
from mobilend.app.audit import AuditEntry
from mobilend.app.servicing.settings import EarlyWarningWeights

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
    #: With ``score_weights``: the partition's active loans this run did not score (held
    #: credit, already at the date when it started); None when it scored none.
    unscored: list[str] | None = None
    flagged: int = 0  # loans it scored that are flagged roll risk


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
# The same read when the run also scores: every active loan of the partition, pending or not.
_ACTIVE = sa.text(
    """
    SELECT id, accrued_through < :business_date AS pending FROM loans
    WHERE status = 'active' AND closed_on IS NULL
      AND (hashtext(id) & 2147483647) % :partition_count = :partition
    ORDER BY id
    """
)

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

# Planner settings for a chunk's statements (see ``_run_chunk``).
_CHUNK_PLANNER_SETTINGS = (
    "enable_seqscan = off",
    "random_page_cost = 1.1",
    "jit = off",
    # The driver keeps the day's statement prepared from chunk to chunk (see
    # ``transactions``); a generic plan for it, blind to the chunk's keys, scans whole
    # tables (80 s a chunk at 1 M loans instead of ~1.5 s), so each run is planned anew.
    "plan_cache_mode = force_custom_plan",
)

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
    score_weights: EarlyWarningWeights | None = None,
) -> EodResult:
    """Run end of day for one partition of the loans, chunk by chunk (penalties kept
    within ``penalty_caps`` when given; with ``score_weights``, the loans it ages are
    scored in the business date's statement, see ``EodResult.unscored``)."""
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
                penalty_caps, score_weights,
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
    score_weights: EarlyWarningWeights | None = None,
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
        unscored: list[str] | None = None
        if score_weights is None:
            pending = list(conn.execute(_PENDING, params).scalars())
        else:
            active = conn.execute(_ACTIVE, params).all()
            pending = [loan_id for loan_id, is_pending in active if is_pending]
            unscored = [loan_id for loan_id, is_pending in active if not is_pending]
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

    done = flagged = 0
    skipped: list[str] = []
    tried: set[str] = set()
    while pending:
        for start in range(0, len(pending), chunk_size):
            listed = pending[start : start + chunk_size]
            tried.update(listed)
            chunk = _run_listed_chunk(
                engine, params, listed, business_date, per_loan, penalty_caps, score_weights
            )
            done += chunk.ran
            skipped.extend(chunk.skipped)
            flagged += chunk.flagged
            if unscored is not None:
                unscored.extend(chunk.unscored)
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
        business_date,
        partition,
        partition_count,
        rows_total=total,
        rows_done=done,
        skipped=skipped,
        unscored=unscored,
        flagged=flagged,
    )


@dataclass(frozen=True, slots=True)
class _ChunkRun:
    ran: int = 0
    skipped: list[str] = field(default_factory=list)  # left undone (no ``per_loan``)
    unscored: list[str] = field(default_factory=list)  # listed, not scored in SQL
    flagged: int = 0


def _run_listed_chunk(
    engine: sa.Engine,
    params: dict[str, Any],
    listed: list[str],
    business_date: dt.date,
    per_loan: PerLoan | None,
    penalty_caps: PenaltyCaps | None,
    score_weights: EarlyWarningWeights | None = None,
) -> _ChunkRun:
    """Lock the listed loans still pending and run them in one transaction with their
    progress and audit record."""
    with engine.begin() as conn:
        ids = list(conn.execute(_LOCK_CHUNK, {**params, "ids": listed}).scalars())
        locked = set(ids)
        # closed or run elsewhere since they were listed: scored, if active, after the run
        gone = [loan_id for loan_id in listed if loan_id not in locked]
        if not ids:
            return _ChunkRun(unscored=gone)
        held, chunk_skipped, flagged = _run_chunk(
            conn, ids, business_date, per_loan, penalty_caps, score_weights
        )
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
    return _ChunkRun(ran, chunk_skipped, gone + held, flagged)


def _run_chunk(
    conn: sa.Connection,
    ids: list[str],
    business_date: dt.date,
    per_loan: PerLoan | None,
    penalty_caps: PenaltyCaps | None = None,
    score_weights: EarlyWarningWeights | None = None,
) -> tuple[list[str], list[str], int]:
    """Run every pending day for the loans ``ids`` (locked), scoring them on the business
    date with ``score_weights``; returns the loans held for the domain (not scored), those
    left undone and how many scored loans are flagged."""
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
    conn.execute(eod_day_sql.MAKE_CHUNK, {"ids": ids, "business_date": business_date})
    conn.execute(sa.text("ANALYZE eod_chunk"))
    first = conn.execute(
        sa.text("SELECT min(accrued_through) FROM eod_chunk WHERE NOT holds_credit")
    ).scalar()
    day = first + ONE_DAY if first is not None else business_date + ONE_DAY
    flagged = 0
    while day <= business_date:
        if penalty_caps is not None:
            caps = [{"licence_type": k, "cap": str(v)} for k, v in penalty_caps(day).items()]
            conn.execute(eod_day_sql.CAP_PENALTY, {"caps": json.dumps(caps)})
        params = {"day": day, "ids": ids, "business_date": business_date, "horizon_end": day}
        if day == business_date and score_weights is not None:
            horizon_end = day + dt.timedelta(days=score_weights.horizon_days)
            scoring = {**servicing_sql.score_params(day, score_weights), **params}
            scored = conn.execute(
                eod_day_sql.ONE_DAY_SCORED, {**scoring, "horizon_end": horizon_end}
            )
            flagged = int(scored.one()[0])
        else:
            conn.execute(eod_day_sql.ONE_DAY, params)
        day += ONE_DAY
    for setting in _CHUNK_PLANNER_SETTINGS:  # per_loan's domain code plans as usual
        conn.execute(sa.text(f"RESET {setting.split()[0]}"))
    held = list(
        conn.execute(sa.text("SELECT id FROM eod_chunk WHERE holds_credit ORDER BY id")).scalars()
    )
    undone = held
    if per_loan is not None:
        for loan_id in held:
            per_loan(conn, loan_id, business_date)
        undone = []
    conn.execute(sa.text("DROP TABLE eod_chunk"))
    return held, undone, flagged


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
