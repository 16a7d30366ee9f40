"""Products (with a live schedule and APR preview), funders (quota use, concentration,
settlement) and policies and models (versions in use, champion/challenger split). Every
change goes through maker-checker."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mobilend.app.funding.reconciliation import partner_settlement
from mobilend.app.operations import products as product_cases
from mobilend.app.operations.approvals import request_approval
from mobilend.console.kit import PREFIX, ConsoleKit, NavEntry
from mobilend.console.reviews import yuan_to_fen
from mobilend.domain.approvals import ApprovalKind
from mobilend.domain.errors import DomainError, Problem, ValidationFailed
from mobilend.domain.money import Money
from mobilend.domain.staff import Permission as P

NAV = (
    NavEntry("products", PREFIX + "/products", P.VIEW_PRODUCTS),
    NavEntry("funders", PREFIX + "/funders", P.VIEW_FUNDERS),
    NavEntry("policies", PREFIX + "/policies", P.VIEW_POLICIES),
)
FUNDER_FIELDS = ("whitelist_status", "daily_quota", "total_quota", "max_balance",
                 "cost_of_funds", "interest_share", "priority")  # fmt: skip


def routes(kit: ConsoleKit) -> APIRouter:
    router = APIRouter()
    desk = kit.desk

    @router.get("/products")
    async def products(request: Request) -> Response:
        staff = await kit.allowed(request, P.VIEW_PRODUCTS)
        rows = await kit.call(product_cases.products, desk.approvals, staff)
        return kit.render(request, "products.html", products=rows, title_key="nav.products")

    @router.get("/products/{code}")
    async def product(request: Request, code: str) -> Response:
        staff = await kit.allowed(request, P.VIEW_PRODUCTS)
        found = await kit.call(product_cases.product, desk.approvals, staff, code)
        preview = await kit.call(
            product_cases.preview,
            found,
            principal=found.min_amount.max(Money("1000")).min(found.max_amount),
            periods=found.min_periods,
            annual_rate=None,
            on=desk.today(),
            cost_caps=desk.platform.lending.cost_caps,
        )
        return kit.render(
            request,
            "product.html",
            product=found,
            preview=preview,
            definition=product_cases.definition_text(found),
            title_key="product.title",
        )

    @router.post("/products/{code}/preview")
    async def live_preview(request: Request, code: str) -> Response:
        form = await kit.posted_form(request)
        staff = await kit.allowed(request, P.VIEW_PRODUCTS)
        found = await kit.call(product_cases.product, desk.approvals, staff, code)
        try:
            principal = Money.from_minor(yuan_to_fen(str(form.get("amount", ""))), found.currency)
            periods = int(str(form.get("periods", "")))
            rate_text = str(form.get("annual_rate", "")).strip().rstrip("%")
            rate = Decimal(rate_text) / 100 if rate_text else None
            preview = await kit.call(
                product_cases.preview,
                found,
                principal=principal,
                periods=periods,
                annual_rate=rate,
                on=desk.today(),
                cost_caps=desk.platform.lending.cost_caps,
            )
        except (ValueError, InvalidOperation):
            raise ValidationFailed([Problem("amount", "请输入有效数字 (enter numbers)")]) from None
        except DomainError as exc:
            return kit.render(request, "_preview_error.html", error=exc)
        return kit.render(request, "_schedule.html", preview=preview)

    @router.post("/products/{code}/changes")
    async def change(request: Request, code: str) -> Response:
        form = await kit.posted_form(request)
        staff = await kit.staff(request)
        await kit.call(
            product_cases.request_product_change,
            desk.approvals,
            staff,
            code,
            str(form.get("definition", "")),
            str(form.get("reason", "")),
        )
        return kit.redirect(request, PREFIX + "/approvals")

    @router.get("/funders")
    async def funders(request: Request) -> Response:
        staff = await kit.allowed(request, P.VIEW_FUNDERS)
        report = await kit.call(desk.analytics.funders, staff)
        today = desk.today()
        first = today.replace(day=1)
        settlement = await kit.call(
            partner_settlement, desk.operations.disbursement.uow_factory, first, today
        )
        return kit.render(
            request,
            "funders.html",
            reports=[report],
            settlement=settlement,
            first=first,
            today=today,
            fields=FUNDER_FIELDS,
            api="/api/v1/ops/analytics",
            title_key="nav.funders",
        )

    @router.post("/funders/{code}/changes")
    async def funder_change(request: Request, code: str) -> Response:
        form = await kit.posted_form(request)
        staff = await kit.staff(request)
        changes: dict[str, object] = {}
        for name in FUNDER_FIELDS:
            value = str(form.get(name, "")).strip()
            if not value:
                continue
            if name in ("daily_quota", "total_quota", "max_balance"):
                changes[name] = yuan_to_fen(value)
            elif name == "priority":
                changes[name] = value
            else:
                changes[name] = value
        await kit.call(
            request_approval,
            desk.approvals,
            staff,
            kind=ApprovalKind.FUNDER_CHANGE,
            target=f"funder:{code}",
            payload={"code": code, "changes": changes},
            reason=str(form.get("reason", "")),
        )
        return kit.redirect(request, PREFIX + "/approvals")

    @router.get("/policies")
    async def policies(request: Request) -> Response:
        await kit.allowed(request, P.VIEW_POLICIES)
        since = desk.today() - dt.timedelta(days=90)
        rows = await kit.call(desk.ops_queries.policy_use, since)
        total = sum(r.decisions for r in rows)
        versions = json.dumps(
            {"engine": desk.platform.settings.decision_engine}, ensure_ascii=False
        )
        return kit.render(
            request,
            "policies.html",
            rows=rows,
            total=total,
            since=since,
            versions=versions,
            title_key="nav.policies",
        )

    return router
