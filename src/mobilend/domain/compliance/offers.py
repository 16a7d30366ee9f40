"""Pricing within the cap: the offer a borrower sees never breaks the rules in force.

``fit_offer`` builds one offer (amount, term, dates, requested rate) and, when its
APR would be above the cost cap, lowers the rate — never raises it — to the
highest step (``RATE_STEP``) whose APR is within the cap; only an offer whose fees
alone break the cap is refused. Its penalty rate is lowered the same way so
interest and penalty together stay within the cap. ``max_product_rate`` finds the
highest rate at which every loan a product can make (its worst case) fits, for
pricing a credit line before any draw. ``loan_breaches`` checks an offer already
made against the rules in force on a later date (for a compliance report).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_FLOOR, Decimal

from mobilend.domain.apr import AprResult, annual_percentage_rate
from mobilend.domain.compliance.breaches import AprAboveCap, Breach, refuse_if_any
from mobilend.domain.compliance.config import CostCap, RuleSettings
from mobilend.domain.compliance.products import (
    RATE_STEP,
    ProductCostCheck,
    bullet_dates_breach,
    cost_breach,
    penalty_breach,
    penalty_ceiling,
    platform_fee_breaches,
    product_cost_breach,
    worst_case,
)
from mobilend.domain.money import Money
from mobilend.domain.products import LoanProduct
from mobilend.domain.schedules import Schedule, generate_schedule
from mobilend.domain.terms import LoanTerms

#: Rounds of "find the worst loan, lower the rate for it" before giving up.
MAX_PRICING_ROUNDS = 8


@dataclass(frozen=True, slots=True)
class PricedOffer:
    """One offer as it may be made: terms, schedule, APR, and the rates it carries."""

    terms: LoanTerms
    schedule: Schedule
    apr: AprResult
    cap: CostCap
    requested_rate: Decimal
    penalty_rate: Decimal  # the product's, lowered as far as the cap needs

    @property
    def annual_rate(self) -> Decimal:
        return self.terms.annual_rate

    @property
    def rate_lowered(self) -> bool:
        return self.annual_rate < self.requested_rate


def highest_rate_within_cap(
    apr_at: Callable[[Decimal], AprResult], limit: Decimal, top: Decimal
) -> Decimal | None:
    """The highest rate ≤ ``top`` whose APR is within ``limit``: ``top`` itself when it
    fits, else a multiple of ``RATE_STEP``; None when not even a zero rate fits.

    The APR rises with the rate (weakly: interest is rounded to the fen), so a
    bracket [fits, does not fit] is narrowed by secant steps, halving instead when
    one end has moved twice in a row, down to one rate step.
    """
    top_apr = apr_at(top).apr_for_cap
    if top_apr <= limit:
        return top
    low, high = Decimal(0), top
    low_apr = apr_at(low).apr_for_cap
    if low_apr > limit:
        return None
    high_apr = top_apr
    moved_low = moved_high = 0
    while high - low > RATE_STEP:
        if max(moved_low, moved_high) >= 2 or high_apr == low_apr:
            guess = (low + high) / 2
        else:
            guess = low + (limit - low_apr) * (high - low) / (high_apr - low_apr)
        guess = guess.quantize(RATE_STEP, ROUND_FLOOR)
        if not low < guess < high:
            guess = ((low + high) / 2).quantize(RATE_STEP, ROUND_FLOOR)
            if not low < guess < high:
                break
        found = apr_at(guess).apr_for_cap
        if found <= limit:
            low, low_apr = guess, found
            moved_low, moved_high = moved_low + 1, 0
        else:
            high, high_apr = guess, found
            moved_low, moved_high = 0, moved_high + 1
    return low


def _schedule_apr(terms: LoanTerms, *, with_xirr: bool = False) -> tuple[Schedule, AprResult]:
    schedule, apr = _priced(terms, with_xirr)
    if schedule.terms is not terms:  # an equal key may carry e.g. 0.18 for 0.180
        schedule = replace(schedule, terms=terms)
    return schedule, apr


@functools.lru_cache(maxsize=4096)
def _priced(terms: LoanTerms, with_xirr: bool) -> tuple[Schedule, AprResult]:
    # Memoised (terms and schedules are immutable): a draw is priced when its contract
    # is drafted and again when it is signed, and the APR's IRR solve is the dearest
    # part of either.
    schedule = generate_schedule(terms)
    return schedule, annual_percentage_rate(schedule, terms.start_date, with_xirr=with_xirr)


def terms_breaches(rules: RuleSettings, terms: LoanTerms, licence_type: str) -> list[Breach]:
    """The rules on how one loan is built, in force on its start date."""
    on = terms.start_date
    breaches = platform_fee_breaches(terms.fees, rules.platform_payees(licence_type, on))
    bullet = bullet_dates_breach(terms, rules.bullet_term_months(licence_type, on))
    if bullet is not None:
        breaches.insert(0, bullet)
    return breaches


def fit_offer(
    rules: RuleSettings,
    product: LoanProduct,
    principal: Money,
    periods: int,
    start: dt.date,
    first_due: dt.date | None = None,
    annual_rate: Decimal | None = None,
    *,
    with_xirr: bool = True,
) -> PricedOffer:
    """The offer for this draw, priced within the cap in force on ``start``.

    Raises ``ValidationFailed`` for terms out of the product's ranges, a
    ``RuleBroken`` for a bullet term or platform fee the rules forbid, and
    ``AprAboveCap`` only when the fees alone put the APR above the cap.
    ``with_xirr=False`` leaves out the compounded calendar figure (``AprResult.xirr``)
    when only the APRs are wanted; the cap is checked on the same figures either way.
    """
    licence = product.licence_type
    requested = product.annual_rate if annual_rate is None else annual_rate
    cap = rules.cap_for(licence, start)

    def terms_at(rate: Decimal) -> LoanTerms:
        return product.terms_for(principal, periods, start, first_due, rate)

    terms = terms_at(requested)
    refuse_if_any(terms_breaches(rules, terms, licence))
    schedule, apr = _schedule_apr(terms, with_xirr=with_xirr)
    if apr.apr_for_cap > cap.limit:
        rate = highest_rate_within_cap(
            lambda r: _schedule_apr(terms_at(r))[1], cap.limit, requested
        )
        if rate is None:
            at_zero = _schedule_apr(terms_at(Decimal(0)))[1]
            raise AprAboveCap([cost_breach(at_zero.apr_for_cap, cap, licence, what="费用 / fees")])
        terms = terms_at(rate)
        schedule, apr = _schedule_apr(terms, with_xirr=with_xirr)
    ceiling = penalty_ceiling(apr.apr_for_cap, cap.limit, product.day_count)
    return PricedOffer(
        terms=terms,
        schedule=schedule,
        apr=apr,
        cap=cap,
        requested_rate=requested,
        penalty_rate=min(product.penalty_rate, ceiling),
    )


def max_product_rate(
    rules: RuleSettings,
    product: LoanProduct,
    on: dt.date,
    up_to: Decimal | None = None,
    start_dates: Sequence[dt.date] | None = None,
) -> Decimal:
    """The highest rate ≤ ``up_to`` (default: the product's) at which every loan the
    product can make has its APR within the cap in force on ``on``.

    Each round finds the worst loan at the current rate and lowers the rate until
    that loan fits; another loan may then be the worst, so it repeats until the
    worst one fits. Raises ``AprAboveCap`` when the fees alone break the cap.
    """
    cap = rules.cap_for(product.licence_type, on)
    rate = product.annual_rate if up_to is None else up_to
    for _ in range(MAX_PRICING_ROUNDS):
        check = worst_case(product, cap, on, start_dates, rate)
        if check.worst.apr_for_cap <= cap.limit:
            return rate
        lowered = highest_rate_within_cap(_apr_of(product, check), cap.limit, rate)
        if lowered is None:
            raise AprAboveCap([product_cost_breach(product, check)])
        rate = lowered
    check = worst_case(product, cap, on, start_dates, rate)
    if check.worst.apr_for_cap > cap.limit:  # pragma: no cover - each round lowers the rate
        raise AprAboveCap([product_cost_breach(product, check)])
    return rate


def _apr_of(product: LoanProduct, check: ProductCostCheck) -> Callable[[Decimal], AprResult]:
    """The APR of the check's worst-case loan at a given rate."""

    def apr_at(rate: Decimal) -> AprResult:
        return _schedule_apr(check.terms_at(product, rate))[1]

    return apr_at


def loan_breaches(
    rules: RuleSettings,
    licence_type: str,
    schedule: Schedule,
    penalty_rate: Decimal,
    on: dt.date,
    apr: AprResult | None = None,
) -> list[Breach]:
    """Every rule in force on ``on`` that a loan made on ``schedule`` breaks."""
    terms = schedule.terms
    cap = rules.cap_for(licence_type, on)
    result = apr or annual_percentage_rate(schedule, with_xirr=False)
    breaches = []
    if result.apr_for_cap > cap.limit:
        breaches.append(cost_breach(result.apr_for_cap, cap, licence_type))
    else:
        penalty = penalty_breach(penalty_rate, result.apr_for_cap, cap, terms.day_count)
        if penalty is not None:
            breaches.append(penalty)
    months = rules.bullet_term_months(licence_type, on)
    bullet = bullet_dates_breach(terms, months)
    if bullet is not None:
        breaches.append(bullet)
    breaches += platform_fee_breaches(terms.fees, rules.platform_payees(licence_type, on))
    return breaches
