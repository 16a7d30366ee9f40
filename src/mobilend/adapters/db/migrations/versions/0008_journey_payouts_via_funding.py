"""Journey payouts go through funding: the journey's own ``disbursements`` table goes.

A signed contract's payout is funding's ``loan_payouts`` row (routed, booked against the
rail's in-transit account, sent from ``funding_outbox``). Rows the journey kept are
carried over under the same idempotency key, so a borrower's older loans still show
their payout: ``paid`` and ``failed`` as they were (with no settlement day: they never
passed through the in-transit account, so reconciliation has nothing of theirs to
match); ``pending`` ones as ``needs_review`` (booked against cash, not in transit, so
only an operator may settle them).
The journey's queued ``rail.payout`` messages are given up (``dead``): nothing sends
that topic any more.

Revision ID: 0008_journey_payouts_via_funding
Revises: 0007_risk
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_journey_payouts_via_funding"
down_revision = "0007_risk"
branch_labels = None
depends_on = None

CARRY_OVER = """
INSERT INTO loan_payouts (
    loan_id, borrower_id, amount, currency, idempotency_key, status, business_date,
    rail_reference, failure_code, confirmed_at, resolved_by, last_error,
    created_at, updated_at
)
SELECT
    d.loan_id, d.borrower_id, d.amount, d.currency, d.idempotency_key,
    CASE d.status WHEN 'pending' THEN 'needs_review' ELSE d.status END,
    d.requested_at::date, d.rail_reference, d.failure_code,
    CASE WHEN d.status = 'pending' THEN NULL ELSE d.updated_at END,
    'journey',
    CASE WHEN d.status = 'pending'
        THEN 'journey payout from before 0008, booked against cash: ask the rail, settle by hand'
        ELSE '' END,
    d.requested_at, d.updated_at
FROM disbursements d
ON CONFLICT DO NOTHING
"""

GIVE_UP_PAYOUT_MESSAGES = """
UPDATE outbox SET status = 'dead', last_error = 'superseded by funding.payout (0008)'
WHERE topic = 'rail.payout' AND status = 'pending'
"""

CARRY_BACK = """
INSERT INTO disbursements (
    loan_id, borrower_id, contract_id, amount, currency, status, idempotency_key,
    rail_reference, failure_code, requested_at, updated_at
)
SELECT
    p.loan_id, p.borrower_id, c.id, p.amount, p.currency,
    CASE WHEN p.status IN ('paid', 'failed') THEN p.status ELSE 'pending' END,
    p.idempotency_key, p.rail_reference, p.failure_code, p.created_at, p.updated_at
FROM loan_payouts p JOIN loan_contracts c ON c.loan_id = p.loan_id
"""


def upgrade() -> None:
    op.execute(CARRY_OVER)
    op.execute(GIVE_UP_PAYOUT_MESSAGES)
    op.drop_index("ix_disbursements_pending", table_name="disbursements")
    op.drop_index("ix_disbursements_borrower_id", table_name="disbursements")
    op.drop_table("disbursements")


def downgrade() -> None:
    # The table as 0004 made it, with each signed contract's payout carried back.
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
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'paid', 'failed')", name=op.f("ck_disbursements_status_known")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_disbursements_amount_positive")),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name=op.f("fk_disbursements_borrower_id_borrowers")
        ),
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
    op.execute(CARRY_BACK)
