"""Staff routes for refunds of money held for borrowers: those above the approval
threshold wait here until someone in finance approves them (``app.servicing.payments``).
Approving moves the ledger and queues the payout; it is written to the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from mobilend.adapters.auth import Role
from mobilend.api.errors import error_responses
from mobilend.api.ops_deps import Desk, FinanceReader, StaffSession, require_roles
from mobilend.api.schemas import ID_PATTERN, MoneyOut
from mobilend.app.servicing.payments import approve_refund
from mobilend.app.servicing.ports import RefundRecord

router = APIRouter(prefix="/ops", tags=["operations"], responses=error_responses(403))

Approver = Annotated[StaffSession, Depends(require_roles(Role.FINANCE, Role.ADMIN))]
RefundIdPath = Annotated[str, Path(pattern=ID_PATTERN, description="Refund id")]


class RefundOut(BaseModel):
    refund_id: str
    loan_id: str
    amount: MoneyOut
    business_date: dt.date
    status: str
    approved_by: str = ""


class RefundListOut(BaseModel):
    items: list[RefundOut]


def _refund(r: RefundRecord) -> RefundOut:
    return RefundOut(
        refund_id=r.refund_id,
        loan_id=r.loan_id,
        amount=MoneyOut.of(r.amount),
        business_date=r.business_date,
        status=r.status,
        approved_by=r.approved_by,
    )


@router.get(
    "/refunds", response_model=RefundListOut, summary="Refunds awaiting approval 待审批退款"
)
def awaiting(
    desk: Desk,
    _staff: FinanceReader,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> RefundListOut:
    with desk.servicing.uow_factory() as uow:
        waiting = uow.servicing.refunds.pending(limit, status="awaiting_approval")
    return RefundListOut(items=[_refund(r) for r in waiting])


@router.post(
    "/refunds/{refund_id}/approve",
    response_model=RefundOut,
    summary="Approve a refund 审批退款",
    responses=error_responses(404, 409),
)
def approve(refund_id: RefundIdPath, desk: Desk, staff: Approver) -> RefundOut:
    # The approval's audit record is written in its transaction (``approve_refund``).
    refund = approve_refund(desk.servicing, refund_id, operator=staff.actor, on=desk.today())
    return _refund(refund)
