"""Rules on what a loan costs and how it is built: checked on a product's worst case
and on every single offer.

* cost cap — the APR (``AprResult.apr_for_cap``: the disclosed figure or the
  actual-day one, whichever is higher) is within the cap in force;
* penalty cap — the APR plus the penalty rate, annualised over 365 days as it
  accrues (rate / day-count year per calendar day), is within the same cap: a
  yuan overdue never costs more a year than the cap;
* bullet term — a bullet (到期一次还本付息) loan runs at most the limit in months;
* platform fee — no fee is payable to a platform operator;
* per-borrower cap — no product lends more than one borrower may owe.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from mobilend.domain.apr import AprResult, annual_percentage_rate
from mobilend.domain.compliance.breaches import Breach, Rule, percent
from mobilend.domain.compliance.config import CostCap, RuleSettings
from mobilend.domain.daycount import DayCount, Frequency, PeriodUnit, add_months, days_in_year
from mobilend.domain.money import Money
from mobilend.domain.products import LoanProduct, RepaymentMethod
from mobilend.domain.schedules import generate_schedule
from mobilend.domain.terms import FeeRule, LoanTerms

#: At most this many term lengths are tried when looking for a product's worst APR.
MAX_TERMS_SCANNED = 12
#: Rates are set and capped to this step (0.0001 %).
RATE_STEP = Decimal("0.000001")
DAYS_A_YEAR = Decimal(365)


@dataclass(frozen=True, slots=True)
class ProductCostCheck:
    """The worst APR found for a product, the loan that gives it, and the cap."""

    cap: CostCap
    worst: AprResult
    principal: Money
    periods: int
    start_date: dt.date

    def terms_at(self, product: LoanProduct, annual_rate: Decimal) -> LoanTerms:
        """The worst-case loan at another rate."""
        return product.terms_for(self.principal, self.periods, self.start_date, None, annual_rate)


def worst_case(
    product: LoanProduct,
    cap: CostCap,
    on: dt.date,
    start_dates: Sequence[dt.date] | None = None,
    annual_rate: Decimal | None = None,
) -> ProductCostCheck:
    """The loan with the highest APR the product can make (at ``annual_rate``).

    Tried: the smallest and largest amounts (fixed fees weigh most on small loans),
    the shortest and longest terms and up to ``MAX_TERMS_SCANNED`` terms between,
    and — for monthly periods, whose days differ — a start on the first of each of
    the next twelve months, so 31-day months and February are both covered.
    """
    rate = product.annual_rate if annual_rate is None else annual_rate
    starts = list(start_dates) if start_dates else candidate_starts(product.frequency, on)
    worst: ProductCostCheck | None = None
    for principal in dict.fromkeys((product.min_amount, product.max_amount)):
        for periods in _candidate_terms(product.min_periods, product.max_periods):
            for start in starts:
                terms = product.terms_for(principal, periods, start, None, rate)
                result = annual_percentage_rate(generate_schedule(terms), with_xirr=False)
                if worst is None or result.apr_for_cap > worst.worst.apr_for_cap:
                    worst = ProductCostCheck(cap, result, principal, periods, start)
    assert worst is not None  # the loops always run at least once
    return worst


def _candidate_terms(shortest: int, longest: int) -> list[int]:
    span = longest - shortest
    if span < MAX_TERMS_SCANNED:
        return list(range(shortest, longest + 1))
    steps = MAX_TERMS_SCANNED - 1
    return sorted({shortest + span * i // steps for i in range(steps + 1)})


def candidate_starts(frequency: Frequency, on: dt.date) -> list[dt.date]:
    if frequency.unit is not PeriodUnit.MONTHS:
        return [on]  # weeks and days are the same length in any month
    starts = [on]
    for offset in range(12):
        year, month = divmod(on.year * 12 + on.month - 1 + offset + 1, 12)
        starts.append(dt.date(year, month + 1, 1))
    return starts


# --------------------------------------------------------------------------- breaches


def cost_breach(figure: Decimal, cap: CostCap, licence_type: str, *, what: str = "") -> Breach:
    """An APR (the cap figure: ``AprResult.apr_for_cap``) above the cap."""
    basis = f" ({cap.basis})" if cap.basis else ""
    zh_what = f"{what} " if what else ""
    return Breach(
        Rule.COST_CAP,
        "annual_rate",
        percent(figure),
        percent(cap.limit),
        f"{zh_what}年化利率（APR）{percent(figure)} 超过 {percent(cap.limit)} 的综合融资成本上限",
        f"{what + ' ' if what else ''}APR {percent(figure)} ({figure}) is above the "
        f"{percent(cap.limit)}{basis} cost cap for licence type {licence_type!r} "
        f"effective {cap.effective_from}",
    )


def product_cost_breach(product: LoanProduct, check: ProductCostCheck) -> Breach:
    figure = check.worst.apr_for_cap
    limit = check.cap.limit
    return Breach(
        Rule.COST_CAP,
        "annual_rate",
        percent(figure),
        percent(limit),
        f"产品 {product.code} 最高年化利率 {percent(figure)} 超过 {percent(limit)} 的综合融资成本上限",
        f"product {product.code!r} reaches APR {percent(figure)} (amount "
        f"{check.principal.format()}, {check.periods} periods, from {check.start_date}), above "
        f"the {percent(limit)} cost cap for licence type {product.licence_type!r}",
        product.code,
    )


def annualised_penalty(penalty_rate: Decimal, day_count: DayCount) -> Decimal:
    """What the penalty costs over 365 days: it accrues rate / day-count year a day."""
    return penalty_rate * DAYS_A_YEAR / days_in_year(day_count)


def penalty_ceiling(apr_for_cap: Decimal, cap_limit: Decimal, day_count: DayCount) -> Decimal:
    """The highest penalty rate (in the loan's day count) that keeps APR + penalty
    within the cap, rounded down to ``RATE_STEP``; zero when the APR uses it all."""
    room = max(cap_limit - apr_for_cap, Decimal(0))
    return (room * days_in_year(day_count) / DAYS_A_YEAR).quantize(RATE_STEP, ROUND_FLOOR)


def penalty_breach(
    penalty_rate: Decimal, apr_for_cap: Decimal, cap: CostCap, day_count: DayCount
) -> Breach | None:
    penalty = annualised_penalty(penalty_rate, day_count)
    if penalty_rate <= 0 or apr_for_cap + penalty <= cap.limit:
        return None
    total = apr_for_cap + penalty
    most = penalty_ceiling(apr_for_cap, cap.limit, day_count)
    return Breach(
        Rule.PENALTY_CAP,
        "penalty_rate",
        f"{percent(apr_for_cap)} + {percent(penalty)} = {percent(total)}",
        percent(cap.limit),
        f"利息与罚息合计年化 {percent(total)} 超过 {percent(cap.limit)} 的上限，罚息利率最高 {most}",
        f"interest and penalty together cost {percent(total)} a year, above the "
        f"{percent(cap.limit)} cap; the penalty rate may be at most {most}",
    )


def bullet_term_breach(
    method: RepaymentMethod, frequency: Frequency, periods: int, months: int
) -> Breach | None:
    """A bullet loan of ``periods`` steps of ``frequency`` runs at most ``months``
    (weeks and days: at most ``months`` / 12 × 365 days)."""
    if method is not RepaymentMethod.BULLET:
        return None
    if frequency.unit is PeriodUnit.MONTHS:
        too_long = frequency.every * periods > months
        figure = f"{frequency.every * periods} months"
    else:
        days = frequency.nominal_days * periods
        too_long = days * 12 > months * 365
        figure = f"{days} days"
    if not too_long:
        return None
    return _bullet_breach(figure, months)


def bullet_dates_breach(terms: LoanTerms, months: int) -> Breach | None:
    """The same rule on a loan's actual dates: the last due date is at most ``months``
    calendar months after disbursement."""
    if terms.method is not RepaymentMethod.BULLET:
        return None
    last_due = terms.due_dates()[-1]
    if last_due <= add_months(terms.start_date, months):
        return None
    return _bullet_breach(f"{terms.start_date} → {last_due}", months)


def _bullet_breach(figure: str, months: int) -> Breach:
    return Breach(
        Rule.BULLET_TERM,
        "periods",
        figure,
        f"{months} months",
        f"到期一次还本付息的借款期限不得超过 {months} 个月（{figure}）",
        f"a bullet loan may run at most {months} months ({figure})",
    )


def platform_fee_breaches(fees: Sequence[FeeRule], payees: frozenset[str]) -> list[Breach]:
    breaches = []
    for i, fee in enumerate(fees):
        if fee.payee.strip().lower() in payees:
            breaches.append(
                Breach(
                    Rule.PLATFORM_FEE,
                    f"fees[{i}].payee",
                    fee.payee,
                    "none",
                    f"不得向借款人收取支付给平台运营方的费用（{fee.payee}）",
                    f"no fee may be payable to a platform operator ({fee.payee})",
                )
            )
    return breaches


def borrower_cap_breach(field: str, figure: Money, cap: Money, zh: str, en: str) -> Breach | None:
    if figure <= cap:
        return None
    return Breach(
        Rule.BORROWER_CAP,
        field,
        figure.format(),
        cap.format(),
        f"{zh} {figure.format()} 超过单户上限 {cap.format()}",
        f"{en} {figure.format()} is above the per-borrower cap of {cap.format()}",
    )


def product_breaches(
    rules: RuleSettings,
    product: LoanProduct,
    on: dt.date,
    start_dates: Sequence[dt.date] | None = None,
) -> tuple[list[Breach], ProductCostCheck]:
    """Every rule the product breaks on ``on``, and its worst-case cost check."""
    licence = product.licence_type
    cap = rules.cap_for(licence, on)
    breaches: list[Breach] = []
    check = worst_case(product, cap, on, start_dates)
    if check.worst.apr_for_cap > cap.limit:
        breaches.append(product_cost_breach(product, check))
    else:
        penalty = penalty_breach(
            product.penalty_rate, check.worst.apr_for_cap, cap, product.day_count
        )
        if penalty is not None:
            breaches.append(penalty)
    over_cap = borrower_cap_breach(
        "max_amount",
        product.max_amount,
        rules.borrower_cap(licence, on),
        "产品最高金额",
        "the product's maximum amount",
    )
    if over_cap is not None:
        breaches.append(over_cap)
    bullet = bullet_term_breach(
        product.method,
        product.frequency,
        product.max_periods,
        rules.bullet_term_months(licence, on),
    )
    if bullet is not None:
        breaches.append(bullet)
    breaches += platform_fee_breaches(product.fees, rules.platform_payees(licence, on))
    return [b.about(product.code) for b in breaches], check
