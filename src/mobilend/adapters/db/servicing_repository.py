"""PostgreSQL stores of the servicing use cases, and their unit of work: the lending and
funding unit of work plus ``servicing``, one transaction over all of them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from mobilend.adapters.db import servicing_sql
from mobilend.adapters.db import servicing_tables as st
from mobilend.adapters.db import tables as t
from mobilend.adapters.db.statements import insert_into
from mobilend.app.servicing.ports import (
    DebitAttempt,
    IncomingTransfer,
    MessageRecord,
    ReceiptRecord,
    RefundRecord,
    ReversalRecord,
    ScoreRow,
)
from mobilend.app.servicing.settings import EarlyWarningWeights, ReminderStep
from mobilend.domain.money import Money

# --------------------------------------------------------------------------- messages

_m = st.servicing_messages


def _message(row: sa.Row[Any]) -> MessageRecord:
    return MessageRecord(
        message_id=row.id,
        borrower_id=row.borrower_id,
        loan_id=row.loan_id,
        template=row.template,
        kind=row.kind,
        channel=row.channel,
        locale=row.locale,
        params=dict(row.params),
        dedupe_key=row.dedupe_key,
        business_date=row.business_date,
        next_attempt_at=row.next_attempt_at,
        status=row.status,
        attempts=row.attempts,
        title=row.title,
        body=row.body,
        last_error=row.last_error,
        gateway_reference=row.gateway_reference,
        recipient_masked=row.recipient_masked,
        sent_at=row.sent_at,
    )


def _message_values(m: MessageRecord) -> dict[str, Any]:
    return {
        "id": m.message_id,
        "borrower_id": m.borrower_id,
        "loan_id": m.loan_id,
        "template": m.template,
        "kind": m.kind,
        "channel": m.channel,
        "locale": m.locale,
        "params": json.loads(json.dumps(dict(m.params), default=str)),
        "dedupe_key": m.dedupe_key,
        "business_date": m.business_date,
        "next_attempt_at": m.next_attempt_at,
        "status": m.status,
        "attempts": m.attempts,
        "title": m.title,
        "body": m.body,
        "last_error": m.last_error,
        "gateway_reference": m.gateway_reference,
        "recipient_masked": m.recipient_masked,
        "sent_at": m.sent_at,
    }


class SqlMessageStore:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def plan_reminders(
        self,
        business_date: dt.date,
        steps: Sequence[ReminderStep],
        send_from: dt.time,
        default_time_zone: str,
        partition: int = 0,
        partitions: int = 1,
    ) -> int:
        return servicing_sql.plan_reminders(
            self._conn, business_date, steps, send_from, default_time_zone, partition, partitions
        )

    def add(self, message: MessageRecord) -> bool:
        result = self._conn.execute(
            pg_insert(_m)
            .values(**_message_values(message))
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(_m.c.id)
        )
        return result.first() is not None

    def due(self, now: dt.datetime, limit: int) -> list[str]:
        rows = self._conn.execute(
            sa.select(_m.c.id)
            .where(_m.c.status == "pending", _m.c.next_attempt_at <= now)
            .order_by(_m.c.next_attempt_at, _m.c.id)
            .limit(limit)
        ).scalars()
        return list(rows)

    def claim(self, message_id: str, now: dt.datetime) -> MessageRecord | None:
        row = self._conn.execute(
            sa.select(_m)
            .where(_m.c.id == message_id, _m.c.status == "pending", _m.c.next_attempt_at <= now)
            .with_for_update(skip_locked=True)
        ).first()
        return _message(row) if row is not None else None

    def save(self, message: MessageRecord) -> None:
        values = _message_values(message)
        if message.status == "delivered":
            values["delivered_at"] = sa.func.now()
        self._conn.execute(_m.update().where(_m.c.id == message.message_id).values(**values))

    def get(self, message_id: str) -> MessageRecord | None:
        row = self._conn.execute(sa.select(_m).where(_m.c.id == message_id)).first()
        return _message(row) if row is not None else None

    def take_daily_slot(self, borrower_id: str, local_day: dt.date, cap: int) -> bool:
        c = st.message_daily_counts
        statement = pg_insert(c).values(borrower_id=borrower_id, local_day=local_day, sent=1)
        statement = statement.on_conflict_do_update(
            index_elements=["borrower_id", "local_day"],
            set_={"sent": c.c.sent + 1},
            where=c.c.sent < cap,
        ).returning(c.c.sent)
        if cap <= 0:
            return False
        return self._conn.execute(statement).first() is not None

    def release_daily_slot(self, borrower_id: str, local_day: dt.date) -> None:
        c = st.message_daily_counts
        self._conn.execute(
            c.update()
            .where(c.c.borrower_id == borrower_id, c.c.local_day == local_day, c.c.sent > 0)
            .values(sent=c.c.sent - 1)
        )

    def add_receipt(self, receipt: ReceiptRecord) -> bool:
        r = st.message_receipts
        borrower = sa.select(_m.c.borrower_id).where(_m.c.id == receipt.message_id)
        result = self._conn.execute(
            pg_insert(r)
            .values(
                message_id=receipt.message_id,
                borrower_id=borrower.scalar_subquery(),
                gateway_reference=receipt.gateway_reference,
                status=receipt.status,
                error=receipt.error,
                event_key=receipt.event_key,
            )
            .on_conflict_do_nothing(index_elements=["event_key"])
            .returning(r.c.id)
        )
        return result.first() is not None

    def cursor(self, name: str) -> int:
        c = st.servicing_cursors
        value = self._conn.execute(sa.select(c.c.position).where(c.c.name == name)).scalar()
        return int(value or 0)

    def set_cursor(self, name: str, position: int) -> None:
        c = st.servicing_cursors
        self._conn.execute(
            pg_insert(c)
            .values(name=name, position=position)
            .on_conflict_do_update(index_elements=["name"], set_={"position": position})
        )

    def for_borrower(self, borrower_id: str, limit: int = 50) -> list[MessageRecord]:
        rows = self._conn.execute(
            sa.select(_m)
            .where(_m.c.borrower_id == borrower_id)
            .order_by(_m.c.created_at.desc(), _m.c.id)
            .limit(limit)
        )
        return [_message(r) for r in rows]

    def dead_letters(self, limit: int = 100) -> list[MessageRecord]:
        rows = self._conn.execute(
            sa.select(_m).where(_m.c.status == "dead").order_by(_m.c.created_at).limit(limit)
        )
        return [_message(r) for r in rows]


# --------------------------------------------------------------------------- debits

_d = st.autodebit_attempts


def _debit(row: sa.Row[Any]) -> DebitAttempt:
    return DebitAttempt(
        attempt_id=row.id,
        loan_id=row.loan_id,
        borrower_id=row.borrower_id,
        business_date=row.business_date,
        due_date=row.due_date,
        plan_day=row.plan_day,
        amount=Money.from_minor(row.amount, row.currency),
        idempotency_key=row.idempotency_key,
        status=row.status,
        failure_code=row.failure_code,
        rail_reference=row.rail_reference,
        repayment_id=row.repayment_id,
        settled_on=row.settled_on,
        purpose=row.purpose,
        mode=row.mode,
        last_sequence=row.last_sequence,
        bank_settled_on=row.bank_settled_on,
    )


class SqlDebitStore:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def plan(
        self,
        business_date: dt.date,
        plan_days: Sequence[int],
        minimum_fen: int,
        partition: int = 0,
        partitions: int = 1,
    ) -> int:
        return servicing_sql.plan_debits(
            self._conn, business_date, plan_days, minimum_fen, partition, partitions
        )

    def add(self, attempt: DebitAttempt) -> None:
        self._conn.execute(
            insert_into(_d),
            dict(
                id=attempt.attempt_id,
                loan_id=attempt.loan_id,
                borrower_id=attempt.borrower_id,
                business_date=attempt.business_date,
                due_date=attempt.due_date,
                plan_day=attempt.plan_day,
                amount=attempt.amount.to_minor(),
                currency=attempt.amount.currency,
                idempotency_key=attempt.idempotency_key,
                status=attempt.status,
                purpose=attempt.purpose,
                mode=attempt.mode,
            ),
        )

    def open(self, status: str, limit: int) -> list[DebitAttempt]:
        rows = self._conn.execute(
            sa.select(_d)
            .where(_d.c.status == status)
            .order_by(_d.c.business_date, _d.c.id)
            .limit(limit)
        )
        return [_debit(r) for r in rows]

    def get(self, idempotency_key: str, *, for_update: bool = False) -> DebitAttempt | None:
        query = sa.select(_d).where(_d.c.idempotency_key == idempotency_key)
        row = self._conn.execute(query.with_for_update() if for_update else query).first()
        return _debit(row) if row is not None else None

    def save(self, attempt: DebitAttempt) -> None:
        self._conn.execute(
            _d.update()
            .where(_d.c.id == attempt.attempt_id)
            .values(
                amount=attempt.amount.to_minor(),
                status=attempt.status,
                failure_code=attempt.failure_code,
                rail_reference=attempt.rail_reference,
                repayment_id=attempt.repayment_id,
                settled_on=attempt.settled_on,
                last_sequence=attempt.last_sequence,
                bank_settled_on=attempt.bank_settled_on,
                updated_at=sa.func.now(),
            )
        )

    def for_loan(self, loan_id: str) -> list[DebitAttempt]:
        rows = self._conn.execute(
            sa.select(_d).where(_d.c.loan_id == loan_id).order_by(_d.c.created_at, _d.c.id)
        )
        return [_debit(r) for r in rows]


# --------------------------------------------------------------------------- transfers

_x = st.incoming_transfers


def _transfer(row: sa.Row[Any]) -> IncomingTransfer:
    return IncomingTransfer(
        transfer_id=row.id,
        bank_transaction_id=row.bank_transaction_id,
        reference=row.reference,
        payer_masked=row.payer_masked,
        amount=Money.from_minor(row.amount, row.currency),
        received_on=row.received_on,
        status=row.status,
        loan_id=row.loan_id,
        borrower_id=row.borrower_id,
        repayment_id=row.repayment_id,
        suspense_entry_id=row.suspense_entry_id,
        assigned_by=row.assigned_by,
        assigned_at=row.assigned_at,
    )


def _transfer_values(x: IncomingTransfer) -> dict[str, Any]:
    return {
        "id": x.transfer_id,
        "bank_transaction_id": x.bank_transaction_id,
        "reference": x.reference,
        "payer_masked": x.payer_masked,
        "amount": x.amount.to_minor(),
        "currency": x.amount.currency,
        "received_on": x.received_on,
        "status": x.status,
        "loan_id": x.loan_id,
        "borrower_id": x.borrower_id,
        "repayment_id": x.repayment_id,
        "suspense_entry_id": x.suspense_entry_id,
        "assigned_by": x.assigned_by,
        "assigned_at": x.assigned_at,
    }


class SqlTransferStore:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, transfer: IncomingTransfer) -> None:
        self._conn.execute(insert_into(_x), _transfer_values(transfer))

    def by_bank_id(self, bank_transaction_id: str) -> IncomingTransfer | None:
        row = self._conn.execute(
            sa.select(_x).where(_x.c.bank_transaction_id == bank_transaction_id)
        ).first()
        return _transfer(row) if row is not None else None

    def get(self, transfer_id: str, *, for_update: bool = False) -> IncomingTransfer | None:
        query = sa.select(_x).where(_x.c.id == transfer_id)
        row = self._conn.execute(query.with_for_update() if for_update else query).first()
        return _transfer(row) if row is not None else None

    def save(self, transfer: IncomingTransfer) -> None:
        self._conn.execute(
            _x.update().where(_x.c.id == transfer.transfer_id).values(**_transfer_values(transfer))
        )

    def in_suspense(self, limit: int = 100) -> list[IncomingTransfer]:
        rows = self._conn.execute(
            sa.select(_x)
            .where(_x.c.status == "suspense")
            .order_by(_x.c.received_on, _x.c.id)
            .limit(limit)
        )
        return [_transfer(r) for r in rows]


# --------------------------------------------------------------------------- reversals, refunds

_v = st.repayment_reversals
_r = st.credit_refunds


class SqlReversalStore:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, reversal: ReversalRecord) -> None:
        self._conn.execute(
            insert_into(_v),
            dict(
                id=reversal.reversal_id,
                repayment_id=reversal.repayment_id,
                loan_id=reversal.loan_id,
                borrower_id=reversal.borrower_id,
                amount=reversal.amount.to_minor(),
                currency=reversal.amount.currency,
                reason=reversal.reason,
                business_date=reversal.business_date,
                entry_ids=list(reversal.entry_ids),
            ),
        )

    def for_repayment(self, repayment_id: str) -> ReversalRecord | None:
        row = self._conn.execute(sa.select(_v).where(_v.c.repayment_id == repayment_id)).first()
        if row is None:
            return None
        return ReversalRecord(
            reversal_id=row.id,
            repayment_id=row.repayment_id,
            loan_id=row.loan_id,
            borrower_id=row.borrower_id,
            amount=Money.from_minor(row.amount, row.currency),
            reason=row.reason,
            business_date=row.business_date,
            entry_ids=tuple(row.entry_ids),
        )

    def repayment_entry_id(self, loan_id: str, received_on: dt.date, amount: Money) -> list[str]:
        e, p = t.journal_entries, t.postings
        cash_in = (
            sa.select(sa.func.sum(p.c.amount_minor))
            .where(p.c.entry_id == e.c.id, p.c.account.like("cash%"))
            .scalar_subquery()
        )
        rows = self._conn.execute(
            sa.select(e.c.id)
            .where(
                e.c.loan_id == loan_id,
                e.c.kind == "repayment",
                e.c.business_date == received_on,
                cash_in == amount.to_minor(),
            )
            .order_by(e.c.created_at, e.c.id)
        ).scalars()
        return list(rows)


def _refund(row: sa.Row[Any]) -> RefundRecord:
    return RefundRecord(
        refund_id=row.id,
        loan_id=row.loan_id,
        borrower_id=row.borrower_id,
        amount=Money.from_minor(row.amount, row.currency),
        business_date=row.business_date,
        entry_id=row.entry_id,
        idempotency_key=row.idempotency_key,
        status=row.status,
        attempts=row.attempts,
        rail_reference=row.rail_reference,
        failure_code=row.failure_code,
        approved_by=row.approved_by,
    )


class SqlRefundStore:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, refund: RefundRecord) -> None:
        self._conn.execute(
            insert_into(_r),
            dict(
                id=refund.refund_id,
                loan_id=refund.loan_id,
                borrower_id=refund.borrower_id,
                amount=refund.amount.to_minor(),
                currency=refund.amount.currency,
                business_date=refund.business_date,
                entry_id=refund.entry_id,
                idempotency_key=refund.idempotency_key,
                status=refund.status,
            ),
        )

    def pending(self, limit: int = 100, *, status: str = "pending") -> list[RefundRecord]:
        rows = self._conn.execute(
            sa.select(_r).where(_r.c.status == status).order_by(_r.c.created_at).limit(limit)
        )
        return [_refund(r) for r in rows]

    def get(self, refund_id: str, *, for_update: bool = False) -> RefundRecord | None:
        query = sa.select(_r).where(_r.c.id == refund_id)
        row = self._conn.execute(query.with_for_update() if for_update else query).first()
        return _refund(row) if row is not None else None

    def save(self, refund: RefundRecord) -> None:
        self._conn.execute(
            _r.update()
            .where(_r.c.id == refund.refund_id)
            .values(
                status=refund.status,
                attempts=refund.attempts,
                rail_reference=refund.rail_reference,
                failure_code=refund.failure_code,
                approved_by=refund.approved_by,
                entry_id=refund.entry_id,
            )
        )

    def closed_loans_holding_credit(self, limit: int = 1000) -> list[str]:
        failed = (
            sa.select(_r.c.id)
            .where(_r.c.loan_id == t.loans.c.id, _r.c.status.in_(("failed", "awaiting_approval")))
            .exists()
        )
        rows = self._conn.execute(
            sa.select(t.loans.c.id)
            .where(t.loans.c.status == "closed", t.loans.c.credit_balance > 0, ~failed)
            .order_by(t.loans.c.id)
            .limit(limit)
        ).scalars()
        return list(rows)


# --------------------------------------------------------------------------- scores

_s = st.loan_behaviour_scores


def _score(row: sa.Row[Any]) -> ScoreRow:
    return ScoreRow(
        loan_id=row.loan_id,
        borrower_id=row.borrower_id,
        scored_on=row.scored_on,
        score=row.score,
        band=row.band,
        roll_risk=row.roll_risk,
        bucket=row.bucket,
        next_bucket=row.next_bucket,
        days_to_roll=row.days_to_roll,
        dpd=row.dpd,
        max_dpd=row.max_dpd,
        late_installments=row.late_installments,
        avg_days_late=row.avg_days_late,
        partial_installments=row.partial_installments,
        failed_debits=row.failed_debits,
        bureau_events=row.bureau_events,
    )


class SqlScoreStore:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def compute(
        self,
        business_date: dt.date,
        weights: EarlyWarningWeights,
        partition: int = 0,
        partitions: int = 1,
        only: Sequence[str] | None = None,
    ) -> int:
        return servicing_sql.compute_scores(
            self._conn, business_date, weights, partition, partitions, only
        )

    def get(self, loan_id: str) -> ScoreRow | None:
        row = self._conn.execute(sa.select(_s).where(_s.c.loan_id == loan_id)).first()
        return _score(row) if row is not None else None

    def roll_risk(self, limit: int = 100) -> list[ScoreRow]:
        rows = self._conn.execute(
            sa.select(_s)
            .where(_s.c.roll_risk)
            .order_by(_s.c.score.desc(), _s.c.loan_id)
            .limit(limit)
        )
        return [_score(r) for r in rows]

    def count_roll_risk(self) -> int:
        query = sa.select(sa.func.count()).select_from(_s).where(_s.c.roll_risk)
        return int(self._conn.execute(query).scalar_one())

    def add_bureau_change(
        self, borrower_id: str, observed_on: dt.date, kind: str, detail: str = ""
    ) -> None:
        self._conn.execute(
            insert_into(st.bureau_changes),
            dict(borrower_id=borrower_id, observed_on=observed_on, kind=kind, detail=detail),
        )


# --------------------------------------------------------------------------- unit of work


class SqlServicingStores:
    def __init__(self, conn: sa.Connection) -> None:
        self.messages = SqlMessageStore(conn)
        self.debits = SqlDebitStore(conn)
        self.transfers = SqlTransferStore(conn)
        self.reversals = SqlReversalStore(conn)
        self.refunds = SqlRefundStore(conn)
        self.scores = SqlScoreStore(conn)
