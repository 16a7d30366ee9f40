"""Who a collections contact reaches, from PostgreSQL and the PII vault: the borrower's
phone, push token, time zone and language (servicing's contact directory), the contact
persons the borrower listed, and — for the legal case file only — name and masked ID."""

from __future__ import annotations

import secrets
from typing import Any

import sqlalchemy as sa

from mobilend.adapters.db import collections_tables as ct
from mobilend.adapters.db import onboarding_tables as ot
from mobilend.adapters.db import servicing_tables as st
from mobilend.adapters.db.transactions import reading_connection
from mobilend.app.collections.ports import ContactPerson, Identity, Reach
from mobilend.app.onboarding.pii import NATIONAL_ID, PHONE, REAL_NAME
from mobilend.app.ports import PiiVault
from mobilend.domain.borrowers import mask_national_id
from mobilend.domain.errors import NotFound


class SqlBorrowerReach:
    def __init__(self, engine: sa.Engine, vault: PiiVault, default_time_zone: str) -> None:
        self._engine = engine
        self._vault = vault
        self._default_zone = default_time_zone

    def reach(self, borrower_id: str) -> Reach:
        """Servicing's contact directory entry and the sealed name, in one read."""
        row = self._read(sa.literal(borrower_id), ot.borrowers.c.id == borrower_id)
        if row is None or row.borrower_id is None:
            raise NotFound(f"borrower {borrower_id} not found")
        return self._reach(row)

    def reach_for_case(self, case_id: str) -> Reach:
        """The case's borrower, read with the case in one query (the gate asks for every
        contact it checks)."""
        cases = ct.collection_cases
        row = self._read(cases.c.borrower_id, cases.c.id == case_id, cases)
        if row is None:
            raise NotFound(f"没有该案件 (no collection case {case_id})")
        if row.borrower_id is None:
            raise NotFound(f"borrower {row.case_borrower_id} not found")
        return self._reach(row)

    def _read(
        self,
        borrower_id: sa.ColumnElement[Any],
        where: sa.ColumnElement[bool],
        case_table: sa.Table | None = None,
    ) -> sa.Row[Any] | None:
        b, s = ot.borrowers, st.borrower_contact_settings
        people: sa.FromClause = b.outerjoin(s, s.c.borrower_id == b.c.id)
        if case_table is not None:
            people = case_table.outerjoin(people, b.c.id == case_table.c.borrower_id)
        query = sa.select(
            borrower_id.label("case_borrower_id"), b.c.id.label("borrower_id"), b.c.phone_enc,
            b.c.name_enc, s.c.time_zone, s.c.locale, s.c.push_token,
        ).select_from(people).where(where)  # fmt: skip
        with reading_connection(self._engine) as conn:
            return conn.execute(query).first()

    def _reach(self, row: sa.Row[Any]) -> Reach:
        locale = row.locale or "zh-CN"
        return Reach(
            borrower_id=row.borrower_id,
            phone=self._vault.decrypt(PHONE, row.phone_enc) if row.phone_enc else None,
            push_token=row.push_token or None,
            time_zone=row.time_zone or self._default_zone,
            locale=locale,
            display_name=self._surname_title(row.name_enc, locale),
        )

    def _surname_title(self, sealed: str | None, locale: str) -> str:
        if not sealed:
            return ""
        name = self._vault.decrypt(REAL_NAME, sealed)
        # Surname and a neutral title: scripts never spell out a full name.
        return f"{name[:1]}先生/女士" if not locale.startswith("en") else f"Mx {name[:1]}"

    def contact_persons(self, borrower_id: str) -> list[ContactPerson]:
        p = ct.collection_contact_persons
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(p).where(p.c.borrower_id == borrower_id).order_by(p.c.id))
            return [
                ContactPerson(
                    r.id, r.borrower_id, r.relation, self._vault.decrypt(PHONE, r.phone_enc)
                )
                for r in rows
            ]

    def add_contact_person(self, borrower_id: str, relation: str, phone: str) -> str:
        """Store a contact person the borrower listed (sealed); returns its id."""
        person_id = "cp_" + secrets.token_hex(8)
        with self._engine.begin() as conn:
            conn.execute(
                ct.collection_contact_persons.insert().values(
                    id=person_id,
                    borrower_id=borrower_id,
                    relation=relation,
                    phone_enc=self._vault.encrypt(PHONE, phone),
                )
            )
        return person_id

    def identity(self, borrower_id: str) -> Identity:
        b = ot.borrowers
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(b.c.name_enc, b.c.national_id_enc, b.c.phone_enc).where(
                    b.c.id == borrower_id
                )
            ).first()
        if row is None:
            raise NotFound(f"borrower {borrower_id} not found")
        name = self._vault.decrypt(REAL_NAME, row.name_enc) if row.name_enc else ""
        national = (
            self._vault.decrypt(NATIONAL_ID, row.national_id_enc) if row.national_id_enc else ""
        )
        phone = self._vault.decrypt(PHONE, row.phone_enc) if row.phone_enc else ""
        return Identity(name, mask_national_id(national) if national else "", phone)
