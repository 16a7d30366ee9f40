"""The collections staff API under ``/ops/collections``: cases and the work queue, contacts
(only through the conduct gate), promises to pay and complaints.

Roles: ``collections`` (the lender's agents), ``agency`` (an agency's agents: their
agency's cases only), ``collections_manager`` (all of the above, plus approvals, see
``collections_admin``); ``admin`` and ``auditor`` read. Every change goes to the audit log.
"""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from mobilend.adapters.auth import Role
from mobilend.api.collections_schemas import (
    CaseDetailOut,
    CaseListOut,
    CaseOut,
    ComplaintIn,
    ComplaintOut,
    ContactIn,
    ContactOut,
    PromiseIn,
    PromiseOut,
    ResolutionOut,
)
from mobilend.api.errors import error_responses
from mobilend.api.ops_deps import Desk, Forbidden, StaffSession, require_roles
from mobilend.api.schemas import ID_PATTERN
from mobilend.app.collections.cases import work_queue
from mobilend.app.collections.desk import CollectionsDesk
from mobilend.app.collections.gate import ContactRequest
from mobilend.app.collections.ports import CaseRecord
from mobilend.app.collections.promises import file_complaint, make_promise
from mobilend.app.collections.views import agent_of, case_detail, list_cases, require_case
from mobilend.bootstrap.collections import build_platform_collections
from mobilend.domain.collections_conduct import Channel, Party
from mobilend.domain.errors import NotFound
from mobilend.domain.money import Money

router = APIRouter(
    prefix="/ops/collections", tags=["collections"], responses=error_responses(403, 422)
)

_lock = threading.Lock()


def collections_desk(request: Request) -> CollectionsDesk:
    state = request.app.state
    desk: CollectionsDesk | None = getattr(state, "collections_desk", None)
    if desk is None:
        with _lock:
            desk = getattr(state, "collections_desk", None)
            if desk is None:
                desk = build_platform_collections(state.container).desk
                state.collections_desk = desk
    return desk


Collections = Annotated[CollectionsDesk, Depends(collections_desk)]
WORKERS = (Role.COLLECTIONS, Role.COLLECTIONS_MANAGER, Role.AGENCY)
Worker = Annotated[StaffSession, Depends(require_roles(*WORKERS))]
Reader = Annotated[
    StaffSession, Depends(require_roles(*WORKERS, Role.ADMIN, Role.AUDITOR, Role.RISK))
]
CaseIdPath = Annotated[str, Path(pattern=ID_PATTERN, description="Collection case id")]
Limit = Annotated[int, Query(ge=1, le=500)]


def is_manager(staff: StaffSession) -> bool:
    return Role.COLLECTIONS_MANAGER.value in staff.roles


def agency_of(collections: CollectionsDesk, staff: StaffSession) -> str | None:
    """The agency whose cases an agency user may see (None: not limited to one)."""
    if staff.has_any(
        {Role.COLLECTIONS_MANAGER, Role.COLLECTIONS, Role.ADMIN, Role.AUDITOR, Role.RISK}
    ):
        return None
    agent = agent_of(collections, staff.user_id)
    if agent is None or agent.team == "lender":
        raise Forbidden("该账号未登记为委外机构催收员 (not registered as an agency agent)")
    return agent.team


def visible_case(collections: CollectionsDesk, staff: StaffSession, case_id: str) -> CaseRecord:
    case = require_case(collections, case_id)
    agency = agency_of(collections, staff)
    if agency is not None and case.agency != agency:
        raise NotFound(f"没有该案件 (no collection case {case_id})")  # never confirm others' cases
    return case


@router.get("/cases", response_model=CaseListOut, summary="Collection cases 催收案件")
def cases(
    collections: Collections,
    staff: Reader,
    status: Annotated[str | None, Query(pattern=r"^[a-z_]{1,20}$")] = None,
    bucket: Annotated[str | None, Query(pattern=r"^[A-Z0-9+]{1,5}$")] = None,
    limit: Limit = 100,
) -> CaseListOut:
    agency = agency_of(collections, staff)
    found = list_cases(collections, status=status, bucket=bucket, agency=agency, limit=limit)
    return CaseListOut(items=[CaseOut.of(c) for c in found])


@router.get("/queue", response_model=CaseListOut, summary="My work queue 我的待办案件")
def my_queue(collections: Collections, desk: Desk, staff: Worker, limit: Limit = 50) -> CaseListOut:
    return CaseListOut(
        items=[CaseOut.of(c) for c in work_queue(collections, staff.user_id, desk.today(), limit)]
    )


@router.get("/cases/{case_id}", response_model=CaseDetailOut, summary="One case and its history")
def case(case_id: CaseIdPath, collections: Collections, staff: Reader) -> CaseDetailOut:
    visible_case(collections, staff, case_id)
    detail = case_detail(collections, case_id)
    return CaseDetailOut(
        case=CaseOut.of(detail.case),
        contacts=[ContactOut.of(r) for r in detail.contacts],
        promises=[PromiseOut.of(p) for p in detail.promises],
        resolutions=[ResolutionOut.of(r) for r in detail.resolutions],
        complaints=[ComplaintOut.of(c) for c in detail.complaints],
    )


@router.post(
    "/cases/{case_id}/contacts",
    response_model=ContactOut,
    status_code=201,
    summary="Call, message or visit — through the conduct gate 联系借款人",
    description="Refused with 422 `conduct_refused` naming every broken rule in `fields` "
    "(contact hours, daily call cap, third parties, contact-person disclosure, templates, "
    "banned words, paused cases); the refusal is logged.",
)
def contact(
    case_id: CaseIdPath, body: ContactIn, collections: Collections, desk: Desk, staff: Worker
) -> ContactOut:
    visible_case(collections, staff, case_id)
    request = ContactRequest(
        case_id=case_id,
        actor=staff.actor,
        channel=Channel(body.channel),
        template=body.template,
        party=Party(body.party),
        contact_person_id=body.contact_person_id,
        free_text=body.free_text,
        supervisor=is_manager(staff),
        note=body.note,
    )
    # The gate writes the attempt (allowed or refused) and its audit record in one transaction.
    record = collections.gate.contact(request)
    return ContactOut.of(record)


@router.post(
    "/cases/{case_id}/promises",
    response_model=PromiseOut,
    status_code=201,
    summary="Record a promise to pay 承诺还款",
)
def promise(
    case_id: CaseIdPath, body: PromiseIn, collections: Collections, desk: Desk, staff: Worker
) -> PromiseOut:
    visible_case(collections, staff, case_id)
    with desk.staged(
        staff.actor, "collections.promise_made", f"case:{case_id}",
        {"amount_fen": body.amount_fen, "due_on": body.due_on.isoformat()},
    ):  # fmt: skip
        made = make_promise(
            collections, case_id, amount=Money.from_minor(body.amount_fen), due_on=body.due_on,
            on=desk.today(), actor=staff.actor,
        )  # fmt: skip
    return PromiseOut.of(made)


@router.post(
    "/cases/{case_id}/complaints",
    response_model=ComplaintOut,
    status_code=201,
    summary="Record a complaint — pauses the case 登记投诉（暂停催收）",
)
def complaint(
    case_id: CaseIdPath, body: ComplaintIn, collections: Collections, desk: Desk, staff: Reader
) -> ComplaintOut:
    visible_case(collections, staff, case_id)
    with desk.staged(
        staff.actor, "collections.complaint_filed", f"case:{case_id}", {"channel": body.channel}
    ):
        filed = file_complaint(
            collections, case_id, channel=body.channel, summary=body.summary, actor=staff.actor
        )
    return ComplaintOut.of(filed)
