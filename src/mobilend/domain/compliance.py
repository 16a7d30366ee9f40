"""Cost caps: the APR a licence type may charge, by effective date.

The default caps every licence type at 24 % APR. A policy holds dated caps per
licence type (or ``"*"`` for every type); the cap in force on a date is the
latest one effective on or before it, a licence-specific cap winning a tie with
a general one. Offers and products above the cap are refused with
``AprAboveCap`` (code ``apr_above_cap``); the comparison is strict, on the
unrounded APR, so fen rounding can never tip a loan over the cap unnoticed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from mobilend.domain.apr import AprResult, annual_percentage_rate
from mobilend.domain.daycount import DayCount, PeriodUnit
from mobilend.domain.errors import ComplianceViolation
from mobilend.domain.money import Money
from mobilend.domain.products import LoanProduct, RepaymentMethod
from mobilend.domain.schedules import generate_schedule

ANY_LICENCE = "*"
DEFAULT_COST_CAP = Decimal("0.24")
#: At most this many term lengths are tried when looking for a product's worst APR.
MAX_TERMS_SCANNED = 12


class AprAboveCap(ComplianceViolation):
    code = "apr_above_cap"


class NoCostCap(ComplianceViolation):
    code = "no_cost_cap"


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).quantize(Decimal('0.01'))}%"


@dataclass(frozen=True, slots=True)
class CostCap:
    limit: Decimal  # APR as a fraction, e.g. Decimal("0.24")
    licence_type: str = ANY_LICENCE
    effective_from: date = date.min

    def __post_init__(self) -> None:
        if not isinstance(self.limit, Decimal) or not self.limit.is_finite() or self.limit <= 0:
            raise ValueError("a cost cap limit must be a positive Decimal fraction")


def _default_caps() -> tuple[CostCap, ...]:
    return (CostCap(DEFAULT_COST_CAP),)


@dataclass(frozen=True, slots=True)
class ProductCostCheck:
    """The worst APR found for a product, the loan that gives it, and the cap."""

    cap: CostCap
    worst: AprResult
    principal: Money
    periods: int
    start_date: date


@dataclass(frozen=True, slots=True)
class CostCapPolicy:
    caps: tuple[CostCap, ...] = field(default_factory=_default_caps)

    def __init__(self, caps: Iterable[CostCap] | None = None) -> None:
        object.__setattr__(self, "caps", _default_caps() if caps is None else tuple(caps))

    def cap_for(self, licence_type: str, on: date) -> CostCap:
        """The cap in force for ``licence_type`` on ``on``."""
        candidates = [
            cap
            for cap in self.caps
            if cap.licence_type in (licence_type, ANY_LICENCE) and cap.effective_from <= on
        ]
        if not candidates:
            raise NoCostCap(
                f"{on} 没有适用于牌照类型 {licence_type} 的成本上限 / "
                f"no cost cap is configured for licence type {licence_type!r} on {on}"
            )
        return max(candidates, key=lambda c: (c.effective_from, c.licence_type != ANY_LICENCE))

    def check_offer(self, apr: Decimal, licence_type: str, on: date) -> CostCap:
        """Refuse an APR above the cap in force; return the cap that was applied."""
        cap = self.cap_for(licence_type, on)
        if apr > cap.limit:
            raise AprAboveCap(
                f"年化利率（APR）{_percent(apr)} 超过 {_percent(cap.limit)} 的综合融资成本上限 / "
                f"APR {_percent(apr)} ({apr}) is above the {_percent(cap.limit)} cost cap for "
                f"licence type {licence_type!r} effective {cap.effective_from}"
            )
        return cap

    def check_product(
        self, product: LoanProduct, on: date, start_dates: Sequence[date] | None = None
    ) -> ProductCostCheck:
        """Refuse a product whose APR at its worst-case loan is above the cap.

        Tried: the smallest and largest amounts (fixed fees weigh most on small
        loans), the shortest and longest terms and up to ``MAX_TERMS_SCANNED``
        terms between, and — where actual days matter (ACT day counts, monthly
        periods) — a start on the first of each of the next twelve months, so
        31-day months and February are both covered.
        """
        cap = self.cap_for(product.licence_type, on)
        starts = list(start_dates) if start_dates else _candidate_starts(product, on)
        worst: ProductCostCheck | None = None
        for principal in dict.fromkeys((product.min_amount, product.max_amount)):
            for periods in _candidate_terms(product.min_periods, product.max_periods):
                for start in starts:
                    terms = product.terms_for(principal, periods, start)
                    result = annual_percentage_rate(generate_schedule(terms), with_xirr=False)
                    if worst is None or result.apr > worst.worst.apr:
                        worst = ProductCostCheck(cap, result, principal, periods, start)
        assert worst is not None  # the loops always run at least once
        if worst.worst.apr > cap.limit:
            raise AprAboveCap(
                f"产品 {product.code} 最高年化利率 {_percent(worst.worst.apr)} 超过 "
                f"{_percent(cap.limit)} 的综合融资成本上限 / product {product.code!r} reaches APR "
                f"{_percent(worst.worst.apr)} (amount {worst.principal.format()}, "
                f"{worst.periods} periods, from {worst.start_date}), above the "
                f"{_percent(cap.limit)} cost cap for licence type {product.licence_type!r}"
            )
        return worst


def _candidate_terms(shortest: int, longest: int) -> list[int]:
    span = longest - shortest
    if span < MAX_TERMS_SCANNED:
        return list(range(shortest, longest + 1))
    steps = MAX_TERMS_SCANNED - 1
    return sorted({shortest + span * i // steps for i in range(steps + 1)})


def _candidate_starts(product: LoanProduct, on: date) -> list[date]:
    day_sensitive = (
        product.day_count is not DayCount.THIRTY_360
        and product.frequency.unit is PeriodUnit.MONTHS
        and product.method is not RepaymentMethod.FLAT
    )
    if not day_sensitive:
        return [on]
    starts = [on]
    for offset in range(12):
        year, month = divmod(on.year * 12 + on.month - 1 + offset + 1, 12)
        starts.append(date(year, month + 1, 1))
    return starts
