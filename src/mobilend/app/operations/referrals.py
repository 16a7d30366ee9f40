"""The manual review queue: applications the decision engine referred to a person.

A reviewer (``reviews.decide``) approves with a limit and a rate, or declines, with a
reason. An approval at or below the single-person limit opens the credit line at once;
above it the approval waits for a second person (a ``manual_approval`` maker-checker
request), and the line opens when they approve. Either way the borrower finds the line
in the app and gets the same notice an automatic approval sends. The engine's own
decision record is never changed; the review is stored beside it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from mobilend.app.journey.applications import DEFAULT_LINE_DAYS, apr_range, price_band_of
from mobilend.app.journey.context import percent, queue_notice
from mobilend.app.journey.ports import CreditApplication
from mobilend.app.lending.lines import open_credit_line_in
from mobilend.app.operations.approvals import (
    ApprovalDesk,
    ExecutionContext,
    request_approval_in,
)
from mobilend.app.operations.ports import ReferralReview, ReviewStatus, StaffActor
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.approvals import ApprovalKind, ApprovalRequest
from mobilend.domain.errors import Conflict, DomainError, Problem, ValidationFailed
from mobilend.domain.lines import LineStatus
from mobilend.domain.money import Money
from mobilend.domain.staff import Permission, require


@dataclass(frozen=True, slots=True)
class ReviewOutcome:
    review: ReferralReview
    line_id: str | None
    approval: ApprovalRequest | None


def _text(zh: str, en: str) -> str:
    return f"{zh} ({en})"


def _reason(text: str) -> str:
    reason = text.strip()
    if not reason or len(reason) > 500:
        raise ValidationFailed([Problem("reason", _text("请填写审核意见", "a reason is required"))])
    return reason


def _referred(uow: UnitOfWork, application_id: str) -> CreditApplication:
    application = uow.journey.applications.get(application_id)
    uow.journey.applications.lock_applicant(application.borrower_id)
    if application.outcome != "refer":
        raise Conflict(
            _text("该申请已审核", f"application {application_id} is already {application.outcome}")
        )
    review = uow.operations.referrals.review_of(application_id)
    if review is not None and review.status is ReviewStatus.AWAITING_CHECKER:
        raise Conflict(_text("该申请等待复核", "this application is waiting for a second person"))
    return application


def parse_terms(limit_fen: Any, annual_rate: Any) -> tuple[Money, Decimal]:
    problems = []
    limit = rate = None
    try:
        limit = Money.from_minor(int(limit_fen), "CNY")
        if not limit.is_positive():
            raise ValueError
    except (TypeError, ValueError):
        problems.append(Problem("limit_fen", _text("额度须为正整数（分）", "a positive amount")))
    try:
        rate = Decimal(str(annual_rate))
        if not Decimal("0.01") <= rate <= Decimal("0.36"):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        problems.append(Problem("annual_rate", _text("年利率须在1%至36%之间", "rate 0.01–0.36")))
    if problems or limit is None or rate is None:
        raise ValidationFailed(problems)
    return limit, rate


def _check_terms(
    uow: UnitOfWork,
    ctx: ExecutionContext,
    application: CreditApplication,
    limit: Money,
    rate: Decimal,
) -> None:
    product = uow.lending.products.get(application.product_code)
    problems = []
    if limit < product.min_amount:
        problems.append(
            Problem("limit_fen", _text("额度低于产品最低借款金额", "below the product minimum"))
        )
    aprs = apr_range(ctx.cost_caps, product, max(limit, product.min_amount), rate, ctx.on)
    if aprs is None:
        problems.append(Problem("annual_rate", _text("无法计算年化利率", "no APR for these terms")))
    else:
        try:
            ctx.cost_caps.check_offer(aprs.high, product.licence_type, ctx.on)
        except DomainError:
            problems.append(
                Problem("annual_rate", _text("年化利率超出上限", "the APR would exceed the cap"))
            )
    if problems:
        raise ValidationFailed(problems)


def grant_line_in(
    uow: UnitOfWork,
    ctx: ExecutionContext,
    application_id: str,
    limit: Money,
    rate: Decimal,
) -> str:
    """Open the line a reviewed referral was approved for; tell the borrower."""
    application = uow.journey.applications.get(application_id)
    uow.journey.applications.lock_applicant(application.borrower_id)
    if application.outcome != "refer":
        raise Conflict(_text("该申请已审核", f"application {application_id} is decided"))
    for held in uow.lending.lines.for_borrower(application.borrower_id):
        if held.status in (LineStatus.ACTIVE, LineStatus.FROZEN) and not held.is_expired_on(ctx.on):
            # Nothing to open (e.g. a referral left from before new applications waited
            # for the review): say so, and how to clear it from the queue.
            raise Conflict(
                _text(
                    f"借款人已有有效额度（{held.line_id}），无法批准；请拒绝以关闭此申请",
                    f"the borrower already holds open line {held.line_id}; "
                    "decline this referral to close it",
                )
            )
    _check_terms(uow, ctx, application, limit, rate)
    expires_on = ctx.on + dt.timedelta(days=DEFAULT_LINE_DAYS)
    # The per-borrower cap over every account of the person holds here as on every path.
    line = open_credit_line_in(
        uow,
        ctx.cost_caps,
        ctx.new_id,
        borrower_id=application.borrower_id,
        product_code=application.product_code,
        limit=limit,
        opened_on=ctx.on,
        expires_on=expires_on,
    )
    reasons = [
        {
            "code": "MANUAL_REVIEW_APPROVED",
            "text_zh": "经人工审核通过",
            "text_en": "approved on manual review",
        }
    ]
    uow.operations.referrals.resolve_application(
        application_id,
        outcome="approve",
        limit=limit,
        annual_rate=rate,
        price_band=price_band_of(rate),
        expires_on=expires_on,
        line_id=line.line_id,
        reasons=reasons,
    )
    product = uow.lending.products.get(application.product_code)
    aprs = apr_range(ctx.cost_caps, product, limit, rate, ctx.on)
    shown = percent(rate)
    if aprs is not None:
        low, high = percent(aprs.low), percent(aprs.high)
        shown = low if low == high else f"{low}–{high}"
    queue_notice(
        uow,
        ctx.new_id,
        ctx.now,
        application.borrower_id,
        "line_approved",
        {
            "limit": limit.format(),
            "apr": shown,
            "rate": percent(rate),
            "expires_on": expires_on.isoformat(),
        },
    )
    return line.line_id


def decide_referral_in(
    uow: UnitOfWork,
    desk: ApprovalDesk,
    staff: StaffActor,
    application_id: str,
    *,
    approve: bool,
    reason: str,
    single_person_limit: Money,
    limit_fen: Any = None,
    annual_rate: Any = None,
) -> ReviewOutcome:
    require(staff.roles, Permission.DECIDE_REVIEWS)
    text = _reason(reason)
    application = _referred(uow, application_id)
    ctx = desk.context()
    if not approve:
        uow.operations.referrals.resolve_application(
            application_id,
            outcome="decline",
            limit=None,
            annual_rate=None,
            price_band="",
            expires_on=None,
            line_id=None,
            reasons=[
                {
                    "code": "MANUAL_REVIEW_DECLINED",
                    "text_zh": "经人工审核未通过",
                    "text_en": "declined on manual review",
                }
            ],
        )
        queue_notice(
            uow,
            ctx.new_id,
            ctx.now,
            application.borrower_id,
            "line_declined",
            {"reasons_zh": "经人工审核未通过", "reasons_en": "declined on manual review"},
        )
        review = ReferralReview(
            application_id,
            application.borrower_id,
            ReviewStatus.DECLINED,
            staff.actor,
            ctx.now,
            text,
        )
        uow.operations.referrals.save_review(review)
        return ReviewOutcome(review, None, None)
    limit, rate = parse_terms(limit_fen, annual_rate)
    _check_terms(uow, ctx, application, limit, rate)
    if limit > single_person_limit:
        request = request_approval_in(
            uow,
            desk,
            staff,
            kind=ApprovalKind.MANUAL_APPROVAL,
            target=f"application:{application_id}",
            payload={
                "application_id": application_id,
                "limit_fen": limit.to_minor(),
                "annual_rate": str(rate),
            },
            reason=text,
        )
        review = ReferralReview(
            application_id,
            application.borrower_id,
            ReviewStatus.AWAITING_CHECKER,
            staff.actor,
            ctx.now,
            text,
            limit,
            rate,
            request.request_id,
        )
        uow.operations.referrals.save_review(review)
        return ReviewOutcome(review, None, request)
    line_id = grant_line_in(uow, ctx, application_id, limit, rate)
    review = ReferralReview(
        application_id,
        application.borrower_id,
        ReviewStatus.APPROVED,
        staff.actor,
        ctx.now,
        text,
        limit,
        rate,
    )
    uow.operations.referrals.save_review(review)
    return ReviewOutcome(review, line_id, None)


def decide_referral(
    desk: ApprovalDesk,
    staff: StaffActor,
    application_id: str,
    *,
    approve: bool,
    reason: str,
    single_person_limit: Money,
    limit_fen: Any = None,
    annual_rate: Any = None,
) -> ReviewOutcome:
    with desk.uow_factory() as uow:
        outcome = decide_referral_in(
            uow,
            desk,
            staff,
            application_id,
            approve=approve,
            reason=reason,
            single_person_limit=single_person_limit,
            limit_fen=limit_fen,
            annual_rate=annual_rate,
        )
        uow.audit.record(
            staff.actor,
            f"referral.{outcome.review.status.value}",
            f"application:{application_id}",
            _details(outcome),
        )
        uow.commit()
    return outcome


def _details(outcome: ReviewOutcome) -> Mapping[str, Any]:
    review = outcome.review
    details: dict[str, Any] = {"reason": review.reason}
    if review.limit is not None:
        details["limit_fen"] = review.limit.to_minor()
    if review.annual_rate is not None:
        details["annual_rate"] = str(review.annual_rate)
    if outcome.line_id:
        details["line_id"] = outcome.line_id
    if outcome.approval is not None:
        details["approval_id"] = outcome.approval.request_id
    return details


class ManualApprovalExecutor:
    """Carries out a referral approved above the single-person limit."""

    def check(self, uow: UnitOfWork, request: ApprovalRequest, ctx: ExecutionContext) -> None:
        parse_terms(request.payload.get("limit_fen"), request.payload.get("annual_rate"))

    def execute(
        self, uow: UnitOfWork, request: ApprovalRequest, ctx: ExecutionContext
    ) -> Mapping[str, Any]:
        application_id = str(request.payload["application_id"])
        limit, rate = parse_terms(request.payload["limit_fen"], request.payload["annual_rate"])
        line_id = grant_line_in(uow, ctx, application_id, limit, rate)
        review = uow.operations.referrals.review_of(application_id)
        if review is not None:
            uow.operations.referrals.save_review(
                ReferralReview(
                    review.application_id,
                    review.borrower_id,
                    ReviewStatus.APPROVED,
                    review.reviewer,
                    review.reviewed_at,
                    review.reason,
                    limit,
                    rate,
                    request.request_id,
                )
            )
        return {"line_id": line_id}

    def rejected(self, uow: UnitOfWork, request: ApprovalRequest, ctx: ExecutionContext) -> None:
        application_id = str(request.payload["application_id"])
        review = uow.operations.referrals.review_of(application_id)
        if review is not None:
            uow.operations.referrals.save_review(
                ReferralReview(
                    review.application_id,
                    review.borrower_id,
                    ReviewStatus.CHECKER_REJECTED,
                    review.reviewer,
                    review.reviewed_at,
                    request.check_note or review.reason,
                    review.limit,
                    review.annual_rate,
                    request.request_id,
                )
            )
