"""Drawdown (用信): live offers, the e-contract and signing it; the borrower's loans."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, status
from fastapi.responses import JSONResponse

from mobilend.api.deps import (
    BorrowerId,
    ClientIp,
    ContractIdPath,
    DeviceId,
    IdempotencyKey,
    Journey,
    LoanIdPath,
    once_response,
)
from mobilend.api.schemas import (
    ContractOut,
    ContractSummaryOut,
    DisbursementOut,
    LoanOut,
    LoanSummaryOut,
    OfferIn,
    OfferOut,
    Page,
    SignedOut,
    SignIn,
)
from mobilend.api.views import (
    contract_out,
    contract_summary_out,
    disbursement_out,
    loan_out,
    loan_summary_out,
    offer_out,
    signed_out,
)
from mobilend.domain.money import Money

router = APIRouter(tags=["loans 借款"])


@router.post(
    "/offers",
    response_model=OfferOut,
    summary="A live offer: every installment and the APR 借款试算",
    description="Amount and term within the line and product. The APR is the IRR of all the "
    "borrower's payments, annualised, and comes first; offers above the cost cap are refused.",
)
def offer(body: OfferIn, borrower_id: BorrowerId, journey: Journey) -> OfferOut:
    terms = journey.quote_offer(
        borrower_id,
        line_id=body.line_id,
        amount=Money.from_minor(body.amount_fen),
        periods=body.periods,
    )
    return offer_out(terms)


@router.post(
    "/contracts",
    status_code=status.HTTP_201_CREATED,
    response_model=ContractOut,
    summary="Render the e-contract for an offer 生成借款合同",
    description="The contract text (key terms first and marked ★) and its SHA-256. It can be "
    "signed on the day it was drafted.",
)
def draft_contract(body: OfferIn, borrower_id: BorrowerId, journey: Journey) -> ContractOut:
    contract = journey.draft_contract(
        borrower_id,
        line_id=body.line_id,
        amount=Money.from_minor(body.amount_fen),
        periods=body.periods,
    )
    return contract_out(contract)


@router.get("/contracts", response_model=Page[ContractSummaryOut], summary="My contracts 我的合同")
def list_contracts(borrower_id: BorrowerId, journey: Journey) -> Page[ContractSummaryOut]:
    return Page[ContractSummaryOut](
        items=[contract_summary_out(c) for c in journey.contracts(borrower_id)]
    )


@router.get("/contracts/{contract_id}", response_model=ContractOut, summary="One contract 合同详情")
def get_contract(
    contract_id: ContractIdPath, borrower_id: BorrowerId, journey: Journey
) -> ContractOut:
    return contract_out(journey.contract(borrower_id, contract_id))


@router.post(
    "/contracts/{contract_id}/sign",
    status_code=status.HTTP_201_CREATED,
    response_model=SignedOut,
    summary="Sign the contract: the loan is drawn and paid out 签署合同并放款",
    description="Send back the SHA-256 of the text shown. Signing records the time, IP address "
    "and device id, draws the loan, routes it to its funder(s), posts its ledger entries and "
    "queues the payout to the verified card (status pending → paid | failed on "
    "GET /loans/{loan_id}). Needs the e_contract consent and an Idempotency-Key.",
)
def sign_contract(
    contract_id: ContractIdPath,
    body: SignIn,
    borrower_id: BorrowerId,
    journey: Journey,
    background: BackgroundTasks,
    ip: ClientIp,
    idempotency_key: IdempotencyKey,
    device_id: DeviceId = "",
) -> JSONResponse:
    once = journey.sign_contract(
        borrower_id,
        contract_id,
        sha256=body.sha256,
        idempotency_key=idempotency_key,
        render=lambda signed: signed_out(signed).model_dump(mode="json"),
        ip_address=ip,
        device_id=device_id,
    )
    if once.result is not None:
        background.add_task(journey.dispatch, once.result.outbox)
    return once_response(once, status.HTTP_201_CREATED)


@router.get("/loans", response_model=Page[LoanSummaryOut], summary="My loans 我的借款")
def list_loans(borrower_id: BorrowerId, journey: Journey) -> Page[LoanSummaryOut]:
    return Page[LoanSummaryOut](items=[loan_summary_out(v) for v in journey.loans(borrower_id)])


@router.get(
    "/loans/{loan_id}",
    response_model=LoanOut,
    summary="One loan: schedule and payout status 借款详情",
)
def get_loan(loan_id: LoanIdPath, borrower_id: BorrowerId, journey: Journey) -> LoanOut:
    return loan_out(journey.loan(borrower_id, loan_id))


@router.get(
    "/loans/{loan_id}/disbursement",
    response_model=DisbursementOut,
    summary="Where the loan's payout stands (for polling after signing) 放款进度",
)
def get_disbursement(
    loan_id: LoanIdPath, borrower_id: BorrowerId, journey: Journey
) -> DisbursementOut:
    """The payout alone — ``pending`` until the rail's final word, then ``paid`` or
    ``failed`` — without the loan's schedule: the screen after signing asks for it until
    the money arrives, so it reads two rows, not the whole loan."""
    return disbursement_out(journey.disbursement(borrower_id, loan_id))
