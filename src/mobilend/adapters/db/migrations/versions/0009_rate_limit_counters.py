"""Abuse-limit counters: sign-in code sends and checks per client, phone and overall.

Revision ID: 0009_rate_limit_counters
Revises: 0008_journey_payouts_via_funding
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_rate_limit_counters"
down_revision = "0008_journey_payouts_via_funding"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_counters",
        sa.Column("bucket", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "bucket", "key", "window_start", name=op.f("pk_rate_limit_counters")
        ),
    )
    op.create_index(
        op.f("ix_rate_limit_counters_window_end"), "rate_limit_counters", ["window_end"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_rate_limit_counters_window_end"), table_name="rate_limit_counters")
    op.drop_table("rate_limit_counters")
