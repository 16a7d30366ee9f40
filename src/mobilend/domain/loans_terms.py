"""LoanTerms to and from plain values (for storing a loan's contract with it)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from mobilend.domain.daycount import DayCount, Frequency, PeriodUnit
from mobilend.domain.money import Money, RoundingMode
from mobilend.domain.terms import FeeKind, FeeRule, LoanTerms, RepaymentMethod


def _minor(value: Money | None) -> int | None:
    return value.to_minor() if value is not None else None


def terms_to_state(terms: LoanTerms) -> dict[str, Any]:
    return {
        "currency": terms.currency,
        "principal_minor": terms.principal.to_minor(),
        "periods": terms.periods,
        "annual_rate": str(terms.annual_rate),
        "method": terms.method.value,
        "start_date": terms.start_date.isoformat(),
        "frequency_every": terms.frequency.every,
        "frequency_unit": terms.frequency.unit.value,
        "day_count": terms.day_count.value,
        "rounding": terms.rounding.value,
        "installment_multiple_minor": _minor(terms.installment_multiple),
        "principal_grace_periods": terms.principal_grace_periods,
        "fees": [
            {
                "kind": f.kind.value,
                "amount_minor": _minor(f.amount),
                "rate": str(f.rate) if f.rate is not None else None,
                "payee": f.payee,
            }
            for f in terms.fees
        ],
        "first_due_date": terms.first_due_date.isoformat() if terms.first_due_date else None,
        "anchor_day": terms.anchor_day,
        "first_number": terms.first_number,
        "fee_base_minor": _minor(terms.fee_base),
    }


def terms_from_state(state: dict[str, Any]) -> LoanTerms:
    currency = str(state["currency"])

    def money(value: object) -> Money | None:
        return Money.from_minor(int(str(value)), currency) if value is not None else None

    principal = money(state["principal_minor"])
    assert principal is not None
    fees = tuple(
        FeeRule(
            kind=FeeKind(str(f["kind"])),
            amount=money(f.get("amount_minor")),
            rate=Decimal(str(f["rate"])) if f.get("rate") is not None else None,
            payee=str(f.get("payee", "lender")),
        )
        for f in state.get("fees", [])
    )
    first_due = state.get("first_due_date")
    anchor = state.get("anchor_day")
    return LoanTerms(
        principal=principal,
        periods=int(state["periods"]),
        annual_rate=Decimal(str(state["annual_rate"])),
        method=RepaymentMethod(str(state["method"])),
        start_date=dt.date.fromisoformat(str(state["start_date"])),
        frequency=Frequency(
            int(state["frequency_every"]), PeriodUnit(str(state["frequency_unit"]))
        ),
        day_count=DayCount(str(state["day_count"])),
        rounding=RoundingMode(str(state["rounding"])),
        installment_multiple=money(state.get("installment_multiple_minor")),
        principal_grace_periods=int(state.get("principal_grace_periods", 0)),
        fees=fees,
        first_due_date=dt.date.fromisoformat(str(first_due)) if first_due else None,
        anchor_day=int(anchor) if anchor is not None else None,
        first_number=int(state.get("first_number", 1)),
        fee_base=money(state.get("fee_base_minor")),
    )
