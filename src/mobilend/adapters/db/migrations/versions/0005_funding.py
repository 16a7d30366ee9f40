"""Funding and disbursement: funder registry and programmes, positions, loan tranches,
partner approvals, routing log, loan payouts, the funding outbox, rail events received,
daily reconciliation reports.

Revision ID: 0005_funding
Revises: 0004_journey
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005_funding"
down_revision = "0004_journey"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "funder_daily_usage",
        sa.Column("funder_code", sa.Text(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("routed", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("funder_code", "business_date", name=op.f("pk_funder_daily_usage")),
    )
    op.create_table(
        "funder_positions",
        sa.Column("funder_code", sa.Text(), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), server_default="CNY", nullable=False),
        sa.Column("routed_total", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("outstanding", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("joint_outstanding", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("funder_code", name=op.f("pk_funder_positions")),
    )
    op.create_table(
        "funders",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("licence_no", sa.Text(), server_default="", nullable=False),
        sa.Column("whitelist_status", sa.Text(), nullable=False),
        sa.Column("whitelisted_from", sa.Date(), nullable=True),
        sa.Column("whitelisted_until", sa.Date(), nullable=True),
        sa.Column(
            "regions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "products",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("min_score", sa.Integer(), nullable=True),
        sa.Column("currency", sa.CHAR(length=3), server_default="CNY", nullable=False),
        sa.Column("min_amount", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("max_amount", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("daily_quota", sa.BigInteger(), nullable=True),
        sa.Column("total_quota", sa.BigInteger(), nullable=True),
        sa.Column("max_balance", sa.BigInteger(), nullable=True),
        sa.Column(
            "cost_of_funds", sa.Numeric(precision=12, scale=8), server_default="0", nullable=False
        ),
        sa.Column(
            "interest_share", sa.Numeric(precision=12, scale=8), server_default="1", nullable=False
        ),
        sa.Column(
            "requires_approval", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("priority", sa.Integer(), server_default="100", nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('own_pool', 'bank', 'consumer_finance', 'micro_lender')",
            name=op.f("ck_funders_kind_known"),
        ),
        sa.CheckConstraint(
            "whitelist_status IN ('pending', 'whitelisted', 'suspended', 'removed')",
            name=op.f("ck_funders_whitelist_known"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_funders")),
    )
    op.create_table(
        "funding_outbox",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_error", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'dead')", name=op.f("ck_funding_outbox_status_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funding_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_funding_outbox_idempotency_key")),
    )
    op.create_index(
        op.f("ix_funding_outbox_borrower_id"), "funding_outbox", ["borrower_id"], unique=False
    )
    op.create_index(
        "ix_funding_outbox_due",
        "funding_outbox",
        ["topic", "next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "funding_programmes",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), server_default="", nullable=False),
        sa.Column("shares", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("priority", sa.Integer(), server_default="100", nullable=False),
        sa.Column("weight", sa.Numeric(precision=12, scale=8), server_default="1", nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("routed_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("routed_amount", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_funding_programmes")),
    )
    op.create_table(
        "funding_settings",
        sa.Column("id", sa.SmallInteger(), server_default="1", nullable=False),
        sa.Column("strategy", sa.Text(), server_default="priority", nullable=False),
        sa.Column("joint_balance_limit", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.CHAR(length=3), server_default="CNY", nullable=False),
        sa.Column("approval_timeout_s", sa.Integer(), server_default="30", nullable=False),
        sa.CheckConstraint(
            "strategy IN ('priority', 'cheapest', 'round_robin')",
            name=op.f("ck_funding_settings_strategy_known"),
        ),
        sa.CheckConstraint("id = 1", name=op.f("ck_funding_settings_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funding_settings")),
    )
    op.create_table(
        "rail_events",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_rail_events")),
    )
    op.create_index(
        op.f("ix_rail_events_idempotency_key"), "rail_events", ["idempotency_key"], unique=False
    )
    op.create_index("ix_rail_events_outcome", "rail_events", ["outcome"], unique=False)
    op.create_table(
        "reconciliation_reports",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("clean", sa.Boolean(), nullable=False),
        sa.Column("breaks", sa.Integer(), nullable=False),
        sa.Column("report", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("business_date", name=op.f("pk_reconciliation_reports")),
    )
    op.create_table(
        "routing_decisions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("attempt", sa.Integer(), server_default="1", nullable=False),
        sa.Column("strategy", sa.Text(), nullable=False),
        sa.Column("programme_code", sa.Text(), nullable=True),
        sa.Column("reasons", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_decisions")),
    )
    op.create_index(
        op.f("ix_routing_decisions_borrower_id"), "routing_decisions", ["borrower_id"], unique=False
    )
    op.create_index(
        op.f("ix_routing_decisions_loan_id"), "routing_decisions", ["loan_id"], unique=False
    )
    op.create_table(
        "loan_payouts",
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("currency", sa.CHAR(length=3), server_default="CNY", nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("rail_reference", sa.Text(), server_default="", nullable=False),
        sa.Column("failure_code", sa.Text(), server_default="", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_sequence", sa.Integer(), server_default="0", nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_on", sa.Date(), nullable=True),
        sa.Column("resolved_by", sa.Text(), server_default="", nullable=False),
        sa.Column("settlement_entry_id", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), server_default="", nullable=False),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "context",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('awaiting_approval', 'queued', 'sent', 'paid', 'failed', 'dead_letter', 'needs_review')",
            name=op.f("ck_loan_payouts_status_known"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_loan_payouts_amount_positive")),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_loan_payouts_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("loan_id", name=op.f("pk_loan_payouts")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_loan_payouts_idempotency_key")),
    )
    op.create_index(
        op.f("ix_loan_payouts_borrower_id"), "loan_payouts", ["borrower_id"], unique=False
    )
    op.create_index(
        op.f("ix_loan_payouts_settled_on"), "loan_payouts", ["settled_on"], unique=False
    )
    op.create_index("ix_loan_payouts_status", "loan_payouts", ["status"], unique=False)
    op.create_index(
        "ix_loan_payouts_unconfirmed",
        "loan_payouts",
        ["next_poll_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('sent', 'dead_letter')"),
    )
    op.create_table(
        "loan_tranches",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("funder_code", sa.Text(), nullable=False),
        sa.Column("principal", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("currency", sa.CHAR(length=3), server_default="CNY", nullable=False),
        sa.Column("share", sa.Numeric(precision=12, scale=8), nullable=False),
        sa.Column("interest_share", sa.Numeric(precision=12, scale=8), nullable=False),
        sa.Column("cash_account", sa.Text(), nullable=False),
        sa.Column(
            "requires_approval", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("joint", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("released", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("principal > 0", name=op.f("ck_loan_tranches_principal_positive")),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_loan_tranches_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_tranches")),
    )
    op.create_index(
        op.f("ix_loan_tranches_borrower_id"), "loan_tranches", ["borrower_id"], unique=False
    )
    op.create_index(op.f("ix_loan_tranches_loan_id"), "loan_tranches", ["loan_id"], unique=False)
    op.create_index(
        "uq_loan_tranches_live",
        "loan_tranches",
        ["loan_id", "funder_code"],
        unique=True,
        postgresql_where=sa.text("NOT released"),
    )
    op.create_table(
        "partner_approvals",
        sa.Column("request_id", sa.Text(), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("funder_code", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("currency", sa.CHAR(length=3), server_default="CNY", nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column(
            "requested_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("partner_decision", sa.Text(), server_default="", nullable=False),
        sa.Column("partner_reference", sa.Text(), server_default="", nullable=False),
        sa.Column("reason_code", sa.Text(), server_default="", nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.Text(), server_default="", nullable=False),
        sa.Column("sent", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "partner_decision IN ('', 'approved', 'declined')",
            name=op.f("ck_partner_approvals_decision_known"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'declined', 'timed_out', 'withdrawn')",
            name=op.f("ck_partner_approvals_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_partner_approvals_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_partner_approvals")),
    )
    op.create_index(
        op.f("ix_partner_approvals_borrower_id"), "partner_approvals", ["borrower_id"], unique=False
    )
    op.create_index(
        op.f("ix_partner_approvals_loan_id"), "partner_approvals", ["loan_id"], unique=False
    )
    op.create_index(
        "ix_partner_approvals_pending",
        "partner_approvals",
        ["requested_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    for table in (
        "partner_approvals", "loan_tranches", "loan_payouts", "routing_decisions",
        "reconciliation_reports", "rail_events", "funding_settings", "funding_programmes",
        "funding_outbox", "funders", "funder_positions", "funder_daily_usage",
    ):  # fmt: skip
        op.drop_table(table)
