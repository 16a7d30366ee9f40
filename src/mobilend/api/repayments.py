"""Paying a loan from the app — the installment due, a chosen amount, the full payoff or a
partial prepayment — and the receipts. Every payment needs an ``Idempotency-Key``."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, status
from fastapi.responses import JSONResponse

from mobilend.api.deps import (
    BorrowerId,
    IdempotencyKey,
    Journey,
    LoanIdPath,
    RepaymentIdPath,
    once_response,
)
from mobilend.api.schemas import (
    Page,
    PaymentOut,
    PayoffIn,
    PayoffQuoteOut,
    PrepayIn,
    ReceiptOut,
    RepaymentIn,
)
from mobilend.api.views import payment_out, payoff_out, receipt_out
from mobilend.app.journey.service import BorrowerJourney
from mobilend.domain.money import Money

router = APIRouter(tags=["repayments 还款"])


def _pay(
    journey: BorrowerJourney,
    background: BackgroundTasks,
    *,
    borrower_id: str,
    loan_id: str,
    kind: str,
    amount_fen: int | None,
    idempotency_key: str,
    mode: str | None = None,
) -> JSONResponse:
    once = journey.pay(
        borrower_id,
        loan_id,
        kind=kind,
        amount=Money.from_minor(amount_fen) if amount_fen is not None else None,
        idempotency_key=idempotency_key,
        render=lambda outcome: payment_out(outcome).model_dump(mode="json"),
        mode=mode,
    )
    if once.result is not None:
        background.add_task(journey.dispatch, once.result.outbox)
    return once_response(once, status.HTTP_201_CREATED)


_CREATED = {"status_code": status.HTTP_201_CREATED, "response_model": PaymentOut}


@router.post(
    "/loans/{loan_id}/repayments/due",
    summary="Pay the installment due 还本期",
    description="Pays what is due today, or the next installment ahead of its date.",
    **_CREATED,
)
def pay_due(
    loan_id: LoanIdPath,
    borrower_id: BorrowerId,
    journey: Journey,
    background: BackgroundTasks,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    return _pay(
        journey, background, borrower_id=borrower_id, loan_id=loan_id, kind="due",
        amount_fen=None, idempotency_key=idempotency_key,
    )  # fmt: skip


@router.post(
    "/loans/{loan_id}/repayments",
    summary="Pay a chosen amount 自选金额还款",
    description="Settles what is due by the product's order (penalty, fees, interest, "
    "principal); anything above is held and applied as installments fall due.",
    **_CREATED,
)
def pay_amount(
    loan_id: LoanIdPath,
    body: RepaymentIn,
    borrower_id: BorrowerId,
    journey: Journey,
    background: BackgroundTasks,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    return _pay(
        journey, background, borrower_id=borrower_id, loan_id=loan_id, kind="amount",
        amount_fen=body.amount_fen, idempotency_key=idempotency_key,
    )  # fmt: skip


@router.get(
    "/loans/{loan_id}/payoff-quote",
    response_model=PayoffQuoteOut,
    summary="What settles the loan today 提前结清试算",
)
def payoff_quote(loan_id: LoanIdPath, borrower_id: BorrowerId, journey: Journey) -> PayoffQuoteOut:
    return payoff_out(journey.payoff_quote(borrower_id, loan_id))


@router.post(
    "/loans/{loan_id}/payoff",
    summary="Settle the loan in full 提前结清",
    description="Interest only to today. Without an amount, today's quote is paid.",
    **_CREATED,
)
def pay_off(
    loan_id: LoanIdPath,
    body: PayoffIn,
    borrower_id: BorrowerId,
    journey: Journey,
    background: BackgroundTasks,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    return _pay(
        journey, background, borrower_id=borrower_id, loan_id=loan_id, kind="payoff",
        amount_fen=body.amount_fen, idempotency_key=idempotency_key,
    )  # fmt: skip


@router.post(
    "/loans/{loan_id}/prepayments",
    summary="Prepay part of the principal 部分提前还款",
    description="The schedule is re-amortised: a shorter term or a lower installment.",
    **_CREATED,
)
def prepay(
    loan_id: LoanIdPath,
    body: PrepayIn,
    borrower_id: BorrowerId,
    journey: Journey,
    background: BackgroundTasks,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    return _pay(
        journey, background, borrower_id=borrower_id, loan_id=loan_id, kind="prepay",
        amount_fen=body.amount_fen, idempotency_key=idempotency_key, mode=body.mode,
    )  # fmt: skip


@router.get(
    "/loans/{loan_id}/repayments",
    response_model=Page[ReceiptOut],
    summary="Receipts of a loan 还款记录",
)
def list_receipts(
    loan_id: LoanIdPath, borrower_id: BorrowerId, journey: Journey
) -> Page[ReceiptOut]:
    return Page[ReceiptOut](items=[receipt_out(r) for r in journey.receipts(borrower_id, loan_id)])


@router.get(
    "/loans/{loan_id}/repayments/{repayment_id}",
    response_model=ReceiptOut,
    summary="One receipt 还款凭证",
)
def get_receipt(
    loan_id: LoanIdPath, repayment_id: RepaymentIdPath, borrower_id: BorrowerId, journey: Journey
) -> ReceiptOut:
    return receipt_out(journey.receipt(borrower_id, loan_id, repayment_id))
