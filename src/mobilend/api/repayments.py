"""Paying a loan from the app — the installment due, a chosen amount, the full payoff or a
partial prepayment — and the receipts. Every payment needs an ``Idempotency-Key``.

A payment is a debit of the borrower's card through the payment rail: asking for it
answers ``202`` with the payment ``pending`` and books nothing; the rail's confirmation
books it (``GET /loans/{id}/payments/{payment_id}``: ``paid`` with its receipt, or
``failed`` with the reason). An amount above what is owed today is refused (422)."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, status
from fastapi.responses import JSONResponse

from mobilend.api.deps import (
    BorrowerId,
    IdempotencyKey,
    Journey,
    LoanIdPath,
    PaymentIdPath,
    RepaymentIdPath,
    once_response,
)
from mobilend.api.errors import error_responses
from mobilend.api.schemas import (
    Page,
    PaymentAcceptedOut,
    PaymentOut,
    PayoffIn,
    PayoffQuoteOut,
    PrepayIn,
    ReceiptOut,
    RepaymentIn,
)
from mobilend.api.views import payment_accepted_out, payment_out, payoff_out, receipt_out
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
        render=lambda outcome: payment_accepted_out(outcome).model_dump(mode="json"),
        mode=mode,
    )
    if once.result is not None:
        background.add_task(journey.collect, [once.result.debit_key])
    return once_response(once, status.HTTP_202_ACCEPTED)


_CREATED = {
    "status_code": status.HTTP_202_ACCEPTED,
    "response_model": PaymentAcceptedOut,
    "responses": error_responses(409, 422),
}


@router.post(
    "/loans/{loan_id}/repayments/due",
    summary="Pay the installment due 还本期",
    description="Debits your card for what is due today, or the next installment ahead of "
    "its date (interest to today on the principal it brings back early).",
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
    description="Debits your card for a chosen amount, at most what is owed today (the "
    "payoff quote, less payments still being collected). Once collected it settles what is "
    "due by the product's order (penalty, fees, interest, principal), the rest the next "
    "installment ahead of its date and then later ones as they fall due.",
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
    description="Interest only to today; the quote is taken under the loan's lock. Without an "
    "amount, today's quote is debited. 409 when nothing is owed or another payment is "
    "still being collected.",
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
    "/loans/{loan_id}/payments",
    response_model=Page[PaymentOut],
    summary="Card payments of a loan 扣款记录",
    description="Newest first: pending, paid (with the receipt's id) or failed (why).",
)
def list_payments(
    loan_id: LoanIdPath, borrower_id: BorrowerId, journey: Journey
) -> Page[PaymentOut]:
    return Page[PaymentOut](items=[payment_out(p) for p in journey.payments(borrower_id, loan_id)])


@router.get(
    "/loans/{loan_id}/payments/{payment_id}",
    response_model=PaymentOut,
    summary="One card payment: pending, paid or failed 扣款状态",
)
def get_payment(
    loan_id: LoanIdPath, payment_id: PaymentIdPath, borrower_id: BorrowerId, journey: Journey
) -> PaymentOut:
    return payment_out(journey.payment(borrower_id, loan_id, payment_id))


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
