"""Use cases: loan products."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from mobilend.app.unit_of_work import UnitOfWorkFactory
from mobilend.domain.compliance import CostCapPolicy
from mobilend.domain.errors import Conflict, NotFound
from mobilend.domain.products import LoanProduct
from mobilend.domain.products_state import product_from_state


def create_product(
    uow_factory: UnitOfWorkFactory,
    definition: Mapping[str, Any] | LoanProduct,
    *,
    on: dt.date,
    cost_caps: CostCapPolicy,
) -> LoanProduct:
    """Validate a product (every problem at once), check its worst-case APR against the cap, store it."""
    product = (
        definition if isinstance(definition, LoanProduct) else product_from_state(dict(definition))
    )
    cost_caps.check_product(product, on)
    with uow_factory() as uow:
        try:
            uow.lending.products.get(product.code)
        except NotFound:
            pass
        else:
            raise Conflict(f"product {product.code!r} already exists")
        uow.lending.products.add(product)
        uow.commit()
    return product


def ensure_product(
    uow_factory: UnitOfWorkFactory,
    product: LoanProduct,
    *,
    on: dt.date,
    cost_caps: CostCapPolicy,
) -> LoanProduct:
    """Create the product unless one with its code exists (seeding demo products)."""
    with uow_factory() as uow:
        try:
            return uow.lending.products.get(product.code)
        except NotFound:
            pass
    return create_product(uow_factory, product, on=on, cost_caps=cost_caps)
