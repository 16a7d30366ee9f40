"""LoanProduct to and from plain values (JSON-ready), for storage and the API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mobilend.domain.daycount import Frequency, PeriodUnit
from mobilend.domain.money import Money
from mobilend.domain.products import LoanProduct
from mobilend.domain.terms import FeeKind, FeeRule


def product_to_state(product: LoanProduct) -> dict[str, Any]:
    """Amounts as decimal strings, enums as their values."""
    multiple = product.installment_multiple
    return {
        "code": product.code,
        "name": product.name,
        "currency": product.currency,
        "min_amount": product.min_amount.format(),
        "max_amount": product.max_amount.format(),
        "min_periods": product.min_periods,
        "max_periods": product.max_periods,
        "annual_rate": str(product.annual_rate),
        "method": product.method.value,
        "frequency": {"every": product.frequency.every, "unit": product.frequency.unit.value},
        "day_count": product.day_count.value,
        "rounding": product.rounding.value,
        "installment_multiple": multiple.format() if multiple is not None else None,
        "principal_grace_periods": product.principal_grace_periods,
        "fees": [
            {
                "kind": f.kind.value,
                "amount": f.amount.format() if f.amount is not None else None,
                "rate": str(f.rate) if f.rate is not None else None,
                "payee": f.payee,
            }
            for f in product.fees
        ],
        "penalty_rate": str(product.penalty_rate),
        "penalty_grace_days": product.penalty_grace_days,
        "allocation_order": list(product.allocation_order),
        "licence_type": product.licence_type,
    }


def product_from_state(state: dict[str, Any]) -> LoanProduct:
    """Inverse of ``product_to_state``; invalid input raises ValidationFailed with every problem."""
    fields = dict(state)
    currency = str(fields.get("currency", "CNY"))
    frequency = fields.get("frequency")
    if isinstance(frequency, dict):
        fields["frequency"] = Frequency(int(frequency["every"]), PeriodUnit(str(frequency["unit"])))
    fees = fields.get("fees")
    if isinstance(fees, list):
        fields["fees"] = tuple(
            FeeRule(
                kind=FeeKind(str(f["kind"])),
                amount=Money(str(f["amount"]), currency) if f.get("amount") is not None else None,
                rate=Decimal(str(f["rate"])) if f.get("rate") is not None else None,
                payee=str(f.get("payee", "lender")),
            )
            for f in fees
        )
    return LoanProduct.create(**fields)
