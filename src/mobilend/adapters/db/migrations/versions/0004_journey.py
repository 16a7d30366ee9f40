"""Borrower journey: credit applications and decisions, e-contracts, disbursements,
notifications. A signed contract is immutable (UPDATE and DELETE refused).

Revision ID: 0004_journey
Revises: 0003_lending_state
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_journey"
down_revision = "0003_lending_state"
branch_labels = None
depends_on = None

SIGNED_CONTRACT_RULES = [
    """
    CREATE FUNCTION loan_contracts_refuse_signed_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.status = 'signed' THEN
            RAISE EXCEPTION 'loan contract % is signed: % refused', OLD.id, TG_OP
                USING ERRCODE = 'restrict_violation';
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER loan_contracts_signed_immutable
    BEFORE UPDATE OR DELETE ON loan_contracts
    FOR EACH ROW EXECUTE FUNCTION loan_contracts_refuse_signed_change()
    """,
]


def _ts(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _jsonb(name: str, default: str) -> sa.Column[object]:
    return sa.Column(
        name, postgresql.JSONB(), server_default=sa.text(f"'{default}'::jsonb"), nullable=False
    )


def _borrower_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["borrower_id"], ["borrowers.id"], name=op.f(f"fk_{table}_borrower_id_borrowers")
    )


def upgrade() -> None:
    op.create_table(
        "credit_applications",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("product_code", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("decision_id", sa.Text(), nullable=False),
        _ts("applied_at", nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("limit_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.CHAR(3), server_default="CNY", nullable=False),
        sa.Column("annual_rate", sa.Numeric(12, 8), nullable=True),
        sa.Column("price_band", sa.Text(), server_default="", nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("line_id", sa.Text(), nullable=True),
        _jsonb("reasons", "[]"),
        _jsonb("versions", "{}"),
        _jsonb("declared", "{}"),
        sa.CheckConstraint(
            "outcome IN ('approve', 'decline', 'refer')",
            name=op.f("ck_credit_applications_outcome_known"),
        ),
        sa.CheckConstraint(
            "outcome <> 'approve' OR (limit_minor > 0 AND annual_rate IS NOT NULL)",
            name=op.f("ck_credit_applications_approval_has_terms"),
        ),
        _borrower_fk("credit_applications"),
        sa.ForeignKeyConstraint(
            ["product_code"],
            ["products.code"],
            name=op.f("fk_credit_applications_product_code_products"),
        ),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["credit_lines.id"],
            name=op.f("fk_credit_applications_line_id_credit_lines"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_applications")),
        sa.UniqueConstraint("line_id", name=op.f("uq_credit_applications_line_id")),
    )
    op.create_index(
        "ix_credit_applications_borrower_id_applied_at",
        "credit_applications",
        ["borrower_id", "applied_at"],
    )

    op.create_table(
        "loan_contracts",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("line_id", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("template_version", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sha256", sa.CHAR(64), nullable=False),
        sa.Column("terms", postgresql.JSONB(), nullable=False),
        sa.Column("offer_date", sa.Date(), nullable=False),
        _ts("created_at", nullable=False),
        _ts("signed_at"),
        sa.Column("ip_address", sa.Text(), server_default="", nullable=False),
        sa.Column("device_id", sa.Text(), server_default="", nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'signed')", name=op.f("ck_loan_contracts_status_known")
        ),
        sa.CheckConstraint(
            "status <> 'signed' OR (signed_at IS NOT NULL AND loan_id IS NOT NULL)",
            name=op.f("ck_loan_contracts_signed_has_loan"),
        ),
        _borrower_fk("loan_contracts"),
        sa.ForeignKeyConstraint(
            ["line_id"], ["credit_lines.id"], name=op.f("fk_loan_contracts_line_id_credit_lines")
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_loan_contracts_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_contracts")),
        sa.UniqueConstraint("loan_id", name=op.f("uq_loan_contracts_loan_id")),
    )
    op.create_index(
        "ix_loan_contracts_borrower_id_created_at", "loan_contracts", ["borrower_id", "created_at"]
    )
    for statement in SIGNED_CONTRACT_RULES:
        op.execute(statement)

    op.create_table(
        "disbursements",
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("contract_id", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.CHAR(3), server_default="CNY", nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("rail_reference", sa.Text(), server_default="", nullable=False),
        sa.Column("failure_code", sa.Text(), server_default="", nullable=False),
        _ts("requested_at", nullable=False),
        _ts("updated_at", nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'paid', 'failed')", name=op.f("ck_disbursements_status_known")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_disbursements_amount_positive")),
        _borrower_fk("disbursements"),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["loan_contracts.id"],
            name=op.f("fk_disbursements_contract_id_loan_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_disbursements_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("loan_id", name=op.f("pk_disbursements")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_disbursements_idempotency_key")),
    )
    op.create_index("ix_disbursements_borrower_id", "disbursements", ["borrower_id"])
    op.create_index(
        "ix_disbursements_pending",
        "disbursements",
        ["requested_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )

    op.create_table(
        "notifications",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), server_default="sms", nullable=False),
        sa.Column("title_zh", sa.Text(), nullable=False),
        sa.Column("title_en", sa.Text(), nullable=False),
        sa.Column("body_zh", sa.Text(), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("gateway_reference", sa.Text(), server_default="", nullable=False),
        _ts("created_at", nullable=False),
        _ts("sent_at"),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed')", name=op.f("ck_notifications_status_known")
        ),
        _borrower_fk("notifications"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(
        "ix_notifications_borrower_id_created_at", "notifications", ["borrower_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("notifications")
    op.drop_table("disbursements")
    op.execute("DROP TRIGGER loan_contracts_signed_immutable ON loan_contracts")
    op.execute("DROP FUNCTION loan_contracts_refuse_signed_change()")
    op.drop_table("loan_contracts")
    op.drop_table("credit_applications")
