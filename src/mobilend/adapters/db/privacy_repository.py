"""PostgreSQL side of privacy: every row held about a borrower (the data subject's export)
and erasure, both following the register (``app.privacy.register.HOLDINGS``).

Erasure is irreversible by design: personal columns are set to NULL (or emptied) and
rows are deleted in place; nothing is copied aside. The ledger, loans, contracts and
the other records the law requires are kept, keyed by the borrower id alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from mobilend.adapters.db import tables as t
from mobilend.adapters.db.compliance_tables import erasure_requests
from mobilend.adapters.db.decision_record_repository import open_record
from mobilend.adapters.db.onboarding_tables import borrowers
from mobilend.adapters.db.risk_tables import decisions
from mobilend.adapters.db.statements import insert_into
from mobilend.adapters.db.tables import load_all_tables
from mobilend.app.ports import PiiVault
from mobilend.app.privacy.ports import ErasureRequest, HeldRows, JsonValue, Relationship
from mobilend.app.privacy.register import HOLDING_BY_TABLE, HOLDINGS, Erasure, Holding


def json_value(value: Any) -> JsonValue:
    """A column value as JSON: text for decimals, ISO for dates, lists and objects kept."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return str(value)


def _table(name: str) -> sa.Table:
    return load_all_tables().tables[name]


class SqlPersonalDataStore:
    def __init__(self, conn: sa.Connection, vault: PiiVault | None) -> None:
        self._conn = conn
        self._vault = vault

    def _keys(self, borrower_id: str) -> Mapping[str, Any] | None:
        row = self._conn.execute(sa.select(borrowers).where(borrowers.c.id == borrower_id)).first()
        return None if row is None else dict(row._mapping)

    def rows_of(self, borrower_id: str, tables: Sequence[str]) -> list[HeldRows]:
        keys = self._keys(borrower_id)
        if keys is None:
            return []
        held = []
        for name in tables:
            holding = HOLDING_BY_TABLE[name]
            if not holding.found_by:
                continue
            column, source = holding.found_by
            value = keys.get(source)
            if value is None:
                held.append(HeldRows(name, ()))
                continue
            table = _table(name)
            order = [c for c in table.primary_key.columns] or list(table.columns)[:1]
            rows = self._conn.execute(
                sa.select(table).where(table.c[column] == value).order_by(*order)
            )
            held.append(
                HeldRows(
                    name,
                    tuple({k: json_value(v) for k, v in row._mapping.items()} for row in rows),
                )
            )
        return held

    def decision_records(self, borrower_id: str) -> list[Mapping[str, JsonValue]]:
        if self._vault is None:
            raise RuntimeError("opening decision records needs the PII vault")
        rows = self._conn.execute(
            sa.select(decisions.c.record)
            .where(decisions.c.borrower_id == borrower_id)
            .order_by(decisions.c.decided_on, decisions.c.id)
        ).scalars()
        opened = []
        for sealed in rows:
            record = json_value(open_record(sealed, self._vault))
            assert isinstance(record, dict)
            opened.append(record)
        return opened

    def tables_with_borrowers(self) -> list[str]:
        names = [
            name
            for name, table in load_all_tables().tables.items()
            if "borrower_id" in table.columns
        ]
        return sorted({*names, "borrowers"})


_OWED = ("active", "pending_disbursement")


class SqlErasureStore:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def relationship(self, borrower_id: str, on: dt.date) -> Relationship | None:
        row = self._conn.execute(
            sa.select(
                borrowers.c.id,
                borrowers.c.status,
                borrowers.c.created_at,
                borrowers.c.phone_enc,
                borrowers.c.national_id_enc,
            ).where(borrowers.c.id == borrower_id)
        ).first()
        if row is None:
            return None
        loans, lines = t.loans.c, t.credit_lines.c
        owes = self._conn.execute(
            sa.select(sa.exists().where(loans.borrower_id == borrower_id, loans.status.in_(_OWED)))
        ).scalar_one()
        last_closed = self._conn.execute(
            sa.select(sa.func.max(loans.closed_on)).where(loans.borrower_id == borrower_id)
        ).scalar()
        usable = self._conn.execute(
            sa.select(sa.func.count()).where(
                lines.borrower_id == borrower_id,
                lines.status.in_(("active", "frozen")),
                sa.or_(lines.expires_on.is_(None), lines.expires_on >= on),
            )
        ).scalar_one()
        return Relationship(
            borrower_id=row.id,
            status=row.status,
            registered_on=row.created_at.date(),
            owes=bool(owes),
            usable_lines=int(usable),
            last_loan_closed_on=last_closed,
            erased=row.phone_enc is None and row.national_id_enc is None and row.status == "closed",
        )

    def request_of(self, borrower_id: str) -> ErasureRequest | None:
        row = self._conn.execute(
            sa.select(erasure_requests).where(erasure_requests.c.borrower_id == borrower_id)
        ).first()
        return None if row is None else _request(row)

    def add_request(self, request: ErasureRequest) -> None:
        self._conn.execute(
            insert_into(erasure_requests),
            dict(
                borrower_id=request.borrower_id,
                requested_at=request.requested_at,
                requested_by=request.requested_by,
            ),
        )

    def pending(self, limit: int = 500) -> list[ErasureRequest]:
        rows = self._conn.execute(
            sa.select(erasure_requests)
            .where(erasure_requests.c.erased_at.is_(None))
            .order_by(erasure_requests.c.requested_at, erasure_requests.c.borrower_id)
            .limit(limit)
        )
        return [_request(row) for row in rows]

    def erase(self, borrower_id: str) -> dict[str, int]:
        keys = self._conn.execute(
            sa.select(borrowers).where(borrowers.c.id == borrower_id).with_for_update()
        ).first()
        if keys is None:
            return {}
        values = dict(keys._mapping)
        removed: dict[str, int] = {}
        # The borrower row last: the other tables are found through its keys.
        for holding in sorted(HOLDINGS, key=lambda h: h.table == "borrowers"):
            if holding.erasure is Erasure.KEEP or not holding.found_by:
                continue
            column, source = holding.found_by
            if values.get(source) is None:
                continue
            table = _table(holding.table)
            where = table.c[column] == values[source]
            if holding.erasure is Erasure.DELETE:
                count = self._conn.execute(table.delete().where(where)).rowcount
            else:
                cleared = _cleared(table, holding)
                if holding.table == "borrowers":
                    cleared["status"] = "closed"
                count = self._conn.execute(table.update().where(where).values(**cleared)).rowcount
            removed[holding.table] = int(count)
        return removed

    def mark_erased(
        self,
        borrower_id: str,
        at: dt.datetime,
        retention_ended_on: dt.date,
        removed: Mapping[str, int],
    ) -> None:
        self._conn.execute(
            erasure_requests.update()
            .where(erasure_requests.c.borrower_id == borrower_id)
            .values(erased_at=at, retention_ended_on=retention_ended_on, removed=dict(removed))
        )


def _cleared(table: sa.Table, holding: Holding) -> dict[str, Any]:
    """The emptied value of each of the holding's columns: NULL where allowed, else an
    empty JSON object or text."""
    values: dict[str, Any] = {}
    for name in holding.columns:
        column = table.c[name]
        if column.nullable:
            values[name] = None
        elif isinstance(column.type, JSONB):
            values[name] = {}
        else:
            values[name] = ""
    return values


def _request(row: sa.Row[Any]) -> ErasureRequest:
    return ErasureRequest(
        borrower_id=row.borrower_id,
        requested_at=row.requested_at,
        requested_by=row.requested_by,
        erased_at=row.erased_at,
        retention_ended_on=row.retention_ended_on,
        removed=dict(row.removed or {}),
    )


class SqlPrivacyStores:
    """Privacy's store group, bound to one transaction's connection."""

    def __init__(self, conn: sa.Connection, vault: PiiVault | None = None) -> None:
        self.personal_data = SqlPersonalDataStore(conn, vault)
        self.erasures = SqlErasureStore(conn)
