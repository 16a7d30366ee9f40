"""Onboarding and security tables (migration ``0002_onboarding``).

Personal data lives only as vault ciphertext (``*_enc``: ``key_id:nonce:ciphertext``)
with keyed blind indexes (``*_bidx``) for equality lookups — the birth date too (migration
``0010_minimised_personal_data``): age rules read it from the unsealed borrower. Client
addresses on consents are kept as their network only (``domain.privacy.reduce_ip``).

Importing this module extends ``tables.borrowers`` with its identity columns and adds
the other tables to the shared ``metadata``.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from mobilend.adapters.db.tables import metadata

BORROWER_STATUSES = ("registered", "kyc_passed", "frozen", "closed")
CONSENT_PURPOSES = ("credit_report_query", "data_use", "e_contract", "marketing")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _instant(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


# Columns are nullable so borrowers created before KYC (or by other features' fixtures
# with only an id) stay valid; uniqueness of a NULL index does not bind.
borrowers = sa.Table(
    "borrowers",
    metadata,
    sa.Column("status", sa.Text, nullable=False, server_default="registered"),
    sa.Column("phone_enc", sa.Text, nullable=True),
    sa.Column("phone_bidx", sa.Text, nullable=True, unique=True),
    sa.Column("name_enc", sa.Text, nullable=True),
    sa.Column("national_id_enc", sa.Text, nullable=True),
    # One open account per national ID; a closed account (a recycled phone number, say)
    # keeps its loans under the same identity (migration 0009).
    sa.Column("national_id_bidx", sa.Text, nullable=True, index=True),
    sa.Column("bank_card_enc", sa.Text, nullable=True),
    sa.Column("bank_card_bidx", sa.Text, nullable=True, index=True),
    sa.Column("birth_date_enc", sa.Text, nullable=True),
    _instant("kyc_verified_at"),
    _instant("last_login_at"),
    sa.Column("freeze_reason", sa.Text, nullable=False, server_default=""),
    _instant("updated_at"),
    sa.CheckConstraint(_in("status", BORROWER_STATUSES), name="status_known"),
    sa.Index(
        "uq_borrowers_open_national_id_bidx",
        "national_id_bidx",
        unique=True,
        postgresql_where=sa.text("status <> 'closed'"),
    ),
    extend_existing=True,
)

otp_challenges = sa.Table(
    "otp_challenges",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("subject", sa.Text, nullable=False),  # the phone's blind index
    sa.Column("code_hash", sa.Text, nullable=False),
    _instant("issued_at", nullable=False),
    _instant("expires_at", nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    _instant("consumed_at"),
    # Latest challenge and sends in the last 24 hours, per phone.
    sa.Index("ix_otp_challenges_subject_issued_at", "subject", "issued_at"),
)

consents = sa.Table(
    "consents",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("borrower_id", sa.Text, sa.ForeignKey("borrowers.id"), nullable=False, index=True),
    sa.Column("purpose", sa.Text, nullable=False),
    sa.Column("text_version", sa.Text, nullable=False),
    _instant("granted_at", nullable=False),
    _instant("withdrawn_at"),
    sa.Column("ip_address", sa.Text, nullable=False, server_default=""),
    sa.Column("device_id", sa.Text, nullable=False, server_default=""),
    sa.CheckConstraint(_in("purpose", CONSENT_PURPOSES), name="purpose_known"),
    # At most one live grant per purpose.
    sa.Index(
        "uq_consents_active_purpose",
        "borrower_id",
        "purpose",
        unique=True,
        postgresql_where=sa.text("withdrawn_at IS NULL"),
    ),
)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),  # the token's jti
    sa.Column("family_id", sa.Text, nullable=False, index=True),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("roles", ARRAY(sa.Text), nullable=False, server_default="{}"),
    _instant("issued_at", nullable=False),
    _instant("expires_at", nullable=False),
    _instant("rotated_at"),
    _instant("revoked_at"),
)

staff_users = sa.Table(
    "staff_users",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("username", sa.Text, nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("roles", ARRAY(sa.Text), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("failed_attempts", sa.Integer, nullable=False, server_default="0"),
    _instant("locked_until"),
    _instant("last_login_at"),
    _instant("created_at", nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    _instant("at", nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("details", JSONB, nullable=False),
    sa.Column("prev_hash", sa.CHAR(64), nullable=False),
    sa.Column("hash", sa.CHAR(64), nullable=False, unique=True),
)
