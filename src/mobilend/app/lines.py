"""Use cases: credit lines (授信)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from mobilend.app.ports_lending import LendingUnitOfWorkFactory
from mobilend.domain.errors import NotFound, Problem, ValidationFailed
from mobilend.domain.lines import CreditLine
from mobilend.domain.money import Money


def open_credit_line(
    uow_factory: LendingUnitOfWorkFactory,
    new_id: Callable[[], str],
    *,
    borrower_id: str,
    product_code: str,
    limit: Money,
    opened_on: dt.date,
    expires_on: dt.date,
) -> CreditLine:
    with uow_factory() as uow:
        product = uow.products.get(product_code)
        if limit.currency != product.currency:
            raise ValidationFailed([Problem("limit", f"must be in {product.currency}")])
        if not uow.borrowers.exists(borrower_id):
            raise NotFound(f"borrower {borrower_id} not found")
        line = CreditLine(
            line_id=new_id(),
            borrower_id=borrower_id,
            limit=limit,
            expires_on=expires_on,
            opened_on=opened_on,
            product_code=product_code,
        )
        uow.lines.add(line)
        uow.commit()
    return line


def freeze_credit_line(
    uow_factory: LendingUnitOfWorkFactory, line_id: str, reason: str
) -> CreditLine:
    with uow_factory() as uow:
        line = uow.lines.get(line_id, for_update=True)
        line.freeze(reason)
        uow.lines.save(line)
        uow.commit()
    return line


def unfreeze_credit_line(uow_factory: LendingUnitOfWorkFactory, line_id: str) -> CreditLine:
    with uow_factory() as uow:
        line = uow.lines.get(line_id, for_update=True)
        line.unfreeze()
        uow.lines.save(line)
        uow.commit()
    return line
