"""Lending state the domain keeps: line opening date and revolving flag; prepayment accrual.

Revision ID: 0003_lending_state
Revises: 0002_onboarding
"""

from __future__ import annotations

from alembic import op

revision = "0003_lending_state"
down_revision = "0002_onboarding"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE credit_lines ADD COLUMN IF NOT EXISTS opened_on date")
    op.execute(
        "ALTER TABLE credit_lines ADD COLUMN IF NOT EXISTS revolving boolean NOT NULL DEFAULT true"
    )
    op.execute("ALTER TABLE installments ADD COLUMN IF NOT EXISTS accrual_start date")
    op.execute(
        "ALTER TABLE installments ADD COLUMN IF NOT EXISTS interest_base bigint NOT NULL DEFAULT 0"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE installments DROP COLUMN IF EXISTS interest_base")
    op.execute("ALTER TABLE installments DROP COLUMN IF EXISTS accrual_start")
    op.execute("ALTER TABLE credit_lines DROP COLUMN IF EXISTS revolving")
    op.execute("ALTER TABLE credit_lines DROP COLUMN IF EXISTS opened_on")
