"""PostgreSQL side of collections' records: the contact log and the per-day contact
slots (one atomic upsert, so the cap on connected calls holds across every process,
agent and agency dialling at once), promises, complaints, four-eyes resolutions and
collections' own payments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from mobilend.adapters.db import collections_tables as ct
from mobilend.adapters.db.statements import insert_into
from mobilend.app.collections.ports import (
    CollectionPayment,
    ComplaintRecord,
    ContactRecord,
    PromiseRecord,
    ResolutionRecord,
)
from mobilend.domain.collections import ApprovalStatus, PlanInstalment, PromiseStatus
from mobilend.domain.collections_conduct import Channel, Party
from mobilend.domain.errors import NotFound
from mobilend.domain.money import Money


def _m(minor: int | None, currency: str) -> Money:
    return Money.from_minor(int(minor or 0), currency.strip())


# --------------------------------------------------------------------------- contacts

_k = ct.collection_contacts
_slots = ct.collection_daily_slots

# Built once: the gate runs these for every contact it checks.
_SAVE_CONTACT = _k.update().where(_k.c.id == sa.bindparam("attempt_id"))
# One statement: the row lock taken by ON CONFLICT serialises concurrent callers, and
# the WHERE re-reads the count after the lock, so the cap cannot be passed.
_TAKE_SLOT = (
    pg_insert(_slots)
    .values(
        borrower_id=sa.bindparam("borrower_id"),
        local_day=sa.bindparam("local_day"),
        kind=sa.bindparam("kind"),
        taken=1,
    )
    .on_conflict_do_update(
        index_elements=["borrower_id", "local_day", "kind"],
        set_={"taken": _slots.c.taken + 1},
        where=_slots.c.taken < sa.bindparam("cap"),
    )
    .returning(_slots.c.taken)
)
_RELEASE_SLOT = (
    _slots.update()
    .where(
        # Not the columns' own names: an UPDATE would take those as values to set.
        _slots.c.borrower_id == sa.bindparam("slot_borrower"),
        _slots.c.local_day == sa.bindparam("slot_day"),
        _slots.c.kind == sa.bindparam("slot_kind"),
        _slots.c.taken > 0,
    )
    .values(taken=_slots.c.taken - 1)
)


def _contact(row: sa.Row[Any]) -> ContactRecord:
    return ContactRecord(
        attempt_id=row.id,
        case_id=row.case_id,
        loan_id=row.loan_id,
        borrower_id=row.borrower_id,
        at=row.at,
        local_day=row.local_day,
        actor=row.actor,
        team=row.team,
        channel=Channel(row.channel),
        party=Party(row.party),
        template=row.template,
        allowed=row.allowed,
        rules=tuple(row.rules),
        outcome=row.outcome,
        recording_ref=row.recording_ref,
        gateway_ref=row.gateway_ref,
        counted_call=row.counted_call,
        note=row.note,
        text=row.body,
    )


class SqlContactLog:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, record: ContactRecord) -> None:
        self._conn.execute(
            insert_into(_k), dict(
                id=record.attempt_id, case_id=record.case_id, loan_id=record.loan_id,
                borrower_id=record.borrower_id, at=record.at, local_day=record.local_day,
                actor=record.actor, team=record.team, channel=record.channel.value,
                party=record.party.value, template=record.template, allowed=record.allowed,
                rules=list(record.rules), outcome=record.outcome,
                recording_ref=record.recording_ref, gateway_ref=record.gateway_ref,
                counted_call=record.counted_call, note=record.note, body=record.text,
            )
        )  # fmt: skip

    def save(self, record: ContactRecord) -> None:
        self._conn.execute(
            _SAVE_CONTACT,
            {
                "attempt_id": record.attempt_id,
                "outcome": record.outcome,
                "recording_ref": record.recording_ref,
                "gateway_ref": record.gateway_ref,
                "counted_call": record.counted_call,
                "note": record.note,
            },
        )

    def get(self, attempt_id: str) -> ContactRecord | None:
        row = self._conn.execute(sa.select(_k).where(_k.c.id == attempt_id)).first()
        return _contact(row) if row is not None else None

    def for_case(self, case_id: str, limit: int = 200) -> list[ContactRecord]:
        rows = self._conn.execute(
            sa.select(_k)
            .where(_k.c.case_id == case_id)
            .order_by(_k.c.at.desc(), _k.c.id)
            .limit(limit)
        )
        return [_contact(r) for r in rows]

    def sent_on(self, case_ids: Collection[str], local_day: dt.date) -> set[tuple[str, str, str]]:
        if not case_ids:
            return set()
        rows = self._conn.execute(
            sa.select(_k.c.case_id, _k.c.template, _k.c.channel)
            .where(
                _k.c.case_id.in_(list(case_ids)),
                _k.c.local_day == local_day,
                _k.c.allowed.is_(True),
            )
            .distinct()
        )
        return {(case_id, template, channel) for case_id, template, channel in rows}

    def refusals(self, since: dt.datetime | None = None, limit: int = 200) -> list[ContactRecord]:
        query = sa.select(_k).where(_k.c.allowed.is_(False))
        if since is not None:
            query = query.where(_k.c.at >= since)
        rows = self._conn.execute(query.order_by(_k.c.at.desc(), _k.c.id).limit(limit))
        return [_contact(r) for r in rows]

    def take_slot(self, borrower_id: str, local_day: dt.date, kind: str, cap: int) -> bool:
        # One statement: the row lock taken by ON CONFLICT serialises concurrent callers,
        # and the WHERE re-reads the count after the lock, so the cap cannot be passed.
        if cap <= 0:
            return False
        slot = {"borrower_id": borrower_id, "local_day": local_day, "kind": kind, "cap": cap}
        return self._conn.execute(_TAKE_SLOT, slot).first() is not None

    def release_slot(self, borrower_id: str, local_day: dt.date, kind: str) -> None:
        slot = {"slot_borrower": borrower_id, "slot_day": local_day, "slot_kind": kind}
        self._conn.execute(_RELEASE_SLOT, slot)

    def slots_taken(self, borrower_id: str, local_day: dt.date, kind: str) -> int:
        value = self._conn.execute(
            sa.select(_slots.c.taken).where(
                _slots.c.borrower_id == borrower_id,
                _slots.c.local_day == local_day,
                _slots.c.kind == kind,
            )
        ).scalar()
        return int(value or 0)

    def counts(self) -> dict[str, int]:
        rows = self._conn.execute(sa.select(_k.c.outcome, sa.func.count()).group_by(_k.c.outcome))
        return {outcome: int(n) for outcome, n in rows}


# --------------------------------------------------------------------------- promises and complaints

_p = ct.collection_promises
_q = ct.collection_complaints
_OPEN_COMPLAINTS = sa.select(_q).where(
    _q.c.borrower_id == sa.bindparam("borrower_id"), _q.c.status == "open"
)


def _promise(row: sa.Row[Any]) -> PromiseRecord:
    return PromiseRecord(
        promise_id=row.id,
        case_id=row.case_id,
        loan_id=row.loan_id,
        amount=_m(row.amount_minor, row.currency),
        due_on=row.due_on,
        made_on=row.made_on,
        made_by=row.made_by,
        cash_in_at_promise=_m(row.cash_in_at_promise_minor, row.currency),
        status=PromiseStatus(row.status),
        resolved_on=row.resolved_on,
    )


class SqlPromiseStore:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, promise: PromiseRecord) -> None:
        self._conn.execute(
            insert_into(_p), dict(
                id=promise.promise_id, case_id=promise.case_id, loan_id=promise.loan_id,
                amount_minor=promise.amount.to_minor(), currency=promise.amount.currency,
                due_on=promise.due_on, made_on=promise.made_on, made_by=promise.made_by,
                cash_in_at_promise_minor=promise.cash_in_at_promise.to_minor(),
                status=promise.status.value, resolved_on=promise.resolved_on,
            )
        )  # fmt: skip

    def save(self, promise: PromiseRecord) -> None:
        self._conn.execute(
            _p.update()
            .where(_p.c.id == promise.promise_id)
            .values(status=promise.status.value, resolved_on=promise.resolved_on)
        )

    def for_case(self, case_id: str) -> list[PromiseRecord]:
        rows = self._conn.execute(
            sa.select(_p)
            .where(_p.c.case_id == case_id)
            .order_by(_p.c.made_on.desc(), _p.c.id.desc())
        )
        return [_promise(r) for r in rows]

    def pending(self, limit: int = 1000, after_id: str = "") -> list[PromiseRecord]:
        rows = self._conn.execute(
            sa.select(_p)
            .where(_p.c.status == "pending", _p.c.id > after_id)
            .order_by(_p.c.id)
            .limit(limit)
        )
        return [_promise(r) for r in rows]

    def counts(self) -> dict[str, int]:
        rows = self._conn.execute(sa.select(_p.c.status, sa.func.count()).group_by(_p.c.status))
        return {status: int(n) for status, n in rows}


def _complaint(row: sa.Row[Any]) -> ComplaintRecord:
    return ComplaintRecord(
        complaint_id=row.id,
        case_id=row.case_id,
        borrower_id=row.borrower_id,
        received_at=row.received_at,
        channel=row.channel,
        summary=row.summary,
        recorded_by=row.recorded_by,
        status=row.status,
        reviewed_by=row.reviewed_by,
        reviewed_at=row.reviewed_at,
        resolution=row.resolution,
    )


class SqlComplaintStore:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, complaint: ComplaintRecord) -> None:
        self._conn.execute(
            insert_into(_q), dict(
                id=complaint.complaint_id, case_id=complaint.case_id,
                borrower_id=complaint.borrower_id, received_at=complaint.received_at,
                channel=complaint.channel, summary=complaint.summary,
                recorded_by=complaint.recorded_by, status=complaint.status,
            )
        )  # fmt: skip

    def get(self, complaint_id: str, *, for_update: bool = False) -> ComplaintRecord:
        query = sa.select(_q).where(_q.c.id == complaint_id)
        row = self._conn.execute(query.with_for_update() if for_update else query).first()
        if row is None:
            raise NotFound(f"没有该投诉 (no complaint {complaint_id})")
        return _complaint(row)

    def save(self, complaint: ComplaintRecord) -> None:
        self._conn.execute(
            _q.update()
            .where(_q.c.id == complaint.complaint_id)
            .values(
                status=complaint.status,
                reviewed_by=complaint.reviewed_by,
                reviewed_at=complaint.reviewed_at,
                resolution=complaint.resolution,
            )
        )

    def open_for_case(self, case_id: str) -> list[ComplaintRecord]:
        rows = self._conn.execute(
            sa.select(_q).where(_q.c.case_id == case_id, _q.c.status == "open")
        )
        return [_complaint(r) for r in rows]

    def open_for_borrower(self, borrower_id: str) -> list[ComplaintRecord]:
        rows = self._conn.execute(_OPEN_COMPLAINTS, {"borrower_id": borrower_id})
        return [_complaint(r) for r in rows]

    def listing(self, status: str | None = "open", limit: int = 100) -> list[ComplaintRecord]:
        query = sa.select(_q)
        if status is not None:
            query = query.where(_q.c.status == status)
        rows = self._conn.execute(query.order_by(_q.c.received_at.desc()).limit(limit))
        return [_complaint(r) for r in rows]


# --------------------------------------------------------------------------- resolutions and payments

_r = ct.collection_resolutions
_pay = ct.collection_payments


def _resolution(row: sa.Row[Any]) -> ResolutionRecord:
    cur = row.currency
    return ResolutionRecord(
        resolution_id=row.id,
        kind=row.kind,
        case_id=row.case_id,
        loan_id=row.loan_id,
        proposed_by=row.proposed_by,
        proposed_on=row.proposed_on,
        owed=_m(row.owed_minor, cur),
        amount=_m(row.amount_minor, cur),
        status=ApprovalStatus(row.status),
        valid_until=row.valid_until,
        instalments=tuple(
            PlanInstalment(dt.date.fromisoformat(i["due_on"]), _m(i["amount_minor"], cur))
            for i in row.instalments
        ),
        cash_in_at_approval=_m(row.cash_in_at_approval_minor, cur)
        if row.cash_in_at_approval_minor is not None
        else None,
        approved_by=row.approved_by,
        decided_on=row.decided_on,
        done_on=row.done_on,
        reason=row.reason,
        entry_ids=tuple(row.entry_ids),
    )


def _resolution_values(r: ResolutionRecord) -> dict[str, Any]:
    return {
        "kind": r.kind,
        "case_id": r.case_id,
        "loan_id": r.loan_id,
        "proposed_by": r.proposed_by,
        "proposed_on": r.proposed_on,
        "owed_minor": r.owed.to_minor(),
        "amount_minor": r.amount.to_minor(),
        "currency": r.amount.currency,
        "status": r.status.value,
        "valid_until": r.valid_until,
        "instalments": [
            {"due_on": i.due_on.isoformat(), "amount_minor": i.amount.to_minor()}
            for i in r.instalments
        ],
        "cash_in_at_approval_minor": r.cash_in_at_approval.to_minor()
        if r.cash_in_at_approval is not None
        else None,
        "approved_by": r.approved_by,
        "decided_on": r.decided_on,
        "done_on": r.done_on,
        "reason": r.reason,
        "entry_ids": list(r.entry_ids),
    }


class SqlResolutionStore:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, record: ResolutionRecord) -> None:
        self._conn.execute(
            insert_into(_r), dict(id=record.resolution_id, **_resolution_values(record))
        )

    def get(self, resolution_id: str, *, for_update: bool = False) -> ResolutionRecord:
        query = sa.select(_r).where(_r.c.id == resolution_id)
        row = self._conn.execute(query.with_for_update() if for_update else query).first()
        if row is None:
            raise NotFound(f"没有该审批事项 (no settlement, plan or write-off {resolution_id})")
        return _resolution(row)

    def save(self, record: ResolutionRecord) -> None:
        self._conn.execute(
            _r.update().where(_r.c.id == record.resolution_id).values(**_resolution_values(record))
        )

    def for_case(self, case_id: str) -> list[ResolutionRecord]:
        rows = self._conn.execute(
            sa.select(_r).where(_r.c.case_id == case_id).order_by(_r.c.created_at.desc(), _r.c.id)
        )
        return [_resolution(r) for r in rows]

    def listing(
        self, kind: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[ResolutionRecord]:
        query = sa.select(_r)
        if kind is not None:
            query = query.where(_r.c.kind == kind)
        if status is not None:
            query = query.where(_r.c.status == status)
        rows = self._conn.execute(query.order_by(_r.c.created_at, _r.c.id).limit(limit))
        return [_resolution(r) for r in rows]


class SqlCollectionPaymentStore:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, payment: CollectionPayment) -> None:
        self._conn.execute(
            insert_into(_pay), dict(
                id=payment.payment_id, case_id=payment.case_id, loan_id=payment.loan_id,
                kind=payment.kind, amount_minor=payment.amount.to_minor(),
                currency=payment.amount.currency, received_on=payment.received_on,
                idempotency_key=payment.idempotency_key, entry_ids=list(payment.entry_ids),
            )
        )  # fmt: skip

    def by_key(self, idempotency_key: str) -> CollectionPayment | None:
        row = self._conn.execute(
            sa.select(_pay).where(_pay.c.idempotency_key == idempotency_key)
        ).first()
        if row is None:
            return None
        return CollectionPayment(
            row.id, row.case_id, row.loan_id, row.kind, _m(row.amount_minor, row.currency),
            row.received_on, row.idempotency_key, tuple(row.entry_ids),
        )  # fmt: skip
