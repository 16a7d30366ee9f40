"""Credit limit: the smallest of every cap that applies, rounded down to ¥100.

limit = min(score-band table, affordability, regulatory per-borrower cap minus the
borrower's other lines, product maximum[, share of the purchase price]) × market factor,
rounded DOWN to a multiple of 100. Below the product minimum there is no offer.

Affordability, by scenario:

* income — the monthly repayment the borrower can carry is
  ``income × max_debt_service_ratio − existing monthly repayments`` (bureau); the
  affordable principal is that payment's present value over the term at the offered
  rate (an annuity), and at most ``income × income_multiple``;
* turnover (小微经营者) — the same with the business's monthly profit
  ``turnover × net_margin`` in place of income, and at most ``turnover × turnover_multiple``.

Everything is Decimal/Money; nothing here reads a clock or the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from mobilend.domain.money import Money
from mobilend.risk.policy.loader import Affordability

LIMIT_STEP = Decimal(100)
#: Per-borrower cap on credit across all of a borrower's lines with one lender (网络小贷 20万).
REGULATORY_CAP = Money("200000")

BINDING_REASONS: Mapping[str, str] = {
    "score_band": "LIMIT_BY_SCORE_BAND",
    "affordability": "LIMIT_BY_AFFORDABILITY",
    "turnover": "LIMIT_BY_TURNOVER",
    "regulatory_cap": "LIMIT_BY_REGULATORY_CAP",
    "product_max": "LIMIT_BY_PRODUCT_MAX",
    "purchase_price": "LIMIT_BY_PURCHASE_PRICE",
}
# When two caps give the same amount, the first named here is reported as binding.
_BINDING_ORDER = (
    "regulatory_cap",
    "product_max",
    "affordability",
    "turnover",
    "purchase_price",
    "score_band",
)


def round_down(amount: Money, step: Decimal = LIMIT_STEP) -> Money:
    """Largest multiple of ``step`` not above ``amount`` (never negative)."""
    if amount.amount <= 0:
        return Money.zero(amount.currency)
    units = (amount.amount / step).to_integral_value(rounding=ROUND_FLOOR)
    return Money(units * step, amount.currency)


def annuity_principal(payment: Money, annual_rate: Decimal, months: int) -> Money:
    """Present value of ``months`` equal monthly payments at ``annual_rate`` (nominal, /12)."""
    if months < 1:
        raise ValueError("term must be at least one month")
    if payment.amount <= 0:
        return Money.zero(payment.currency)
    monthly = annual_rate / 12
    if monthly == 0:
        return payment * months
    factor = (1 - (1 + monthly) ** -months) / monthly
    return Money(payment.amount * factor, payment.currency)


@dataclass(frozen=True, slots=True)
class LimitInputs:
    band_limit: Money
    product_max: Money
    min_limit: Money
    affordability: Affordability
    annual_rate: Decimal
    term_months: int
    monthly_income: Money | None
    monthly_debt_service: Money
    monthly_turnover: Money | None = None
    purchase_price: Money | None = None
    existing_exposure: Money = field(default_factory=Money.zero)
    regulatory_cap: Money = REGULATORY_CAP
    market_factor: Decimal = Decimal(1)


@dataclass(frozen=True, slots=True)
class LimitResult:
    limit: Money  # zero when there is no offer
    binding: str  # which cap set the limit (a key of BINDING_REASONS)
    candidates: Mapping[str, Money]
    below_minimum: bool
    affordability_known: bool  # False: no income (or turnover) to judge affordability by
    market_cut: bool  # the market factor lowered the limit

    @property
    def reason_code(self) -> str:
        return BINDING_REASONS[self.binding]


def _affordable(inputs: LimitInputs) -> tuple[str, Money | None]:
    rule = inputs.affordability
    if rule.method == "turnover":
        turnover = inputs.monthly_turnover
        if turnover is None or rule.net_margin is None:
            return "turnover", None
        profit = turnover * rule.net_margin
        payment = profit * rule.max_debt_service_ratio - inputs.monthly_debt_service
        amount = annuity_principal(payment, inputs.annual_rate, inputs.term_months)
        if rule.turnover_multiple is not None:
            amount = amount.min(turnover * rule.turnover_multiple)
        return "turnover", amount
    income = inputs.monthly_income
    if income is None:
        return "affordability", None
    payment = income * rule.max_debt_service_ratio - inputs.monthly_debt_service
    amount = annuity_principal(payment, inputs.annual_rate, inputs.term_months)
    if rule.income_multiple is not None:
        amount = amount.min(income * rule.income_multiple)
    return "affordability", amount


def compute_limit(inputs: LimitInputs) -> LimitResult:
    currency = inputs.band_limit.currency
    candidates: dict[str, Money] = {
        "score_band": inputs.band_limit,
        "product_max": inputs.product_max,
        "regulatory_cap": (inputs.regulatory_cap - inputs.existing_exposure).max(
            Money.zero(currency)
        ),
    }
    name, affordable = _affordable(inputs)
    if affordable is not None:
        candidates[name] = affordable.max(Money.zero(currency))
    share = inputs.affordability.max_financed_share_of_price
    if share is not None and inputs.purchase_price is not None:
        candidates["purchase_price"] = inputs.purchase_price * share
    binding = min(
        _BINDING_ORDER,
        key=lambda k: (
            candidates[k].amount if k in candidates else Decimal("Infinity"),
            _BINDING_ORDER.index(k),
        ),
    )
    unrounded = candidates[binding]
    stressed = unrounded * inputs.market_factor
    limit = round_down(stressed)
    below = limit < inputs.min_limit
    return LimitResult(
        limit=Money.zero(currency) if below else limit,
        binding=binding,
        candidates={k: v.round() for k, v in candidates.items()},
        below_minimum=below,
        affordability_known=affordable is not None,
        market_cut=inputs.market_factor < 1 and round_down(unrounded) != limit,
    )
