"""PostgreSQL side of periodic line reviews: which lines are due, the review records
(with proposed increases waiting for consent), and the unit of work that changes a line
and records its review in one transaction."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import sqlalchemy as sa

from mobilend.adapters.db import tables as t
from mobilend.adapters.db.journey_tables import credit_applications
from mobilend.adapters.db.risk_tables import line_reviews
from mobilend.adapters.db.statements import insert_into
from mobilend.app.reviews.ports import LineReviewRecord, ReviewCandidate
from mobilend.domain.decisions import (
    DecisionOutcome,
    DecisionReason,
    ProposalStatus,
    ReviewAction,
)
from mobilend.domain.errors import NotFound
from mobilend.domain.money import Money


def _money(minor: int | None, currency: str) -> Money | None:
    return Money.from_minor(int(minor), currency) if minor is not None else None


def _review_from_row(row: sa.Row[Any]) -> LineReviewRecord:
    currency = row.currency.strip()
    previous = _money(row.previous_limit_minor, currency)
    new = _money(row.new_limit_minor, currency)
    assert previous is not None and new is not None
    return LineReviewRecord(
        review_id=row.id,
        line_id=row.line_id,
        borrower_id=row.borrower_id,
        reviewed_on=row.reviewed_on,
        action=ReviewAction(row.action),
        previous_limit=previous,
        new_limit=new,
        decision_id=row.decision_id,
        decision_outcome=DecisionOutcome(row.decision_outcome),
        proposed_limit=_money(row.proposed_limit_minor, currency),
        proposal_status=ProposalStatus(row.proposal_status) if row.proposal_status else None,
        proposal_expires_on=row.proposal_expires_on,
        responded_at=row.responded_at,
        reasons=tuple(DecisionReason(r["code"], r["text_zh"], r["text_en"]) for r in row.reasons),
    )


class SqlLineReviewRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def due(
        self,
        on: dt.date,
        every_days: int,
        *,
        after_line_id: str = "",
        limit: int = 100,
        partition: int = 0,
        partitions: int = 1,
    ) -> list[ReviewCandidate]:
        lines, r, a = t.credit_lines.c, line_reviews.c, credit_applications.c
        cutoff = on - dt.timedelta(days=every_days)
        recent = sa.select(sa.literal(1)).where(r.line_id == lines.id, r.reviewed_on > cutoff)
        income = (
            sa.select(a.declared["monthly_income_fen"].astext)
            .where(a.line_id == lines.id)
            .scalar_subquery()
        )
        query = (
            sa.select(
                lines.id,
                lines.borrower_id,
                lines.product_code,
                lines.credit_limit,
                lines.used,
                lines.currency,
                income.label("income_fen"),
            )
            .where(
                lines.status == "active",
                sa.or_(lines.expires_on.is_(None), lines.expires_on >= on),
                sa.func.coalesce(lines.opened_on, sa.cast(lines.created_at, sa.Date)) <= cutoff,
                ~sa.exists(recent),
                lines.id > after_line_id,
            )
            .order_by(lines.id)
            .limit(limit)
        )
        if partitions > 1:
            # bigint first: abs() of the smallest int4 would overflow.
            bucket = sa.func.abs(sa.cast(sa.func.hashtext(lines.id), sa.BigInteger)) % partitions
            query = query.where(bucket == partition)
        candidates = []
        for row in self._conn.execute(query):
            currency = row.currency.strip()
            income_fen = row.income_fen
            candidates.append(
                ReviewCandidate(
                    line_id=row.id,
                    borrower_id=row.borrower_id,
                    product_code=row.product_code,
                    limit=Money.from_minor(row.credit_limit, currency),
                    used=Money.from_minor(row.used, currency),
                    monthly_income=Money.from_minor(int(income_fen), currency)
                    if income_fen not in (None, "")
                    else None,
                )
            )
        return candidates

    def add(self, review: LineReviewRecord) -> None:
        self._conn.execute(
            insert_into(line_reviews),
            dict(
                id=review.review_id,
                line_id=review.line_id,
                borrower_id=review.borrower_id,
                reviewed_on=review.reviewed_on,
                action=review.action,
                previous_limit_minor=review.previous_limit.to_minor(),
                new_limit_minor=review.new_limit.to_minor(),
                proposed_limit_minor=review.proposed_limit.to_minor()
                if review.proposed_limit is not None
                else None,
                currency=review.previous_limit.currency,
                decision_id=review.decision_id,
                decision_outcome=review.decision_outcome,
                reasons=[dataclasses.asdict(reason) for reason in review.reasons],
                proposal_status=review.proposal_status,
                proposal_expires_on=review.proposal_expires_on,
                responded_at=review.responded_at,
            ),
        )

    def get(self, review_id: str, *, for_update: bool = False) -> LineReviewRecord:
        query = sa.select(line_reviews).where(line_reviews.c.id == review_id)
        row = self._conn.execute(query.with_for_update() if for_update else query).first()
        if row is None:
            raise NotFound(f"line review {review_id} not found")
        return _review_from_row(row)

    def save(self, review: LineReviewRecord) -> None:
        self._conn.execute(
            line_reviews.update()
            .where(line_reviews.c.id == review.review_id)
            .values(proposal_status=review.proposal_status, responded_at=review.responded_at)
        )

    def for_line(self, line_id: str) -> list[LineReviewRecord]:
        rows = self._conn.execute(
            sa.select(line_reviews)
            .where(line_reviews.c.line_id == line_id)
            .order_by(line_reviews.c.reviewed_on.desc())
        )
        return [_review_from_row(row) for row in rows]

    def pending_proposals(self, borrower_id: str) -> list[LineReviewRecord]:
        r = line_reviews.c
        rows = self._conn.execute(
            sa.select(line_reviews)
            .where(r.borrower_id == borrower_id, r.proposal_status == ProposalStatus.PENDING.value)
            .order_by(r.reviewed_on.desc(), r.id.desc())
        )
        return [_review_from_row(row) for row in rows]


class SqlReviewStores:
    """The line reviews' store group, bound to one transaction's connection."""

    def __init__(self, conn: sa.Connection) -> None:
        self.line_reviews = SqlLineReviewRepository(conn)
