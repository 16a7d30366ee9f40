"""Use cases: credit lines (授信).

A line is opened only within the rules in force: the borrower old enough and not a
student, and the person's debt and unused limits over every account, plus the new
limit, within the per-borrower cap (``app.compliance.exposure``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from mobilend.app.compliance.exposure import check_line_opening_in
from mobilend.app.unit_of_work import UnitOfWork, command
from mobilend.domain.compliance import CostCapPolicy
from mobilend.domain.errors import NotFound, Problem, ValidationFailed
from mobilend.domain.lines import CreditLine
from mobilend.domain.money import Money


def open_credit_line_in(
    uow: UnitOfWork,
    rules: CostCapPolicy,
    new_id: Callable[[], str],
    *,
    borrower_id: str,
    product_code: str,
    limit: Money,
    opened_on: dt.date,
    expires_on: dt.date,
    birth_date: dt.date | None = None,
    is_student: bool = False,
) -> CreditLine:
    """Open a line; refused (``BorrowerCapExceeded``, ``BorrowerNotEligible``) when the
    rules in force on ``opened_on`` forbid it. ``birth_date``: the verified one, when
    the caller has it (the journey does)."""
    product = uow.lending.products.get(product_code)
    if limit.currency != product.currency:
        raise ValidationFailed([Problem("limit", f"must be in {product.currency}")])
    if not uow.lending.borrowers.exists(borrower_id):
        raise NotFound(f"borrower {borrower_id} not found")
    check_line_opening_in(
        uow, rules, borrower_id=borrower_id, limit=limit, licence_type=product.licence_type,
        on=opened_on, birth_date=birth_date, is_student=is_student,
    )  # fmt: skip
    line = CreditLine(
        line_id=new_id(),
        borrower_id=borrower_id,
        limit=limit,
        expires_on=expires_on,
        opened_on=opened_on,
        product_code=product_code,
    )
    uow.lending.lines.add(line)
    return line


def freeze_credit_line_in(uow: UnitOfWork, line_id: str, reason: str) -> CreditLine:
    line = uow.lending.lines.get(line_id, for_update=True)
    line.freeze(reason)
    uow.lending.lines.save(line)
    return line


def unfreeze_credit_line_in(uow: UnitOfWork, line_id: str) -> CreditLine:
    line = uow.lending.lines.get(line_id, for_update=True)
    line.unfreeze()
    uow.lending.lines.save(line)
    return line


open_credit_line = command(open_credit_line_in)
freeze_credit_line = command(freeze_credit_line_in)
unfreeze_credit_line = command(unfreeze_credit_line_in)
