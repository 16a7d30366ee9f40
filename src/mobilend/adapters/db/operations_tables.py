"""Back-office tables (migration ``0012_console``): maker-checker requests and the
reviews of referred applications.

At most one request per kind and target waits at a time (a partial unique index); a
review sits beside its application, which keeps the engine's own decision untouched in
``decisions``.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from mobilend.adapters.db.tables import RATE, metadata

APPROVAL_KINDS = (
    "write_off", "refund", "settlement", "manual_approval", "product_change",
    "funder_change", "policy_promotion", "model_promotion",
)  # fmt: skip
APPROVAL_STATUSES = ("pending", "approved", "rejected", "cancelled")
REVIEW_STATUSES = ("approved", "declined", "awaiting_checker", "checker_rejected")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


approval_requests = sa.Table(
    "approval_requests",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("payload", JSONB, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("maker", sa.Text, nullable=False),
    sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("checker", sa.Text, nullable=True),
    sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("check_note", sa.Text, nullable=False, server_default=""),
    sa.Column("result", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.CheckConstraint(_in("kind", APPROVAL_KINDS), name="kind_known"),
    sa.CheckConstraint(_in("status", APPROVAL_STATUSES), name="status_known"),
    # The database keeps the rule too: the maker never checks their own request.
    sa.CheckConstraint(
        "checker IS NULL OR checker <> maker OR status = 'cancelled'", name="second_person"
    ),
    sa.Index("ix_approval_requests_status_made_at", "status", "made_at"),
    sa.Index(
        "uq_approval_requests_pending",
        "kind",
        "target",
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    ),
)

referral_reviews = sa.Table(
    "referral_reviews",
    metadata,
    sa.Column("application_id", sa.Text, sa.ForeignKey("credit_applications.id"), primary_key=True),
    sa.Column("borrower_id", sa.Text, nullable=False, index=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("reviewer", sa.Text, nullable=False),
    sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("limit_minor", sa.BigInteger, nullable=True),
    sa.Column("currency", sa.CHAR(3), nullable=False, server_default="CNY"),
    sa.Column("annual_rate", RATE, nullable=True),
    sa.Column("approval_id", sa.Text, nullable=True),
    sa.CheckConstraint(_in("status", REVIEW_STATUSES), name="status_known"),
)
