"""Downloads: the loan contract and payment receipts as PDF, in the page's language
(the contract's full text is the one signed, whatever the language)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mobilend.adapters.documents.pdf import Document, PdfUnavailable, Row, Section, render
from mobilend.app.journey.contract_text import key_terms
from mobilend.app.journey.loans import LoanView
from mobilend.app.journey.ports import LoanContract
from mobilend.app.lending.ports import RepaymentRecord
from mobilend.domain.money import Money
from mobilend.web.formatting import local_time, pct, yuan
from mobilend.web.i18n import Translator
from mobilend.web.kit import WebKit, error_page, page_of


def allocation_by_component(allocation: dict[str, Any], currency: str) -> dict[str, Money]:
    """What a payment went to, summed per component (as the receipt page shows it)."""
    totals: dict[str, Money] = {}
    for line in allocation.get("lines", []):
        component = str(line.get("component", ""))
        amount = Money(str(line.get("amount", "0")), currency)
        totals[component] = totals.get(component, Money.zero(currency)) + amount
    overpayment = Money(str(allocation.get("overpayment", "0")), currency)
    if overpayment.is_positive():
        totals["overpayment"] = overpayment
    return totals


def contract_document(contract: LoanContract, t: Translator, made_at: dt.datetime) -> Document:
    terms = contract.terms
    rows = [
        Row(
            t.pick(term.label_zh, term.label_en),
            t.pick(term.value_zh, term.value_en),
            term.key == "apr",
        )
        for term in key_terms(terms)
    ]
    schedule = [
        Row(
            f"{t('schedule.n')} {i.n} · {i.due_date.isoformat()}",
            f"{t('schedule.principal')} {yuan(i.principal_fen)} · {t('schedule.interest')} "
            f"{yuan(i.interest_fen)}"
            + (f" · {t('schedule.fees')} {yuan(i.fees_fen)}" if i.fees_fen else "")
            + f" · {t('schedule.total')} {yuan(i.total_fen)}",
        )
        for i in terms.installments
    ]
    status = (
        f"{t('contract.signed')} · {t('contract.signed_at')} {local_time(contract.signed_at)}"
        if contract.status == "signed"
        else t("contract.unsigned")
    )
    return Document(
        title=t("contract.title"),
        subtitle=f"{status}\n{t('borrow.apr')} {pct(terms.apr)} · {t('borrow.principal')} "
        f"{yuan(terms.amount_fen)} {t('common.yuan')}",
        sections=[
            Section(t("contract.key_terms"), rows),
            Section(t("borrow.offer"), schedule),
            Section(t("contract.full_text"), text=contract.body),
            Section(t("contract.digest"), text=contract.sha256),
        ],
        footer=f"{t('brand')} · {t('contract.title')}",
        made_at=made_at,
    )


def receipt_document(
    record: RepaymentRecord, view: LoanView, t: Translator, made_at: dt.datetime
) -> Document:
    allocation = allocation_by_component(record.allocation, record.amount.currency)
    applied = sum(
        (v for k, v in allocation.items() if k != "overpayment"), Money.zero(record.amount.currency)
    )
    rows = [
        Row(t("receipt.amount"), f"¥ {yuan(record.amount)}", True),
        Row(t("receipt.date"), record.received_on.isoformat()),
        Row(t("receipt.number"), record.repayment_id),
        Row(
            t("receipt.loan"),
            f"{yuan(view.loan.principal)} {t('common.yuan')} · {t('loan.disbursed_on')} "
            f"{view.loan.disbursed_on.isoformat() if view.loan.disbursed_on else '—'}",
        ),
    ]
    parts = [
        Row(
            t("receipt.overpayment") if component == "overpayment" else t(f"component.{component}"),
            yuan(amount),
        )
        for component, amount in allocation.items()
    ]
    credit_used = applied - record.amount
    if credit_used.is_positive():
        parts.append(Row(t("receipt.credit_used"), yuan(credit_used)))
    after = [Row(t("loan.outstanding"), yuan(view.loan.outstanding_principal))]
    if view.loan.status.value == "closed":
        after.append(Row(t("loan.status"), t("receipt.closed")))
    return Document(
        title=t("receipt.title"),
        subtitle=f"{t('receipt.number')} {record.repayment_id}",
        sections=[
            Section(t("receipt.title"), rows),
            Section(t("receipt.allocation"), parts),
            Section(t("loan.status"), after),
        ],
        footer=f"{t('brand')} · {t('receipt.title')}",
        made_at=made_at,
    )


def _pdf(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
    )


def routes(kit: WebKit) -> APIRouter:
    router = APIRouter()
    journey = kit.journey

    @router.get("/contracts/{contract_id}/pdf")
    async def contract_pdf(request: Request, contract_id: str) -> Response:
        borrower_id = await kit.signed_in(request)
        contract = await kit.call(journey.contract, borrower_id, contract_id)
        t = page_of(request).t
        try:
            content = await kit.call(render, contract_document(contract, t, journey.ctx.now()))
        except PdfUnavailable:
            return error_page(kit, request, 503, t("error.pdf_unavailable"))
        return _pdf(content, f"{t('contract.title')}-{contract.offer_date.isoformat()}.pdf")

    @router.get("/loans/{loan_id}/receipts/{repayment_id}/pdf")
    async def receipt_pdf(request: Request, loan_id: str, repayment_id: str) -> Response:
        borrower_id = await kit.signed_in(request)
        record = await kit.call(journey.receipt, borrower_id, loan_id, repayment_id)
        view = await kit.call(journey.loan, borrower_id, loan_id)
        t = page_of(request).t
        try:
            content = await kit.call(render, receipt_document(record, view, t, journey.ctx.now()))
        except PdfUnavailable:
            return error_page(kit, request, 503, t("error.pdf_unavailable"))
        return _pdf(content, f"{t('receipt.title')}-{record.received_on.isoformat()}.pdf")

    return router
