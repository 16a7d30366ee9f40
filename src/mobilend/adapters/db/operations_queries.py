"""Reads for the console's operations pages: end-of-day dates, the job queue, stored
reconciliations, the audit log (paged by sequence number) and decision versions in use."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from mobilend.adapters.db import funding_tables as f
from mobilend.adapters.db import onboarding_tables as o
from mobilend.adapters.db import risk_tables as r
from mobilend.adapters.db import servicing_tables as s
from mobilend.app.operations.ports import (
    AuditRow,
    EodDateRow,
    JobCount,
    PolicyUse,
    ReconciliationRow,
)


class SqlOperationsQueries:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def _rows(self, query: sa.Executable, **params: Any) -> list[Any]:
        with self._engine.connect() as conn:
            return list(conn.execute(query, params))

    def eod_dates(self, limit: int) -> list[EodDateRow]:
        t = s.eod_business_dates
        query = sa.select(t).order_by(t.c.business_date.desc()).limit(limit)
        return [
            EodDateRow(
                x.business_date,
                x.status,
                x.partition_count,
                x.started_at,
                x.closed_at,
                dict(x.summary or {}),
            )
            for x in self._rows(query)
        ]

    def job_counts(self) -> list[JobCount]:
        # The job queue's own table; absent until the queue's schema is installed.
        query = sa.text(
            "SELECT queue_name, task_name, status::text AS status, count(*) AS jobs"
            " FROM procrastinate_jobs GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        )
        try:
            rows = self._rows(query)
        except sa.exc.ProgrammingError:
            return []
        return [JobCount(x.queue_name, x.task_name, x.status, x.jobs) for x in rows]

    def reconciliations(self, limit: int) -> list[ReconciliationRow]:
        t = f.reconciliation_reports
        query = sa.select(t.c.business_date, t.c.clean, t.c.breaks, t.c.created_at)
        return [
            ReconciliationRow(x.business_date, x.clean, x.breaks, x.created_at)
            for x in self._rows(query.order_by(t.c.business_date.desc()).limit(limit))
        ]

    def audit(self, before_seq: int | None, target: str | None, limit: int) -> list[AuditRow]:
        t = o.audit_log
        query = sa.select(t)
        if target:
            query = query.where(t.c.target == target)
        if before_seq is not None:
            query = query.where(t.c.seq < before_seq)
        return [
            AuditRow(x.seq, x.at, x.actor, x.action, x.target, dict(x.details or {}))
            for x in self._rows(query.order_by(t.c.seq.desc()).limit(limit))
        ]

    def policy_use(self, since: dt.date) -> list[PolicyUse]:
        d = r.decisions
        query = (
            sa.select(
                d.c.policy_id,
                d.c.model_version,
                d.c.arm,
                sa.func.count().label("decisions"),
                sa.func.count().filter(d.c.outcome == "approve").label("approved"),
                sa.func.min(d.c.decided_on).label("first_on"),
                sa.func.max(d.c.decided_on).label("last_on"),
            )
            .where(d.c.decided_on >= since)
            .group_by(d.c.policy_id, d.c.model_version, d.c.arm)
            .order_by(sa.func.max(d.c.decided_on).desc())
        )
        return [
            PolicyUse(
                x.policy_id, x.model_version, x.arm, x.decisions, x.approved, x.first_on, x.last_on
            )
            for x in self._rows(query)
        ]
