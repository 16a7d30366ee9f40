"""Pages: home (where the borrower is in the journey), applying for a credit line, and
answering a proposed higher limit."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.background import BackgroundTask

from mobilend.app.journey.applications import LineView, pending_review
from mobilend.app.journey.loans import LoanView
from mobilend.app.journey.ports import CreditApplication
from mobilend.app.onboarding.pii import BorrowerProfile
from mobilend.app.reviews.ports import LineReviewRecord
from mobilend.domain.borrowers import BorrowerStatus, missing_consents
from mobilend.domain.errors import DomainError, Problem, ValidationFailed
from mobilend.domain.lines import LineStatus
from mobilend.domain.money import Money
from mobilend.web.kit import WebKit, page_of, problems_by_field
from mobilend.web.onboarding import REQUIRED_CONSENTS

_AMOUNT = re.compile(r"\d{1,9}(\.\d{1,2})?")


def parse_yuan(text: str, field: str, *, required: bool = True) -> Money | None:
    """A form amount in yuan (``1234.5``) as Money; a plain refusal when malformed."""
    cleaned = text.replace(",", "").replace("，", "").strip()
    if not cleaned and not required:
        return None
    if not _AMOUNT.fullmatch(cleaned):
        raise ValidationFailed(
            [
                Problem(
                    field,
                    "请输入正确的金额，最多两位小数 (enter an amount with at most 2 decimals)",
                )
            ]
        )
    return Money(Decimal(cleaned))


def usable_line(lines: list[LineView]) -> LineView | None:
    """The line the borrower draws on: the newest one that is active."""
    for view in lines:
        if view.line.status is LineStatus.ACTIVE:
            return view
    return None


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a borrower is in the journey, for the home page."""

    profile: BorrowerProfile
    needs_consents: bool
    line: LineView | None
    latest_application: CreditApplication | None
    loans: list[LoanView]
    #: After a decline, the first day a new application can be made (None: may apply).
    blocked_until: dt.date | None = None
    #: An application waiting for manual review: no new one until it is decided.
    under_review: CreditApplication | None = None

    @property
    def next_step(self) -> str | None:
        if self.profile.status == BorrowerStatus.REGISTERED.value:
            return "kyc"
        if self.needs_consents:
            return "consents"
        if self.line is None:
            return "apply"
        return None


async def standing(kit: WebKit, borrower_id: str) -> Standing:
    journey = kit.journey
    profile = await kit.call(journey.onboarding.profile, borrower_id)
    consents = await kit.call(journey.onboarding.consents, borrower_id)
    lines = await kit.call(journey.lines, borrower_id)
    applications = await kit.call(journey.applications, borrower_id)
    loans = await kit.call(journey.loans, borrower_id)
    latest = applications[0] if applications else None
    line = usable_line(lines)
    blocked_until = None
    if line is None and latest is not None and latest.outcome == "decline":
        again = latest.decided_on + dt.timedelta(days=journey.ctx.settings.reapply_after_days)
        blocked_until = again if journey.ctx.today() < again else None
    under_review = pending_review(applications) if line is None else None
    return Standing(
        profile=profile,
        needs_consents=bool(missing_consents(consents, REQUIRED_CONSENTS)),
        line=line,
        latest_application=latest,
        loans=loans,
        blocked_until=blocked_until,
        under_review=under_review,
    )


def routes(kit: WebKit) -> APIRouter:
    router = APIRouter()
    journey = kit.journey

    @router.get("/")
    async def home(request: Request) -> Response:
        borrower_id = await kit.signed_in(request)
        state = await standing(kit, borrower_id)
        proposals: list[LineReviewRecord] = []
        if state.line is not None:
            proposals = await kit.call(journey.limit_proposals, borrower_id)
        return kit.render(request, "home.html", standing=state, proposals=proposals)

    @router.post("/proposals/{review_id}/accept")
    async def accept_proposal(request: Request, review_id: str) -> Response:
        borrower_id = await kit.signed_in(request)
        await kit.posted_form(request)
        _line, outbox = await kit.call(journey.accept_limit_proposal, borrower_id, review_id)
        response = kit.redirect(request, "/?proposal=accepted")
        response.background = BackgroundTask(journey.dispatch, outbox)
        return response

    @router.post("/proposals/{review_id}/decline")
    async def decline_proposal(request: Request, review_id: str) -> Response:
        borrower_id = await kit.signed_in(request)
        await kit.posted_form(request)
        await kit.call(journey.decline_limit_proposal, borrower_id, review_id)
        return kit.redirect(request, "/?proposal=declined")

    @router.get("/apply")
    async def apply_form(request: Request) -> Response:
        borrower_id = await kit.signed_in(request)
        state = await standing(kit, borrower_id)
        if state.next_step in ("kyc", "consents"):
            return kit.redirect(request, f"/{state.next_step}")
        if state.line is not None:
            return kit.redirect(request, "/borrow")
        if state.under_review is not None:
            # A manual review is pending: no form, the review's state instead.
            return kit.render(request, "apply.html", standing=state)
        if state.blocked_until is not None and state.latest_application is not None:
            # An application now could only fail: show the decline and when to come back.
            target = f"/apply/{state.latest_application.application_id}"
            return kit.redirect(request, target)
        return kit.render(request, "apply.html", standing=state)

    @router.post("/apply")
    async def apply(request: Request) -> Response:
        borrower_id = await kit.signed_in(request)
        form = await kit.posted_form(request)
        page = page_of(request)
        income_text = str(form.get("monthly_income", ""))
        try:
            income = parse_yuan(income_text, "monthly_income", required=False)
            application, outbox = await kit.call(
                journey.apply_for_line,
                borrower_id,
                monthly_income=income,
                device_id=page.device_id,
                ip_address=page.ip_address,
            )
        except DomainError as exc:
            statuses = {"application_rate_limited": 429, "application_under_review": 409}
            return kit.render(
                request,
                "apply.html",
                status_code=statuses.get(exc.code, 422),
                standing=await standing(kit, borrower_id),
                form={"monthly_income": income_text},
                errors=problems_by_field(exc, page.t),
            )
        response = kit.redirect(request, f"/apply/{application.application_id}")
        response.background = BackgroundTask(journey.dispatch, outbox)
        return response

    @router.get("/apply/{application_id}")
    async def decision(request: Request, application_id: str) -> Response:
        borrower_id = await kit.signed_in(request)
        application = await kit.call(journey.application, borrower_id, application_id)
        line = None
        if application.line_id is not None:
            line = await kit.call(journey.line, borrower_id, application.line_id)
        reapply_on = application.decided_on + dt.timedelta(
            days=journey.ctx.settings.reapply_after_days
        )
        return kit.render(
            request, "decision.html", application=application, line=line, reapply_on=reapply_on
        )

    return router
