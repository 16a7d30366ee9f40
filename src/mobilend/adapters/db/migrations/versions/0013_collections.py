"""Collections: cases, agents and agencies, the contact log (a record: no DELETE, and an
attempt's facts never change — only its outcome is filled in), per-day contact slots,
promises, complaints, four-eyes resolutions, collections' payments, contact persons.

Revision ID: 0013_collections
Revises: 0012_console
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013_collections"
down_revision = "0012_console"
branch_labels = None
depends_on = None

CONTACT_LOG_RULES = [
    """
    CREATE FUNCTION collection_contacts_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'contact attempt % is a record: DELETE refused', OLD.id
                USING ERRCODE = 'restrict_violation';
        END IF;
        IF (NEW.id, NEW.case_id, NEW.loan_id, NEW.borrower_id, NEW.at, NEW.local_day,
            NEW.actor, NEW.team, NEW.channel, NEW.party, NEW.template, NEW.allowed, NEW.rules)
           IS DISTINCT FROM
           (OLD.id, OLD.case_id, OLD.loan_id, OLD.borrower_id, OLD.at, OLD.local_day,
            OLD.actor, OLD.team, OLD.channel, OLD.party, OLD.template, OLD.allowed, OLD.rules)
           OR OLD.outcome NOT IN ('pending') AND NEW.outcome IS DISTINCT FROM OLD.outcome THEN
            RAISE EXCEPTION 'contact attempt % is a record: only its outcome may be filled in', OLD.id
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER collection_contacts_append_only
    BEFORE UPDATE OR DELETE ON collection_contacts
    FOR EACH ROW EXECUTE FUNCTION collection_contacts_refuse_change()
    """,
]


def upgrade() -> None:
    op.create_table(
        "collection_agencies",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("commission_percent", sa.Integer(), server_default="0", nullable=False),
        sa.Column("capacity", sa.Integer(), server_default="10000", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "code <> 'lender'", name=op.f("ck_collection_agencies_agency_code_not_lender")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_collection_agencies")),
    )
    op.create_table(
        "collection_agents",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("team", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("capacity", sa.Integer(), server_default="200", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_agents")),
    )
    op.create_index("ix_collection_agents_team", "collection_agents", ["team"], unique=False)
    op.create_table(
        "collection_cases",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("bucket", sa.Text(), nullable=False),
        sa.Column("bucket_at_open", sa.Text(), nullable=False),
        sa.Column("dpd", sa.Integer(), nullable=False),
        sa.Column("segment", sa.Text(), nullable=False),
        sa.Column("strategy", sa.Text(), nullable=False),
        sa.Column("arm", sa.Text(), nullable=False),
        sa.Column("placement", sa.Text(), nullable=False),
        sa.Column("owed_at_open_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cash_in_at_open_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("owed_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("collected_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("expected_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("currency", sa.CHAR(length=3), server_default="CNY", nullable=False),
        sa.Column("agency", sa.Text(), server_default="", nullable=False),
        sa.Column("agent_id", sa.Text(), server_default="", nullable=False),
        sa.Column("paused", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("next_action_on", sa.Date(), nullable=True),
        sa.Column("last_message_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
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
            "(status = 'closed') = (closed_on IS NOT NULL)",
            name=op.f("ck_collection_cases_closed_has_date"),
        ),
        sa.CheckConstraint(
            "placement IN ('digital', 'agent', 'agency', 'legal')",
            name=op.f("ck_collection_cases_case_placement_known"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'arrangement', 'legal', 'written_off', 'closed')",
            name=op.f("ck_collection_cases_case_status_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_cases")),
    )
    op.create_index(
        "ix_collection_cases_borrower_id", "collection_cases", ["borrower_id"], unique=False
    )
    op.create_index(
        "ix_collection_cases_work",
        "collection_cases",
        ["agent_id", "next_action_on"],
        unique=False,
        postgresql_where=sa.text("status <> 'closed'"),
    )
    op.create_index(
        "ux_collection_cases_open_loan",
        "collection_cases",
        ["loan_id"],
        unique=True,
        postgresql_where=sa.text("status <> 'closed'"),
    )
    op.create_table(
        "collection_complaints",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="open", nullable=False),
        sa.Column("reviewed_by", sa.Text(), server_default="", nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.Text(), server_default="", nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'upheld', 'dismissed')",
            name=op.f("ck_collection_complaints_complaint_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_complaints")),
    )
    op.create_index(
        op.f("ix_collection_complaints_borrower_id"),
        "collection_complaints",
        ["borrower_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_collection_complaints_case_id"), "collection_complaints", ["case_id"], unique=False
    )
    op.create_table(
        "collection_contact_persons",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("relation", sa.Text(), nullable=False),
        sa.Column("phone_enc", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_contact_persons")),
    )
    op.create_index(
        op.f("ix_collection_contact_persons_borrower_id"),
        "collection_contact_persons",
        ["borrower_id"],
        unique=False,
    )
    op.create_table(
        "collection_contacts",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Text(), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("team", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("party", sa.Text(), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("rules", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("recording_ref", sa.Text(), server_default="", nullable=False),
        sa.Column("gateway_ref", sa.Text(), server_default="", nullable=False),
        sa.Column("counted_call", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("body", sa.Text(), server_default="", nullable=False),
        sa.CheckConstraint(
            "allowed = (cardinality(rules) = 0)",
            name=op.f("ck_collection_contacts_refusal_names_rules"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_contacts")),
    )
    op.create_index(
        "ix_collection_contacts_case_id", "collection_contacts", ["case_id"], unique=False
    )
    op.create_index(
        "ix_collection_contacts_refused",
        "collection_contacts",
        ["at"],
        unique=False,
        postgresql_where=sa.text("NOT allowed"),
    )
    op.create_table(
        "collection_cursors",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_collection_cursors")),
    )
    op.create_table(
        "collection_daily_slots",
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("taken", sa.Integer(), nullable=False),
        sa.CheckConstraint("taken >= 0", name=op.f("ck_collection_daily_slots_taken_not_negative")),
        sa.PrimaryKeyConstraint(
            "borrower_id", "local_day", "kind", name=op.f("pk_collection_daily_slots")
        ),
    )
    op.create_table(
        "collection_payments",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Text(), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("currency", sa.CHAR(length=3), server_default="CNY", nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
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
        sa.CheckConstraint(
            "amount_minor > 0", name=op.f("ck_collection_payments_payment_positive")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_payments")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_collection_payments_idempotency_key")),
    )
    op.create_index(
        op.f("ix_collection_payments_case_id"), "collection_payments", ["case_id"], unique=False
    )
    op.create_table(
        "collection_promises",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Text(), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("currency", sa.CHAR(length=3), server_default="CNY", nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("made_on", sa.Date(), nullable=False),
        sa.Column("made_by", sa.Text(), nullable=False),
        sa.Column("cash_in_at_promise_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "amount_minor > 0", name=op.f("ck_collection_promises_promise_positive")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_promises")),
    )
    op.create_index(
        op.f("ix_collection_promises_case_id"), "collection_promises", ["case_id"], unique=False
    )
    op.create_index(
        "ix_collection_promises_pending",
        "collection_promises",
        ["id"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "collection_resolutions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Text(), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("proposed_by", sa.Text(), nullable=False),
        sa.Column("proposed_on", sa.Date(), nullable=False),
        sa.Column("owed_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("currency", sa.CHAR(length=3), server_default="CNY", nullable=False),
        sa.Column("status", sa.Text(), server_default="proposed", nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column(
            "instalments",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("cash_in_at_approval_minor", sa.BigInteger(), nullable=True),
        sa.Column("approved_by", sa.Text(), server_default="", nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
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
        sa.CheckConstraint(
            "approved_by = '' OR approved_by <> proposed_by",
            name=op.f("ck_collection_resolutions_four_eyes"),
        ),
        sa.CheckConstraint(
            "kind IN ('settlement', 'hardship_plan', 'write_off')",
            name=op.f("ck_collection_resolutions_resolution_kind_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_resolutions")),
    )
    op.create_index(
        op.f("ix_collection_resolutions_case_id"),
        "collection_resolutions",
        ["case_id"],
        unique=False,
    )

    for statement in CONTACT_LOG_RULES:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS collection_contacts_append_only ON collection_contacts")
    op.execute("DROP FUNCTION IF EXISTS collection_contacts_refuse_change()")
    op.drop_index(op.f("ix_collection_resolutions_case_id"), table_name="collection_resolutions")
    op.drop_table("collection_resolutions")
    op.drop_index(
        "ix_collection_promises_pending",
        table_name="collection_promises",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index(op.f("ix_collection_promises_case_id"), table_name="collection_promises")
    op.drop_table("collection_promises")
    op.drop_index(op.f("ix_collection_payments_case_id"), table_name="collection_payments")
    op.drop_table("collection_payments")
    op.drop_table("collection_daily_slots")
    op.drop_table("collection_cursors")
    op.drop_index(
        "ix_collection_contacts_refused",
        table_name="collection_contacts",
        postgresql_where=sa.text("NOT allowed"),
    )
    op.drop_index("ix_collection_contacts_case_id", table_name="collection_contacts")
    op.drop_table("collection_contacts")
    op.drop_index(
        op.f("ix_collection_contact_persons_borrower_id"), table_name="collection_contact_persons"
    )
    op.drop_table("collection_contact_persons")
    op.drop_index(op.f("ix_collection_complaints_case_id"), table_name="collection_complaints")
    op.drop_index(op.f("ix_collection_complaints_borrower_id"), table_name="collection_complaints")
    op.drop_table("collection_complaints")
    op.drop_index(
        "ux_collection_cases_open_loan",
        table_name="collection_cases",
        postgresql_where=sa.text("status <> 'closed'"),
    )
    op.drop_index(
        "ix_collection_cases_work",
        table_name="collection_cases",
        postgresql_where=sa.text("status <> 'closed'"),
    )
    op.drop_index("ix_collection_cases_borrower_id", table_name="collection_cases")
    op.drop_table("collection_cases")
    op.drop_index("ix_collection_agents_team", table_name="collection_agents")
    op.drop_table("collection_agents")
    op.drop_table("collection_agencies")
