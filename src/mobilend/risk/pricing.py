"""Price: the score band's annual rate, never above the cost cap in force.

The cap comes from ``domain.compliance.CostCapPolicy`` (24 % by default, by licence
type and date). The band rate is a nominal annual rate; the offer's APR (fees included)
is checked against the same cap when the offer is built.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from mobilend.domain.compliance import CostCapPolicy


@dataclass(frozen=True, slots=True)
class PriceResult:
    annual_rate: Decimal
    cost_cap: Decimal
    capped: bool


def price_for_band(
    band_rate: Decimal, *, licence_type: str, on: dt.date, cost_caps: CostCapPolicy | None = None
) -> PriceResult:
    if band_rate < 0:
        raise ValueError(f"a band rate cannot be negative: {band_rate}")
    cap = (cost_caps or CostCapPolicy()).cap_for(licence_type, on).limit
    if band_rate > cap:
        return PriceResult(annual_rate=cap, cost_cap=cap, capped=True)
    return PriceResult(annual_rate=band_rate, cost_cap=cap, capped=False)
