"""The staff operations API under ``/ops``: sign-in, end-of-day progress, money held in
suspense, payouts waiting for people, reconciliation and the early-warning queue.

Every route but sign-in needs a staff token and one of the roles named on it; every
change a staff member makes (and every sign-in, refused or not) goes to the audit log.
Personal data is masked unless the caller's role works with it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from mobilend.adapters.auth import sees_full_pii
from mobilend.api.errors import error_responses
from mobilend.api.ops_deps import (
    STAFF,
    AnyStaff,
    BusinessDatePath,
    CollectionsReader,
    Desk,
    FinanceReader,
    LoanIdPath,
    OperationsReader,
    Operator,
    TransferIdPath,
)
from mobilend.api.ops_schemas import (
    AssignTransferIn,
    EodStatusOut,
    FunderSettlementOut,
    PartitionOut,
    PayoutListOut,
    PayoutOut,
    ReconciliationOut,
    StaffLoginIn,
    StaffTokenOut,
    TransferListOut,
    TransferOut,
    WarningListOut,
    WarningOut,
)
from mobilend.api.schemas import MoneyOut
from mobilend.app.funding.dispatch import dead_letters, retry_payout
from mobilend.app.funding.ports import PayoutRecord
from mobilend.app.funding.reconciliation import partner_settlement, stored_report
from mobilend.app.servicing.ports import IncomingTransfer
from mobilend.app.servicing.transfers import assign_transfer, suspense_items
from mobilend.bootstrap.servicing import eod_status
from mobilend.domain.borrowers import Unauthenticated, mask_phone
from mobilend.domain.errors import NotFound

router = APIRouter(prefix="/ops", tags=["operations"], responses=error_responses(403))

Limit = Annotated[int, Query(ge=1, le=500, description="At most this many items")]


# --------------------------------------------------------------------------- sign-in


@router.post("/auth/login", response_model=StaffTokenOut, summary="Staff sign-in 员工登录")
def login(body: StaffLoginIn, desk: Desk) -> StaffTokenOut:
    now = desk.now()
    try:
        user = desk.staff.authenticate(body.username, body.password, now)
    except Unauthenticated:
        desk.record(
            f"staff_login:{body.username.lower()}",
            "staff.sign_in_refused",
            f"staff_login:{body.username.lower()}",
        )
        raise
    roles = tuple(sorted(r.value for r in user.roles))
    pair = desk.tokens.issue(user.user_id, STAFF, roles, now)
    desk.record(f"staff:{user.user_id}", "staff.signed_in", f"staff:{user.user_id}")
    return StaffTokenOut(
        access_token=pair.access_token,
        expires_at=pair.access_expires_at,
        user_id=user.user_id,
        username=user.username,
        roles=list(roles),
    )


# --------------------------------------------------------------------------- end of day


@router.get(
    "/eod/{business_date}", response_model=EodStatusOut, summary="End-of-day progress 日终进度"
)
def eod_progress(business_date: BusinessDatePath, desk: Desk, _staff: AnyStaff) -> EodStatusOut:
    record, partitions = eod_status(business_date, engine=desk.engine)
    parts = [
        PartitionOut(
            partition=p.partition,
            partitions=p.partitions,
            status=p.status,
            rows_done=p.rows_done,
            rows_total=p.rows_total,
            started_at=p.started_at,
            finished_at=p.finished_at,
        )
        for p in partitions
    ]
    if record is not None:
        status = record.status
    elif parts:
        status = "done" if all(p.status == "done" for p in parts) else "running"
    else:
        status = "not_started"
    return EodStatusOut(
        business_date=business_date,
        status=status,
        rows_done=sum(p.rows_done for p in parts),
        rows_total=sum(p.rows_total for p in parts),
        partitions=parts,
        catch_up_to=record.catch_up_to if record else None,
        started_at=record.started_at if record else None,
        closed_at=record.closed_at if record else None,
        summary=dict(record.summary) if record and record.summary else None,
    )


# --------------------------------------------------------------------------- suspense


def _transfer(t: IncomingTransfer) -> TransferOut:
    return TransferOut(
        transfer_id=t.transfer_id,
        bank_transaction_id=t.bank_transaction_id,
        reference=t.reference,
        payer=t.payer_masked,  # stored masked: nobody needs the payer's full name here
        amount=MoneyOut.of(t.amount),
        received_on=t.received_on,
        status=t.status,
        loan_id=t.loan_id,
        repayment_id=t.repayment_id,
        assigned_by=t.assigned_by,
        assigned_at=t.assigned_at,
    )


@router.get("/suspense", response_model=TransferListOut, summary="Money in suspense 挂账款项")
def list_suspense(desk: Desk, _staff: OperationsReader, limit: Limit = 100) -> TransferListOut:
    return TransferListOut(items=[_transfer(t) for t in suspense_items(desk.servicing, limit)])


@router.post(
    "/suspense/{transfer_id}/assign",
    response_model=TransferOut,
    summary="Assign suspense money to a loan 挂账款项认领",
)
def assign_suspense(
    transfer_id: TransferIdPath, body: AssignTransferIn, desk: Desk, staff: Operator
) -> TransferOut:
    # Recorded in the assignment's transaction (``assign_transfer``).
    assigned = assign_transfer(
        desk.servicing, transfer_id, loan_id=body.loan_id, operator=staff.actor, on=desk.today()
    )
    return _transfer(assigned)


# --------------------------------------------------------------------------- payouts


def _payout(p: PayoutRecord) -> PayoutOut:
    return PayoutOut(
        loan_id=p.loan_id,
        borrower_id=p.borrower_id,
        amount=MoneyOut.of(p.amount),
        status=p.status,
        attempts=p.attempts,
        failure_code=p.failure_code,
        last_error=p.last_error,
        business_date=p.business_date,
        updated_at=p.updated_at,
    )


@router.get(
    "/payouts/dead-letters",
    response_model=PayoutListOut,
    summary="Payouts waiting for people 放款异常",
)
def list_dead_letters(desk: Desk, _staff: OperationsReader, limit: Limit = 100) -> PayoutListOut:
    payouts = dead_letters(desk.disbursement.uow_factory, limit)
    return PayoutListOut(items=[_payout(p) for p in payouts])


@router.post(
    "/payouts/{loan_id}/retry",
    response_model=PayoutOut,
    summary="Send a payout again, same idempotency key 重新放款",
)
def retry(loan_id: LoanIdPath, desk: Desk, staff: Operator) -> PayoutOut:
    with desk.staged(staff.actor, "payout.retried", f"loan:{loan_id}"):
        payout = retry_payout(desk.disbursement, loan_id)
    return _payout(payout)


# --------------------------------------------------------------------------- reconciliation


@router.get(
    "/reconciliation/{business_date}",
    response_model=ReconciliationOut,
    summary="Rail reconciliation and funder settlement 对账与资金方结算",
)
def reconciliation(
    business_date: BusinessDatePath, desk: Desk, _staff: FinanceReader
) -> ReconciliationOut:
    factory = desk.disbursement.uow_factory
    stored = stored_report(factory, business_date)
    settlement = [
        FunderSettlementOut(
            funder_code=s.funder_code,
            loans=s.loans,
            principal=MoneyOut.of(s.principal),
            interest=MoneyOut.of(s.interest),
            fees=MoneyOut.of(s.fees),
            penalty=MoneyOut.of(s.penalty),
            platform_margin=MoneyOut.of(s.platform_margin),
            total=MoneyOut.of(s.total),
        )
        for s in partner_settlement(factory, business_date, business_date)
    ]
    return ReconciliationOut(
        business_date=business_date,
        report=stored.to_state() if stored is not None else None,
        settlement=settlement,
    )


# --------------------------------------------------------------------------- early warning


@router.get(
    "/early-warning",
    response_model=WarningListOut,
    summary="Loans likely to roll into the next bucket 预警名单",
)
def early_warning(desk: Desk, staff: CollectionsReader, limit: Limit = 100) -> WarningListOut:
    servicing = desk.servicing
    with servicing.uow_factory() as uow:
        rows = uow.servicing.scores.roll_risk(limit)
    in_clear = sees_full_pii(staff.roles)
    items = []
    for row in rows:
        phone: str | None = None
        if servicing.contacts is not None:
            try:
                phone = servicing.contacts.contact(row.borrower_id).phone
            except NotFound:
                phone = None
        items.append(
            WarningOut(
                loan_id=row.loan_id,
                borrower_id=row.borrower_id,
                phone=phone if in_clear or phone is None else mask_phone(phone),
                scored_on=row.scored_on,
                score=row.score,
                band=row.band,
                bucket=row.bucket,
                next_bucket=row.next_bucket,
                days_to_roll=row.days_to_roll,
                dpd=row.dpd,
                max_dpd=row.max_dpd,
                late_installments=row.late_installments,
                partial_installments=row.partial_installments,
                failed_debits=row.failed_debits,
                bureau_events=row.bureau_events,
            )
        )
    return WarningListOut(items=items)
