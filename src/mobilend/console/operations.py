"""End-of-day runs and the job queue, reconciliation and suspense, the audit log."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mobilend.app.funding.dispatch import dead_letters
from mobilend.app.servicing.transfers import suspense_items
from mobilend.console.kit import PREFIX, ConsoleKit, NavEntry
from mobilend.domain.staff import Permission as P

NAV = (
    NavEntry("eod", PREFIX + "/eod", P.VIEW_OPERATIONS),
    NavEntry("reconciliation", PREFIX + "/reconciliation", P.VIEW_OPERATIONS),
    NavEntry("audit", PREFIX + "/audit", P.VIEW_AUDIT),
)


def routes(kit: ConsoleKit) -> APIRouter:
    router = APIRouter()
    desk = kit.desk
    queries = desk.ops_queries

    @router.get("/eod")
    async def eod(request: Request) -> Response:
        await kit.allowed(request, P.VIEW_OPERATIONS)
        dates = await kit.call(queries.eod_dates, 30)
        jobs = await kit.call(queries.job_counts)
        return kit.render(request, "eod.html", dates=dates, jobs=jobs, title_key="nav.eod")

    @router.get("/reconciliation")
    async def reconciliation(request: Request) -> Response:
        await kit.allowed(request, P.VIEW_OPERATIONS)
        reports = await kit.call(queries.reconciliations, 30)
        suspense = await kit.call(suspense_items, desk.operations.servicing, 100)
        dead = await kit.call(dead_letters, desk.operations.disbursement.uow_factory, 100)
        return kit.render(
            request,
            "reconciliation.html",
            reports=reports,
            suspense=suspense,
            dead=dead,
            title_key="nav.reconciliation",
        )

    @router.get("/audit")
    async def audit(request: Request, target: str = "", before: int | None = None) -> Response:
        await kit.allowed(request, P.VIEW_AUDIT)
        rows = await kit.call(queries.audit, before, target.strip() or None, 100)
        return kit.render(
            request,
            "audit.html",
            rows=rows,
            target=target,
            next_before=rows[-1].seq if len(rows) == 100 else None,
            title_key="nav.audit",
        )

    return router
