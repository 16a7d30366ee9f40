"""Policy and model promotion from the console: what is in force (champion policy per
scenario, champion model, the challenger and its share) and the requests to change it,
each waiting for a second person (maker-checker kinds policy / model promotion)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mobilend.app.operations.approvals import request_approval
from mobilend.bootstrap.console import risk_versions
from mobilend.console.kit import PREFIX, ConsoleKit, NavEntry
from mobilend.domain.approvals import ApprovalKind
from mobilend.domain.errors import Problem, ValidationFailed
from mobilend.domain.staff import Permission as P

NAV: tuple[NavEntry, ...] = ()


def percent_share(text: str) -> str:
    """``10`` or ``10%`` → ``0.1``; anything else is passed on for the rules to refuse."""
    try:
        return str(Decimal(text.strip().rstrip("%")) / 100)
    except InvalidOperation:
        return text


def routes(kit: ConsoleKit) -> APIRouter:
    router = APIRouter()
    desk = kit.desk

    @router.get("/policies/in-force")
    async def in_force(request: Request) -> Response:
        await kit.allowed(request, P.VIEW_POLICIES)
        found = await kit.call(risk_versions(desk.platform.settings).in_force)
        return kit.render(request, "_in_force.html", in_force=found)

    @router.post("/policies/promotions")
    async def promote(request: Request) -> Response:
        form = await kit.posted_form(request)
        staff = await kit.allowed(request, P.PROMOTE_POLICIES)
        what = str(form.get("what", ""))
        reason = str(form.get("reason", ""))
        kind = ApprovalKind.POLICY_PROMOTION
        if what == "policy":
            scenario, version = str(form.get("scenario", "")), str(form.get("version", ""))
            payload: dict[str, object] = {"scenario": scenario, "version": version}
            target = f"policy:{scenario}"
        elif what == "model":
            kind = ApprovalKind.MODEL_PROMOTION
            payload = {"model": str(form.get("model", ""))}
            target = "model:champion"
        elif what == "split":
            ending = form.get("end") == "1"
            challenger = {
                "name": str(form.get("name", "")),
                "share": percent_share(str(form.get("share", ""))),
                "policy_version": str(form.get("policy_version", "")) or None,
                "model": str(form.get("model", "")) or None,
            }
            payload = {"challenger": None if ending else challenger}
            target = "policy:challenger"
        else:
            raise ValidationFailed([Problem("what", "policy, model or split")])
        await kit.call(
            request_approval, desk.approvals, staff, kind=kind, target=target,
            payload=payload, reason=reason,
        )  # fmt: skip
        return kit.redirect(request, PREFIX + "/approvals")

    return router
