"""Products in the back office: the catalogue, a live schedule and APR preview for any
amount, term and rate (checked against the cost cap), and changes through maker-checker."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mobilend.app.operations.approvals import ApprovalDesk, request_approval
from mobilend.app.operations.ports import StaffActor
from mobilend.domain.approvals import ApprovalKind, ApprovalRequest
from mobilend.domain.apr import annual_percentage_rate
from mobilend.domain.compliance import CostCapPolicy
from mobilend.domain.errors import DomainError, Problem, ValidationFailed
from mobilend.domain.money import Money
from mobilend.domain.products import LoanProduct
from mobilend.domain.products_state import product_from_state, product_to_state
from mobilend.domain.schedules import Installment, generate_schedule
from mobilend.domain.staff import Permission, require


@dataclass(frozen=True, slots=True)
class SchedulePreview:
    product: LoanProduct
    principal: Money
    periods: int
    annual_rate: Decimal
    installments: tuple[Installment, ...]
    total_interest: Money
    total_fees: Money
    total_repayment: Money
    apr: Decimal
    cost_cap: Decimal | None
    within_cap: bool


def products(desk: ApprovalDesk, staff: StaffActor) -> list[LoanProduct]:
    require(staff.roles, Permission.VIEW_PRODUCTS)
    with desk.uow_factory() as uow:
        return uow.lending.products.list()


def product(desk: ApprovalDesk, staff: StaffActor, code: str) -> LoanProduct:
    require(staff.roles, Permission.VIEW_PRODUCTS)
    with desk.uow_factory() as uow:
        return uow.lending.products.get(code)


def preview(
    product: LoanProduct,
    *,
    principal: Money,
    periods: int,
    annual_rate: Decimal | None,
    on: dt.date,
    cost_caps: CostCapPolicy,
) -> SchedulePreview:
    """Every installment and the APR (IRR) of one draw on ``product``."""
    rate = product.annual_rate if annual_rate is None else annual_rate
    terms = product.terms_for(principal, periods, on, None, rate)
    schedule = generate_schedule(terms)
    apr = annual_percentage_rate(schedule, on).apr
    cap: Decimal | None = None
    within = True
    try:
        cap = cost_caps.check_offer(apr, product.licence_type, on).limit
    except DomainError:
        within = False
        try:
            cap = cost_caps.cap_for(product.licence_type, on).limit
        except DomainError:
            cap = None
    return SchedulePreview(
        product,
        principal,
        periods,
        rate,
        schedule.installments,
        schedule.total_interest,
        schedule.total_fees,
        schedule.total_amount,
        apr,
        cap,
        within,
    )


def definition_text(product: LoanProduct) -> str:
    return json.dumps(product_to_state(product), ensure_ascii=False, indent=2)


def parse_definition(text: str) -> Mapping[str, Any]:
    try:
        state = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            [Problem("definition", f"JSON 格式错误 (not valid JSON: line {exc.lineno})")]
        ) from None
    if not isinstance(state, dict):
        raise ValidationFailed([Problem("definition", "须为对象 (must be an object)")])
    product_from_state(dict(state))  # every problem at once, before anyone is asked
    return state


def request_product_change(
    desk: ApprovalDesk, staff: StaffActor, code: str, definition: str, reason: str
) -> ApprovalRequest:
    state = parse_definition(definition)
    if state.get("code") != code:
        raise ValidationFailed([Problem("definition", "产品代码不可更改 (the code cannot change)")])
    return request_approval(
        desk,
        staff,
        kind=ApprovalKind.PRODUCT_CHANGE,
        target=f"product:{code}",
        payload={"definition": dict(state)},
        reason=reason,
    )
