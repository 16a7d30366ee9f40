"""PostgreSQL stores of funding: the registry, positions, tranches, approvals, routing log,
grouped as ``SqlFundingStores`` on the platform unit of work's connection, so a loan, its
ledger entries, its tranches, its payout and its outbox message commit together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from mobilend.adapters.db import funding_tables as ft
from mobilend.adapters.db.funding_payouts_repository import (
    SqlFundingLedgerQueries,
    SqlFundingOutbox,
    SqlPayoutRepository,
    SqlRailEventLog,
    SqlReconciliationStore,
)
from mobilend.adapters.db.statements import insert_into
from mobilend.app.funding.ports import ApprovalRecord, FundingSettings, RoutingRecord
from mobilend.domain.errors import Conflict, NotFound
from mobilend.domain.funding import Funder, FunderPosition, Programme, Tranche
from mobilend.domain.money import Money

# --------------------------------------------------------------------------- registry


def _funder_values(funder: Funder) -> dict[str, Any]:
    state = funder.to_state()
    return {
        "code": funder.code,
        "name": funder.name,
        "kind": state["kind"],
        "licence_no": funder.licence_no,
        "whitelist_status": state["whitelist_status"],
        "whitelisted_from": funder.whitelisted_from,
        "whitelisted_until": funder.whitelisted_until,
        "regions": state["regions"],
        "products": state["products"],
        "min_score": funder.min_score,
        "currency": funder.currency,
        "min_amount": state["min_amount_minor"],
        "max_amount": state["max_amount_minor"],
        "daily_quota": state["daily_quota_minor"],
        "total_quota": state["total_quota_minor"],
        "max_balance": state["max_balance_minor"],
        "cost_of_funds": funder.cost_of_funds,
        "interest_share": funder.interest_share,
        "requires_approval": funder.requires_approval,
        "priority": funder.priority,
    }


def _funder_from_row(row: sa.Row[Any]) -> Funder:
    return Funder.from_state(
        {
            "code": row.code,
            "name": row.name,
            "kind": row.kind,
            "licence_no": row.licence_no,
            "whitelist_status": row.whitelist_status,
            "whitelisted_from": row.whitelisted_from,
            "whitelisted_until": row.whitelisted_until,
            "regions": row.regions,
            "products": row.products,
            "min_score": row.min_score,
            "currency": row.currency,
            "min_amount_minor": row.min_amount,
            "max_amount_minor": row.max_amount,
            "daily_quota_minor": row.daily_quota,
            "total_quota_minor": row.total_quota,
            "max_balance_minor": row.max_balance,
            "cost_of_funds": str(row.cost_of_funds),
            "interest_share": str(row.interest_share),
            "requires_approval": row.requires_approval,
            "priority": row.priority,
        }
    )


def _programme_values(programme: Programme) -> dict[str, Any]:
    state = programme.to_state()
    return {
        "code": programme.code,
        "name": programme.name,
        "shares": state["shares"],
        "priority": programme.priority,
        "weight": programme.weight,
        "enabled": programme.enabled,
    }


def _programme_from_row(row: sa.Row[Any]) -> Programme:
    return Programme.from_state(
        {
            "code": row.code,
            "name": row.name,
            "shares": row.shares,
            "priority": row.priority,
            "weight": str(row.weight),
            "enabled": row.enabled,
        }
    )


class SqlFunderRegistry:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, funder: Funder) -> None:
        added = self._conn.execute(
            pg_insert(ft.funders)
            .values(**_funder_values(funder))
            .on_conflict_do_nothing(index_elements=["code"])
            .returning(ft.funders.c.code)
        ).first()
        if added is None:
            raise Conflict(f"funder {funder.code!r} already exists")

    def save(self, funder: Funder) -> None:
        self._conn.execute(
            ft.funders.update()
            .where(ft.funders.c.code == funder.code)
            .values(**_funder_values(funder), version=ft.funders.c.version + 1)
        )

    def get(self, code: str) -> Funder:
        row = self._conn.execute(sa.select(ft.funders).where(ft.funders.c.code == code)).first()
        if row is None:
            raise NotFound(f"funder {code!r} not found")
        return _funder_from_row(row)

    def list(self) -> list[Funder]:
        rows = self._conn.execute(sa.select(ft.funders).order_by(ft.funders.c.code))
        return [_funder_from_row(r) for r in rows]

    def add_programme(self, programme: Programme) -> None:
        added = self._conn.execute(
            pg_insert(ft.funding_programmes)
            .values(**_programme_values(programme))
            .on_conflict_do_nothing(index_elements=["code"])
            .returning(ft.funding_programmes.c.code)
        ).first()
        if added is None:
            raise Conflict(f"programme {programme.code!r} already exists")

    def save_programme(self, programme: Programme) -> None:
        self._conn.execute(
            ft.funding_programmes.update()
            .where(ft.funding_programmes.c.code == programme.code)
            .values(**_programme_values(programme))
        )

    def programmes(self) -> list[Programme]:
        rows = self._conn.execute(
            sa.select(ft.funding_programmes).order_by(ft.funding_programmes.c.code)
        )
        return [_programme_from_row(r) for r in rows]

    def settings(self) -> FundingSettings:
        row = self._conn.execute(sa.select(ft.funding_settings)).first()
        if row is None:
            return FundingSettings()
        limit = row.joint_balance_limit
        return FundingSettings(
            strategy=row.strategy,
            joint_balance_limit=None if limit is None else Money.from_minor(limit, row.currency),
            approval_timeout_s=row.approval_timeout_s,
        )

    def save_settings(self, settings: FundingSettings) -> None:
        limit = settings.joint_balance_limit
        values = {
            "strategy": settings.strategy,
            "joint_balance_limit": None if limit is None else limit.to_minor(),
            "currency": "CNY" if limit is None else limit.currency,
            "approval_timeout_s": settings.approval_timeout_s,
        }
        self._conn.execute(
            pg_insert(ft.funding_settings)
            .values(id=1, **values)
            .on_conflict_do_update(index_elements=["id"], set_=values)
        )


# --------------------------------------------------------------------------- positions


class SqlFunderPositions:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def get(
        self, codes: Sequence[str], on: dt.date, currency: str, *, for_update: bool = False
    ) -> dict[str, FunderPosition]:
        codes = sorted(set(codes))
        if not codes:
            return {}
        p = ft.funder_positions
        if for_update:
            # Make sure every row exists, so there is something to lock.
            self._conn.execute(
                pg_insert(p)
                .values([{"funder_code": c, "currency": currency} for c in codes])
                .on_conflict_do_nothing(index_elements=["funder_code"])
            )
        query = sa.select(p).where(p.c.funder_code.in_(codes)).order_by(p.c.funder_code)
        rows = self._conn.execute(query.with_for_update() if for_update else query).all()
        usage = ft.funder_daily_usage
        today = dict(
            self._conn.execute(
                sa.select(usage.c.funder_code, usage.c.routed).where(
                    usage.c.funder_code.in_(codes), usage.c.business_date == on
                )
            ).all()
        )
        return {
            r.funder_code: FunderPosition(
                r.funder_code,
                Money.from_minor(int(today.get(r.funder_code, 0)), r.currency),
                Money.from_minor(r.routed_total, r.currency),
                Money.from_minor(r.outstanding, r.currency),
            )
            for r in rows
        }

    def change(
        self, code: str, on: dt.date, routed: Money, outstanding: Money, *, joint: bool = False
    ) -> None:
        p = ft.funder_positions
        values = {
            "funder_code": code,
            "currency": routed.currency,
            "routed_total": routed.to_minor(),
            "outstanding": outstanding.to_minor(),
            "joint_outstanding": outstanding.to_minor() if joint else 0,
        }
        insert = pg_insert(p).values(**values)
        self._conn.execute(
            insert.on_conflict_do_update(
                index_elements=["funder_code"],
                set_={
                    "routed_total": p.c.routed_total + insert.excluded.routed_total,
                    "outstanding": p.c.outstanding + insert.excluded.outstanding,
                    "joint_outstanding": p.c.joint_outstanding + insert.excluded.joint_outstanding,
                },
            )
        )
        usage = ft.funder_daily_usage
        daily = pg_insert(usage).values(
            funder_code=code, business_date=on, routed=routed.to_minor()
        )
        self._conn.execute(
            daily.on_conflict_do_update(
                index_elements=["funder_code", "business_date"],
                set_={"routed": usage.c.routed + daily.excluded.routed},
            )
        )

    def count_programme(self, programme: Programme, loans: int, amount: Money) -> None:
        g = ft.funding_programmes
        insert = pg_insert(g).values(
            **_programme_values(programme), routed_count=loans, routed_amount=amount.to_minor()
        )
        self._conn.execute(
            insert.on_conflict_do_update(
                index_elements=["code"],
                set_={
                    "routed_count": g.c.routed_count + loans,
                    "routed_amount": g.c.routed_amount + amount.to_minor(),
                },
            )
        )

    def programme_counts(self) -> dict[str, int]:
        g = ft.funding_programmes
        return {c: int(n) for c, n in self._conn.execute(sa.select(g.c.code, g.c.routed_count))}

    def joint_outstanding(self, currency: str) -> Money:
        p = ft.funder_positions
        total = self._conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(p.c.joint_outstanding), 0)).where(
                p.c.currency == currency
            )
        ).scalar_one()
        return Money.from_minor(int(total), currency)

    def refresh_outstanding(self) -> dict[str, Money]:
        rows = self._conn.execute(
            sa.text(
                """
                WITH live AS (
                    SELECT t.funder_code, t.joint,
                           round(l.outstanding_principal * t.share)::bigint AS amount
                    FROM loan_tranches t JOIN loans l ON l.id = t.loan_id
                    WHERE NOT t.released
                      AND l.status IN ('active', 'pending_disbursement')
                ), per_funder AS (
                    SELECT funder_code, sum(amount) AS amount,
                           coalesce(sum(amount) FILTER (WHERE joint), 0) AS joint
                    FROM live GROUP BY funder_code
                )
                UPDATE funder_positions p
                SET outstanding = coalesce(s.amount, 0),
                    joint_outstanding = coalesce(s.joint, 0)
                FROM funder_positions p2 LEFT JOIN per_funder s ON s.funder_code = p2.funder_code
                WHERE p2.funder_code = p.funder_code
                RETURNING p.funder_code, p.outstanding, p.currency
                """
            )
        ).all()
        return {r[0]: Money.from_minor(int(r[1]), r[2]) for r in rows}


# --------------------------------------------------------------------------- tranches


def _tranche_from_row(row: sa.Row[Any]) -> Tranche:
    return Tranche(
        funder_code=row.funder_code,
        principal=Money.from_minor(row.principal, row.currency),
        share=Decimal(row.share).normalize(),
        interest_share=Decimal(row.interest_share).normalize(),
        cash_account=row.cash_account,
        requires_approval=row.requires_approval,
        joint=row.joint,
    )


class SqlTrancheRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, loan_id: str, borrower_id: str, tranches: Sequence[Tranche]) -> None:
        self._conn.execute(
            insert_into(ft.loan_tranches),
            [
                {
                    "loan_id": loan_id,
                    "borrower_id": borrower_id,
                    "funder_code": t.funder_code,
                    "principal": t.principal.to_minor(),
                    "currency": t.principal.currency,
                    "share": t.share,
                    "interest_share": t.interest_share,
                    "cash_account": t.cash_account,
                    "requires_approval": t.requires_approval,
                    "joint": t.joint,
                }
                for t in tranches
            ],
        )

    def for_loan(self, loan_id: str) -> list[Tranche]:
        return self.for_loans([loan_id]).get(loan_id, [])

    def for_loans(self, loan_ids: Sequence[str]) -> dict[str, list[Tranche]]:
        if not loan_ids:
            return {}
        t = ft.loan_tranches
        rows = self._conn.execute(
            sa.select(t)
            .where(t.c.loan_id.in_(list(loan_ids)), sa.not_(t.c.released))
            .order_by(t.c.loan_id, t.c.id)
        )
        result: dict[str, list[Tranche]] = {}
        for row in rows:
            result.setdefault(row.loan_id, []).append(_tranche_from_row(row))
        return result

    def release(self, loan_id: str) -> None:
        t = ft.loan_tranches
        self._conn.execute(
            t.update().where(t.c.loan_id == loan_id, sa.not_(t.c.released)).values(released=True)
        )


# --------------------------------------------------------------------------- approvals & routing


def _approval_values(a: ApprovalRecord) -> dict[str, Any]:
    values: dict[str, Any] = {
        "request_id": a.request_id,
        "loan_id": a.loan_id,
        "borrower_id": a.borrower_id,
        "funder_code": a.funder_code,
        "amount": a.amount.to_minor(),
        "currency": a.amount.currency,
        "status": a.status,
        "partner_decision": a.partner_decision,
        "partner_reference": a.partner_reference,
        "reason_code": a.reason_code,
        "decided_at": a.decided_at,
        "source": a.source,
        "sent": a.sent,
        "next_check_at": a.next_check_at,
    }
    if a.requested_at is not None:
        values["requested_at"] = a.requested_at
    return values


def _approval_from_row(row: sa.Row[Any]) -> ApprovalRecord:
    return ApprovalRecord(
        request_id=row.request_id,
        loan_id=row.loan_id,
        borrower_id=row.borrower_id,
        funder_code=row.funder_code,
        amount=Money.from_minor(row.amount, row.currency),
        status=row.status,
        requested_at=row.requested_at,
        partner_decision=row.partner_decision,
        partner_reference=row.partner_reference,
        reason_code=row.reason_code,
        decided_at=row.decided_at,
        source=row.source,
        sent=row.sent,
        next_check_at=row.next_check_at,
    )


class SqlApprovalRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, approval: ApprovalRecord) -> None:
        self._conn.execute(insert_into(ft.partner_approvals), _approval_values(approval))

    def get(self, request_id: str, *, for_update: bool = False) -> ApprovalRecord | None:
        a = ft.partner_approvals
        query = sa.select(a).where(a.c.request_id == request_id)
        row = self._conn.execute(query.with_for_update() if for_update else query).first()
        return None if row is None else _approval_from_row(row)

    def save(self, approval: ApprovalRecord) -> None:
        a = ft.partner_approvals
        self._conn.execute(
            a.update()
            .where(a.c.request_id == approval.request_id)
            .values(**_approval_values(approval))
        )

    def for_loan(self, loan_id: str) -> list[ApprovalRecord]:
        a = ft.partner_approvals
        rows = self._conn.execute(
            sa.select(a).where(a.c.loan_id == loan_id).order_by(a.c.requested_at, a.c.request_id)
        )
        return [_approval_from_row(r) for r in rows]

    def pending(self, limit: int = 100) -> list[ApprovalRecord]:
        a = ft.partner_approvals
        rows = self._conn.execute(
            sa.select(a).where(a.c.status == "pending").order_by(a.c.requested_at).limit(limit)
        )
        return [_approval_from_row(r) for r in rows]


class SqlRoutingLog:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, record: RoutingRecord) -> None:
        self._conn.execute(
            insert_into(ft.routing_decisions),
            dict(
                id=record.record_id,
                loan_id=record.loan_id,
                borrower_id=record.borrower_id,
                attempt=record.attempt,
                strategy=record.strategy,
                programme_code=record.programme_code,
                reasons=dict(record.reasons),
            ),
        )

    def for_loan(self, loan_id: str) -> list[RoutingRecord]:
        r = ft.routing_decisions
        rows = self._conn.execute(
            sa.select(r).where(r.c.loan_id == loan_id).order_by(r.c.attempt, r.c.created_at)
        )
        return [
            RoutingRecord(
                row.id,
                row.loan_id,
                row.borrower_id,
                row.attempt,
                row.strategy,
                row.programme_code,
                dict(row.reasons),
                row.created_at,
            )
            for row in rows
        ]


# --------------------------------------------------------------------------- unit of work


class SqlFundingStores:
    """Every funding store, bound to one connection."""

    def __init__(self, conn: sa.Connection) -> None:
        self.funders = SqlFunderRegistry(conn)
        self.positions = SqlFunderPositions(conn)
        self.tranches = SqlTrancheRepository(conn)
        self.payouts = SqlPayoutRepository(conn)
        self.approvals = SqlApprovalRepository(conn)
        self.routing = SqlRoutingLog(conn)
        self.outbox = SqlFundingOutbox(conn)
        self.rail_events = SqlRailEventLog(conn)
        self.ledger_queries = SqlFundingLedgerQueries(conn)
        self.reconciliations = SqlReconciliationStore(conn)
