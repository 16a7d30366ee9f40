"""Servicing at scale: the job queue's schema (procrastinate, in its own PostgreSQL schema
``procrastinate``), business dates closed by end of day, contact settings, reminders and
receipts, auto-debit attempts, incoming transfers and suspense, reversals, refunds,
behaviour scores and bureau changes.

The job queue's schema is the SQL that ships with the installed procrastinate (3.x),
applied here rather than by ``procrastinate schema --apply``: it then runs in the same
transaction and under the same advisory lock as every other migration, test databases
cloned from the migrated template have it, and ``downgrade`` removes it. Keeping it in
its own schema keeps it out of the table definitions' comparison and out of the test
fixtures' table resets. Upgrading procrastinate to a version with schema changes needs
a new migration that runs its files from ``procrastinate/sql/migrations`` with
``search_path`` set to ``procrastinate`` (the schema's comment names the version applied).

Revision ID: 0006_servicing
Revises: 0005_funding
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006_servicing"
down_revision = "0005_funding"
branch_labels = None
depends_on = None


#: The PostgreSQL schema holding the job queue's tables and functions.
JOB_QUEUE_SCHEMA = "procrastinate"


def _apply_job_queue_schema() -> None:
    from importlib.metadata import version

    from procrastinate.schema import SchemaManager

    op.execute(f"CREATE SCHEMA {JOB_QUEUE_SCHEMA}")
    op.execute(
        f"COMMENT ON SCHEMA {JOB_QUEUE_SCHEMA} IS 'procrastinate {version('procrastinate')}'"
    )
    driver = op.get_bind().connection.driver_connection
    assert driver is not None
    # Several statements in one call (no parameters: the simple query protocol); the
    # search path puts every object in the job queue's schema, then is put back.
    row = driver.execute("SELECT current_setting('search_path')").fetchone()
    assert row is not None
    driver.execute("SELECT set_config('search_path', %s, true)", (JOB_QUEUE_SCHEMA,))
    driver.execute(SchemaManager.get_schema())  # type: ignore[call-overload]
    driver.execute("SELECT set_config('search_path', %s, true)", (row[0],))


def upgrade() -> None:
    _apply_job_queue_schema()
    op.create_table(
        "eod_business_dates",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("partition_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), server_default="running", nullable=False),
        sa.Column("catch_up_to", sa.Date(), nullable=True),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "summary",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('running', 'done')", name=op.f("ck_eod_business_dates_status_known")
        ),
        sa.CheckConstraint(
            "partition_count >= 1", name=op.f("ck_eod_business_dates_partitions_positive")
        ),
        sa.PrimaryKeyConstraint("business_date", name=op.f("pk_eod_business_dates")),
    )
    op.create_table(
        "message_daily_counts",
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("sent", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("borrower_id", "local_day", name=op.f("pk_message_daily_counts")),
    )
    op.create_table(
        "message_receipts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=True),
        sa.Column("gateway_reference", sa.Text(), server_default="", nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), server_default="", nullable=False),
        sa.Column("event_key", sa.Text(), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_receipts")),
        sa.UniqueConstraint("event_key", name=op.f("uq_message_receipts_event_key")),
    )
    op.create_index(
        op.f("ix_message_receipts_message_id"), "message_receipts", ["message_id"], unique=False
    )
    op.create_table(
        "servicing_cursors",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("position", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_servicing_cursors")),
    )
    op.create_table(
        "borrower_contact_settings",
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("time_zone", sa.Text(), server_default="Asia/Shanghai", nullable=False),
        sa.Column("locale", sa.Text(), server_default="zh-CN", nullable=False),
        sa.Column("push_token", sa.Text(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["borrower_id"],
            ["borrowers.id"],
            name=op.f("fk_borrower_contact_settings_borrower_id_borrowers"),
        ),
        sa.PrimaryKeyConstraint("borrower_id", name=op.f("pk_borrower_contact_settings")),
    )
    op.create_table(
        "bureau_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("observed_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name=op.f("fk_bureau_changes_borrower_id_borrowers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bureau_changes")),
    )
    op.create_index(
        "ix_bureau_changes_borrower_id_observed_on",
        "bureau_changes",
        ["borrower_id", "observed_on"],
        unique=False,
    )
    op.create_table(
        "servicing_messages",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=True),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("locale", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "params",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("body", sa.Text(), server_default="", nullable=False),
        sa.Column("dedupe_key", sa.Text(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_error", sa.Text(), server_default="", nullable=False),
        sa.Column("gateway_reference", sa.Text(), server_default="", nullable=False),
        sa.Column("recipient_masked", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "channel IN ('sms', 'push')", name=op.f("ck_servicing_messages_channel_known")
        ),
        sa.CheckConstraint(
            "kind IN ('service', 'legal', 'marketing')",
            name=op.f("ck_servicing_messages_kind_known"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'delivered', 'failed', 'dead', 'suppressed')",
            name=op.f("ck_servicing_messages_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["borrower_id"],
            ["borrowers.id"],
            name=op.f("fk_servicing_messages_borrower_id_borrowers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_servicing_messages")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_servicing_messages_dedupe_key")),
    )
    op.create_index(
        "ix_servicing_messages_borrower_id_created_at",
        "servicing_messages",
        ["borrower_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_servicing_messages_dead",
        "servicing_messages",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("status = 'dead'"),
    )
    op.create_index(
        "ix_servicing_messages_pending",
        "servicing_messages",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "autodebit_attempts",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("plan_day", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("currency", sa.CHAR(length=3), server_default="CNY", nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("failure_code", sa.Text(), server_default="", nullable=False),
        sa.Column("rail_reference", sa.Text(), server_default="", nullable=False),
        sa.Column("repayment_id", sa.Text(), nullable=True),
        sa.Column("settled_on", sa.Date(), nullable=True),
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
            "status IN ('pending', 'submitted', 'succeeded', 'failed')",
            name=op.f("ck_autodebit_attempts_status_known"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_autodebit_attempts_amount_positive")),
        sa.ForeignKeyConstraint(
            ["borrower_id"],
            ["borrowers.id"],
            name=op.f("fk_autodebit_attempts_borrower_id_borrowers"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_autodebit_attempts_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_autodebit_attempts")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_autodebit_attempts_idempotency_key")),
        sa.UniqueConstraint("loan_id", "business_date", name="uq_autodebit_attempts_loan_day"),
    )
    op.create_index(
        "ix_autodebit_attempts_borrower_id_business_date",
        "autodebit_attempts",
        ["borrower_id", "business_date"],
        unique=False,
    )
    op.create_index(
        "ix_autodebit_attempts_open",
        "autodebit_attempts",
        ["business_date"],
        unique=False,
        postgresql_where=sa.text("status IN ('pending', 'submitted')"),
    )
    op.create_table(
        "credit_refunds",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("currency", sa.CHAR(length=3), server_default="CNY", nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("entry_id", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rail_reference", sa.Text(), server_default="", nullable=False),
        sa.Column("failure_code", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'paid', 'failed')",
            name=op.f("ck_credit_refunds_status_known"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_credit_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name=op.f("fk_credit_refunds_borrower_id_borrowers")
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_credit_refunds_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_refunds")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_credit_refunds_idempotency_key")),
    )
    op.create_index(op.f("ix_credit_refunds_loan_id"), "credit_refunds", ["loan_id"], unique=False)
    op.create_index(
        "ix_credit_refunds_pending",
        "credit_refunds",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "incoming_transfers",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("bank_transaction_id", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), server_default="", nullable=False),
        sa.Column("payer_masked", sa.Text(), server_default="", nullable=False),
        sa.Column("amount", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("currency", sa.CHAR(length=3), server_default="CNY", nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=True),
        sa.Column("borrower_id", sa.Text(), nullable=True),
        sa.Column("repayment_id", sa.Text(), nullable=True),
        sa.Column("suspense_entry_id", sa.Text(), nullable=True),
        sa.Column("assigned_by", sa.Text(), server_default="", nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('matched', 'suspense', 'assigned')",
            name=op.f("ck_incoming_transfers_status_known"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_incoming_transfers_amount_positive")),
        sa.ForeignKeyConstraint(
            ["borrower_id"],
            ["borrowers.id"],
            name=op.f("fk_incoming_transfers_borrower_id_borrowers"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_incoming_transfers_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incoming_transfers")),
        sa.UniqueConstraint(
            "bank_transaction_id", name=op.f("uq_incoming_transfers_bank_transaction_id")
        ),
    )
    op.create_index(
        "ix_incoming_transfers_suspense",
        "incoming_transfers",
        ["received_on"],
        unique=False,
        postgresql_where=sa.text("status = 'suspense'"),
    )
    op.create_table(
        "loan_behaviour_scores",
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("scored_on", sa.Date(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("band", sa.Text(), nullable=False),
        sa.Column("roll_risk", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("bucket", sa.Text(), nullable=False),
        sa.Column("next_bucket", sa.Text(), nullable=False),
        sa.Column("days_to_roll", sa.Integer(), nullable=True),
        sa.Column("dpd", sa.Integer(), nullable=False),
        sa.Column("max_dpd", sa.Integer(), nullable=False),
        sa.Column("late_installments", sa.Integer(), nullable=False),
        sa.Column("avg_days_late", sa.Integer(), nullable=False),
        sa.Column("partial_installments", sa.Integer(), nullable=False),
        sa.Column("failed_debits", sa.Integer(), nullable=False),
        sa.Column("bureau_events", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["borrower_id"],
            ["borrowers.id"],
            name=op.f("fk_loan_behaviour_scores_borrower_id_borrowers"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_loan_behaviour_scores_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("loan_id", name=op.f("pk_loan_behaviour_scores")),
    )
    op.create_index(
        "ix_loan_behaviour_scores_borrower_id",
        "loan_behaviour_scores",
        ["borrower_id"],
        unique=False,
    )
    op.create_index(
        "ix_loan_behaviour_scores_roll_risk",
        "loan_behaviour_scores",
        ["score"],
        unique=False,
        postgresql_where=sa.text("roll_risk"),
    )
    op.create_table(
        "repayment_reversals",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("repayment_id", sa.Text(), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("currency", sa.CHAR(length=3), server_default="CNY", nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column(
            "entry_ids",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["borrower_id"],
            ["borrowers.id"],
            name=op.f("fk_repayment_reversals_borrower_id_borrowers"),
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_repayment_reversals_loan_id_loans")
        ),
        sa.ForeignKeyConstraint(
            ["repayment_id"],
            ["repayments.id"],
            name=op.f("fk_repayment_reversals_repayment_id_repayments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repayment_reversals")),
        sa.UniqueConstraint("repayment_id", name=op.f("uq_repayment_reversals_repayment_id")),
    )
    op.create_index(
        "ix_repayment_reversals_borrower_id", "repayment_reversals", ["borrower_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_repayment_reversals_borrower_id", table_name="repayment_reversals")
    op.drop_table("repayment_reversals")
    op.drop_index(
        "ix_loan_behaviour_scores_roll_risk",
        table_name="loan_behaviour_scores",
        postgresql_where=sa.text("roll_risk"),
    )
    op.drop_index("ix_loan_behaviour_scores_borrower_id", table_name="loan_behaviour_scores")
    op.drop_table("loan_behaviour_scores")
    op.drop_index(
        "ix_incoming_transfers_suspense",
        table_name="incoming_transfers",
        postgresql_where=sa.text("status = 'suspense'"),
    )
    op.drop_table("incoming_transfers")
    op.drop_index(
        "ix_credit_refunds_pending",
        table_name="credit_refunds",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index(op.f("ix_credit_refunds_loan_id"), table_name="credit_refunds")
    op.drop_table("credit_refunds")
    op.drop_index(
        "ix_autodebit_attempts_open",
        table_name="autodebit_attempts",
        postgresql_where=sa.text("status IN ('pending', 'submitted')"),
    )
    op.drop_index(
        "ix_autodebit_attempts_borrower_id_business_date", table_name="autodebit_attempts"
    )
    op.drop_table("autodebit_attempts")
    op.drop_index(
        "ix_servicing_messages_pending",
        table_name="servicing_messages",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index(
        "ix_servicing_messages_dead",
        table_name="servicing_messages",
        postgresql_where=sa.text("status = 'dead'"),
    )
    op.drop_index("ix_servicing_messages_borrower_id_created_at", table_name="servicing_messages")
    op.drop_table("servicing_messages")
    op.drop_index("ix_bureau_changes_borrower_id_observed_on", table_name="bureau_changes")
    op.drop_table("bureau_changes")
    op.drop_table("borrower_contact_settings")
    op.drop_table("servicing_cursors")
    op.drop_index(op.f("ix_message_receipts_message_id"), table_name="message_receipts")
    op.drop_table("message_receipts")
    op.drop_table("message_daily_counts")
    op.drop_table("eod_business_dates")
    op.execute(f"DROP SCHEMA IF EXISTS {JOB_QUEUE_SCHEMA} CASCADE")
