"""Borrower-journey tables (migration ``0004_journey``): credit applications and their
decisions, e-contracts and the notification inbox. (Payouts are funding's
``loan_payouts``; the journey's own ``disbursements`` table went in ``0008``.)

Every table carries ``borrower_id`` (the future shard key). A signed contract is
immutable: the database refuses to update or delete it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from mobilend.adapters.db.tables import RATE, metadata

APPLICATION_OUTCOMES = ("approve", "decline", "refer")
CONTRACT_STATUSES = ("draft", "signed")
NOTIFICATION_STATUSES = ("pending", "sent", "failed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _instant(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _borrower() -> sa.Column[str]:
    return sa.Column("borrower_id", sa.Text, sa.ForeignKey("borrowers.id"), nullable=False)


def _currency() -> sa.Column[str]:
    return sa.Column("currency", sa.CHAR(3), nullable=False, server_default="CNY")


credit_applications = sa.Table(
    "credit_applications",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    _borrower(),
    sa.Column("product_code", sa.Text, sa.ForeignKey("products.code"), nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("decision_id", sa.Text, nullable=False),
    _instant("applied_at", nullable=False),
    sa.Column("decided_on", sa.Date, nullable=False),
    sa.Column("limit_minor", sa.BigInteger, nullable=True),
    _currency(),
    sa.Column("annual_rate", RATE, nullable=True),
    sa.Column("price_band", sa.Text, nullable=False, server_default=""),
    sa.Column("expires_on", sa.Date, nullable=True),
    sa.Column("line_id", sa.Text, sa.ForeignKey("credit_lines.id"), nullable=True, unique=True),
    # [{"code", "text_zh", "text_en"}], ranked.
    sa.Column("reasons", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("versions", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("declared", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.CheckConstraint(_in("outcome", APPLICATION_OUTCOMES), name="outcome_known"),
    sa.CheckConstraint(
        "outcome <> 'approve' OR (limit_minor > 0 AND annual_rate IS NOT NULL)",
        name="approval_has_terms",
    ),
    sa.Index("ix_credit_applications_borrower_id_applied_at", "borrower_id", "applied_at"),
)

loan_contracts = sa.Table(
    "loan_contracts",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    _borrower(),
    sa.Column("line_id", sa.Text, sa.ForeignKey("credit_lines.id"), nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("template_version", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("sha256", sa.CHAR(64), nullable=False),
    sa.Column("terms", JSONB, nullable=False),
    sa.Column("offer_date", sa.Date, nullable=False),
    _instant("created_at", nullable=False),
    _instant("signed_at"),
    sa.Column("ip_address", sa.Text, nullable=False, server_default=""),
    sa.Column("device_id", sa.Text, nullable=False, server_default=""),
    sa.Column("loan_id", sa.Text, sa.ForeignKey("loans.id"), nullable=True, unique=True),
    sa.CheckConstraint(_in("status", CONTRACT_STATUSES), name="status_known"),
    sa.CheckConstraint(
        "status <> 'signed' OR (signed_at IS NOT NULL AND loan_id IS NOT NULL)",
        name="signed_has_loan",
    ),
    sa.Index("ix_loan_contracts_borrower_id_created_at", "borrower_id", "created_at"),
)

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    _borrower(),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False, server_default="sms"),
    sa.Column("title_zh", sa.Text, nullable=False),
    sa.Column("title_en", sa.Text, nullable=False),
    sa.Column("body_zh", sa.Text, nullable=False),
    sa.Column("body_en", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("gateway_reference", sa.Text, nullable=False, server_default=""),
    _instant("created_at", nullable=False),
    _instant("sent_at"),
    sa.CheckConstraint(_in("status", NOTIFICATION_STATUSES), name="status_known"),
    sa.Index("ix_notifications_borrower_id_created_at", "borrower_id", "created_at"),
)
