"""The back office's stores on PostgreSQL (the ``operations`` group of the unit of work):
maker-checker requests and reviews of referred applications."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from mobilend.adapters.db.journey_tables import credit_applications
from mobilend.adapters.db.operations_tables import approval_requests, referral_reviews
from mobilend.app.operations.ports import ReferralReview, ReviewStatus
from mobilend.domain.approvals import ApprovalKind, ApprovalRequest, ApprovalStatus
from mobilend.domain.errors import Conflict, NotFound
from mobilend.domain.money import Money


def approval_from_row(row: Any) -> ApprovalRequest:
    return ApprovalRequest(
        request_id=row.id,
        kind=ApprovalKind(row.kind),
        target=row.target,
        payload=dict(row.payload),
        reason=row.reason,
        maker=row.maker,
        made_at=row.made_at,
        status=ApprovalStatus(row.status),
        checker=row.checker,
        checked_at=row.checked_at,
        check_note=row.check_note,
        result=dict(row.result or {}),
    )


def _approval_values(request: ApprovalRequest) -> dict[str, Any]:
    return {
        "id": request.request_id,
        "kind": request.kind.value,
        "target": request.target,
        "payload": dict(request.payload),
        "reason": request.reason,
        "maker": request.maker,
        "made_at": request.made_at,
        "status": request.status.value,
        "checker": request.checker,
        "checked_at": request.checked_at,
        "check_note": request.check_note,
        "result": dict(request.result),
    }


class SqlApprovalStore:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, request: ApprovalRequest) -> None:
        try:
            with self._conn.begin_nested():
                self._conn.execute(approval_requests.insert().values(_approval_values(request)))
        except sa.exc.IntegrityError:
            raise Conflict(
                f"已有待审批的申请 (a {request.kind.value} of {request.target} is already waiting)"
            ) from None

    def get(self, request_id: str, *, for_update: bool = False) -> ApprovalRequest:
        query = sa.select(approval_requests).where(approval_requests.c.id == request_id)
        if for_update:
            query = query.with_for_update()
        row = self._conn.execute(query).first()
        if row is None:
            raise NotFound(f"approval request {request_id} not found")
        return approval_from_row(row)

    def save(self, request: ApprovalRequest) -> None:
        values = _approval_values(request)
        values.pop("id")
        self._conn.execute(
            approval_requests.update()
            .where(approval_requests.c.id == request.request_id)
            .values(values)
        )

    def pending_for(self, kind: ApprovalKind, target: str) -> ApprovalRequest | None:
        row = self._conn.execute(
            sa.select(approval_requests).where(
                approval_requests.c.kind == kind.value,
                approval_requests.c.target == target,
                approval_requests.c.status == "pending",
            )
        ).first()
        return approval_from_row(row) if row is not None else None

    def list(self, status: ApprovalStatus | None = None, limit: int = 100) -> list[ApprovalRequest]:
        query = sa.select(approval_requests)
        if status is not None:
            query = query.where(approval_requests.c.status == status.value)
        query = query.order_by(approval_requests.c.made_at.desc()).limit(limit)
        return [approval_from_row(r) for r in self._conn.execute(query)]


def review_from_row(row: Any) -> ReferralReview:
    limit = Money.from_minor(row.limit_minor, row.currency) if row.limit_minor is not None else None
    return ReferralReview(
        application_id=row.application_id,
        borrower_id=row.borrower_id,
        status=ReviewStatus(row.status),
        reviewer=row.reviewer,
        reviewed_at=row.reviewed_at,
        reason=row.reason,
        limit=limit,
        annual_rate=Decimal(row.annual_rate) if row.annual_rate is not None else None,
        approval_id=row.approval_id,
    )


class SqlReferralStore:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def review_of(self, application_id: str) -> ReferralReview | None:
        row = self._conn.execute(
            sa.select(referral_reviews).where(referral_reviews.c.application_id == application_id)
        ).first()
        return review_from_row(row) if row is not None else None

    def save_review(self, review: ReferralReview) -> None:
        values = {
            "application_id": review.application_id,
            "borrower_id": review.borrower_id,
            "status": review.status.value,
            "reviewer": review.reviewer,
            "reviewed_at": review.reviewed_at,
            "reason": review.reason,
            "limit_minor": review.limit.to_minor() if review.limit is not None else None,
            "currency": review.limit.currency if review.limit is not None else "CNY",
            "annual_rate": review.annual_rate,
            "approval_id": review.approval_id,
        }
        statement = pg_insert(referral_reviews).values(values)
        self._conn.execute(
            statement.on_conflict_do_update(
                index_elements=["application_id"],
                set_={k: statement.excluded[k] for k in values if k != "application_id"},
            )
        )

    def resolve_application(
        self,
        application_id: str,
        *,
        outcome: str,
        limit: Money | None,
        annual_rate: Decimal | None,
        price_band: str,
        expires_on: dt.date | None,
        line_id: str | None,
        reasons: Sequence[Mapping[str, str]],
    ) -> None:
        changed = self._conn.execute(
            credit_applications.update()
            .where(
                credit_applications.c.id == application_id,
                credit_applications.c.outcome == "refer",
            )
            .values(
                outcome=outcome,
                limit_minor=limit.to_minor() if limit is not None else None,
                currency=limit.currency if limit is not None else "CNY",
                annual_rate=annual_rate,
                price_band=price_band,
                expires_on=expires_on,
                line_id=line_id,
                reasons=[dict(r) for r in reasons],
            )
        ).rowcount
        if changed != 1:
            raise Conflict(f"application {application_id} is no longer waiting for review")


class SqlOperationsStores:
    def __init__(self, conn: sa.Connection) -> None:
        self.approvals = SqlApprovalStore(conn)
        self.referrals = SqlReferralStore(conn)
