"""The demo product catalogue seeded by ``make run``: one product per lending scenario.

Penalty rates keep interest and penalty together within the 24 % cost cap on each
product's worst-case loan (``compliance.Rulebook.check_product``); a loan priced
higher gets a lower penalty still (``Rulebook.fit_offer``)."""

from __future__ import annotations

from typing import Any

DEMO_PRODUCTS: tuple[dict[str, Any], ...] = (
    {
        "code": "cash",
        "name": "随借随还现金贷 / Consumer cash loan",
        "min_amount": "500.00",
        "max_amount": "50000.00",
        "min_periods": 3,
        "max_periods": 12,
        "annual_rate": "0.18",
        "method": "equal-installment",
        "day_count": "ACT/360",
        "penalty_rate": "0.05",
        "penalty_grace_days": 3,
    },
    {
        "code": "phone",
        "name": "手机分期 / Phone-purchase installments",
        "min_amount": "1000.00",
        "max_amount": "15000.00",
        "min_periods": 6,
        "max_periods": 24,
        "annual_rate": "0.12",
        "method": "equal-principal",
        "day_count": "30/360",
        "installment_multiple": None,
        "fees": [{"kind": "per-installment", "amount": "5.00", "rate": None, "payee": "insurer"}],
        "penalty_rate": "0.01",
        "penalty_grace_days": 3,
    },
    {
        "code": "sme",
        "name": "小微经营贷 / Small-business working capital",
        "min_amount": "5000.00",
        "max_amount": "200000.00",
        "min_periods": 3,
        "max_periods": 12,
        "annual_rate": "0.15",
        "method": "interest-first",
        "day_count": "ACT/365",
        "penalty_rate": "0.08",
        "penalty_grace_days": 3,
    },
)
