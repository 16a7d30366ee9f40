"""PostgreSQL side of collections: cases and who works them, and the ``collections`` store
group of the platform unit of work (its records — contacts, slots, promises, complaints,
resolutions, payments — are in ``collections_records_repository``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from mobilend.adapters.db import collections_tables as ct
from mobilend.adapters.db import tables as t
from mobilend.adapters.db.collections_records_repository import (
    SqlCollectionPaymentStore,
    SqlComplaintStore,
    SqlContactLog,
    SqlPromiseStore,
    SqlResolutionStore,
)
from mobilend.adapters.db.collections_templates_repository import SqlTemplateStore
from mobilend.adapters.db.servicing_tables import loan_behaviour_scores
from mobilend.adapters.db.statements import insert_into
from mobilend.app.collections.ports import (
    AgencyRecord,
    AgentLoad,
    AgentRecord,
    CaseRecord,
    OverdueLoan,
)
from mobilend.domain.collections import (
    Arm,
    CaseStatus,
    CloseReason,
    Placement,
    RiskSegment,
)
from mobilend.domain.errors import NotFound
from mobilend.domain.money import Money

_c = ct.collection_cases


def _m(minor: int | None, currency: str) -> Money:
    return Money.from_minor(int(minor or 0), currency.strip())


# --------------------------------------------------------------------------- cases


def _case_values(case: CaseRecord) -> dict[str, Any]:
    return {
        "id": case.case_id,
        "loan_id": case.loan_id,
        "borrower_id": case.borrower_id,
        "opened_on": case.opened_on,
        "status": case.status.value,
        "bucket": case.bucket,
        "bucket_at_open": case.bucket_at_open or case.bucket,
        "dpd": case.dpd,
        "segment": case.segment.value,
        "strategy": case.strategy,
        "arm": case.arm.value,
        "placement": case.placement.value,
        "owed_at_open_minor": case.owed_at_open.to_minor(),
        "cash_in_at_open_minor": case.cash_in_at_open.to_minor(),
        "owed_minor": case.owed.to_minor(),
        "collected_minor": case.collected.to_minor(),
        "expected_minor": case.expected.to_minor(),
        "currency": case.owed.currency,
        "agency": case.agency,
        "agent_id": case.agent_id,
        "paused": case.paused,
        "next_action_on": case.next_action_on,
        "last_message_on": case.last_message_on,
        "closed_on": case.closed_on,
        "close_reason": case.close_reason.value if case.close_reason else None,
        "version": case.version,
    }


def _case(row: sa.Row[Any]) -> CaseRecord:
    cur = row.currency
    return CaseRecord(
        case_id=row.id,
        loan_id=row.loan_id,
        borrower_id=row.borrower_id,
        opened_on=row.opened_on,
        status=CaseStatus(row.status),
        bucket=row.bucket,
        dpd=row.dpd,
        segment=RiskSegment(row.segment),
        strategy=row.strategy,
        arm=Arm(row.arm),
        placement=Placement(row.placement),
        owed_at_open=_m(row.owed_at_open_minor, cur),
        cash_in_at_open=_m(row.cash_in_at_open_minor, cur),
        owed=_m(row.owed_minor, cur),
        collected=_m(row.collected_minor, cur),
        expected=_m(row.expected_minor, cur),
        agency=row.agency,
        agent_id=row.agent_id,
        paused=row.paused,
        next_action_on=row.next_action_on,
        last_message_on=row.last_message_on,
        bucket_at_open=row.bucket_at_open,
        closed_on=row.closed_on,
        close_reason=CloseReason(row.close_reason) if row.close_reason else None,
        version=row.version,
    )


# Statements built once (``adapters.db.statements``): a contact reads its case several times.
_CASE = sa.select(_c).where(_c.c.id == sa.bindparam("case_id"))
_CASE_FOR_UPDATE = _CASE.with_for_update()
_OPEN_CASE = sa.select(_c).where(_c.c.loan_id == sa.bindparam("loan_id"), _c.c.status != "closed")
_OPEN_CASE_FOR_UPDATE = _OPEN_CASE.with_for_update()
_SAVE_MANY = _c.update().where(_c.c.id == sa.bindparam("case_key")).values(updated_at=sa.func.now())
_AGENT = sa.select(ct.collection_agents).where(
    ct.collection_agents.c.id == sa.bindparam("agent_id")
)


class SqlCaseStore:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def overdue_loans(self, after_loan_id: str = "", limit: int = 1000) -> list[OverdueLoan]:
        loans, s = t.loans.c, loan_behaviour_scores.c
        open_case = sa.exists().where(_c.c.loan_id == loans.id, _c.c.status != "closed")
        owed = (
            loans.outstanding_principal + loans.interest_receivable + loans.fee_receivable
            + loans.penalty_receivable - loans.credit_balance
        )  # fmt: skip
        query = (
            sa.select(
                loans.id,
                loans.borrower_id,
                loans.status,
                loans.dpd,
                loans.currency,
                owed.label("owed"),
                (loans.cash_received + loans.recovered).label("cash_in"),
                s.score,
            )
            .select_from(t.loans.outerjoin(loan_behaviour_scores, s.loan_id == loans.id))
            .where(
                loans.id > after_loan_id,
                sa.or_(sa.and_(loans.status == "active", loans.dpd > 0), open_case),
            )
            .order_by(loans.id)
            .limit(limit)
        )
        result = []
        for row in self._conn.execute(query):
            written_off = row.status == "written_off"
            result.append(
                OverdueLoan(
                    loan_id=row.id,
                    borrower_id=row.borrower_id,
                    status=row.status,
                    dpd=row.dpd,
                    # A written-off loan's receivables left the books; its case keeps the
                    # amount it owed when it was written off.
                    owed=_m(0 if written_off else max(int(row.owed), 0), row.currency),
                    cash_in=_m(row.cash_in, row.currency),
                    score=row.score,
                )
            )
        return result

    def cash_in(self, loan_ids: Collection[str]) -> dict[str, Money]:
        if not loan_ids:
            return {}
        loans = t.loans.c
        rows = self._conn.execute(
            sa.select(loans.id, (loans.cash_received + loans.recovered), loans.currency).where(
                loans.id.in_(list(loan_ids))
            )
        )
        return {loan_id: _m(cash, currency) for loan_id, cash, currency in rows}

    def add(self, case: CaseRecord) -> None:
        self._conn.execute(insert_into(_c), _case_values(case))

    def get(self, case_id: str, *, for_update: bool = False) -> CaseRecord:
        query = _CASE_FOR_UPDATE if for_update else _CASE
        row = self._conn.execute(query, {"case_id": case_id}).first()
        if row is None:
            raise NotFound(f"没有该案件 (no collection case {case_id})")
        return _case(row)

    def open_for_loan(self, loan_id: str, *, for_update: bool = False) -> CaseRecord | None:
        query = _OPEN_CASE_FOR_UPDATE if for_update else _OPEN_CASE
        row = self._conn.execute(query, {"loan_id": loan_id}).first()
        return _case(row) if row is not None else None

    def many(self, case_ids: Collection[str]) -> dict[str, CaseRecord]:
        if not case_ids:
            return {}
        rows = self._conn.execute(sa.select(_c).where(_c.c.id.in_(list(case_ids))))
        return {r.id: _case(r) for r in rows}

    def messaged_on(self, on: dt.date) -> list[CaseRecord]:
        rows = self._conn.execute(
            sa.select(_c)
            .where(_c.c.status == "open", _c.c.placement == "digital", _c.c.last_message_on == on)
            .order_by(_c.c.id)
        )
        return [_case(r) for r in rows]

    def open_for_loans(
        self, loan_ids: Sequence[str], *, for_update: bool = False
    ) -> dict[str, CaseRecord]:
        if not loan_ids:
            return {}
        query = (
            sa.select(_c)
            .where(_c.c.loan_id.in_(list(loan_ids)), _c.c.status != "closed")
            .order_by(_c.c.loan_id)  # one lock order for every worker
        )
        rows = self._conn.execute(query.with_for_update() if for_update else query)
        return {r.loan_id: _case(r) for r in rows}

    def save(self, case: CaseRecord) -> None:
        values = _case_values(case)
        values["case_key"] = values.pop("id")
        self._conn.execute(_SAVE_MANY, values)

    def save_many(self, cases: Sequence[CaseRecord]) -> None:
        if not cases:
            return
        rows = []
        for case in cases:
            values = _case_values(case)
            values["case_key"] = values.pop("id")
            rows.append(values)
        # One statement, many parameter sets: the driver sends them in a pipeline.
        self._conn.execute(_SAVE_MANY, rows)

    def open_for_borrower(self, borrower_id: str) -> list[CaseRecord]:
        rows = self._conn.execute(
            sa.select(_c).where(_c.c.borrower_id == borrower_id, _c.c.status != "closed")
        )
        return [_case(r) for r in rows]

    def listing(
        self,
        *,
        status: str | None = None,
        bucket: str | None = None,
        agency: str | None = None,
        agent_id: str | None = None,
        limit: int = 100,
    ) -> list[CaseRecord]:
        query = sa.select(_c)
        for column, value in (
            (_c.c.status, status),
            (_c.c.bucket, bucket),
            (_c.c.agency, agency),
            (_c.c.agent_id, agent_id),
        ):
            if value is not None:
                query = query.where(column == value)
        rows = self._conn.execute(query.order_by(_c.c.expected_minor.desc(), _c.c.id).limit(limit))
        return [_case(r) for r in rows]

    def unassigned(self, placement: Placement, agency: str = "", limit: int = 1000) -> list[str]:
        query = (
            sa.select(_c.c.id)
            .where(
                _c.c.status.in_(("open", "legal")),
                _c.c.placement == placement.value,
                _c.c.agency == agency,
                _c.c.agent_id == "",
            )
            .order_by(_c.c.expected_minor.desc(), _c.c.id)
            .limit(limit)
        )
        return list(self._conn.execute(query).scalars())

    def queue(self, agent_id: str, on: dt.date, limit: int = 50) -> list[CaseRecord]:
        rows = self._conn.execute(
            sa.select(_c)
            .where(
                _c.c.agent_id == agent_id,
                _c.c.status.in_(("open", "legal")),
                _c.c.paused.is_(False),
                sa.or_(_c.c.next_action_on.is_(None), _c.c.next_action_on <= on),
            )
            .order_by(_c.c.expected_minor.desc(), _c.c.dpd.desc(), _c.c.id)
            .limit(limit)
        )
        return [_case(r) for r in rows]

    def digital_due(
        self, on: dt.date, limit: int = 1000, after_case_id: str = ""
    ) -> list[CaseRecord]:
        rows = self._conn.execute(
            sa.select(_c)
            .where(
                _c.c.status == "open",
                _c.c.placement == "digital",
                _c.c.paused.is_(False),
                sa.or_(_c.c.next_action_on.is_(None), _c.c.next_action_on <= on),
                _c.c.id > after_case_id,
            )
            .order_by(_c.c.id)
            .limit(limit)
        )
        return [_case(r) for r in rows]

    def at_dpd(
        self, dpds: Sequence[int], limit: int = 1000, after_case_id: str = ""
    ) -> list[CaseRecord]:
        rows = self._conn.execute(
            sa.select(_c)
            .where(_c.c.status == "open", _c.c.dpd.in_(list(dpds)), _c.c.id > after_case_id)
            .order_by(_c.c.id)
            .limit(limit)
        )
        return [_case(r) for r in rows]

    def write_off_candidates(self, min_dpd: int, limit: int = 1000) -> list[str]:
        r = ct.collection_resolutions.c
        waiting = sa.exists().where(
            r.case_id == _c.c.id, r.kind == "write_off", r.status == "proposed"
        )
        query = (
            sa.select(_c.c.id)
            .where(_c.c.status.in_(("open", "legal")), _c.c.dpd >= min_dpd, ~waiting)
            .order_by(_c.c.dpd.desc(), _c.c.id)
            .limit(limit)
        )
        return list(self._conn.execute(query).scalars())

    def all_cases(self, after_case_id: str = "", limit: int = 1000) -> list[CaseRecord]:
        rows = self._conn.execute(
            sa.select(_c).where(_c.c.id > after_case_id).order_by(_c.c.id).limit(limit)
        )
        return [_case(r) for r in rows]


# --------------------------------------------------------------------------- agents


class SqlAgentStore:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add_agency(self, agency: AgencyRecord) -> None:
        a = ct.collection_agencies
        values = {
            "name": agency.name,
            "active": agency.active,
            "commission_percent": agency.commission_percent,
            "capacity": agency.capacity,
        }
        self._conn.execute(
            pg_insert(a)
            .values(code=agency.code, **values)
            .on_conflict_do_update(index_elements=["code"], set_=values)
        )

    def agency(self, code: str) -> AgencyRecord | None:
        row = self._conn.execute(
            sa.select(ct.collection_agencies).where(ct.collection_agencies.c.code == code)
        ).first()
        return _agency(row) if row is not None else None

    def agencies(self) -> list[AgencyRecord]:
        a = ct.collection_agencies
        return [_agency(r) for r in self._conn.execute(sa.select(a).order_by(a.c.code))]

    def agency_loads(self) -> dict[str, int]:
        rows = self._conn.execute(
            sa.select(_c.c.agency, sa.func.count())
            .where(_c.c.agency != "", _c.c.status != "closed")
            .group_by(_c.c.agency)
        )
        return {agency: int(n) for agency, n in rows}

    def add_agent(self, agent: AgentRecord) -> None:
        a = ct.collection_agents
        values = {
            "name": agent.name,
            "team": agent.team,
            "active": agent.active,
            "capacity": agent.capacity,
        }
        self._conn.execute(
            pg_insert(a)
            .values(id=agent.agent_id, **values)
            .on_conflict_do_update(index_elements=["id"], set_=values)
        )

    def agent(self, agent_id: str) -> AgentRecord | None:
        row = self._conn.execute(_AGENT, {"agent_id": agent_id}).first()
        return _agent(row) if row is not None else None

    def loads(self, team: str) -> list[AgentLoad]:
        a = ct.collection_agents
        open_cases = (
            sa.select(sa.func.count())
            .where(_c.c.agent_id == a.c.id, _c.c.status != "closed")
            .scalar_subquery()
        )
        rows = self._conn.execute(
            sa.select(a, open_cases.label("open_cases"))
            .where(a.c.team == team, a.c.active.is_(True))
            .order_by(a.c.id)
        )
        return [AgentLoad(_agent(r), int(r.open_cases)) for r in rows]

    def cursor(self, name: str) -> str:
        cur = ct.collection_cursors
        value = self._conn.execute(sa.select(cur.c.value).where(cur.c.name == name)).scalar()
        return str(value or "")

    def set_cursor(self, name: str, value: str) -> None:
        cur = ct.collection_cursors
        self._conn.execute(
            pg_insert(cur)
            .values(name=name, value=value)
            .on_conflict_do_update(index_elements=["name"], set_={"value": value})
        )


def _agency(row: sa.Row[Any]) -> AgencyRecord:
    return AgencyRecord(row.code, row.name, row.active, row.commission_percent, row.capacity)


def _agent(row: sa.Row[Any]) -> AgentRecord:
    return AgentRecord(row.id, row.name, row.team, row.active, row.capacity)


class SqlCollectionStores:
    """Collections' store group, bound to one transaction's connection."""

    def __init__(self, conn: sa.Connection) -> None:
        self.cases = SqlCaseStore(conn)
        self.agents = SqlAgentStore(conn)
        self.contacts = SqlContactLog(conn)
        self.promises = SqlPromiseStore(conn)
        self.complaints = SqlComplaintStore(conn)
        self.resolutions = SqlResolutionStore(conn)
        self.payments = SqlCollectionPaymentStore(conn)
        self.templates = SqlTemplateStore(conn)
