"""Use cases: applying for a credit line (授信) and looking at applications and lines.

An application needs verified identity and the consents the law asks for before any
data source is called. The decision comes from the ``DecisionEngine`` port; an approval
opens the line (limit, price, expiry) in the same commit that records the application,
a decline keeps its reasons in words the borrower can read (``risk.borrower_reasons``:
each names where its information came from; the decision record keeps the engine's).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import weakref
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mobilend.app.compliance.exposure import identity_exposure_in
from mobilend.app.journey.context import JourneyContext, notify, percent
from mobilend.app.journey.ports import CreditApplication
from mobilend.app.lending.lines import open_credit_line_in
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.borrowers import require_consents
from mobilend.domain.compliance import CostCapPolicy
from mobilend.domain.decisions import Applicant, CreditDecision, DecisionOutcome, DecisionReason
from mobilend.domain.errors import Conflict, DomainError, NotFound, Problem, ValidationFailed
from mobilend.domain.lines import CreditLine, LineStatus
from mobilend.domain.money import Money
from mobilend.domain.products import LoanProduct
from mobilend.risk.borrower_reasons import borrower_reasons

log = logging.getLogger(__name__)

DEFAULT_LINE_DAYS = 365


class LineAlreadyOpen(Conflict):
    code = "line_already_open"


class ReapplyTooSoon(Conflict):
    code = "reapply_too_soon"


class ApplicationUnderReview(Conflict):
    """An earlier application waits for manual review: no new one until it is decided
    (a new one would bypass the reviewer, and leave a referral no one can clear)."""

    code = "application_under_review"

    def __init__(self, application_id: str) -> None:
        message = _text(
            "您的申请正在人工审核中，审核完成前不能再次申请",
            "your application is under manual review; you cannot apply again until it is decided",
        )
        super().__init__(message, [Problem("application_id", message)])
        self.application_id = application_id


@dataclass(frozen=True, slots=True)
class AprRange:
    low: Decimal
    high: Decimal


@dataclass(frozen=True, slots=True)
class LineView:
    """A credit line with its price: what the borrower's line screen shows."""

    line: CreditLine
    product: LoanProduct
    annual_rate: Decimal
    price_band: str
    apr_range: AprRange | None
    application_id: str | None


def _text(zh: str, en: str) -> str:
    return f"{zh} ({en})"


def price_band_of(rate: Decimal) -> str:
    """A letter for the price tier (A cheapest), for screens and statements."""
    for band, ceiling in (("A", "0.12"), ("B", "0.15"), ("C", "0.18"), ("D", "0.21")):
        if rate <= Decimal(ceiling):
            return band
    return "E"


#: ``apr_range`` per rule set: (product version, amount, rate, date) → range. A range
#: prices every term of the product (an IRR each), so it is worked out once and then read;
#: the rules and the product version are immutable values, so it never goes stale.
_APR_RANGES: weakref.WeakKeyDictionary[
    CostCapPolicy, dict[tuple[LoanProduct, Money, Decimal, dt.date], AprRange | None]
] = weakref.WeakKeyDictionary()
_APR_RANGES_LOCK = threading.Lock()
_APR_RANGES_KEPT = 4096  # per rule set; past it the memo starts afresh


def apr_range(
    rules: CostCapPolicy, product: LoanProduct, limit: Money, annual_rate: Decimal, on: dt.date
) -> AprRange | None:
    """Lowest and highest APR over the product's terms for a draw of the line's size, each
    offer priced as a draw would be (``Rulebook.fit_offer``: within the cap in force)."""
    amount = max(product.min_amount, min(limit, product.max_amount))
    key = (product, amount, annual_rate, on)
    try:
        with _APR_RANGES_LOCK:
            known = _APR_RANGES.setdefault(rules, {})
    except TypeError:  # a rule set that cannot be weakly referenced: not memoised
        return _apr_range(rules, product, amount, annual_rate, on)
    if key in known:
        return known[key]
    found = _apr_range(rules, product, amount, annual_rate, on)
    with _APR_RANGES_LOCK:
        if len(known) >= _APR_RANGES_KEPT:
            known.clear()
        known[key] = found
    return found


def _apr_range(
    rules: CostCapPolicy, product: LoanProduct, amount: Money, annual_rate: Decimal, on: dt.date
) -> AprRange | None:
    aprs: list[Decimal] = []
    for periods in range(product.min_periods, product.max_periods + 1):
        try:
            offer = rules.fit_offer(
                product, amount, periods, on, None, annual_rate, with_xirr=False
            )
            aprs.append(offer.apr.apr)
        except DomainError:
            continue
    if not aprs:
        return None
    return AprRange(min(aprs), max(aprs))


def _product(uow: UnitOfWork, code: str) -> LoanProduct:
    try:
        return uow.lending.products.get(code)
    except NotFound:
        raise ValidationFailed(
            [Problem("product_code", _text("没有这个产品", f"no product {code!r}"))]
        ) from None


def pending_review(applied: list[CreditApplication]) -> CreditApplication | None:
    """The application still waiting for a reviewer (outcome ``refer``: a review, or a
    second person, resolves it), if any."""
    return next((a for a in applied if a.outcome == DecisionOutcome.REFER), None)


def _check_can_apply(
    ctx: JourneyContext, uow: UnitOfWork, borrower_id: str, today: dt.date
) -> None:
    for line in uow.lending.lines.for_borrower(borrower_id):
        if line.status in (LineStatus.ACTIVE, LineStatus.FROZEN) and not line.is_expired_on(today):
            message = _text("您已有有效的授信额度", "you already hold an open credit line")
            raise LineAlreadyOpen(message, [Problem("line_id", message)])
    applied = uow.journey.applications.for_borrower(borrower_id)
    pending = pending_review(applied)
    if pending is not None:
        raise ApplicationUnderReview(pending.application_id)
    declined = next((a for a in applied if a.outcome == "decline"), None)
    if declined is not None:
        again_on = declined.decided_on + dt.timedelta(days=ctx.settings.reapply_after_days)
        if today < again_on:
            message = _text(
                f"请于{again_on.isoformat()}后再申请", f"you may apply again from {again_on}"
            )
            raise ReapplyTooSoon(message, [Problem("product_code", message)])


def _decide(ctx: JourneyContext, applicant: Applicant, on: dt.date) -> CreditDecision:
    try:
        return ctx.decisions.decide(applicant, on)
    except DomainError:
        raise
    except Exception as exc:  # the engine failing must not lose the application: refer it
        log.error("decision engine failed: %s", type(exc).__name__)
        return CreditDecision(
            decision_id=f"DEC-{applicant.application_id}",
            outcome=DecisionOutcome.REFER,
            limit=None,
            annual_rate=None,
            expires_on=None,
            reasons=(
                DecisionReason(
                    "DECISION_UNAVAILABLE",
                    "系统暂时无法完成审批，已转人工审核",
                    "the decision could not be completed; referred for review",
                ),
            ),
        )


def apply_for_line(
    ctx: JourneyContext,
    *,
    borrower_id: str,
    product_code: str | None = None,
    monthly_income: Money | None = None,
    device_id: str = "",
    ip_address: str = "",
) -> tuple[CreditApplication, list[str]]:
    """Decide an application; returns it and the outbox ids to send after the commit."""
    code = product_code or ctx.settings.default_product
    today = ctx.today()
    borrower, consents = ctx.onboarding.load_with_consents(borrower_id)
    kyc = borrower.ensure_can_borrow()
    require_consents(consents)
    if monthly_income is not None and (
        monthly_income.is_negative() or not monthly_income.is_whole()
    ):
        raise ValidationFailed(
            [Problem("monthly_income_fen", _text("月收入无效", "invalid income"))]
        )
    with ctx.uow.reading() as uow:  # checked again when the decision is recorded
        product = _product(uow, code)
        _check_can_apply(ctx, uow, borrower_id, today)
        # The person's debt and lines over every account: the limit leaves room for them.
        held = identity_exposure_in(
            uow, borrower_id, today, currency=product.currency, lock=False
        ).exposure
    # Counted only once the cheap refusals are behind it (a line already open, a review
    # pending, a decline too recent): an attempt refused there costs no data and is not
    # an application, so it does not use up the day's allowance.
    if ctx.application_guard is not None:
        ctx.application_guard.before_apply(kyc.national_id, device_id, ctx.now())
    application_id = ctx.new_id()
    applicant = Applicant(
        application_id=application_id,
        borrower_id=borrower_id,
        product_code=code,
        full_name=kyc.real_name,
        national_id=kyc.national_id,
        phone=borrower.phone,
        birth_date=kyc.birth_date,
        device_id=device_id,
        ip_address=ip_address,
        bank_card=kyc.bank_card,
        monthly_income=monthly_income,
        declared={"existing_credit_limits": str(held.total.amount)},
    )
    decision = _decide(ctx, applicant, today)
    declared = {"monthly_income_fen": monthly_income.to_minor()} if monthly_income else {}
    with ctx.uow() as uow:
        uow.journey.applications.lock_applicant(borrower_id)
        _check_can_apply(ctx, uow, borrower_id, today)  # again, now serialised
        application = _record(
            ctx, uow, decision, application_id, borrower_id, product, declared, kyc.birth_date
        )
        outbox = [_notice(ctx, uow, application, product)]
        uow.commit()
    return application, outbox


def _record(
    ctx: JourneyContext,
    uow: UnitOfWork,
    decision: CreditDecision,
    application_id: str,
    borrower_id: str,
    product: LoanProduct,
    declared: dict[str, int],
    birth_date: dt.date | None = None,
) -> CreditApplication:
    today = ctx.today()
    rate = Decimal(str(decision.annual_rate)) if decision.annual_rate is not None else None
    limit = decision.limit.round() if decision.limit is not None else None
    line_id = None
    expires: dt.date | None = decision.expires_on
    outcome = decision.outcome
    # The journey takes no purchase price: a price factor can only be about the amount.
    reasons = borrower_reasons(decision.reasons, purchase_price_declared=False)
    if outcome is DecisionOutcome.APPROVE and limit is not None:
        # What the person may still be lent, over every account, under the cap in force
        # (locked until this commit): a larger approval opens a smaller line.
        limit = limit.min(_room_under_cap(ctx, uow, borrower_id, product, today))
    if outcome is DecisionOutcome.APPROVE and (
        limit is None or rate is None or not limit.is_positive()
    ):
        outcome = DecisionOutcome.REFER  # an approval without a price or limit opens no line
        if limit is not None and not limit.is_positive():
            outcome = DecisionOutcome.DECLINE
            reasons = (_BORROWER_CAP_REACHED,)
    elif outcome is DecisionOutcome.APPROVE and limit is not None and limit < product.min_amount:
        outcome = DecisionOutcome.DECLINE
        reasons = borrower_reasons(
            [
                DecisionReason(
                    "LIMIT_BELOW_PRODUCT_MINIMUM",
                    f"可用额度低于产品最低借款金额{product.min_amount.format()}元",
                    f"the line would be below the product minimum of CNY {product.min_amount.format()}",
                )
            ]
        )
    if outcome is DecisionOutcome.APPROVE and limit is not None and rate is not None:
        expires_on = decision.expires_on or today + dt.timedelta(days=DEFAULT_LINE_DAYS)
        line = open_credit_line_in(
            uow,
            ctx.cost_caps,
            ctx.new_id,
            borrower_id=borrower_id,
            product_code=product.code,
            limit=limit,
            opened_on=today,
            expires_on=max(expires_on, today + dt.timedelta(days=1)),
            birth_date=birth_date,
        )
        line_id = line.line_id
        expires = line.expires_on
    application = CreditApplication(
        application_id=application_id,
        borrower_id=borrower_id,
        product_code=product.code,
        outcome=outcome,
        decision_id=decision.decision_id,
        applied_at=ctx.now(),
        decided_on=today,
        limit=limit if outcome == "approve" else None,
        annual_rate=rate if outcome == "approve" else None,
        price_band=price_band_of(rate) if rate is not None and outcome == "approve" else "",
        expires_on=expires if outcome == "approve" else None,
        line_id=line_id,
        reasons=reasons[:4] if outcome != "approve" else reasons,
        versions=dict(decision.versions),
        declared=declared,
    )
    uow.journey.applications.add(application)
    details: dict[str, Any] = {
        "decision_id": decision.decision_id,
        "outcome": str(outcome),
        "engine_outcome": str(decision.outcome),
        "reasons": [r.code for r in application.reasons],
        "versions": dict(decision.versions),
    }
    if application.limit is not None:
        details["limit_fen"] = application.limit.to_minor()
    if application.annual_rate is not None:
        details["annual_rate"] = str(application.annual_rate)
    if line_id is not None:
        details["line_id"] = line_id
    uow.audit.record(
        f"borrower:{borrower_id}", "decision.made", f"application:{application_id}", details
    )
    return application


_BORROWER_CAP_REACHED = DecisionReason(
    "BORROWER_CAP_REACHED",
    "您的借款与授信额度已达单户上限",
    "your loans and credit lines have reached the per-borrower cap",
)


def _room_under_cap(
    ctx: JourneyContext, uow: UnitOfWork, borrower_id: str, product: LoanProduct, on: dt.date
) -> Money:
    """The cap in force less the person's exposure, rounded down to ¥100 (never below 0)."""
    held = identity_exposure_in(uow, borrower_id, on, currency=product.currency)
    room = ctx.cost_caps.borrower_cap(product.licence_type, on) - held.exposure.total
    hundreds: Decimal = (room.amount // 100) * 100
    return Money(hundreds, product.currency).max(Money.zero(product.currency))


def _notice(
    ctx: JourneyContext,
    uow: UnitOfWork,
    application: CreditApplication,
    product: LoanProduct,
) -> str:
    if application.outcome == "approve":
        assert application.limit is not None and application.annual_rate is not None
        aprs = apr_range(
            ctx.cost_caps, product, application.limit, application.annual_rate, ctx.today()
        )
        shown = percent(application.annual_rate)
        if aprs is not None:
            low, high = percent(aprs.low), percent(aprs.high)
            shown = low if low == high else f"{low}–{high}"
        return notify(
            uow,
            ctx,
            application.borrower_id,
            "line_approved",
            {
                "limit": application.limit.format(),
                "apr": shown,
                "rate": percent(application.annual_rate),
                "expires_on": application.expires_on.isoformat() if application.expires_on else "",
            },
        )
    if application.outcome == "decline":
        return notify(
            uow,
            ctx,
            application.borrower_id,
            "line_declined",
            {
                "reasons_zh": "；".join(r.text_zh for r in application.reasons) or "综合评分不足",
                "reasons_en": "; ".join(r.text_en for r in application.reasons)
                or "overall assessment",
            },
        )
    return notify(uow, ctx, application.borrower_id, "line_referred", {})


# --------------------------------------------------------------------------- reading


def applications(ctx: JourneyContext, borrower_id: str) -> list[CreditApplication]:
    with ctx.uow() as uow:
        return uow.journey.applications.for_borrower(borrower_id)


def application(ctx: JourneyContext, borrower_id: str, application_id: str) -> CreditApplication:
    with ctx.uow() as uow:
        found = uow.journey.applications.get(application_id)
    if found.borrower_id != borrower_id:
        raise NotFound(f"application {application_id} not found")
    return found


def _view(uow: UnitOfWork, rules: CostCapPolicy, line: CreditLine, on: dt.date) -> LineView:
    product = uow.lending.products.get(line.product_code)
    applied = uow.journey.applications.by_line(line.line_id)
    rate = (
        applied.annual_rate if applied and applied.annual_rate is not None else product.annual_rate
    )
    line.expire_if_due(on)  # shown as expired; storing that is the line review's job
    return LineView(
        line=line,
        product=product,
        annual_rate=rate,
        price_band=applied.price_band if applied and applied.price_band else price_band_of(rate),
        apr_range=apr_range(rules, product, line.limit, rate, on),
        application_id=applied.application_id if applied else None,
    )


def lines(ctx: JourneyContext, borrower_id: str) -> list[LineView]:
    today = ctx.today()
    with ctx.uow() as uow:
        found = sorted(
            uow.lending.lines.for_borrower(borrower_id),
            key=lambda line: line.opened_on,
            reverse=True,
        )
        return [_view(uow, ctx.cost_caps, line, today) for line in found]


def line(ctx: JourneyContext, borrower_id: str, line_id: str) -> LineView:
    with ctx.uow() as uow:
        return owned_line_view(uow, ctx.cost_caps, borrower_id, line_id, ctx.today())


def owned_line_view(
    uow: UnitOfWork, rules: CostCapPolicy, borrower_id: str, line_id: str, on: dt.date
) -> LineView:
    found = uow.lending.lines.get(line_id)
    if found.borrower_id != borrower_id:
        raise NotFound(f"credit line {line_id} not found")
    return _view(uow, rules, found, on)


def line_rate(uow: UnitOfWork, line: CreditLine) -> Decimal:
    """The annual rate the line was approved at (the product's when opened otherwise)."""
    applied = uow.journey.applications.by_line(line.line_id)
    if applied is not None and applied.annual_rate is not None:
        return applied.annual_rate
    return uow.lending.products.get(line.product_code).annual_rate


__all__ = [
    "ApplicationUnderReview",
    "AprRange",
    "LineAlreadyOpen",
    "LineView",
    "ReapplyTooSoon",
    "application",
    "applications",
    "apply_for_line",
    "apr_range",
    "line",
    "line_rate",
    "lines",
    "owned_line_view",
    "pending_review",
    "price_band_of",
]
