"""What the staff screens and API read: case lists, one case with its history, an agent's
record, the refusal log and the admin of agencies and agents."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mobilend.app.collections.desk import CollectionsDesk
from mobilend.app.collections.ports import (
    AgencyRecord,
    AgentRecord,
    CaseRecord,
    ComplaintRecord,
    ContactRecord,
    PromiseRecord,
    ResolutionRecord,
)
from mobilend.domain.errors import NotFound, Problem, ValidationFailed


@dataclass(frozen=True, slots=True)
class CaseDetail:
    case: CaseRecord
    contacts: list[ContactRecord]
    promises: list[PromiseRecord]
    resolutions: list[ResolutionRecord]
    complaints: list[ComplaintRecord]


def list_cases(
    desk: CollectionsDesk,
    *,
    status: str | None = None,
    bucket: str | None = None,
    agency: str | None = None,
    agent_id: str | None = None,
    limit: int = 100,
) -> list[CaseRecord]:
    with desk.uow_factory() as uow:
        return uow.collections.cases.listing(
            status=status, bucket=bucket, agency=agency, agent_id=agent_id, limit=limit
        )


def get_case(desk: CollectionsDesk, case_id: str) -> CaseRecord:
    with desk.uow_factory() as uow:
        return uow.collections.cases.get(case_id)


def case_detail(desk: CollectionsDesk, case_id: str) -> CaseDetail:
    with desk.uow_factory() as uow:
        store = uow.collections
        case = store.cases.get(case_id)
        complaints = [c for c in store.complaints.listing(None, 1000) if c.case_id == case_id]
        return CaseDetail(
            case,
            store.contacts.for_case(case_id),
            store.promises.for_case(case_id),
            store.resolutions.for_case(case_id),
            complaints,
        )


def agent_of(desk: CollectionsDesk, agent_id: str) -> AgentRecord | None:
    with desk.uow_factory() as uow:
        return uow.collections.agents.agent(agent_id)


def refusals(
    desk: CollectionsDesk, since: dt.datetime | None = None, limit: int = 200
) -> list[ContactRecord]:
    with desk.uow_factory() as uow:
        return uow.collections.contacts.refusals(since, limit)


def complaints(
    desk: CollectionsDesk, status: str | None = "open", limit: int = 100
) -> list[ComplaintRecord]:
    with desk.uow_factory() as uow:
        return uow.collections.complaints.listing(status, limit)


def resolutions(
    desk: CollectionsDesk, kind: str | None = None, status: str | None = None, limit: int = 100
) -> list[ResolutionRecord]:
    with desk.uow_factory() as uow:
        return uow.collections.resolutions.listing(kind, status, limit)


def add_agency(desk: CollectionsDesk, agency: AgencyRecord) -> AgencyRecord:
    with desk.uow_factory() as uow:
        uow.collections.agents.add_agency(agency)
        uow.commit()
    return agency


def add_agent(desk: CollectionsDesk, agent: AgentRecord) -> AgentRecord:
    with desk.uow_factory() as uow:
        if agent.team != "lender" and uow.collections.agents.agency(agent.team) is None:
            raise ValidationFailed([Problem("team", f"no agency {agent.team}; add it first")])
        uow.collections.agents.add_agent(agent)
        uow.commit()
    return agent


def require_case(desk: CollectionsDesk, case_id: str) -> CaseRecord:
    try:
        return get_case(desk, case_id)
    except NotFound:
        raise NotFound(f"没有该案件 (no collection case {case_id})") from None
