"""Price: the score band's annual rate, lowered until the offers it leads to fit the cap.

The cap is an APR (fees included, interest by the product's day count, irregular
periods by actual days), not a nominal rate: 23.76 % nominal on an ACT/360 product
is an APR of about 24.1 %. So with the product known, the rate is at most the
highest one at which every loan the product can make fits the cap in force
(``domain.compliance.Rulebook.max_rate``). Without it, only the nominal rate is
capped; each offer is then fitted to the cap when it is made
(``Rulebook.fit_offer``), so an approved borrower is never refused for the price.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from mobilend.domain.compliance import CostCapPolicy
from mobilend.domain.products import LoanProduct


@dataclass(frozen=True, slots=True)
class PriceResult:
    annual_rate: Decimal
    cost_cap: Decimal
    capped: bool


def price_for_band(
    band_rate: Decimal,
    *,
    licence_type: str,
    on: dt.date,
    cost_caps: CostCapPolicy | None = None,
    product: LoanProduct | None = None,
) -> PriceResult:
    if band_rate < 0:
        raise ValueError(f"a band rate cannot be negative: {band_rate}")
    rules = cost_caps or CostCapPolicy()
    cap = rules.cap_for(licence_type if product is None else product.licence_type, on).limit
    if product is not None:
        rate = rules.max_rate(product, on, up_to=band_rate)
    else:
        rate = min(band_rate, cap)
    return PriceResult(annual_rate=rate, cost_cap=cap, capped=rate < band_rate)
