"""The collections manager's side of ``/ops/collections``: settlement offers, hardship plans
and write-offs (proposed by one person, decided by a manager who is someone else),
settlement payments and recoveries (with an ``Idempotency-Key``), legal escalation and
the case file PDF, assignment, agencies and agents, complaint reviews, the conduct
refusal log and the recovery report (templates: ``api.collections_templates``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from mobilend.adapters.auth import Role
from mobilend.api.collections import CaseIdPath, Collections, Limit, Worker, visible_case
from mobilend.api.collections_schemas import (
    AgencyIn,
    AgentIn,
    AssignIn,
    AssignmentOut,
    CaseOut,
    ComplaintListOut,
    ComplaintOut,
    ComplaintReviewIn,
    ContactListOut,
    ContactOut,
    DecisionIn,
    PaymentIn,
    PaymentOut,
    PlanIn,
    RecoveryLineOut,
    RecoveryReportOut,
    ResolutionListOut,
    ResolutionOut,
    SettlementIn,
    WriteOffIn,
)
from mobilend.api.deps import IdempotencyKey
from mobilend.api.errors import error_responses
from mobilend.api.ops_deps import Desk, StaffSession, require_roles
from mobilend.api.params import IsoDateTime
from mobilend.api.schemas import ID_PATTERN, MoneyOut
from mobilend.app.collections.cases import assign_cases, reassign_case
from mobilend.app.collections.legal import escalate_to_legal, render_case_file
from mobilend.app.collections.ports import AgencyRecord, AgentRecord, CollectionPayment
from mobilend.app.collections.promises import review_complaint
from mobilend.app.collections.reports import recovery_report
from mobilend.app.collections.resolutions import (
    decide,
    pay_settlement,
    propose_plan,
    propose_settlement,
    propose_write_off,
    record_recovery,
)
from mobilend.app.collections.views import add_agency, add_agent, complaints, refusals, resolutions
from mobilend.domain.collections import PlanInstalment
from mobilend.domain.money import Money

router = APIRouter(
    prefix="/ops/collections", tags=["collections"], responses=error_responses(403, 422)
)

Manager = Annotated[StaffSession, Depends(require_roles(Role.COLLECTIONS_MANAGER))]
Oversight = Annotated[
    StaffSession,
    Depends(require_roles(Role.COLLECTIONS_MANAGER, Role.AUDITOR, Role.ADMIN, Role.RISK)),
]
ResolutionIdPath = Annotated[str, Path(pattern=ID_PATTERN, description="Resolution id")]


def _payment(p: CollectionPayment) -> PaymentOut:
    return PaymentOut(
        payment_id=p.payment_id, case_id=p.case_id, loan_id=p.loan_id, kind=p.kind,
        amount=MoneyOut.of(p.amount), received_on=p.received_on, entry_ids=list(p.entry_ids),
    )  # fmt: skip


# --------------------------------------------------------------------------- proposals


@router.post("/cases/{case_id}/settlements", response_model=ResolutionOut, status_code=201,
             summary="Propose a settlement (discounted payoff) 协商结清")  # fmt: skip
def settlement(case_id: CaseIdPath, body: SettlementIn, collections: Collections, desk: Desk, staff: Worker) -> ResolutionOut:  # fmt: skip
    visible_case(collections, staff, case_id)
    record = propose_settlement(
        collections,
        case_id,
        amount=Money.from_minor(body.amount_fen),
        on=desk.today(),
        actor=staff.actor,
    )
    return ResolutionOut.of(record)


@router.post("/cases/{case_id}/hardship-plans", response_model=ResolutionOut, status_code=201,
             summary="Propose a hardship plan 困难还款计划")  # fmt: skip
def hardship_plan(case_id: CaseIdPath, body: PlanIn, collections: Collections, desk: Desk, staff: Worker) -> ResolutionOut:  # fmt: skip
    visible_case(collections, staff, case_id)
    plan = [PlanInstalment(i.due_on, Money.from_minor(i.amount_fen)) for i in body.instalments]
    record = propose_plan(
        collections,
        case_id,
        instalments=plan,
        on=desk.today(),
        actor=staff.actor,
        reason=body.reason,
    )
    return ResolutionOut.of(record)


@router.post("/cases/{case_id}/write-off", response_model=ResolutionOut, status_code=201,
             summary="Propose a write-off 核销申请")  # fmt: skip
def write_off(case_id: CaseIdPath, body: WriteOffIn, collections: Collections, desk: Desk, staff: Worker) -> ResolutionOut:  # fmt: skip
    visible_case(collections, staff, case_id)
    record = propose_write_off(
        collections, case_id, on=desk.today(), actor=staff.actor, reason=body.reason
    )
    return ResolutionOut.of(record)


@router.get(
    "/resolutions", response_model=ResolutionListOut, summary="Settlements, plans, write-offs"
)
def list_resolutions(
    collections: Collections,
    _staff: Oversight,
    kind: Annotated[str | None, Query(pattern=r"^(settlement|hardship_plan|write_off)$")] = None,
    status: Annotated[str | None, Query(pattern=r"^[a-z]{1,20}$")] = None,
    limit: Limit = 100,
) -> ResolutionListOut:
    return ResolutionListOut(
        items=[ResolutionOut.of(r) for r in resolutions(collections, kind, status, limit)]
    )


@router.post("/resolutions/{resolution_id}/decision", response_model=ResolutionOut,
             summary="Approve or reject — never one's own proposal 审批（四眼原则）")  # fmt: skip
def decision(resolution_id: ResolutionIdPath, body: DecisionIn, collections: Collections, desk: Desk, staff: Manager) -> ResolutionOut:  # fmt: skip
    record = decide(
        collections,
        resolution_id,
        approve=body.approve,
        on=desk.today(),
        actor=staff.actor,
        reason=body.reason,
    )
    return ResolutionOut.of(record)


# --------------------------------------------------------------------------- money in


@router.post("/resolutions/{resolution_id}/payments", response_model=PaymentOut, status_code=201,
             summary="The agreed settlement was paid: book it and close the loan 结清入账")  # fmt: skip
def settlement_paid(resolution_id: ResolutionIdPath, body: PaymentIn, idempotency_key: IdempotencyKey,
                    collections: Collections, desk: Desk, staff: Manager) -> PaymentOut:  # fmt: skip
    payment = pay_settlement(
        collections, resolution_id, amount=Money.from_minor(body.amount_fen), on=desk.today(),
        idempotency_key=idempotency_key, actor=staff.actor,
    )  # fmt: skip
    return _payment(payment)


@router.post("/cases/{case_id}/recoveries", response_model=PaymentOut, status_code=201,
             summary="Money recovered after write-off 核销后回收")  # fmt: skip
def recovery(case_id: CaseIdPath, body: PaymentIn, idempotency_key: IdempotencyKey,
             collections: Collections, desk: Desk, staff: Manager) -> PaymentOut:  # fmt: skip
    payment = record_recovery(
        collections, case_id, amount=Money.from_minor(body.amount_fen), on=desk.today(),
        idempotency_key=idempotency_key, actor=staff.actor,
    )  # fmt: skip
    return _payment(payment)


# --------------------------------------------------------------------------- legal


@router.post(
    "/cases/{case_id}/legal", response_model=CaseOut, summary="Escalate to legal action 转法务"
)
def legal(case_id: CaseIdPath, collections: Collections, desk: Desk, staff: Manager) -> CaseOut:
    with desk.staged(staff.actor, "collections.escalated_to_legal", f"case:{case_id}"):
        case = escalate_to_legal(collections, case_id, actor=staff.actor, on=desk.today())
    return CaseOut.of(case)


@router.get(
    "/cases/{case_id}/case-file.pdf",
    summary="The legal case file 案件材料 (PDF)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The case file"}},
)
def case_file(
    case_id: CaseIdPath, collections: Collections, desk: Desk, staff: Manager
) -> Response:
    pdf = render_case_file(collections, case_id, on=desk.today())
    desk.record(
        staff.actor, "collections.case_file_generated", f"case:{case_id}", {"bytes": len(pdf)}
    )
    return Response(
        pdf, media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="case-{case_id}.pdf"'},
    )  # fmt: skip


# --------------------------------------------------------------------------- people


@router.post(
    "/cases/{case_id}/assignment", response_model=CaseOut, summary="Give a case to an agent"
)
def assign(
    case_id: CaseIdPath, body: AssignIn, collections: Collections, desk: Desk, staff: Manager
) -> CaseOut:
    with desk.staged(
        staff.actor, "collections.case_assigned", f"case:{case_id}", {"agent_id": body.agent_id}
    ):
        case = reassign_case(collections, case_id, agent_id=body.agent_id)
    return CaseOut.of(case)


@router.post(
    "/assignments/run", response_model=AssignmentOut, summary="Deal out unassigned cases 分案"
)
def run_assignment(collections: Collections, desk: Desk, staff: Manager) -> AssignmentOut:
    with desk.staged(staff.actor, "collections.assignment_run", "collections"):
        summary = assign_cases(collections)
    return AssignmentOut(
        to_agents=summary.to_agents, to_agencies=summary.to_agencies, unassigned=summary.unassigned
    )


@router.post(
    "/agencies",
    response_model=AgencyIn,
    status_code=201,
    summary="Add or change an agency 委外机构",
)
def agency(body: AgencyIn, collections: Collections, desk: Desk, staff: Manager) -> AgencyIn:
    with desk.staged(
        staff.actor, "collections.agency_saved", f"agency:{body.code}", {"capacity": body.capacity}
    ):
        add_agency(
            collections,
            AgencyRecord(body.code, body.name, True, body.commission_percent, body.capacity),
        )
    return body


@router.post(
    "/agents", response_model=AgentIn, status_code=201, summary="Register a staff user as an agent"
)
def agent(body: AgentIn, collections: Collections, desk: Desk, staff: Manager) -> AgentIn:
    with desk.staged(
        staff.actor, "collections.agent_saved", f"staff:{body.agent_id}", {"team": body.team}
    ):
        add_agent(
            collections, AgentRecord(body.agent_id, body.name, body.team, True, body.capacity)
        )
    return body


# --------------------------------------------------------------------------- oversight


@router.get("/complaints", response_model=ComplaintListOut, summary="Complaints 投诉")
def list_complaints(
    collections: Collections,
    _staff: Oversight,
    status: Annotated[str | None, Query(pattern=r"^(open|upheld|dismissed)$")] = "open",
    limit: Limit = 100,
) -> ComplaintListOut:
    return ComplaintListOut(
        items=[ComplaintOut.of(c) for c in complaints(collections, status, limit)]
    )


@router.post("/complaints/{complaint_id}/review", response_model=ComplaintOut,
             summary="Review a complaint — the case resumes 投诉复核")  # fmt: skip
def review(complaint_id: Annotated[str, Path(pattern=ID_PATTERN)], body: ComplaintReviewIn,
           collections: Collections, desk: Desk, staff: Manager) -> ComplaintOut:  # fmt: skip
    with desk.staged(
        staff.actor,
        "collections.complaint_reviewed",
        f"complaint:{complaint_id}",
        {"upheld": body.upheld},
    ):
        reviewed = review_complaint(
            collections,
            complaint_id,
            upheld=body.upheld,
            resolution=body.resolution,
            reviewer=staff.actor,
        )
    return ComplaintOut.of(reviewed)


@router.get(
    "/refusals", response_model=ContactListOut, summary="Contacts refused by the conduct rules"
)
def list_refusals(
    collections: Collections,
    _staff: Oversight,
    since: IsoDateTime | None = None,
    limit: Limit = 200,
) -> ContactListOut:
    return ContactListOut(items=[ContactOut.of(r) for r in refusals(collections, since, limit)])


@router.get(
    "/report", response_model=RecoveryReportOut, summary="Recovery by bucket and strategy 回收报表"
)
def report(collections: Collections, _staff: Oversight) -> RecoveryReportOut:
    result = recovery_report(collections.uow_factory, collections.settings.buckets.rank)
    return RecoveryReportOut(
        by_bucket=[RecoveryLineOut.of(line) for line in result.by_bucket],
        by_strategy=[RecoveryLineOut.of(line) for line in result.by_strategy],
    )
