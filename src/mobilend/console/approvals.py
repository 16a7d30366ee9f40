"""Maker-checker in the console: what waits for a second person, and asking for a
write-off or a refund from a loan's page (product and funder changes are asked for on
their own pages)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mobilend.app.operations import approvals as use_cases
from mobilend.console.kit import PREFIX, ConsoleKit, NavEntry
from mobilend.console.reviews import yuan_to_fen
from mobilend.domain.approvals import KIND_RULES, ApprovalKind, ApprovalStatus
from mobilend.domain.errors import Problem, ValidationFailed
from mobilend.domain.staff import Permission as P
from mobilend.domain.staff import permits

NAV = (NavEntry("approvals", PREFIX + "/approvals", P.VIEW_APPROVALS),)

#: Kinds asked for from a loan's page, and what they carry.
LOAN_KINDS = (ApprovalKind.WRITE_OFF, ApprovalKind.REFUND)


def routes(kit: ConsoleKit) -> APIRouter:
    router = APIRouter()
    desk = kit.desk.approvals

    @router.get("/approvals")
    async def listing(request: Request, status: str = "pending") -> Response:
        staff = await kit.allowed(request, P.VIEW_APPROVALS)
        chosen = ApprovalStatus(status) if status in set(ApprovalStatus) else None
        rows = await kit.call(use_cases.approvals, desk, staff, chosen, 200)
        checkable = {
            r.request_id
            for r in rows
            if r.status is ApprovalStatus.PENDING
            and r.maker != staff.actor
            and permits(staff.roles, r.rule.checker)
        }
        return kit.render(
            request,
            "approvals.html",
            rows=rows,
            status=status,
            statuses=list(ApprovalStatus),
            checkable=checkable,
            rules=KIND_RULES,
            title_key="nav.approvals",
        )

    @router.post("/approvals")
    async def ask(request: Request) -> Response:
        form = await kit.posted_form(request)
        staff = await kit.staff(request)
        try:
            kind = ApprovalKind(str(form.get("kind", "")))
        except ValueError:
            raise ValidationFailed([Problem("kind", "unknown kind")]) from None
        if kind not in LOAN_KINDS:
            raise ValidationFailed([Problem("kind", "ask for this on its own page")])
        loan_id = str(form.get("loan_id", ""))
        payload: dict[str, object] = {"loan_id": loan_id}
        amount = str(form.get("amount", "")).strip()
        if kind is ApprovalKind.REFUND and amount:
            payload["amount_fen"] = yuan_to_fen(amount)
        await kit.call(
            use_cases.request_approval,
            desk,
            staff,
            kind=kind,
            target=f"loan:{loan_id}",
            payload=payload,
            reason=str(form.get("reason", "")),
        )
        return kit.redirect(request, f"{PREFIX}/loans/{loan_id}")

    @router.post("/approvals/{request_id}/{action}")
    async def check(request: Request, request_id: str, action: str) -> Response:
        form = await kit.posted_form(request)
        staff = await kit.staff(request)
        note = str(form.get("note", ""))
        if action == "approve":
            await kit.call(use_cases.approve, desk, staff, request_id, note)
        elif action == "reject":
            await kit.call(use_cases.reject, desk, staff, request_id, note)
        elif action == "cancel":
            await kit.call(use_cases.cancel, desk, staff, request_id)
        else:
            raise ValidationFailed([Problem("action", "approve, reject or cancel")])
        return kit.redirect(request, PREFIX + "/approvals")

    return router
