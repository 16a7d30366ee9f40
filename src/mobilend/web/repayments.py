"""Pages: repaying a loan (the installment due, a chosen amount, or the full payoff), the
payment's progress and the receipt. Each form carries an idempotency key made when it
was rendered, so a double tap or a resubmitted page pays once.

A payment is a debit of the borrower's card through the payment rail: after paying, the
borrower sees it ``pending`` (the page asks again every second) until the rail confirms
it — ``paid``, with the receipt — or refuses it — ``failed``, with the reason."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.background import BackgroundTask

from mobilend.app.journey.loans import PaymentOutcome
from mobilend.domain.errors import DomainError
from mobilend.domain.money import Money
from mobilend.web.kit import WebKit, page_of, problems_by_field
from mobilend.web.lines import parse_yuan
from mobilend.web.loans import next_installment
from mobilend.web.security import IDEMPOTENCY_FIELD

#: The ways to pay the repay screen offers (the use case also knows partial "prepay").
REPAY_KINDS = ("due", "amount", "payoff")


def _paid_response(outcome: PaymentOutcome) -> dict[str, Any]:
    return {"payment_id": outcome.payment.payment_id}


def routes(kit: WebKit) -> APIRouter:
    router = APIRouter()
    journey = kit.journey

    async def repay_page(
        request: Request,
        borrower_id: str,
        loan_id: str,
        *,
        status_code: int = 200,
        **extra: Any,
    ) -> Response:
        view = await kit.call(journey.loan, borrower_id, loan_id)
        quote = None
        if view.loan.status.value == "active":
            quote = await kit.call(journey.payoff_quote, borrower_id, loan_id)
        profile = await kit.call(journey.onboarding.profile, borrower_id)
        extra.setdefault("idempotency_key", kit.idempotency_key())
        extra.setdefault("form", {"kind": "due" if view.due_now.is_positive() else "payoff"})
        return kit.render(
            request,
            "repay.html",
            status_code=status_code,
            view=view,
            upcoming=next_installment(view),
            quote=quote,
            card=profile.bank_card,
            **extra,
        )

    @router.get("/loans/{loan_id}/repay")
    async def repay_form(request: Request, loan_id: str) -> Response:
        return await repay_page(request, await kit.signed_in(request), loan_id)

    @router.post("/loans/{loan_id}/repay")
    async def repay(request: Request, loan_id: str) -> Response:
        borrower_id = await kit.signed_in(request)
        form = await kit.posted_form(request)
        page = page_of(request)
        kind = str(form.get("kind", ""))
        amount_text = str(form.get("amount", ""))
        key = str(form.get(IDEMPOTENCY_FIELD, ""))
        try:
            amount: Money | None = None
            if kind == "amount":
                amount = parse_yuan(amount_text, "amount")
            elif kind == "payoff" and form.get("payoff_amount"):
                # The total the borrower saw; the use case refuses it if it is short.
                amount = parse_yuan(str(form.get("payoff_amount")), "amount")
            once = await kit.call(
                journey.pay,
                borrower_id,
                loan_id,
                kind=kind if kind in REPAY_KINDS else "",
                amount=amount,
                idempotency_key=key,
                render=_paid_response,
            )
        except DomainError as exc:
            return await repay_page(
                request,
                borrower_id,
                loan_id,
                status_code=422,
                idempotency_key=key or kit.idempotency_key(),
                form={"kind": kind, "amount": amount_text},
                errors=problems_by_field(exc, page.t),
            )
        payment_id = once.response["payment_id"]
        response = kit.redirect(request, f"/loans/{loan_id}/payments/{payment_id}")
        if once.result is not None:
            response.background = BackgroundTask(journey.collect, [once.result.debit_key])
        return response

    @router.get("/loans/{loan_id}/payments/{payment_id}")
    async def payment(request: Request, loan_id: str, payment_id: str) -> Response:
        borrower_id = await kit.signed_in(request)
        view = await kit.call(journey.payment, borrower_id, loan_id, payment_id)
        fragment = bool(request.headers.get("HX-Request"))
        return kit.render(request, "_payment.html" if fragment else "payment.html", payment=view)

    @router.get("/loans/{loan_id}/receipts/{repayment_id}")
    async def receipt(request: Request, loan_id: str, repayment_id: str) -> Response:
        borrower_id = await kit.signed_in(request)
        record = await kit.call(journey.receipt, borrower_id, loan_id, repayment_id)
        view = await kit.call(journey.loan, borrower_id, loan_id)
        allocation = _allocation_by_component(record.allocation, record.amount.currency)
        applied = sum(
            (v for k, v in allocation.items() if k != "overpayment"),
            Money.zero(record.amount.currency),
        )
        credit_used = applied - record.amount  # positive when credit held earlier paid a part
        return kit.render(
            request,
            "receipt.html",
            record=record,
            view=view,
            allocation=allocation,
            credit_used=credit_used if credit_used.is_positive() else None,
        )

    return router


def _allocation_by_component(allocation: dict[str, Any], currency: str) -> dict[str, Money]:
    """What a payment went to, summed per component (principal, interest, fees, penalty)."""
    totals: dict[str, Money] = {}
    for line in allocation.get("lines", []):
        component = str(line.get("component", ""))
        amount = Money(str(line.get("amount", "0")), currency)
        totals[component] = totals.get(component, Money.zero(currency)) + amount
    overpayment = Money(str(allocation.get("overpayment", "0")), currency)
    if overpayment.is_positive():
        totals["overpayment"] = overpayment
    return totals
