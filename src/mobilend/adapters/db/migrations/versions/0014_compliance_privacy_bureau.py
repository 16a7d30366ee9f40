"""Compliance, privacy and credit-bureau reporting.

- A national ID may be held by one *open* account: a closed account (a recycled phone
  number, say) keeps its loans, and the person may open a new account; both count as
  one identity for the per-borrower cap. The unique constraint becomes a unique index
  over accounts that are not closed, plus a plain index for lookups by identity.
- ``loan_pricing``: the price each loan was drawn at and the rulebook version it was
  checked against (end of day caps the penalty from it).
- ``bureau_submissions`` / ``bureau_records``: monthly credit-bureau submissions and the
  last record sent per month and loan (for corrections).
- ``erasure_requests``: requests to erase a borrower's personal data, and their outcome.

Revision ID: 0014_compliance_privacy_bureau
Revises: 0013_collections
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014_compliance_privacy_bureau"
down_revision = "0013_collections"
branch_labels = None
depends_on = None

RATE = sa.Numeric(12, 8)


def upgrade() -> None:
    op.drop_constraint("uq_borrowers_national_id_bidx", "borrowers", type_="unique")
    op.create_index("ix_borrowers_national_id_bidx", "borrowers", ["national_id_bidx"])
    op.create_index(
        "uq_borrowers_open_national_id_bidx",
        "borrowers",
        ["national_id_bidx"],
        unique=True,
        postgresql_where=sa.text("status <> 'closed'"),
    )
    op.create_table(
        "loan_pricing",
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("licence_type", sa.Text(), nullable=False),
        sa.Column("apr", RATE, nullable=False),
        sa.Column("apr_for_cap", RATE, nullable=False),
        sa.Column("annual_rate", RATE, nullable=False),
        sa.Column("requested_rate", RATE, nullable=False),
        sa.Column("penalty_rate", RATE, nullable=False),
        sa.Column("rulebook_version", sa.Text(), nullable=False),
        sa.Column("priced_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name="fk_loan_pricing_loan_id_loans"),
        sa.PrimaryKeyConstraint("loan_id", name="pk_loan_pricing"),
    )
    op.create_index("ix_loan_pricing_borrower_id", "loan_pricing", ["borrower_id"])
    op.create_table(
        "bureau_submissions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("month", sa.CHAR(7), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("regular_records", sa.Integer(), nullable=False),
        sa.Column("corrections", sa.Integer(), nullable=False),
        sa.Column("deletions", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.CHAR(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bureau_submissions"),
    )
    op.create_index("ix_bureau_submissions_month", "bureau_submissions", ["month"])
    op.create_table(
        "bureau_records",
        sa.Column("month", sa.CHAR(7), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("fields", postgresql.JSONB(), nullable=False),
        sa.Column("submission_id", sa.Text(), nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["bureau_submissions.id"],
            name="fk_bureau_records_submission_id_bureau_submissions",
        ),
        sa.PrimaryKeyConstraint("month", "loan_id", name="pk_bureau_records"),
    )
    op.create_index("ix_bureau_records_borrower_id", "bureau_records", ["borrower_id"])
    op.create_table(
        "erasure_requests",
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retention_ended_on", sa.Date(), nullable=True),
        sa.Column(
            "removed", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name="fk_erasure_requests_borrower_id_borrowers"
        ),
        sa.PrimaryKeyConstraint("borrower_id", name="pk_erasure_requests"),
    )


def downgrade() -> None:
    op.drop_table("erasure_requests")
    op.drop_index("ix_bureau_records_borrower_id", table_name="bureau_records")
    op.drop_table("bureau_records")
    op.drop_index("ix_bureau_submissions_month", table_name="bureau_submissions")
    op.drop_table("bureau_submissions")
    op.drop_index("ix_loan_pricing_borrower_id", table_name="loan_pricing")
    op.drop_table("loan_pricing")
    op.drop_index("uq_borrowers_open_national_id_bidx", table_name="borrowers")
    op.drop_index("ix_borrowers_national_id_bidx", table_name="borrowers")
    op.create_unique_constraint("uq_borrowers_national_id_bidx", "borrowers", ["national_id_bidx"])
