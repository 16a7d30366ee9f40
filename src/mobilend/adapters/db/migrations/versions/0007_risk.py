"""Risk engine storage: paid-report cache, fraud sightings and blacklist, decision
records (append-only: only the sealed record may be re-sealed), line reviews.

Revision ID: 0007_risk
Revises: 0006_servicing
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007_risk"
down_revision = "0006_servicing"
branch_labels = None
depends_on = None

IDENTIFIERS = ("national_id", "phone", "device_id", "ip_address", "bank_card")

DECISION_RULES = [
    """
    CREATE FUNCTION decisions_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'decision % is a record: DELETE refused', OLD.id
                USING ERRCODE = 'restrict_violation';
        END IF;
        -- Re-sealing the record under a new key is the one change allowed.
        IF (NEW.id, NEW.application_id, NEW.borrower_id, NEW.product_code, NEW.decided_on,
            NEW.outcome, NEW.limit_minor, NEW.currency, NEW.annual_rate, NEW.reasons,
            NEW.versions, NEW.policy_id, NEW.model_version, NEW.arm, NEW.market,
            NEW.cost_minor, NEW.record_sha256, NEW.created_at)
           IS DISTINCT FROM
           (OLD.id, OLD.application_id, OLD.borrower_id, OLD.product_code, OLD.decided_on,
            OLD.outcome, OLD.limit_minor, OLD.currency, OLD.annual_rate, OLD.reasons,
            OLD.versions, OLD.policy_id, OLD.model_version, OLD.arm, OLD.market,
            OLD.cost_minor, OLD.record_sha256, OLD.created_at) THEN
            RAISE EXCEPTION 'decision % is a record: only its sealed record may be re-sealed', OLD.id
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER decisions_append_only
    BEFORE UPDATE OR DELETE ON decisions
    FOR EACH ROW EXECUTE FUNCTION decisions_refuse_change()
    """,
]


def _now(name: str) -> sa.Column[object]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def _jsonb(name: str, default: str) -> sa.Column[object]:
    return sa.Column(
        name, postgresql.JSONB(), server_default=sa.text(f"'{default}'::jsonb"), nullable=False
    )


def _currency() -> sa.Column[object]:
    return sa.Column("currency", sa.CHAR(3), server_default="CNY", nullable=False)


def upgrade() -> None:
    op.create_table(
        "credit_reports",
        sa.Column("subject_bidx", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("data_version", sa.Text(), server_default="", nullable=False),
        sa.Column("fetched_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("cost_minor", sa.BigInteger(), nullable=False),
        _currency(),
        sa.Column("reuse_count", sa.Integer(), server_default="0", nullable=False),
        _now("fetched_at"),
        sa.CheckConstraint("cost_minor >= 0", name=op.f("ck_credit_reports_cost_not_negative")),
        sa.CheckConstraint(
            "expires_on >= fetched_on", name=op.f("ck_credit_reports_expires_after_fetch")
        ),
        sa.PrimaryKeyConstraint("subject_bidx", name=op.f("pk_credit_reports")),
    )
    op.create_index("ix_credit_reports_expires_on", "credit_reports", ["expires_on"])

    op.create_table(
        "fraud_sightings",
        sa.Column("application_id", sa.Text(), nullable=False),
        sa.Column("seen_on", sa.Date(), nullable=False),
        *(sa.Column(f"{name}_bidx", sa.Text(), nullable=True) for name in IDENTIFIERS),
        _now("recorded_at"),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_fraud_sightings")),
    )
    for name in IDENTIFIERS:
        op.create_index(
            f"ix_fraud_sightings_{name}_bidx_seen_on",
            "fraud_sightings",
            [f"{name}_bidx", "seen_on"],
        )

    op.create_table(
        "fraud_blacklist",
        sa.Column("identifier", sa.Text(), nullable=False),
        sa.Column("value_bidx", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        _now("added_at"),
        sa.CheckConstraint(
            "identifier IN ('national_id', 'phone', 'device_id', 'ip_address', 'bank_card')",
            name=op.f("ck_fraud_blacklist_identifier_known"),
        ),
        sa.PrimaryKeyConstraint("identifier", "value_bidx", name=op.f("pk_fraud_blacklist")),
    )

    op.create_table(
        "decisions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("application_id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("product_code", sa.Text(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("limit_minor", sa.BigInteger(), nullable=True),
        _currency(),
        sa.Column("annual_rate", sa.Numeric(12, 8), nullable=True),
        _jsonb("reasons", "[]"),
        _jsonb("versions", "{}"),
        sa.Column("policy_id", sa.Text(), nullable=False),
        sa.Column("model_version", sa.Text(), nullable=False),
        sa.Column("arm", sa.Text(), nullable=False),
        sa.Column("market", sa.Text(), nullable=False),
        sa.Column("cost_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("record", postgresql.JSONB(), nullable=False),
        sa.Column("record_sha256", sa.CHAR(64), nullable=False),
        _now("created_at"),
        sa.CheckConstraint(
            "outcome IN ('approve', 'decline', 'refer')", name=op.f("ck_decisions_outcome_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    op.create_index("ix_decisions_application_id", "decisions", ["application_id"])
    op.create_index(
        "ix_decisions_borrower_id_decided_on", "decisions", ["borrower_id", "decided_on"]
    )
    op.create_index("ix_decisions_decided_on_arm", "decisions", ["decided_on", "arm"])
    for statement in DECISION_RULES:
        op.execute(statement)

    op.create_table(
        "line_reviews",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("line_id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("previous_limit_minor", sa.BigInteger(), nullable=False),
        sa.Column("new_limit_minor", sa.BigInteger(), nullable=False),
        sa.Column("proposed_limit_minor", sa.BigInteger(), nullable=True),
        _currency(),
        sa.Column("decision_id", sa.Text(), nullable=False),
        sa.Column("decision_outcome", sa.Text(), nullable=False),
        _jsonb("reasons", "[]"),
        sa.Column("proposal_status", sa.Text(), nullable=True),
        sa.Column("proposal_expires_on", sa.Date(), nullable=True),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        _now("created_at"),
        sa.CheckConstraint(
            "(action = 'propose_increase') = (proposed_limit_minor IS NOT NULL"
            " AND proposal_status IS NOT NULL)",
            name=op.f("ck_line_reviews_proposal_only_for_increase"),
        ),
        sa.CheckConstraint(
            "action IN ('keep', 'lower', 'freeze', 'propose_increase')",
            name=op.f("ck_line_reviews_action_known"),
        ),
        sa.CheckConstraint(
            "proposal_status IS NULL OR proposal_status IN"
            " ('pending', 'accepted', 'declined', 'expired')",
            name=op.f("ck_line_reviews_proposal_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name=op.f("fk_line_reviews_borrower_id_borrowers")
        ),
        sa.ForeignKeyConstraint(
            ["line_id"], ["credit_lines.id"], name=op.f("fk_line_reviews_line_id_credit_lines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_reviews")),
        sa.UniqueConstraint(
            "line_id", "reviewed_on", name=op.f("uq_line_reviews_line_id_reviewed_on")
        ),
    )
    op.create_index(
        "ix_line_reviews_borrower_id_reviewed_on", "line_reviews", ["borrower_id", "reviewed_on"]
    )
    op.create_index(
        "ix_line_reviews_pending",
        "line_reviews",
        ["borrower_id"],
        postgresql_where=sa.text("proposal_status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_table("line_reviews")
    op.execute("DROP TRIGGER decisions_append_only ON decisions")
    op.execute("DROP FUNCTION decisions_refuse_change()")
    op.drop_table("decisions")
    op.drop_table("fraud_blacklist")
    op.drop_table("fraud_sightings")
    op.drop_table("credit_reports")
