"""Pages: drawdown with a live offer (HTMX), the e-contract and signing it, payout
status, and the borrower's loans with their schedules."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.background import BackgroundTask

from mobilend.app.journey.applications import LineView
from mobilend.app.journey.contract_text import key_terms
from mobilend.app.journey.contracts import SignedContract
from mobilend.app.journey.loans import LoanView
from mobilend.domain.errors import DomainError, Problem, ValidationFailed
from mobilend.domain.loans import InstallmentKind
from mobilend.domain.money import Money
from mobilend.web.contract_reading import contract_in
from mobilend.web.formatting import fen_to_plain, yuan
from mobilend.web.i18n import Translator
from mobilend.web.kit import WebKit, page_of, problems_by_field
from mobilend.web.lines import parse_yuan, usable_line
from mobilend.web.security import IDEMPOTENCY_FIELD

#: Terms offered as buttons when the product allows them (plus its shortest and longest).
COMMON_TERMS = (3, 6, 9, 12, 18, 24, 36)
#: The amount the borrow screen starts at, when the line allows it.
SUGGESTED_AMOUNT = Money("5000")


def term_choices(view: LineView) -> list[int]:
    product = view.product
    low, high = product.min_periods, product.max_periods
    return sorted({low, high, *(n for n in COMMON_TERMS if low <= n <= high)})


def amount_bounds(view: LineView) -> tuple[Money, Money]:
    product = view.product
    return product.min_amount, product.max_amount.min(view.line.available)


def offer_problems(refusal: DomainError, t: Translator, view: LineView) -> dict[str, str]:
    """A refused offer in the borrower's terms: the amount range is this line's (the
    product's minimum up to what the line has left), not the product's alone."""
    found = dict(problems_by_field(refusal, t))
    if "principal" in found:
        low, high = amount_bounds(view)
        found["principal"] = t("borrow.amount_out_of_range", min=yuan(low), max=yuan(high))
    if "periods" in found:
        found["periods"] = t("borrow.choose_term")
    return found


def _default_periods(choices: list[int]) -> int:
    return 12 if 12 in choices else choices[-1]


def _parse_periods(text: str) -> int:
    if not text.isdigit() or len(text) > 3:
        raise ValidationFailed([Problem("periods", "请选择期数 (choose a term)")])
    return int(text)


def schedule_rows(loan_view: LoanView) -> list[dict[str, Any]]:
    """The regular installments with what is left and their status today."""
    loan, on = loan_view.loan, loan_view.as_of
    statuses = loan.installment_statuses(on)
    rows = []
    for inst in loan.installments:
        if inst.kind is not InstallmentKind.REGULAR:
            continue
        rows.append(
            {
                "n": inst.n,
                "due_date": inst.due_date,
                "principal": inst.principal_due,
                "interest": inst.interest_scheduled,
                "fees": inst.fees_due,
                "total": inst.total_due,
                "status": statuses.get(inst.n, inst.status_on(on)).value,
            }
        )
    return rows


def next_installment(loan_view: LoanView) -> dict[str, Any] | None:
    return next((row for row in schedule_rows(loan_view) if row["status"] != "paid"), None)


def contract_lines(body: str) -> list[tuple[str, bool]]:
    """The contract text by line, flagging the key-term lines (★ and their continuation)."""
    flagged: list[tuple[str, bool]] = []
    in_key = False
    for line in body.splitlines():
        in_key = line.startswith("★") or (in_key and line.startswith("  "))
        flagged.append((line, in_key))
    return flagged


def contract_view(body: str, lang: str) -> dict[str, Any]:
    """What the contract page shows of the signed text: the page language's part (the
    signed text is bilingual by design), or the signed text whole when its layout is one
    the reader does not know (``reading`` False) rather than risk leaving a clause out."""
    reading = contract_in(body, lang)
    if reading is None:
        return {"body_lines": contract_lines(body), "reading": False}
    return {"body_lines": reading, "reading": True}


def routes(kit: WebKit) -> APIRouter:
    router = APIRouter()
    journey = kit.journey

    async def line_or_none(borrower_id: str) -> LineView | None:
        return usable_line(await kit.call(journey.lines, borrower_id))

    async def quote(
        borrower_id: str, view: LineView, amount_text: str, periods_text: str
    ) -> tuple[dict[str, Any] | None, DomainError | None]:
        try:
            amount = parse_yuan(amount_text, "amount")
            assert amount is not None
            offer = await kit.call(
                journey.quote_offer,
                borrower_id,
                line_id=view.line.line_id,
                amount=amount,
                periods=_parse_periods(periods_text),
            )
        except DomainError as exc:
            return None, exc
        return offer, None

    # -- drawdown --------------------------------------------------------------------
    @router.get("/borrow")
    async def borrow(request: Request) -> Response:
        borrower_id = await kit.signed_in(request)
        view = await line_or_none(borrower_id)
        if view is None:
            return kit.redirect(request, "/apply")
        choices = term_choices(view)
        low, high = amount_bounds(view)
        amount = request.query_params.get("amount") or fen_to_plain(
            SUGGESTED_AMOUNT.max(low).min(high).to_minor()
        )
        periods = request.query_params.get("periods") or str(_default_periods(choices))
        offer, refusal = await quote(borrower_id, view, amount, periods)
        t = page_of(request).t
        return kit.render(
            request,
            "borrow.html",
            view=view,
            choices=choices,
            low=low,
            high=high,
            form={"amount": amount, "periods": periods},
            offer=offer,
            errors=offer_problems(refusal, t, view) if refusal else {},
        )

    @router.get("/borrow/offer")
    async def live_offer(request: Request) -> Response:
        """The offer card alone, re-quoted as the borrower changes amount or term (HTMX)."""
        borrower_id = await kit.signed_in(request)
        view = await line_or_none(borrower_id)
        if view is None:
            return kit.redirect(request, "/apply")
        amount = request.query_params.get("amount", "")
        periods = request.query_params.get("periods", "")
        offer, refusal = await quote(borrower_id, view, amount, periods)
        t = page_of(request).t
        return kit.render(
            request,
            "_offer.html",
            offer=offer,
            errors=offer_problems(refusal, t, view) if refusal else {},
        )

    @router.post("/borrow")
    async def draft(request: Request) -> Response:
        borrower_id = await kit.signed_in(request)
        form = await kit.posted_form(request)
        view = await line_or_none(borrower_id)
        if view is None:
            return kit.redirect(request, "/apply")
        amount_text, periods_text = str(form.get("amount", "")), str(form.get("periods", ""))
        try:
            amount = parse_yuan(amount_text, "amount")
            assert amount is not None
            contract = await kit.call(
                journey.draft_contract,
                borrower_id,
                line_id=view.line.line_id,
                amount=amount,
                periods=_parse_periods(periods_text),
            )
        except DomainError as exc:
            low, high = amount_bounds(view)
            return kit.render(
                request,
                "borrow.html",
                status_code=422,
                view=view,
                choices=term_choices(view),
                low=low,
                high=high,
                form={"amount": amount_text, "periods": periods_text},
                offer=None,
                errors=offer_problems(exc, page_of(request).t, view),
            )
        return kit.redirect(request, f"/contracts/{contract.contract_id}")

    # -- e-contract ----------------------------------------------------------------------
    @router.get("/contracts/{contract_id}")
    async def contract_page(request: Request, contract_id: str) -> Response:
        borrower_id = await kit.signed_in(request)
        contract = await kit.call(journey.contract, borrower_id, contract_id)
        return kit.render(
            request,
            "contract.html",
            contract=contract,
            key_terms=key_terms(contract.terms),
            idempotency_key=kit.idempotency_key(),
            **contract_view(contract.body, page_of(request).t.lang),
        )

    @router.get("/contracts/{contract_id}/signed-text")
    async def signed_text(request: Request, contract_id: str) -> Response:
        """The signed text exactly as fingerprinted: both languages, line for line."""
        borrower_id = await kit.signed_in(request)
        contract = await kit.call(journey.contract, borrower_id, contract_id)
        return kit.render(
            request,
            "contract_text.html",
            contract=contract,
            body_lines=contract_lines(contract.body),
        )

    @router.post("/contracts/{contract_id}/sign")
    async def sign(request: Request, contract_id: str) -> Response:
        borrower_id = await kit.signed_in(request)
        form = await kit.posted_form(request)
        page = page_of(request)
        contract = await kit.call(journey.contract, borrower_id, contract_id)
        key = str(form.get(IDEMPOTENCY_FIELD, ""))
        errors: dict[str, str] = {}
        if form.get("agree") != "yes":
            errors = {"agree": page.t("contract.must_agree")}
        else:
            try:
                once = await kit.call(
                    journey.sign_contract,
                    borrower_id,
                    contract_id,
                    sha256=str(form.get("sha256", "")),
                    idempotency_key=key,
                    render=_signed_response,
                    ip_address=page.ip_address,
                    device_id=page.device_id,
                )
            except DomainError as exc:
                errors = dict(problems_by_field(exc, page.t))
            else:
                response = kit.redirect(request, f"/loans/{once.response['loan_id']}/disbursement")
                if once.result is not None:
                    response.background = BackgroundTask(journey.dispatch, once.result.outbox)
                return response
        return kit.render(
            request,
            "contract.html",
            status_code=422,
            contract=contract,
            key_terms=key_terms(contract.terms),
            idempotency_key=key or kit.idempotency_key(),
            errors=errors,
            **contract_view(contract.body, page.t.lang),
        )

    # -- payout and loans --------------------------------------------------------------
    @router.get("/loans/{loan_id}/disbursement")
    async def disbursement(request: Request, loan_id: str) -> Response:
        borrower_id = await kit.signed_in(request)
        view = await kit.call(journey.loan, borrower_id, loan_id)
        profile = await kit.call(journey.onboarding.profile, borrower_id)
        template = (
            "_disbursement.html" if request.headers.get("HX-Request") else "disbursement.html"
        )
        return kit.render(request, template, view=view, card=(profile.bank_card or "")[-4:])

    @router.get("/loans")
    async def loan_list(request: Request) -> Response:
        borrower_id = await kit.signed_in(request)
        views = await kit.call(journey.loans, borrower_id)
        return kit.render(
            request,
            "loans.html",
            loans=[(v, next_installment(v)) for v in views],
        )

    @router.get("/loans/{loan_id}")
    async def loan_page(request: Request, loan_id: str) -> Response:
        borrower_id = await kit.signed_in(request)
        view = await kit.call(journey.loan, borrower_id, loan_id)
        rows = schedule_rows(view)
        receipts = await kit.call(journey.receipts, borrower_id, loan_id)
        contract = None
        if view.contract_id is not None:
            contract = await kit.call(journey.contract, borrower_id, view.contract_id)
        return kit.render(
            request,
            "loan.html",
            view=view,
            rows=rows,
            with_fees=any(row["fees"].is_positive() for row in rows),
            upcoming=next_installment(view),
            receipts=sorted(receipts, key=lambda r: r.repayment_id, reverse=True),
            contract=contract,
        )

    return router


def _signed_response(signed: SignedContract) -> dict[str, Any]:
    return {"loan_id": signed.contract.loan_id, "contract_id": signed.contract.contract_id}
