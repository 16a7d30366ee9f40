"""Personal data kept to what its purpose needs: the birth date sealed, client addresses
reduced to their network.

- ``borrowers.birth_date`` (a clear date) becomes ``birth_date_enc``, sealed by the PII
  vault like the name and the ID number. Existing rows are sealed here, with the key
  ring the service uses (``MOBILEND_PII_KEYS``, or the development keys under
  ``var/secrets``).
- ``consents.ip_address`` and ``loan_contracts.ip_address`` keep the /24 network of an
  IPv4 address (/48 of IPv6): enough to show roughly where a consent or a signature came
  from, not which subscriber. Signed contracts are otherwise immutable; their trigger is
  set aside for this one update, which changes no signed term or hash.

Downgrade restores the clear birth date (from the seal); reduced addresses stay reduced.

Revision ID: 0010_minimised_personal_data
Revises: 0009_rate_limit_counters
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from alembic import op

from mobilend.domain.privacy import reduce_ip

revision = "0010_minimised_personal_data"
down_revision = "0009_rate_limit_counters"
branch_labels = None
depends_on = None

BIRTH_DATE = "birth_date"  # the vault field (app.onboarding_pii.BIRTH_DATE)
BATCH = 1000


def _vault() -> Any:
    """The service's PII vault: configured keys, else this machine's development keys."""
    import os

    from mobilend.adapters.vault import FieldVault, load_pii_secrets
    from mobilend.config import get_settings

    settings = get_settings()
    secrets = load_pii_secrets(
        settings.pii_keys.get_secret_value(),
        settings.pii_index_key.get_secret_value() or os.environ.get("MOBILEND_PII_INDEX_KEY", ""),
        var_dir=settings.var_path,
    )
    return FieldVault.from_secrets(secrets)


def _reduce_addresses(conn: sa.Connection, table: str) -> None:
    addresses = conn.execute(
        sa.text(f"SELECT DISTINCT ip_address FROM {table} WHERE ip_address <> ''")
    ).scalars()
    for address in list(addresses):
        reduced = reduce_ip(address)
        if reduced != address:
            conn.execute(
                sa.text(f"UPDATE {table} SET ip_address = :new WHERE ip_address = :old"),
                {"new": reduced, "old": address},
            )


def upgrade() -> None:
    conn = op.get_bind()
    op.add_column("borrowers", sa.Column("birth_date_enc", sa.Text(), nullable=True))
    pending = conn.execute(
        sa.text("SELECT count(*) FROM borrowers WHERE birth_date IS NOT NULL")
    ).scalar_one()
    if pending:
        vault = _vault()
        last_id = ""
        while True:
            rows = conn.execute(
                sa.text(
                    "SELECT id, birth_date FROM borrowers WHERE birth_date IS NOT NULL "
                    "AND id > :last ORDER BY id LIMIT :n"
                ),
                {"last": last_id, "n": BATCH},
            ).all()
            if not rows:
                break
            conn.execute(
                sa.text("UPDATE borrowers SET birth_date_enc = :sealed WHERE id = :id"),
                [
                    {"id": row.id, "sealed": vault.encrypt(BIRTH_DATE, row.birth_date.isoformat())}
                    for row in rows
                ],
            )
            last_id = rows[-1].id
    op.drop_column("borrowers", "birth_date")

    _reduce_addresses(conn, "consents")
    op.execute("ALTER TABLE loan_contracts DISABLE TRIGGER loan_contracts_signed_immutable")
    _reduce_addresses(conn, "loan_contracts")
    op.execute("ALTER TABLE loan_contracts ENABLE TRIGGER loan_contracts_signed_immutable")


def downgrade() -> None:
    conn = op.get_bind()
    op.add_column("borrowers", sa.Column("birth_date", sa.Date(), nullable=True))
    sealed = conn.execute(
        sa.text("SELECT id, birth_date_enc FROM borrowers WHERE birth_date_enc IS NOT NULL")
    ).all()
    if sealed:
        vault = _vault()
        conn.execute(
            sa.text("UPDATE borrowers SET birth_date = :day WHERE id = :id"),
            [
                {
                    "id": r.id,
                    "day": dt.date.fromisoformat(vault.decrypt(BIRTH_DATE, r.birth_date_enc)),
                }
                for r in sealed
            ],
        )
    op.drop_column("borrowers", "birth_date_enc")
