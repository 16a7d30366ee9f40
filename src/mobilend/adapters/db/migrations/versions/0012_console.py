"""Operations console: maker-checker requests, reviews of referred applications, the
portfolio analytics summaries, and indexes for the console's look-ups.

Revision ID: 0012_console
Revises: 0011_money_integrity
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012_console"
down_revision = "0011_money_integrity"
branch_labels = None
depends_on = None

APPROVAL_KINDS = (
    "write_off", "refund", "settlement", "manual_approval", "product_change",
    "funder_change", "policy_promotion", "model_promotion",
)  # fmt: skip
APPROVAL_STATUSES = ("pending", "approved", "rejected", "cancelled")
REVIEW_STATUSES = ("approved", "declined", "awaiting_checker", "checker_rejected")

ANALYTICS_TABLES = (
    "analytics_funder_daily",
    "analytics_ledger_daily",
    "analytics_score_performance",
    "analytics_score_monthly",
    "analytics_book_cells",
    "analytics_recovery",
    "analytics_roll_rates",
    "analytics_vintage",
    "analytics_funnel_daily",
    "analytics_state",
)

INDEXES = (
    ("ix_loans_status_id", "loans", ["status", "id"], None),
    ("ix_loans_bucket_id", "loans", ["bucket", "id"], None),
    ("ix_loans_disbursed_on", "loans", ["disbursed_on"], None),
    ("ix_journal_entries_business_date", "journal_entries", ["business_date"], None),
    ("ix_borrowers_created_at_id", "borrowers", ["created_at", "id"], None),
    ("ix_credit_applications_referred", "credit_applications", ["applied_at"], "outcome = 'refer'"),
    ("ix_credit_applications_decided_on", "credit_applications", ["decided_on"], None),
    ("ix_audit_log_target_seq", "audit_log", ["target", "seq"], None),
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _count(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), server_default="0", nullable=False)


def upgrade() -> None:
    op.create_table(
        "approval_requests",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("maker", sa.Text(), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("checker", sa.Text(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("check_note", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "result", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.CheckConstraint(
            _in("kind", APPROVAL_KINDS), name=op.f("ck_approval_requests_kind_known")
        ),
        sa.CheckConstraint(
            _in("status", APPROVAL_STATUSES), name=op.f("ck_approval_requests_status_known")
        ),
        sa.CheckConstraint(
            "checker IS NULL OR checker <> maker OR status = 'cancelled'",
            name=op.f("ck_approval_requests_second_person"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_requests")),
    )
    op.create_index(
        "ix_approval_requests_status_made_at", "approval_requests", ["status", "made_at"]
    )
    op.create_index(
        "uq_approval_requests_pending",
        "approval_requests",
        ["kind", "target"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )

    op.create_table(
        "referral_reviews",
        sa.Column("application_id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.Text(), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("limit_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.CHAR(3), server_default="CNY", nullable=False),
        sa.Column("annual_rate", sa.Numeric(12, 8), nullable=True),
        sa.Column("approval_id", sa.Text(), nullable=True),
        sa.CheckConstraint(
            _in("status", REVIEW_STATUSES), name=op.f("ck_referral_reviews_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["credit_applications.id"],
            name=op.f("fk_referral_reviews_application_id_credit_applications"),
        ),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_referral_reviews")),
    )
    op.create_index("ix_referral_reviews_borrower_id", "referral_reviews", ["borrower_id"])

    op.create_table(
        "analytics_state",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Numeric(12, 3), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_analytics_state")),
    )
    op.create_table(
        "analytics_funnel_daily",
        sa.Column("day", sa.Date(), nullable=False),
        *(
            _count(name)
            for name in (
                "registered",
                "kyc_passed",
                "applied",
                "approved",
                "declined",
                "referred",
                "contracts_signed",
                "loans_disbursed",
                "disbursed_minor",
                "score_sum",
                "scored",
                "data_cost_minor",
            )
        ),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_analytics_funnel_daily")),
    )
    op.create_table(
        "analytics_vintage",
        sa.Column("cohort", sa.Date(), nullable=False),
        sa.Column("mob", sa.Integer(), nullable=False),
        *(_count(n) for n in ("loans", "principal_minor", "bad_loans", "bad_principal_minor")),
        sa.PrimaryKeyConstraint("cohort", "mob", name=op.f("pk_analytics_vintage")),
    )
    op.create_table(
        "analytics_roll_rates",
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("from_state", sa.Text(), nullable=False),
        sa.Column("to_state", sa.Text(), nullable=False),
        _count("loans"),
        sa.PrimaryKeyConstraint(
            "period_end", "from_state", "to_state", name=op.f("pk_analytics_roll_rates")
        ),
    )
    op.create_table(
        "analytics_recovery",
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("bucket", sa.Text(), nullable=False),
        *(_count(n) for n in ("loans", "cured", "collected_minor")),
        sa.PrimaryKeyConstraint("period_end", "bucket", name=op.f("pk_analytics_recovery")),
    )
    op.create_table(
        "analytics_book_cells",
        sa.Column("product_code", sa.Text(), nullable=False),
        sa.Column("funder_code", sa.Text(), nullable=False),
        sa.Column("bucket", sa.Text(), nullable=False),
        *(_count(n) for n in ("loans", "outstanding_minor", "receivable_minor")),
        sa.PrimaryKeyConstraint(
            "product_code", "funder_code", "bucket", name=op.f("pk_analytics_book_cells")
        ),
    )
    op.create_table(
        "analytics_score_monthly",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        _count("applications"),
        sa.PrimaryKeyConstraint("month", "score", name=op.f("pk_analytics_score_monthly")),
    )
    op.create_table(
        "analytics_score_performance",
        sa.Column("score", sa.Integer(), nullable=False),
        _count("good"),
        _count("bad"),
        sa.PrimaryKeyConstraint("score", name=op.f("pk_analytics_score_performance")),
    )
    op.create_table(
        "analytics_ledger_daily",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        _count("amount_minor"),
        sa.PrimaryKeyConstraint(
            "business_date", "account", "currency", name=op.f("pk_analytics_ledger_daily")
        ),
    )
    op.create_table(
        "analytics_funder_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("funder_code", sa.Text(), nullable=False),
        _count("outstanding_minor"),
        sa.Column("cost_minor", sa.Numeric(20, 4), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("day", "funder_code", name=op.f("pk_analytics_funder_daily")),
    )
    for name, table, columns, where in INDEXES:
        op.create_index(
            name,
            table,
            columns,
            postgresql_where=sa.text(where) if where else None,
        )


def downgrade() -> None:
    for name, table, _columns, _where in INDEXES:
        op.drop_index(name, table_name=table)
    for table in ANALYTICS_TABLES:
        op.drop_table(table)
    op.drop_table("referral_reviews")
    op.drop_table("approval_requests")
