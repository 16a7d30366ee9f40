"""PostgreSQL repositories of the lending core's money records: the journal (entries and
their postings) and the repayments received, bound to a unit of work's connection
(``SqlLendingStores`` in ``lending_repository``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from mobilend.adapters.db import tables as t
from mobilend.adapters.db.statements import insert_into
from mobilend.app.lending.ports import RepaymentRecord
from mobilend.domain.ledger import Account, EntryKind, JournalEntry, Posting
from mobilend.domain.money import Money

_REPAYMENT_BY_KEY = sa.select(t.repayments).where(
    t.repayments.c.idempotency_key == sa.bindparam("key")
)


# --------------------------------------------------------------------------- ledger


class SqlLedgerRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def append(self, entries: Sequence[JournalEntry], borrower_id: str | None = None) -> None:
        if not entries:
            return
        self._conn.execute(
            insert_into(t.journal_entries),
            [
                {
                    "id": e.entry_id,
                    "kind": e.kind.value,
                    "business_date": e.business_date,
                    "loan_id": e.loan_id,
                    "borrower_id": borrower_id,
                    "reverses": e.reverses,
                    "memo": e.memo,
                }
                for e in entries
            ],
        )
        self._conn.execute(
            insert_into(t.postings),
            [
                {
                    "entry_id": e.entry_id,
                    "account": p.account,
                    "party": p.party,
                    "loan_id": p.loan_id,
                    "borrower_id": borrower_id,
                    "amount_minor": p.amount.to_minor(),
                    "currency": p.amount.currency,
                }
                for e in entries
                for p in e.postings
            ],
        )

    def entries_for_loan(self, loan_id: str) -> list[JournalEntry]:
        entry_rows = self._conn.execute(
            sa.select(t.journal_entries)
            .where(t.journal_entries.c.loan_id == loan_id)
            .order_by(t.journal_entries.c.created_at, t.journal_entries.c.id)
        ).all()
        if not entry_rows:
            return []
        posting_rows = self._conn.execute(
            sa.select(t.postings)
            .where(t.postings.c.entry_id.in_([r.id for r in entry_rows]))
            .order_by(t.postings.c.id)
        ).all()
        by_entry: dict[str, list[Posting]] = {}
        for p in posting_rows:
            by_entry.setdefault(p.entry_id, []).append(
                Posting(p.account, Money.from_minor(p.amount_minor, p.currency), p.loan_id, p.party)
            )
        return [
            JournalEntry(
                entry_id=r.id,
                kind=EntryKind(r.kind),
                business_date=r.business_date,
                postings=tuple(by_entry[r.id]),
                loan_id=r.loan_id,
                reverses=r.reverses,
                memo=r.memo,
            )
            for r in entry_rows
        ]

    def trial_balance(self) -> dict[tuple[str, str], Money]:
        rows = self._conn.execute(
            sa.select(
                t.postings.c.account, t.postings.c.currency, sa.func.sum(t.postings.c.amount_minor)
            ).group_by(t.postings.c.account, t.postings.c.currency)
        )
        return {(r[0], r[1]): Money.from_minor(int(r[2]), r[1]) for r in rows}

    def loan_account_balances(self, loan_id: str) -> dict[Account, Money]:
        """Postings of one loan summed per base account, straight from SQL."""
        rows = self._conn.execute(
            sa.select(
                t.postings.c.account, t.postings.c.currency, sa.func.sum(t.postings.c.amount_minor)
            )
            .where(t.postings.c.loan_id == loan_id)
            .group_by(t.postings.c.account, t.postings.c.currency)
        )
        result: dict[Account, Money] = {}
        for account, currency, amount in rows:
            base = Account(account.split(":", 1)[0])
            result[base] = result.get(base, Money.zero(currency)) + Money.from_minor(
                int(amount), currency
            )
        return {k: v for k, v in result.items() if not v.is_zero()}


# --------------------------------------------------------------------------- repayments


def _repayment_from_row(row: sa.Row[Any]) -> RepaymentRecord:
    return RepaymentRecord(
        repayment_id=row.id,
        loan_id=row.loan_id,
        borrower_id=row.borrower_id,
        amount=Money.from_minor(row.amount, row.currency),
        received_on=row.received_on,
        channel=row.channel,
        idempotency_key=row.idempotency_key,
        allocation=dict(row.allocation),
    )


class SqlRepaymentRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, record: RepaymentRecord) -> None:
        self._conn.execute(
            insert_into(t.repayments),
            dict(
                id=record.repayment_id,
                loan_id=record.loan_id,
                borrower_id=record.borrower_id,
                amount=record.amount.to_minor(),
                currency=record.amount.currency,
                received_on=record.received_on,
                channel=record.channel,
                idempotency_key=record.idempotency_key,
                allocation=json.loads(json.dumps(record.allocation)),
            ),
        )

    def by_idempotency_key(self, key: str) -> RepaymentRecord | None:
        row = self._conn.execute(_REPAYMENT_BY_KEY, {"key": key}).first()
        return _repayment_from_row(row) if row is not None else None

    def for_loan(self, loan_id: str) -> list[RepaymentRecord]:
        rows = self._conn.execute(
            sa.select(t.repayments)
            .where(t.repayments.c.loan_id == loan_id)
            .order_by(t.repayments.c.created_at, t.repayments.c.id)
        )
        return [_repayment_from_row(r) for r in rows]
