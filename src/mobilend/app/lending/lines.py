"""Use cases: credit lines (授信)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from mobilend.app.unit_of_work import UnitOfWork, command
from mobilend.domain.errors import NotFound, Problem, ValidationFailed
from mobilend.domain.lines import CreditLine
from mobilend.domain.money import Money


def open_credit_line_in(
    uow: UnitOfWork,
    new_id: Callable[[], str],
    *,
    borrower_id: str,
    product_code: str,
    limit: Money,
    opened_on: dt.date,
    expires_on: dt.date,
) -> CreditLine:
    product = uow.lending.products.get(product_code)
    if limit.currency != product.currency:
        raise ValidationFailed([Problem("limit", f"must be in {product.currency}")])
    if not uow.lending.borrowers.exists(borrower_id):
        raise NotFound(f"borrower {borrower_id} not found")
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
