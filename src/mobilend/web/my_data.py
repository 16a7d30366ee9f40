"""Page: "my data and consents" — what the platform holds about the borrower, as a
download, and each consent with what withdrawing it stops.

The export is the borrower's own record as the app shows it: profile (identity numbers
masked as on screen), every consent granted or withdrawn, applications with their
reasons, credit lines, loans with their schedules, payments and the messages sent.
A consent not held (never given, or withdrawn) shows what holds without it and can be
given here, with its text beside the button. Withdrawing a consent takes effect at once: marketing messages stop (the sender checks
the consent when each message leaves), and without the required consents no new
application, draw or signature is accepted; loans already drawn run on.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mobilend.domain.borrowers import ConsentPurpose
from mobilend.domain.errors import NotFound
from mobilend.domain.loans import InstallmentKind
from mobilend.domain.money import Money
from mobilend.web.kit import WebKit, page_of
from mobilend.web.onboarding import CONSENT_VERSIONS, REQUIRED_CONSENTS

EXPORT_VERSION = "my-data-1"


def _plain(value: Any) -> Any:
    """Values as JSON: money as a decimal string with its currency, dates in ISO form."""
    if isinstance(value, Money):
        return {"amount": value.format(), "currency": value.currency}
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "value") and isinstance(value.value, str):  # enums
        return value.value
    return value


def _dump(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2, default=_plain).encode("utf-8")


async def export_document(kit: WebKit, borrower_id: str) -> dict[str, Any]:
    journey = kit.journey
    profile = await kit.call(journey.onboarding.profile, borrower_id)
    consents = await kit.call(journey.onboarding.consents, borrower_id)
    applications = await kit.call(journey.applications, borrower_id)
    lines = await kit.call(journey.lines, borrower_id)
    loans = await kit.call(journey.loans, borrower_id)
    notices = await kit.call(journey.notifications, borrower_id, 1000)
    loan_documents = []
    for view in loans:
        loan = view.loan
        receipts = await kit.call(journey.receipts, borrower_id, loan.loan_id)
        loan_documents.append(
            {
                "loan_id": loan.loan_id,
                "status": loan.status,
                "principal": loan.principal,
                "outstanding_principal": loan.outstanding_principal,
                "disbursed_on": loan.disbursed_on,
                "apr": view.apr,
                "schedule": [
                    {
                        "n": i.n,
                        "due_date": i.due_date,
                        "principal": i.principal_due,
                        "interest": i.interest_scheduled,
                        "fees": i.fees_due,
                        "total": i.total_due,
                    }
                    for i in loan.installments
                    if i.kind is InstallmentKind.REGULAR
                ],
                "payments": [
                    {
                        "repayment_id": r.repayment_id,
                        "received_on": r.received_on,
                        "amount": r.amount,
                        "channel": r.channel,
                    }
                    for r in receipts
                ],
            }
        )
    return {
        "export": EXPORT_VERSION,
        "exported_at": journey.ctx.now(),
        "profile": {
            "phone": profile.phone,
            "real_name": profile.real_name,
            "national_id": profile.national_id,
            "bank_card": profile.bank_card,
            "status": profile.status,
            "registered_at": profile.registered_at,
            "identity_verified_at": profile.kyc_verified_at,
        },
        "consents": [
            {
                "purpose": c.purpose,
                "text_version": c.text_version,
                "granted_at": c.granted_at,
                "withdrawn_at": c.withdrawn_at,
            }
            for c in consents
        ],
        "applications": [
            {
                "application_id": a.application_id,
                "product": a.product_code,
                "outcome": a.outcome,
                "decided_on": a.decided_on,
                "limit": a.limit,
                "annual_rate": a.annual_rate,
                "declared": dict(a.declared),
                "reasons": [
                    {"code": r.code, "text_zh": r.text_zh, "text_en": r.text_en} for r in a.reasons
                ],
            }
            for a in applications
        ],
        "credit_lines": [
            {
                "line_id": v.line.line_id,
                "product": v.product.code,
                "status": v.line.status,
                "limit": v.line.limit,
                "available": v.line.available,
                "annual_rate": v.annual_rate,
                "opened_on": v.line.opened_on,
                "expires_on": v.line.expires_on,
            }
            for v in lines
        ],
        "loans": loan_documents,
        "messages": [
            {
                "kind": n.kind,
                "channel": n.channel,
                "created_at": n.created_at,
                "title_zh": n.title_zh,
                "body_zh": n.body_zh,
                "title_en": n.title_en,
                "body_en": n.body_en,
            }
            for n in notices
        ],
    }


def routes(kit: WebKit) -> APIRouter:
    router = APIRouter()
    onboarding = kit.journey.onboarding

    @router.get("/my-data")
    async def my_data(request: Request) -> Response:
        borrower_id = await kit.signed_in(request)
        history = await kit.call(onboarding.consents, borrower_id)
        rows = []
        for purpose in CONSENT_VERSIONS:
            records = [c for c in history if c.purpose is purpose]
            active = next((c for c in reversed(records) if c.withdrawn_at is None), None)
            latest = records[-1] if records else None
            rows.append(
                {
                    "purpose": purpose.value,
                    "required": purpose in REQUIRED_CONSENTS,
                    "active": active,
                    "withdrawn": latest if active is None and latest is not None else None,
                }
            )
        purposes = {p.value for p in ConsentPurpose}
        withdrawn = request.query_params.get("withdrawn", "")
        given = request.query_params.get("given", "")
        return kit.render(
            request,
            "my_data.html",
            rows=rows,
            just_withdrawn=withdrawn if withdrawn in purposes else "",
            just_given=given if given in purposes else "",
        )

    @router.post("/my-data/consents/{purpose}/grant")
    async def grant(request: Request, purpose: str) -> Response:
        """Give a consent from here (e.g. marketing, skipped at sign-up, or one withdrawn),
        with the text shown beside the button, recorded with its version as at sign-up."""
        borrower_id = await kit.signed_in(request)
        await kit.posted_form(request)
        chosen = next((p for p in CONSENT_VERSIONS if p.value == purpose), None)
        if chosen is None:
            raise NotFound(f"no consent purpose {purpose}")
        page = page_of(request)
        await kit.call(
            onboarding.record_consent,
            borrower_id,
            chosen.value,
            CONSENT_VERSIONS[chosen],
            ip_address=page.ip_address,
            device_id=page.device_id,
        )
        return kit.redirect(request, f"/my-data?given={purpose}")

    @router.post("/my-data/consents/{purpose}/withdraw")
    async def withdraw(request: Request, purpose: str) -> Response:
        borrower_id = await kit.signed_in(request)
        await kit.posted_form(request)
        if purpose not in {p.value for p in ConsentPurpose}:
            raise NotFound(f"no consent purpose {purpose}")
        await kit.call(onboarding.withdraw_consent, borrower_id, purpose)
        return kit.redirect(request, f"/my-data?withdrawn={purpose}")

    @router.get("/my-data/export")
    async def export(request: Request) -> Response:
        borrower_id = await kit.signed_in(request)
        document = await export_document(kit, borrower_id)
        stamp = kit.journey.ctx.today().isoformat()
        return Response(
            _dump(document),
            media_type="application/json; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="mobilend-my-data-{stamp}.json"'
            },
        )

    return router
