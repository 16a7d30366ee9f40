"""The portfolio stress test: a PD multiplier and a macro scenario on the active book."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mobilend.console.kit import PREFIX, ConsoleKit, NavEntry
from mobilend.domain.errors import Problem, ValidationFailed
from mobilend.domain.portfolio import DEFAULT_BUCKET_PD, DEFAULT_LGD, SCENARIOS
from mobilend.domain.staff import Permission as P

NAV = (NavEntry("stress", PREFIX + "/stress", P.RUN_STRESS_TEST),)


def _decimal(name: str, text: str, default: Decimal) -> Decimal:
    if not text.strip():
        return default
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        raise ValidationFailed([Problem(name, "请输入数字 (enter a number)")]) from None


def routes(kit: ConsoleKit) -> APIRouter:
    router = APIRouter()
    analytics = kit.desk.analytics

    @router.get("/stress")
    async def stress(
        request: Request, pd_multiplier: str = "1", scenario: str = "baseline", lgd: str = ""
    ) -> Response:
        staff = await kit.allowed(request, P.RUN_STRESS_TEST)
        multiplier = _decimal("pd_multiplier", pd_multiplier, Decimal(1))
        chosen_lgd = _decimal("lgd", lgd, DEFAULT_LGD)
        result = await kit.call(
            analytics.stress, staff, pd_multiplier=multiplier, scenario=scenario, lgd=chosen_lgd
        )
        report = analytics.stress_report(staff, result)
        return kit.render(
            request,
            "stress.html",
            result=result,
            reports=[report],
            scenarios=SCENARIOS,
            bucket_pd=DEFAULT_BUCKET_PD,
            form={"pd_multiplier": str(multiplier), "scenario": scenario, "lgd": str(chosen_lgd)},
            api="/api/v1/ops/analytics",
            title_key="nav.stress",
        )

    return router
