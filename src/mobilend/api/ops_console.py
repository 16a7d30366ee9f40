"""The console's staff API under ``/ops``: search, records (personal data masked, each
reveal audited), the manual review queue and maker-checker. Every route checks one
permission (``domain.staff``), the same the console page checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from mobilend.api.errors import error_responses
from mobilend.api.ops_console_deps import (
    AccountReader,
    ApprovalReader,
    ConsoleDeskDep,
    PiiRevealer,
    Reviewer,
    ReviewReader,
    Searcher,
    SignedIn,
)
from mobilend.api.ops_console_schemas import (
    ApplicationOut,
    ApprovalListOut,
    ApprovalOut,
    BorrowerOut,
    CheckIn,
    InstallmentOut,
    LoanActionIn,
    LoanOut,
    PostingOut,
    ReasonOut,
    RepaymentOut,
    RevealOut,
    ReviewIn,
    ReviewItemOut,
    ReviewOut,
    ReviewQueueOut,
    SearchHitOut,
    SearchOut,
)
from mobilend.api.schemas import ID_PATTERN, MoneyOut
from mobilend.app.operations import approvals as approval_cases
from mobilend.app.operations.ports import ApplicationRow, PiiField
from mobilend.app.operations.referrals import decide_referral
from mobilend.domain.approvals import ApprovalKind, ApprovalStatus

router = APIRouter(prefix="/ops", tags=["operations console"], responses=error_responses(403))

IdPath = Annotated[str, Path(pattern=ID_PATTERN)]


def _reasons(items: tuple[object, ...]) -> list[ReasonOut]:
    out = []
    for r in items:
        assert isinstance(r, dict)
        out.append(ReasonOut(code=str(r.get("code", "")), text_zh=str(r.get("text_zh", "")),
                             text_en=str(r.get("text_en", ""))))  # fmt: skip
    return out


@router.get("/search", response_model=SearchOut, summary="Find a record 查找")
def search(
    desk: ConsoleDeskDep, staff: Searcher, q: Annotated[str, Query(min_length=1, max_length=80)]
) -> SearchOut:
    hits = desk.backoffice.search(staff, q)
    return SearchOut(
        items=[
            SearchHitOut(
                kind=h.kind.value, id=h.record_id, borrower_id=h.borrower_id, status=h.status
            )
            for h in hits
        ]
    )


@router.get("/borrowers/{borrower_id}", response_model=BorrowerOut, summary="Borrower 借款人")
def borrower(borrower_id: IdPath, desk: ConsoleDeskDep, staff: AccountReader) -> BorrowerOut:
    b = desk.backoffice.borrower(staff, borrower_id)
    return BorrowerOut(
        borrower_id=b.borrower_id,
        status=b.status,
        created_at=b.created_at,
        kyc_verified_at=b.kyc_verified_at,
        phone=b.masked.get(PiiField.PHONE, ""),
        name=b.masked.get(PiiField.NAME, ""),
        national_id=b.masked.get(PiiField.NATIONAL_ID, ""),
        bank_card=b.masked.get(PiiField.BANK_CARD, ""),
        can_reveal=b.can_reveal,
    )


@router.post(
    "/borrowers/{borrower_id}/reveal/{field}",
    response_model=RevealOut,
    summary="Reveal one personal field (audited) 查看明文",
)
def reveal(
    borrower_id: IdPath, field: PiiField, desk: ConsoleDeskDep, staff: PiiRevealer
) -> RevealOut:
    return RevealOut(field=field.value, value=desk.backoffice.reveal(staff, borrower_id, field))


@router.get("/loans/{loan_id}", response_model=LoanOut, summary="Loan 借据")
def loan(loan_id: IdPath, desk: ConsoleDeskDep, staff: AccountReader) -> LoanOut:
    d = desk.backoffice.loan(staff, loan_id)
    x = d.loan
    return LoanOut(
        loan_id=x.loan_id,
        borrower_id=x.borrower_id,
        line_id=x.line_id,
        contract_id=d.contract_id,
        product_code=x.product_code,
        principal=MoneyOut.of(x.principal),
        outstanding_principal=MoneyOut.of(x.outstanding_principal),
        annual_rate=str(x.annual_rate),
        status=x.status,
        disbursed_on=x.disbursed_on,
        dpd=x.dpd,
        bucket=x.bucket,
        payout_status=d.payout.status if d.payout else None,
        installments=[
            InstallmentOut(
                n=i.n,
                due_date=i.due_date,
                principal=MoneyOut.of(i.principal_due),
                interest=MoneyOut.of(i.interest_due),
                fees=MoneyOut.of(i.fees_due),
                penalty=MoneyOut.of(i.penalty),
                paid=MoneyOut.of(i.paid),
                status=i.status,
                settled_on=i.settled_on,
            )
            for i in d.installments
        ],
        postings=[
            PostingOut(
                entry_id=p.entry_id,
                kind=p.kind,
                business_date=p.business_date,
                account=p.account,
                amount=MoneyOut.of(p.amount),
            )
            for p in d.postings
        ],
        repayments=[
            RepaymentOut(
                repayment_id=r.repayment_id,
                amount=MoneyOut.of(r.amount),
                received_on=r.received_on,
                channel=r.channel,
            )
            for r in d.repayments
        ],
    )


def _application(a: ApplicationRow) -> ApplicationOut:
    return ApplicationOut(
        application_id=a.application_id,
        borrower_id=a.borrower_id,
        product_code=a.product_code,
        outcome=a.outcome,
        decision_id=a.decision_id,
        applied_at=a.applied_at,
        limit=MoneyOut.of(a.limit) if a.limit else None,
        annual_rate=str(a.annual_rate) if a.annual_rate is not None else None,
        line_id=a.line_id,
        reasons=_reasons(a.reasons),
    )


@router.get(
    "/applications/{application_id}", response_model=ApplicationOut, summary="Application 申请"
)
def application(
    application_id: IdPath, desk: ConsoleDeskDep, staff: AccountReader
) -> ApplicationOut:
    return _application(desk.backoffice.application(staff, application_id))


# --------------------------------------------------------------------------- manual review


@router.get("/reviews", response_model=ReviewQueueOut, summary="Manual review queue 人工审核队列")
def review_queue(desk: ConsoleDeskDep, staff: ReviewReader) -> ReviewQueueOut:
    items = desk.backoffice.review_queue(staff, 200)
    return ReviewQueueOut(
        items=[
            ReviewItemOut(
                application_id=i.application_id,
                borrower_id=i.borrower_id,
                product_code=i.product_code,
                applied_at=i.applied_at,
                score=i.score,
                declared_income=MoneyOut.of(i.declared_income) if i.declared_income else None,
                reasons=_reasons(i.reasons),
                review_status=i.review_status,
            )
            for i in items
        ]
    )


@router.post(
    "/reviews/{application_id}",
    response_model=ReviewOut,
    summary="Approve or decline a referred application 人工审核结论",
)
def review(
    application_id: IdPath, body: ReviewIn, desk: ConsoleDeskDep, staff: Reviewer
) -> ReviewOut:
    outcome = decide_referral(
        desk.approvals,
        staff,
        application_id,
        approve=body.action == "approve",
        reason=body.reason,
        single_person_limit=desk.single_person_limit,
        limit_fen=body.limit_fen,
        annual_rate=body.annual_rate,
    )
    return ReviewOut(
        application_id=application_id,
        status=outcome.review.status.value,
        line_id=outcome.line_id,
        approval_id=outcome.approval.request_id if outcome.approval else None,
    )


# --------------------------------------------------------------------------- maker-checker


@router.get("/approvals", response_model=ApprovalListOut, summary="Maker-checker requests 复核")
def approvals(
    desk: ConsoleDeskDep, staff: ApprovalReader, status: ApprovalStatus | None = None
) -> ApprovalListOut:
    rows = approval_cases.approvals(desk.approvals, staff, status, 200)
    return ApprovalListOut(items=[ApprovalOut.of(r) for r in rows])


@router.post(
    "/approvals",
    response_model=ApprovalOut,
    status_code=201,
    summary="Ask for a write-off or refund",
)
def ask(body: LoanActionIn, desk: ConsoleDeskDep, staff: SignedIn) -> ApprovalOut:
    payload: dict[str, object] = {"loan_id": body.loan_id}
    if body.kind == "refund" and body.amount_fen is not None:
        payload["amount_fen"] = body.amount_fen
    request = approval_cases.request_approval(
        desk.approvals,
        staff,
        kind=ApprovalKind(body.kind),
        target=f"loan:{body.loan_id}",
        payload=payload,
        reason=body.reason,
    )
    return ApprovalOut.of(request)


@router.post(
    "/approvals/{request_id}/approve",
    response_model=ApprovalOut,
    summary="Approve and carry out (a second person) 复核通过",
)
def approve(
    request_id: IdPath, body: CheckIn, desk: ConsoleDeskDep, staff: SignedIn
) -> ApprovalOut:
    return ApprovalOut.of(approval_cases.approve(desk.approvals, staff, request_id, body.note))


@router.post("/approvals/{request_id}/reject", response_model=ApprovalOut, summary="Reject 驳回")
def reject(request_id: IdPath, body: CheckIn, desk: ConsoleDeskDep, staff: SignedIn) -> ApprovalOut:
    return ApprovalOut.of(approval_cases.reject(desk.approvals, staff, request_id, body.note))
