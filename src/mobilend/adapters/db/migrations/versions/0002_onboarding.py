"""Onboarding and security: borrower identity columns (encrypted), OTP challenges,
consents, refresh tokens, staff users, and the append-only audit log.

Revision ID: 0002_onboarding
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_onboarding"
down_revision = "0001"
branch_labels = None
depends_on = None

# The audit log refuses UPDATE, DELETE and TRUNCATE. A test suite that clears its own
# database says so with the same session switch the ledger honours.
AUDIT_RULES = [
    """
    CREATE FUNCTION audit_log_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'TRUNCATE'
           AND coalesce(current_setting('mobilend.allow_ledger_truncate', true), '') = 'on' THEN
            RETURN NULL;
        END IF;
        RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
            USING ERRCODE = 'restrict_violation';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()
    """,
    """
    CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()
    """,
]

DROP_AUDIT_RULES = [
    "DROP TRIGGER audit_log_no_truncate ON audit_log",
    "DROP TRIGGER audit_log_append_only ON audit_log",
    "DROP FUNCTION audit_log_refuse_change()",
]


def _ts(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    # borrowers exists (0001) with id and created_at; it gains its identity columns.
    op.add_column(
        "borrowers", sa.Column("status", sa.Text(), server_default="registered", nullable=False)
    )
    for name in (
        "phone_enc",
        "phone_bidx",
        "name_enc",
        "national_id_enc",
        "national_id_bidx",
        "bank_card_enc",
        "bank_card_bidx",
    ):
        op.add_column("borrowers", sa.Column(name, sa.Text(), nullable=True))
    op.add_column("borrowers", sa.Column("birth_date", sa.Date(), nullable=True))
    op.add_column("borrowers", _ts("kyc_verified_at"))
    op.add_column("borrowers", _ts("last_login_at"))
    op.add_column(
        "borrowers", sa.Column("freeze_reason", sa.Text(), server_default="", nullable=False)
    )
    op.add_column("borrowers", _ts("updated_at"))
    op.create_unique_constraint(op.f("uq_borrowers_phone_bidx"), "borrowers", ["phone_bidx"])
    op.create_unique_constraint(
        op.f("uq_borrowers_national_id_bidx"), "borrowers", ["national_id_bidx"]
    )
    op.create_index(op.f("ix_borrowers_bank_card_bidx"), "borrowers", ["bank_card_bidx"])
    op.create_check_constraint(
        op.f("ck_borrowers_status_known"),
        "borrowers",
        "status IN ('registered', 'kyc_passed', 'frozen', 'closed')",
    )

    op.create_table(
        "otp_challenges",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("code_hash", sa.Text(), nullable=False),
        _ts("issued_at", nullable=False),
        _ts("expires_at", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        _ts("consumed_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_otp_challenges")),
    )
    op.create_index(
        "ix_otp_challenges_subject_issued_at", "otp_challenges", ["subject", "issued_at"]
    )

    op.create_table(
        "consents",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("text_version", sa.Text(), nullable=False),
        _ts("granted_at", nullable=False),
        _ts("withdrawn_at"),
        sa.Column("ip_address", sa.Text(), server_default="", nullable=False),
        sa.Column("device_id", sa.Text(), server_default="", nullable=False),
        sa.CheckConstraint(
            "purpose IN ('credit_report_query', 'data_use', 'e_contract', 'marketing')",
            name=op.f("ck_consents_purpose_known"),
        ),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name=op.f("fk_consents_borrower_id_borrowers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    op.create_index(op.f("ix_consents_borrower_id"), "consents", ["borrower_id"])
    op.create_index(
        "uq_consents_active_purpose",
        "consents",
        ["borrower_id", "purpose"],
        unique=True,
        postgresql_where=sa.text("withdrawn_at IS NULL"),
    )

    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("family_id", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("roles", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        _ts("issued_at", nullable=False),
        _ts("expires_at", nullable=False),
        _ts("rotated_at"),
        _ts("revoked_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
    )
    op.create_index(op.f("ix_refresh_tokens_family_id"), "refresh_tokens", ["family_id"])

    op.create_table(
        "staff_users",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("roles", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), server_default="0", nullable=False),
        _ts("locked_until"),
        _ts("last_login_at"),
        _ts("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_users")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_users_username")),
    )

    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        _ts("at", nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("details", postgresql.JSONB(), nullable=False),
        sa.Column("prev_hash", sa.CHAR(64), nullable=False),
        sa.Column("hash", sa.CHAR(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_log_hash")),
    )
    for statement in AUDIT_RULES:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_AUDIT_RULES:
        op.execute(statement)
    op.drop_table("audit_log")
    op.drop_table("staff_users")
    op.drop_index(op.f("ix_refresh_tokens_family_id"), table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    op.drop_index(
        "uq_consents_active_purpose",
        table_name="consents",
        postgresql_where=sa.text("withdrawn_at IS NULL"),
    )
    op.drop_index(op.f("ix_consents_borrower_id"), table_name="consents")
    op.drop_table("consents")
    op.drop_index("ix_otp_challenges_subject_issued_at", table_name="otp_challenges")
    op.drop_table("otp_challenges")
    op.drop_constraint(op.f("ck_borrowers_status_known"), "borrowers", type_="check")
    op.drop_index(op.f("ix_borrowers_bank_card_bidx"), table_name="borrowers")
    op.drop_constraint(op.f("uq_borrowers_national_id_bidx"), "borrowers", type_="unique")
    op.drop_constraint(op.f("uq_borrowers_phone_bidx"), "borrowers", type_="unique")
    for name in (
        "updated_at",
        "freeze_reason",
        "last_login_at",
        "kyc_verified_at",
        "birth_date",
        "bank_card_bidx",
        "bank_card_enc",
        "national_id_bidx",
        "national_id_enc",
        "name_enc",
        "phone_bidx",
        "phone_enc",
        "status",
    ):
        op.drop_column("borrowers", name)
