"""The dashboard and the portfolio analytics pages. Charts are drawn in the browser by
``static/charts.js`` (plotly, served from the installed package) from the staff API's
JSON analytics endpoints; the same reports are rendered here as tables, each with its
CSV export. The figures come from summaries rebuilt after end of day; staff allowed to
(``analytics.refresh``) may rebuild them at once from the dashboard, audited."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mobilend.app.analytics.reports import Report
from mobilend.app.operations.approvals import approvals
from mobilend.console.kit import PREFIX, ConsoleKit, NavEntry
from mobilend.domain.approvals import ApprovalStatus
from mobilend.domain.errors import Conflict
from mobilend.domain.staff import Permission as P
from mobilend.domain.staff import permits

NAV = (
    NavEntry("dashboard", PREFIX + "/", P.VIEW_DASHBOARD),
    NavEntry("analytics", PREFIX + "/analytics", P.VIEW_ANALYTICS),
    NavEntry("finance", PREFIX + "/finance", P.VIEW_FINANCE),
)
API = "/api/v1/ops/analytics"
REFRESH_BUSY = "分析数据正在刷新，请稍后再看 (the figures are being refreshed; look again shortly)"


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def routes(kit: ConsoleKit) -> APIRouter:
    router = APIRouter()
    analytics = kit.desk.analytics

    @router.get("/")
    async def dashboard(request: Request) -> Response:
        staff = await kit.allowed(request, P.VIEW_DASHBOARD)
        desk = kit.desk
        queue = None
        if permits(staff.roles, P.VIEW_REVIEWS):
            queue = await kit.call(desk.backoffice.queries.review_queue_size)
        pending = len(
            await kit.call(approvals, desk.approvals, staff, ApprovalStatus.PENDING, 1000)
        )
        book = await kit.call(analytics.queries.book)
        state = await kit.call(analytics.state)
        today = None
        if state is not None:
            days = await kit.call(analytics.queries.funnel, state.as_of, state.as_of)
            today = days[0] if days else None
        active = sum(c.loans for c in book)
        outstanding = sum(c.outstanding.round().to_minor() for c in book)
        overdue = sum(c.loans for c in book if c.bucket != "C")
        return kit.render(
            request,
            "dashboard.html",
            queue=queue,
            pending=pending,
            active=active,
            outstanding=outstanding,
            overdue=overdue,
            state=state,
            today=today,
            title_key="nav.dashboard",
        )

    @router.post("/analytics/refresh")
    async def refresh_now(request: Request) -> Response:
        await kit.posted_form(request)
        staff = await kit.allowed(request, P.REFRESH_ANALYTICS)
        desk = kit.desk
        # The business date that ended last, as the after-close refresh uses.
        as_of = desk.today() - dt.timedelta(days=1)
        state = await kit.call(desk.refresher.try_refresh, as_of)
        if state is None:  # the nightly (or someone else's) refresh is running
            raise Conflict(REFRESH_BUSY)
        await kit.call(
            desk.operations.record, staff.actor, "analytics.refreshed", "analytics:portfolio",
            {"as_of": state.as_of.isoformat(), "seconds": str(state.seconds), "via": "console"},
        )  # fmt: skip
        return kit.redirect(request, PREFIX + "/")

    @router.get("/analytics")
    async def portfolio(request: Request, first: str = "", last: str = "") -> Response:
        staff = await kit.allowed(request, P.VIEW_ANALYTICS)
        start, end = _date(first), _date(last)
        reports: list[Report] = [
            await kit.call(analytics.funnel, staff, start, end),
            await kit.call(analytics.approvals, staff, start, end),
            await kit.call(analytics.vintage, staff),
            await kit.call(analytics.roll_rates, staff),
            await kit.call(analytics.dpd_distribution, staff),
            await kit.call(analytics.recovery, staff),
            await kit.call(analytics.monitoring, staff),
        ]
        return kit.render(
            request,
            "analytics.html",
            reports=reports,
            api=API,
            state=await kit.call(analytics.state),
            title_key="nav.analytics",
        )

    @router.get("/finance")
    async def finance(request: Request) -> Response:
        staff = await kit.allowed(request, P.VIEW_FINANCE)
        report = await kit.call(analytics.profit_and_loss, staff)
        return kit.render(
            request,
            "finance.html",
            reports=[report],
            api=API,
            state=await kit.call(analytics.state),
            title_key="nav.finance",
        )

    return router
