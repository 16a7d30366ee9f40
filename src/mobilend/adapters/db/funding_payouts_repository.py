"""PostgreSQL stores of the payout side: loan payouts, the funding outbox, rail events,
the ledger queries reconciliation needs, and reconciliation reports.

Claims (outbox messages, payouts to poll) are leases: ``FOR UPDATE SKIP LOCKED`` picks
rows no other worker is claiming, and the claim moves their due time to the end of the
lease in the same statement — a worker killed mid-call leaves rows that fall due again
when the lease runs out.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from mobilend.adapters.db import funding_tables as ft
from mobilend.adapters.db import onboarding_tables
from mobilend.adapters.db import tables as t
from mobilend.adapters.db.outbox_signal import announce
from mobilend.adapters.db.statements import insert_into
from mobilend.adapters.db.transactions import reading_connection
from mobilend.app.funding.ports import (
    CollectionLine,
    OutboxItem,
    PayoutAccount,
    PayoutRecord,
    RailEventRecord,
)
from mobilend.app.onboarding.pii import BANK_CARD, REAL_NAME
from mobilend.app.ports import PiiVault
from mobilend.domain.errors import NotFound
from mobilend.domain.ledger import Account, ComponentAmounts
from mobilend.domain.money import Money

# --------------------------------------------------------------------------- payouts


def _payout_values(p: PayoutRecord, *, for_insert: bool = False) -> dict[str, Any]:
    """The row's values; an update stamps ``updated_at`` now when the record has none (a
    new row gets the column's default: values of an insert are plain parameters)."""
    values: dict[str, Any] = {
        "loan_id": p.loan_id,
        "borrower_id": p.borrower_id,
        "amount": p.amount.to_minor(),
        "currency": p.amount.currency,
        "idempotency_key": p.idempotency_key,
        "status": p.status,
        "business_date": p.business_date,
        "rail_reference": p.rail_reference,
        "failure_code": p.failure_code,
        "attempts": p.attempts,
        "last_sequence": p.last_sequence,
        "sent_at": p.sent_at,
        "confirmed_at": p.confirmed_at,
        "settled_on": p.settled_on,
        "resolved_by": p.resolved_by,
        "settlement_entry_id": p.settlement_entry_id,
        "last_error": p.last_error,
        "next_poll_at": p.next_poll_at,
        "context": json.loads(json.dumps(dict(p.context), default=str)),
    }
    if p.updated_at is not None or not for_insert:
        values["updated_at"] = p.updated_at or sa.func.now()
    if p.created_at is not None:
        values["created_at"] = p.created_at
    return values


def _payout_from_row(row: sa.Row[Any]) -> PayoutRecord:
    return PayoutRecord(
        loan_id=row.loan_id,
        borrower_id=row.borrower_id,
        amount=Money.from_minor(row.amount, row.currency),
        idempotency_key=row.idempotency_key,
        status=row.status,
        business_date=row.business_date,
        created_at=row.created_at,
        updated_at=row.updated_at,
        rail_reference=row.rail_reference,
        failure_code=row.failure_code,
        attempts=row.attempts,
        last_sequence=row.last_sequence,
        sent_at=row.sent_at,
        confirmed_at=row.confirmed_at,
        settled_on=row.settled_on,
        resolved_by=row.resolved_by,
        settlement_entry_id=row.settlement_entry_id,
        last_error=row.last_error,
        next_poll_at=row.next_poll_at,
        context=dict(row.context),
    )


def _payout_query(column: str, locked: bool) -> sa.Select[Any]:
    query = sa.select(ft.loan_payouts).where(ft.loan_payouts.c[column] == sa.bindparam(column))
    return query.with_for_update() if locked else query


#: A payout by its loan or by its idempotency key, plain or locked (statements built
#: once: ``adapters.db.statements``).
_PAYOUT_BY = {
    (column, locked): _payout_query(column, locked)
    for column in ("loan_id", "idempotency_key")
    for locked in (False, True)
}


class SqlPayoutRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, payout: PayoutRecord) -> None:
        self._conn.execute(insert_into(ft.loan_payouts), _payout_values(payout, for_insert=True))

    def _one(self, by: str, value: str, for_update: bool) -> PayoutRecord | None:
        row = self._conn.execute(_PAYOUT_BY[by, for_update], {by: value}).first()
        return None if row is None else _payout_from_row(row)

    def get(self, loan_id: str, *, for_update: bool = False) -> PayoutRecord | None:
        return self._one("loan_id", loan_id, for_update)

    def by_key(self, idempotency_key: str, *, for_update: bool = False) -> PayoutRecord | None:
        return self._one("idempotency_key", idempotency_key, for_update)

    def save(self, payout: PayoutRecord) -> None:
        p = ft.loan_payouts
        self._conn.execute(
            p.update().where(p.c.loan_id == payout.loan_id).values(**_payout_values(payout))
        )

    def awaiting_confirmation(
        self, now: dt.datetime, limit: int, lease_until: dt.datetime
    ) -> list[PayoutRecord]:
        p = ft.loan_payouts
        due = (
            sa.select(p.c.loan_id)
            .where(p.c.status.in_(("sent", "dead_letter")), p.c.next_poll_at <= now)
            .order_by(p.c.next_poll_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        rows = self._conn.execute(
            p.update().where(p.c.loan_id.in_(due)).values(next_poll_at=lease_until).returning(p)
        ).all()
        return [_payout_from_row(r) for r in rows]

    def with_status(self, statuses: Sequence[str], limit: int = 100) -> list[PayoutRecord]:
        p = ft.loan_payouts
        rows = self._conn.execute(
            sa.select(p)
            .where(p.c.status.in_(list(statuses)))
            .order_by(p.c.updated_at, p.c.loan_id)
            .limit(limit)
        )
        return [_payout_from_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        p = ft.loan_payouts
        rows = self._conn.execute(sa.select(p.c.status, sa.func.count()).group_by(p.c.status))
        return {status: int(n) for status, n in rows}

    def amount_with_status(self, statuses: Sequence[str], currency: str) -> Money:
        p = ft.loan_payouts
        total = self._conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(p.c.amount), 0)).where(
                p.c.status.in_(list(statuses)), p.c.currency == currency
            )
        ).scalar_one()
        return Money.from_minor(int(total), currency)

    def settled_on(self, day: dt.date) -> list[PayoutRecord]:
        p = ft.loan_payouts
        rows = self._conn.execute(
            sa.select(p)
            .where(p.c.settled_on == day, p.c.status.in_(("paid", "failed")))
            .order_by(p.c.loan_id)
        )
        return [_payout_from_row(r) for r in rows]


# --------------------------------------------------------------------------- outbox


def _item_from_row(row: sa.Row[Any]) -> OutboxItem:
    return OutboxItem(
        message_id=row.id,
        topic=row.topic,
        borrower_id=row.borrower_id,
        payload=dict(row.payload),
        idempotency_key=row.idempotency_key,
        attempts=row.attempts,
        status=row.status,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
    )


class SqlFundingOutbox:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, item: OutboxItem) -> None:
        values: dict[str, Any] = {
            "id": item.message_id,
            "topic": item.topic,
            "borrower_id": item.borrower_id,
            "payload": dict(item.payload),
            "idempotency_key": item.idempotency_key,
        }
        if item.next_attempt_at is not None:
            values["next_attempt_at"] = item.next_attempt_at
        self._conn.execute(insert_into(ft.funding_outbox), values)
        announce(self._conn)  # wakes the listening workers when this commits

    def claim_due(
        self, topics: Sequence[str], now: dt.datetime, limit: int, lease_until: dt.datetime
    ) -> list[OutboxItem]:
        o = ft.funding_outbox
        due = (
            sa.select(o.c.id)
            .where(o.c.status == "pending", o.c.topic.in_(list(topics)), o.c.next_attempt_at <= now)
            .order_by(o.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        rows = self._conn.execute(
            o.update().where(o.c.id.in_(due)).values(next_attempt_at=lease_until).returning(o)
        ).all()
        return sorted((_item_from_row(r) for r in rows), key=lambda i: i.message_id)

    def _set(self, message_id: str, **values: Any) -> None:
        o = ft.funding_outbox
        self._conn.execute(o.update().where(o.c.id == message_id).values(**values))

    def mark_done(self, message_id: str) -> None:
        self._set(message_id, status="sent", last_error="")

    def mark_retry(
        self, message_id: str, attempts: int, next_attempt_at: dt.datetime, error: str
    ) -> None:
        self._set(message_id, attempts=attempts, next_attempt_at=next_attempt_at, last_error=error)

    def mark_dead(self, message_id: str, attempts: int, error: str) -> None:
        self._set(message_id, status="dead", attempts=attempts, last_error=error)

    def dead(self, topics: Sequence[str], limit: int = 100) -> list[OutboxItem]:
        o = ft.funding_outbox
        rows = self._conn.execute(
            sa.select(o)
            .where(o.c.status == "dead", o.c.topic.in_(list(topics)))
            .order_by(o.c.created_at)
            .limit(limit)
        )
        return [_item_from_row(r) for r in rows]

    def requeue(self, idempotency_key: str, now: dt.datetime) -> bool:
        o = ft.funding_outbox
        row = self._conn.execute(
            o.update()
            .where(o.c.idempotency_key == idempotency_key)
            .values(status="pending", next_attempt_at=now, attempts=0, last_error="")
            .returning(o.c.id)
        ).first()
        return row is not None


# --------------------------------------------------------------------------- rail events


class SqlRailEventLog:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def record(self, event: RailEventRecord) -> bool:
        values: dict[str, Any] = {
            "event_id": event.event_id,
            "idempotency_key": event.idempotency_key,
            "event_type": event.event_type,
            "sequence": event.sequence,
            "final": event.final,
            "outcome": event.outcome,
        }
        if event.received_at is not None:
            values["received_at"] = event.received_at
        row = self._conn.execute(
            pg_insert(ft.rail_events)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(ft.rail_events.c.event_id)
        ).first()
        return row is not None

    def set_outcome(self, event_id: str, outcome: str) -> None:
        e = ft.rail_events
        self._conn.execute(e.update().where(e.c.event_id == event_id).values(outcome=outcome))

    def with_outcome(self, outcome: str, limit: int = 100) -> list[RailEventRecord]:
        e = ft.rail_events
        rows = self._conn.execute(
            sa.select(e).where(e.c.outcome == outcome).order_by(e.c.received_at).limit(limit)
        )
        return [
            RailEventRecord(
                r.event_id,
                r.idempotency_key,
                r.event_type,
                r.sequence,
                r.final,
                r.outcome,
                r.received_at,
            )
            for r in rows
        ]


# --------------------------------------------------------------------------- ledger queries

_RECEIVABLES = {
    Account.LOAN_PRINCIPAL_RECEIVABLE.value: "principal",
    Account.INTEREST_RECEIVABLE.value: "interest",
    Account.FEE_RECEIVABLE.value: "fees",
    Account.PENALTY_RECEIVABLE.value: "penalty",
}


_reversing = t.journal_entries.alias("reversing")

#: How a ``funder_share`` posting's account maps to the component it moved.
_SHARE_COMPONENTS = {
    Account.INTEREST_INCOME.value: "interest",
    Account.FEE_INCOME.value: "fees",
    Account.PENALTY_INCOME.value: "penalty",
}


class SqlFundingLedgerQueries:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def account_balance(self, account: str, currency: str) -> Money:
        p = t.postings
        total = self._conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(p.c.amount_minor), 0)).where(
                p.c.account == account, p.c.currency == currency
            )
        ).scalar_one()
        return Money.from_minor(int(total), currency)

    def debits_on(self, account: str, day: dt.date) -> dict[str, tuple[int, Money]]:
        e, p = t.journal_entries, t.postings
        rows = self._conn.execute(
            sa.select(p.c.loan_id, p.c.currency, sa.func.count(), sa.func.sum(p.c.amount_minor))
            .join(e, e.c.id == p.c.entry_id)
            .where(p.c.account == account, p.c.amount_minor > 0, e.c.business_date == day)
            .group_by(p.c.loan_id, p.c.currency)
        )
        return {r[0]: (int(r[2]), Money.from_minor(int(r[3]), r[1])) for r in rows}

    def shares_posted(self, day: dt.date) -> dict[tuple[str, str], ComponentAmounts]:
        e, p = t.journal_entries, t.postings
        rows = self._conn.execute(
            sa.select(
                e.c.loan_id, p.c.party, p.c.account, p.c.currency, sa.func.sum(p.c.amount_minor)
            )
            .join(p, p.c.entry_id == e.c.id)
            .where(e.c.kind == "funder_share", e.c.business_date == day, p.c.amount_minor != 0)
            .group_by(e.c.loan_id, p.c.party, p.c.account, p.c.currency)
        )
        parts: dict[tuple[str, str], dict[str, Money]] = {}
        for loan_id, party, account, currency, amount in rows:
            if account.startswith("funder_payable"):
                continue
            component = _SHARE_COMPONENTS.get(account, "principal")
            found = parts.setdefault((loan_id, party), {})
            money = Money.from_minor(int(amount), currency)
            found[component] = found[component] + money if component in found else money
        result = {}
        for key, found in parts.items():
            zero = Money.zero(next(iter(found.values())).currency)
            result[key] = ComponentAmounts(
                found.get("principal", zero),
                found.get("interest", zero),
                found.get("fees", zero),
                found.get("penalty", zero),
            )
        return result

    def posted(self, entry_ids: Sequence[str]) -> set[str]:
        if not entry_ids:
            return set()
        ids = t.journal_entries.c.id
        return set(self._conn.execute(sa.select(ids).where(ids.in_(entry_ids))).scalars())

    def collections(self, first: dt.date, last: dt.date) -> list[CollectionLine]:
        e, p = t.journal_entries, t.postings
        rows = self._conn.execute(
            sa.select(
                e.c.loan_id,
                e.c.business_date,
                p.c.account,
                p.c.currency,
                sa.func.sum(p.c.amount_minor),
                sa.func.min(e.c.borrower_id),
            )
            .join(p, p.c.entry_id == e.c.id)
            .where(
                e.c.kind.in_(("repayment", "credit_application")),
                e.c.business_date.between(first, last),
                p.c.account.in_(list(_RECEIVABLES)),
                p.c.amount_minor < 0,
                ~sa.exists().where(_reversing.c.reverses == e.c.id),
            )
            .group_by(e.c.loan_id, e.c.business_date, p.c.account, p.c.currency)
            .order_by(e.c.loan_id, e.c.business_date)
        )
        grouped: dict[tuple[str, dt.date], dict[str, Money]] = {}
        currencies: dict[tuple[str, dt.date], str] = {}
        borrowers: dict[str, str] = {}
        for loan_id, day, account, currency, amount, borrower_id in rows:
            key = (loan_id, day)
            currencies[key] = currency
            borrowers[loan_id] = borrower_id
            grouped.setdefault(key, {})[_RECEIVABLES[account]] = Money.from_minor(
                -int(amount), currency
            )
        lines = []
        for (loan_id, day), parts in grouped.items():
            zero = Money.zero(currencies[(loan_id, day)])
            lines.append(
                CollectionLine(
                    loan_id,
                    day,
                    ComponentAmounts(
                        parts.get("principal", zero),
                        parts.get("interest", zero),
                        parts.get("fees", zero),
                        parts.get("penalty", zero),
                    ),
                    borrowers[loan_id],
                )
            )
        return lines


class SqlReconciliationStore:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def save(self, day: dt.date, report: Mapping[str, Any]) -> None:
        r = ft.reconciliation_reports
        values = {
            "clean": bool(report.get("clean")),
            "breaks": len(report.get("breaks", ())),
            "report": json.loads(json.dumps(dict(report), default=str)),
        }
        self._conn.execute(
            pg_insert(r)
            .values(business_date=day, **values)
            .on_conflict_do_update(index_elements=["business_date"], set_=values)
        )

    def get(self, day: dt.date) -> Mapping[str, Any] | None:
        r = ft.reconciliation_reports
        row = self._conn.execute(sa.select(r.c.report).where(r.c.business_date == day)).first()
        return None if row is None else dict(row.report)


class SqlVaultPayoutAccounts:
    """Borrowers' verified cards, decrypted from the onboarding records only for the call
    to the rail (never stored anywhere else)."""

    def __init__(self, engine: sa.Engine, vault: PiiVault) -> None:
        self._engine = engine
        self._vault = vault

    def for_borrower(self, borrower_id: str) -> PayoutAccount:
        b = onboarding_tables.borrowers
        with reading_connection(self._engine) as conn:
            row = conn.execute(
                sa.select(b.c.name_enc, b.c.bank_card_enc).where(b.c.id == borrower_id)
            ).first()
        if row is None or not row.bank_card_enc:
            raise NotFound(f"no verified bank card for borrower {borrower_id}")
        name = self._vault.decrypt(REAL_NAME, row.name_enc) if row.name_enc else ""
        return PayoutAccount(name or borrower_id, self._vault.decrypt(BANK_CARD, row.bank_card_enc))
