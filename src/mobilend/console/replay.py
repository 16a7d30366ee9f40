"""Decision replay on the decision page: the stored inputs run again through the recorded
(or today's) policy and model, the differences shown; every replay is audited."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mobilend.app.operations.replay import replay_decision
from mobilend.console.kit import ConsoleKit, NavEntry
from mobilend.domain.staff import Permission as P

NAV: tuple[NavEntry, ...] = ()


def routes(kit: ConsoleKit) -> APIRouter:
    router = APIRouter()
    desk = kit.desk

    @router.post("/decisions/{decision_id}/replay")
    async def replay(request: Request, decision_id: str) -> Response:
        form = await kit.posted_form(request)
        staff = await kit.allowed(request, P.REPLAY_DECISIONS)
        current = form.get("mode") == "current"
        report = await kit.call(
            replay_decision, staff, desk.decision_records(), desk.replay_engine,
            desk.operations.audit, desk.now, decision_id, current=current,
        )  # fmt: skip
        return kit.render(request, "_replay.html", report=report)

    return router
