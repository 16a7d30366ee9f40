"""The collections workbench: an agent's queue (highest expected recovery first), a case
(loan, DPD, bucket, contact history, promises, complaints, and what the conduct gate
would allow now), contacts logged through the gate (a refusal names its rules), promises
to pay and settlements asked for under maker-checker; the manager's book (cases by
bucket and strategy, agents' and agencies' load, assignment, the four-eyes queue of
hardship plans, settlements and write-offs, champion against challenger recovery).

An agency's agents see only the cases assigned to them. Every change is audited.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mobilend.app.collections.cases import assign_cases, reassign_case, work_queue
from mobilend.app.collections.gate import ContactRequest
from mobilend.app.collections.promises import make_promise
from mobilend.app.collections.reports import recovery_report
from mobilend.app.collections.resolutions import decide
from mobilend.app.collections.views import (
    agent_of,
    case_detail,
    list_cases,
    require_case,
    resolutions,
)
from mobilend.app.collections.workbench import conduct_preview, team_loads
from mobilend.app.operations.approvals import request_approval
from mobilend.app.operations.ports import StaffActor
from mobilend.app.operations.settlement import settlement_payload
from mobilend.bootstrap.collections import Collections, build_platform_collections
from mobilend.console.kit import PREFIX, ConsoleKit, NavEntry
from mobilend.console.reviews import yuan_to_fen
from mobilend.domain.approvals import ApprovalKind
from mobilend.domain.collections_conduct import Channel, ConductRefused, Party
from mobilend.domain.errors import NotFound, Problem, ValidationFailed
from mobilend.domain.money import Money
from mobilend.domain.staff import Forbidden, permits
from mobilend.domain.staff import Permission as P

NAV = (
    NavEntry("collections", PREFIX + "/collections", P.WORK_CASES),
    NavEntry("collections_book", PREFIX + "/collections/book", P.VIEW_COLLECTIONS),
)
CONTACT_CHANNELS = (Channel.CALL, Channel.SMS, Channel.VISIT)


def agency_scope(collections: Collections, staff: StaffActor) -> str | None:
    """The agency whose cases this member may open (None: not limited to one)."""
    if permits(staff.roles, P.VIEW_ACCOUNTS) or permits(staff.roles, P.VIEW_COLLECTIONS):
        return None
    agent = agent_of(collections.desk, staff.user_id)
    if agent is None or agent.team == "lender":
        raise Forbidden("该账号未登记为委外机构催收员 (not registered as an agency agent)")
    return agent.team


def _date(text: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed([Problem(field, "请输入日期 (enter a date, YYYY-MM-DD)")]) from None


def routes(kit: ConsoleKit) -> APIRouter:
    router = APIRouter()
    desk = kit.desk
    built: list[Collections] = []
    lock = threading.Lock()

    def collections() -> Collections:
        with lock:
            if not built:
                built.append(build_platform_collections(desk.platform))
            return built[0]

    def visible_case(staff: StaffActor, case_id: str) -> Any:
        wired = collections()
        case = require_case(wired.desk, case_id)
        agency = agency_scope(wired, staff)
        if agency is not None and (case.agency != agency or case.agent_id != staff.user_id):
            raise NotFound(f"没有该案件 (no collection case {case_id})")  # never confirm others'
        return case

    async def reader(request: Request) -> StaffActor:
        staff = await kit.staff(request)
        if not (permits(staff.roles, P.WORK_CASES) or permits(staff.roles, P.VIEW_COLLECTIONS)):
            raise Forbidden(f"无权操作 (not permitted: {P.WORK_CASES.value})")
        return staff

    @router.get("/collections")
    async def queue(request: Request) -> Response:
        staff = await kit.allowed(request, P.WORK_CASES)
        wired = await kit.call(collections)
        due = await kit.call(work_queue, wired.desk, staff.user_id, desk.today(), 100)
        mine = await kit.call(list_cases, wired.desk, agent_id=staff.user_id, limit=200)
        return kit.render(
            request, "collections_queue.html", due=due, mine=mine, title_key="nav.collections"
        )

    @router.get("/collections/cases/{case_id}")
    async def case_page(request: Request, case_id: str) -> Response:
        staff = await reader(request)
        return await _case(request, staff, case_id)

    async def _case(
        request: Request, staff: StaffActor, case_id: str, status_code: int = 200, **extra: Any
    ) -> Response:
        wired = await kit.call(collections)
        await kit.call(visible_case, staff, case_id)
        detail = await kit.call(case_detail, wired.desk, case_id)
        preview = await kit.call(
            conduct_preview, wired.desk, wired.reach, case_id, agent_id=staff.user_id,
            supervisor=permits(staff.roles, P.MANAGE_COLLECTIONS), now=desk.now(),
        )  # fmt: skip
        loads = None
        if permits(staff.roles, P.MANAGE_COLLECTIONS):
            loads = await kit.call(team_loads, wired.desk)
        return kit.render(
            request,
            "collections_case.html",
            status_code=status_code,
            detail=detail,
            case=detail.case,
            preview=preview,
            loads=loads,
            channels=CONTACT_CHANNELS,
            today=desk.today(),
            title_key="collections.case",
            **extra,
        )

    @router.post("/collections/cases/{case_id}/contacts")
    async def contact(request: Request, case_id: str) -> Response:
        form = await kit.posted_form(request)
        staff = await kit.allowed(request, P.WORK_CASES)
        wired = await kit.call(collections)
        await kit.call(visible_case, staff, case_id)
        try:
            channel = Channel(str(form.get("channel", "")))
        except ValueError:
            raise ValidationFailed([Problem("channel", "call, sms or visit")]) from None
        note = str(form.get("note", ""))[:500]
        ask = ContactRequest(
            case_id=case_id, actor=staff.actor, channel=channel,
            template=str(form.get("template", "")), party=Party.BORROWER,
            supervisor=permits(staff.roles, P.MANAGE_COLLECTIONS), note=note,
        )  # fmt: skip
        try:
            record = await kit.call(wired.desk.gate.contact, ask)
        except ConductRefused as refused:
            await kit.call(
                desk.operations.record, staff.actor, "collections.contact_refused",
                f"case:{case_id}", {"channel": channel.value, "via": "console",
                                    "rules": [r.value for r in refused.rules]},
            )  # fmt: skip
            if request.headers.get("HX-Request") == "true":
                return kit.render(request, "_conduct_refusal.html", refused=refused)
            return await _case(request, staff, case_id, 422, refused=refused)
        await kit.call(
            desk.operations.record, staff.actor, "collections.contacted", f"case:{case_id}",
            {"channel": record.channel.value, "outcome": record.outcome, "via": "console"},
        )  # fmt: skip
        return kit.redirect(request, f"{PREFIX}/collections/cases/{case_id}")

    @router.post("/collections/cases/{case_id}/promises")
    async def promise(request: Request, case_id: str) -> Response:
        form = await kit.posted_form(request)
        staff = await kit.allowed(request, P.WORK_CASES)
        wired = await kit.call(collections)
        await kit.call(visible_case, staff, case_id)
        amount_fen = yuan_to_fen(str(form.get("amount", "")))
        due_on = _date(str(form.get("due_on", "")), "due_on")
        await kit.call(
            make_promise, wired.desk, case_id, amount=Money.from_minor(amount_fen),
            due_on=due_on, on=desk.today(), actor=staff.actor,
        )  # fmt: skip
        await kit.call(
            desk.operations.record, staff.actor, "collections.promise_made", f"case:{case_id}",
            {"amount_fen": amount_fen, "due_on": due_on.isoformat(), "via": "console"},
        )  # fmt: skip
        return kit.redirect(request, f"{PREFIX}/collections/cases/{case_id}")

    @router.post("/collections/cases/{case_id}/settlement")
    async def settlement(request: Request, case_id: str) -> Response:
        form = await kit.posted_form(request)
        staff = await kit.allowed(request, P.REQUEST_SETTLEMENT)
        case = await kit.call(visible_case, staff, case_id)
        amount_fen = yuan_to_fen(str(form.get("amount", "")))
        await kit.call(
            request_approval, desk.approvals, staff, kind=ApprovalKind.SETTLEMENT,
            target=f"loan:{case.loan_id}", payload=settlement_payload(case.loan_id, amount_fen),
            reason=str(form.get("reason", "")),
        )  # fmt: skip
        return kit.redirect(request, PREFIX + "/approvals")

    # -- the manager's book ---------------------------------------------------------------
    @router.get("/collections/book")
    async def book(request: Request, bucket: str = "") -> Response:
        staff = await kit.allowed(request, P.VIEW_COLLECTIONS)
        wired = await kit.call(collections)
        report = await kit.call(
            recovery_report, wired.desk.uow_factory, wired.desk.settings.buckets.rank
        )
        chosen = bucket if bucket in {line.group for line in report.by_bucket} else ""
        cases = await kit.call(
            list_cases, wired.desk, bucket=chosen or None, status="open", limit=100
        )
        waiting = await kit.call(resolutions, wired.desk, None, "proposed", 200)
        loads = await kit.call(team_loads, wired.desk)
        return kit.render(
            request,
            "collections_book.html",
            report=report,
            bucket=chosen,
            cases=cases,
            waiting=waiting,
            loads=loads,
            manager=permits(staff.roles, P.MANAGE_COLLECTIONS),
            title_key="nav.collections_book",
        )

    @router.post("/collections/assignments")
    async def run_assignment(request: Request) -> Response:
        await kit.posted_form(request)
        staff = await kit.allowed(request, P.MANAGE_COLLECTIONS)
        wired = await kit.call(collections)
        summary = await kit.call(assign_cases, wired.desk)
        await kit.call(
            desk.operations.record, staff.actor, "collections.assignment_run", "collections",
            {"to_agents": summary.to_agents, "to_agencies": summary.to_agencies, "via": "console"},
        )  # fmt: skip
        return kit.redirect(request, PREFIX + "/collections/book")

    @router.post("/collections/cases/{case_id}/assignment")
    async def reassign(request: Request, case_id: str) -> Response:
        form = await kit.posted_form(request)
        staff = await kit.allowed(request, P.MANAGE_COLLECTIONS)
        wired = await kit.call(collections)
        agent_id = str(form.get("agent_id", "")).strip()
        await kit.call(reassign_case, wired.desk, case_id, agent_id=agent_id)
        await kit.call(
            desk.operations.record, staff.actor, "collections.case_assigned", f"case:{case_id}",
            {"agent_id": agent_id, "via": "console"},
        )  # fmt: skip
        return kit.redirect(request, f"{PREFIX}/collections/cases/{case_id}")

    @router.post("/collections/resolutions/{resolution_id}/{action}")
    async def decision(request: Request, resolution_id: str, action: str) -> Response:
        form = await kit.posted_form(request)
        staff = await kit.allowed(request, P.MANAGE_COLLECTIONS)
        if action not in ("approve", "reject"):
            raise ValidationFailed([Problem("action", "approve or reject")])
        wired = await kit.call(collections)
        record = await kit.call(
            decide, wired.desk, resolution_id, approve=action == "approve", on=desk.today(),
            actor=staff.actor, reason=str(form.get("reason", "")),
        )  # fmt: skip
        verb = "approved" if action == "approve" else "rejected"
        await kit.call(
            desk.operations.record, staff.actor, f"collections.{record.kind}_{verb}",
            f"resolution:{resolution_id}", {"case_id": record.case_id, "via": "console"},
        )  # fmt: skip
        return kit.redirect(request, PREFIX + "/collections/book")

    return router
