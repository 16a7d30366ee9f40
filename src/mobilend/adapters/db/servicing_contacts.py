"""Who a borrower is to a message: the phone from the onboarding record (decrypted with
the PII vault only for the gateway call), the app's push token, time zone and language,
and whether the marketing consent is active."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from mobilend.adapters.db import onboarding_tables as ot
from mobilend.adapters.db import servicing_tables as st
from mobilend.app.onboarding.pii import PHONE
from mobilend.app.ports import PiiVault
from mobilend.app.servicing.ports import Contact
from mobilend.app.servicing.settings import DEFAULT_TIME_ZONE
from mobilend.domain.errors import NotFound


class SqlContactDirectory:
    def __init__(
        self, engine: sa.Engine, vault: PiiVault, default_time_zone: str = DEFAULT_TIME_ZONE
    ) -> None:
        self._engine = engine
        self._vault = vault
        self._default_zone = default_time_zone

    def contact(self, borrower_id: str) -> Contact:
        b, s, c = ot.borrowers, st.borrower_contact_settings, ot.consents
        marketing = (
            sa.select(sa.literal(True))
            .where(
                c.c.borrower_id == b.c.id,
                c.c.purpose == "marketing",
                c.c.withdrawn_at.is_(None),
            )
            .exists()
        )
        query = (
            sa.select(b.c.phone_enc, s.c.time_zone, s.c.locale, s.c.push_token, marketing)
            .select_from(b.outerjoin(s, s.c.borrower_id == b.c.id))
            .where(b.c.id == borrower_id)
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"borrower {borrower_id} not found")
        return Contact(
            borrower_id=borrower_id,
            phone=self._vault.decrypt(PHONE, row.phone_enc) if row.phone_enc else None,
            push_token=row.push_token or None,
            time_zone=row.time_zone or self._default_zone,
            locale=row.locale or "zh-CN",
            marketing_allowed=bool(row[4]),
        )

    def update(
        self,
        borrower_id: str,
        *,
        time_zone: str | None = None,
        locale: str | None = None,
        push_token: str | None = None,
    ) -> None:
        s = st.borrower_contact_settings
        changes: dict[str, Any] = {
            k: v
            for k, v in (("time_zone", time_zone), ("locale", locale), ("push_token", push_token))
            if v is not None
        }
        values = {"borrower_id": borrower_id, **changes}
        statement = pg_insert(s).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=["borrower_id"], set_={**changes, "updated_at": sa.func.now()}
        )
        with self._engine.begin() as conn:
            conn.execute(statement)
