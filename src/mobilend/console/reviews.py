"""The manual review queue: applications the engine referred, and the reviewer's word
(approve with a limit and a rate, or decline; a second person above the limit)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mobilend.app.operations.referrals import decide_referral
from mobilend.console.kit import PREFIX, ConsoleKit, NavEntry
from mobilend.domain.errors import Problem, ValidationFailed
from mobilend.domain.staff import Permission as P
from mobilend.domain.staff import permits

NAV = (NavEntry("reviews", PREFIX + "/reviews", P.VIEW_REVIEWS),)


def yuan_to_fen(text: str) -> int:
    try:
        value = Decimal(text.replace(",", "").strip())
    except InvalidOperation:
        raise ValidationFailed([Problem("limit", "请输入金额 (enter an amount)")]) from None
    return int((value * 100).to_integral_value())


def percent_to_rate(text: str) -> str:
    try:
        return str(Decimal(text.strip().rstrip("%")) / 100)
    except InvalidOperation:
        raise ValidationFailed([Problem("annual_rate", "请输入年利率 (enter a rate)")]) from None


def routes(kit: ConsoleKit) -> APIRouter:
    router = APIRouter()
    office = kit.desk.backoffice

    @router.get("/reviews")
    async def queue(request: Request) -> Response:
        staff = await kit.allowed(request, P.VIEW_REVIEWS)
        items = await kit.call(office.review_queue, staff, 200)
        return kit.render(
            request,
            "reviews.html",
            items=items,
            limit=kit.desk.single_person_limit,
            title_key="nav.reviews",
        )

    @router.get("/reviews/{application_id}")
    async def review(request: Request, application_id: str) -> Response:
        staff = await kit.allowed(request, P.VIEW_REVIEWS)
        application = await kit.call(office.application, staff, application_id)
        decision = None
        if permits(staff.roles, P.VIEW_DECISIONS):
            decision = await kit.call(office.decision, staff, application.decision_id)
        file = await kit.call(office.borrower_file, staff, application.borrower_id)
        return kit.render(
            request,
            "review.html",
            application=application,
            decision=decision,
            file=file,
            limit=kit.desk.single_person_limit,
            title_key="review.title",
        )

    @router.post("/reviews/{application_id}")
    async def decide(request: Request, application_id: str) -> Response:
        form = await kit.posted_form(request)
        staff = await kit.allowed(request, P.DECIDE_REVIEWS)
        approve = form.get("action") == "approve"
        limit_fen = rate = None
        if approve:
            limit_fen = yuan_to_fen(str(form.get("limit", "")))
            rate = percent_to_rate(str(form.get("annual_rate", "")))
        await kit.call(
            decide_referral,
            kit.desk.approvals,
            staff,
            application_id,
            approve=approve,
            reason=str(form.get("reason", "")),
            single_person_limit=kit.desk.single_person_limit,
            limit_fen=limit_fen,
            annual_rate=rate,
        )
        return kit.redirect(request, PREFIX + "/reviews")

    return router
