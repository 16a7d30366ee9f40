"""What a loan was priced at, recorded when it is drawn, and the penalty it may accrue
later: when a lower cost cap comes into force after the draw, end of day lowers the
penalty so that the loan's APR plus the penalty stay within the cap in force that day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal

from mobilend.app.compliance.ports import LoanPricing
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.apr import annual_percentage_rate
from mobilend.domain.compliance import CostCapPolicy, NoCostCap
from mobilend.domain.daycount import DayCount
from mobilend.domain.loans import Loan
from mobilend.domain.schedules import generate_schedule


def record_pricing_in(
    uow: UnitOfWork,
    rules: CostCapPolicy,
    loan: Loan,
    *,
    licence_type: str,
    apr: Decimal,
    apr_for_cap: Decimal,
    requested_rate: Decimal,
    on: dt.date,
) -> LoanPricing:
    pricing = LoanPricing(
        loan_id=loan.loan_id,
        licence_type=licence_type,
        apr=apr,
        apr_for_cap=apr_for_cap,
        annual_rate=loan.terms.annual_rate,
        requested_rate=requested_rate,
        penalty_rate=loan.rules.penalty_rate,
        rulebook_version=rules.version,
        priced_on=on,
    )
    uow.compliance.pricing.add(pricing)
    return pricing


def loan_pricing_in(uow: UnitOfWork, loan: Loan) -> LoanPricing | None:
    """The loan's recorded pricing; for a loan drawn before prices were recorded, its
    APR worked out from its terms (not stored: the record says what was checked then)."""
    found = uow.compliance.pricing.get(loan.loan_id)
    if found is not None or loan.product_code is None:
        return found
    product = uow.lending.products.get(loan.product_code)
    apr = annual_percentage_rate(generate_schedule(loan.terms), with_xirr=False)
    return LoanPricing(
        loan.loan_id, product.licence_type, apr.apr, apr.apr_for_cap, loan.terms.annual_rate,
        loan.terms.annual_rate, loan.rules.penalty_rate, "unrecorded", loan.terms.start_date,
    )  # fmt: skip


def penalty_rate_on(
    rules: CostCapPolicy, pricing: LoanPricing, contract_rate: Decimal, day_count: DayCount
) -> Callable[[dt.date], Decimal]:
    """The penalty rate the loan may accrue on a day: its contract's, lowered so that its
    APR plus the penalty stay within the cap in force that day (unchanged on a day no
    cap is configured for: nothing was lent under one)."""

    def rate(day: dt.date) -> Decimal:
        try:
            return rules.penalty_rate_for(
                pricing.apr_for_cap, contract_rate, day_count, pricing.licence_type, day
            )
        except NoCostCap:
            return contract_rate

    return rate


def caps_on(
    rules: CostCapPolicy, licence_types: frozenset[str] | set[str]
) -> Callable[[dt.date], Mapping[str, Decimal]]:
    """The cost cap limit in force per licence type on a day (for set-based end of day)."""

    def caps(day: dt.date) -> Mapping[str, Decimal]:
        found: dict[str, Decimal] = {}
        for licence in sorted(licence_types):
            try:
                found[licence] = rules.cap_for(licence, day).limit
            except NoCostCap:
                continue
        return found

    return caps
