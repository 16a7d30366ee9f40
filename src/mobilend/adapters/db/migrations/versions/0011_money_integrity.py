"""Repayments from the app are collected through the rail; refunds above a threshold
wait for an operator.

``autodebit_attempts`` holds every card debit, the auto-debit plan's (``purpose``
``schedule``, still one per loan and business date) and the borrower's own from the
app (``due``, ``amount``, ``payoff``, ``prepay``; as many as they make). ``mode`` is a
prepayment's, ``last_sequence`` the highest rail event sequence applied,
``bank_settled_on`` the day the rail paid the collected money into the lender's bank.
``credit_refunds`` may wait for approval (``awaiting_approval``, ``approved_by``).

Revision ID: 0011_money_integrity
Revises: 0010_minimised_personal_data
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_money_integrity"
down_revision = "0010_minimised_personal_data"
branch_labels = None
depends_on = None

PURPOSES = "('schedule', 'due', 'amount', 'payoff', 'prepay')"
REFUND_STATUSES = "('awaiting_approval', 'pending', 'sent', 'paid', 'failed')"


def upgrade() -> None:
    op.add_column(
        "autodebit_attempts",
        sa.Column("purpose", sa.Text(), server_default="schedule", nullable=False),
    )
    op.add_column(
        "autodebit_attempts", sa.Column("mode", sa.Text(), server_default="", nullable=False)
    )
    op.add_column(
        "autodebit_attempts",
        sa.Column("last_sequence", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("autodebit_attempts", sa.Column("bank_settled_on", sa.Date(), nullable=True))
    # Debits collected before: booked straight to the rail's cash account, so settled.
    op.execute(
        "UPDATE autodebit_attempts SET bank_settled_on = settled_on WHERE status = 'succeeded'"
    )
    op.create_check_constraint(
        op.f("ck_autodebit_attempts_purpose_known"), "autodebit_attempts", f"purpose IN {PURPOSES}"
    )
    op.drop_constraint(op.f("uq_autodebit_attempts_loan_day"), "autodebit_attempts", type_="unique")
    op.create_index(
        op.f("uq_autodebit_attempts_loan_day"),
        "autodebit_attempts",
        ["loan_id", "business_date"],
        unique=True,
        postgresql_where=sa.text("purpose = 'schedule'"),
    )
    op.create_index(op.f("ix_autodebit_attempts_loan_id"), "autodebit_attempts", ["loan_id"])
    op.drop_constraint(op.f("ck_credit_refunds_status_known"), "credit_refunds", type_="check")
    op.create_check_constraint(
        op.f("ck_credit_refunds_status_known"), "credit_refunds", f"status IN {REFUND_STATUSES}"
    )
    op.add_column(
        "credit_refunds",
        sa.Column("approved_by", sa.Text(), server_default="", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("credit_refunds", "approved_by")
    op.drop_constraint(op.f("ck_credit_refunds_status_known"), "credit_refunds", type_="check")
    op.create_check_constraint(
        op.f("ck_credit_refunds_status_known"),
        "credit_refunds",
        "status IN ('pending', 'sent', 'paid', 'failed')",
    )
    op.drop_index(op.f("ix_autodebit_attempts_loan_id"), table_name="autodebit_attempts")
    op.drop_index(op.f("uq_autodebit_attempts_loan_day"), table_name="autodebit_attempts")
    op.execute("DELETE FROM autodebit_attempts WHERE purpose <> 'schedule'")
    op.create_unique_constraint(
        op.f("uq_autodebit_attempts_loan_day"), "autodebit_attempts", ["loan_id", "business_date"]
    )
    op.drop_constraint(
        op.f("ck_autodebit_attempts_purpose_known"), "autodebit_attempts", type_="check"
    )
    op.drop_column("autodebit_attempts", "bank_settled_on")
    op.drop_column("autodebit_attempts", "last_sequence")
    op.drop_column("autodebit_attempts", "mode")
    op.drop_column("autodebit_attempts", "purpose")
