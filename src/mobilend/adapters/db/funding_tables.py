"""Funding and disbursement tables (migration ``0005_funding``).

The funder registry and programmes, funder positions (quota and balance counters), the
tranches of each loan, partner approvals, the routing log, loan payouts, the funding
outbox, rail events received, and daily reconciliation reports. Money is BIGINT fen;
rates and shares are NUMERIC fractions. Tables that grow with loans carry
``borrower_id``.

Payout messages have their own outbox table so that each dispatcher only ever sees
messages it knows how to send.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from mobilend.adapters.db.tables import RATE, metadata

PAYOUT_STATUSES = (
    "awaiting_approval", "queued", "sent", "paid", "failed", "dead_letter", "needs_review",
)  # fmt: skip
APPROVAL_STATUSES = ("pending", "approved", "declined", "timed_out", "withdrawn")
FUNDER_KINDS = ("own_pool", "bank", "consumer_finance", "micro_lender")
WHITELIST_STATUSES = ("pending", "whitelisted", "suspended", "removed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _money(name: str, *, nullable: bool = False) -> sa.Column[int]:
    if nullable:
        return sa.Column(name, sa.BigInteger, nullable=True)
    return sa.Column(name, sa.BigInteger, nullable=False, server_default="0")


def _currency() -> sa.Column[str]:
    return sa.Column("currency", sa.CHAR(3), nullable=False, server_default="CNY")


def _instant(name: str, *, default_now: bool = False) -> sa.Column[object]:
    if default_now:
        return sa.Column(
            name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        )
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


funders = sa.Table(
    "funders",
    metadata,
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("licence_no", sa.Text, nullable=False, server_default=""),
    sa.Column("whitelist_status", sa.Text, nullable=False),
    sa.Column("whitelisted_from", sa.Date, nullable=True),
    sa.Column("whitelisted_until", sa.Date, nullable=True),
    sa.Column("regions", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("products", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("min_score", sa.Integer, nullable=True),
    _currency(),
    _money("min_amount"),
    _money("max_amount"),
    _money("daily_quota", nullable=True),
    _money("total_quota", nullable=True),
    _money("max_balance", nullable=True),
    sa.Column("cost_of_funds", RATE, nullable=False, server_default="0"),
    sa.Column("interest_share", RATE, nullable=False, server_default="1"),
    sa.Column("requires_approval", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("priority", sa.Integer, nullable=False, server_default="100"),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    _instant("created_at", default_now=True),
    sa.CheckConstraint(_in("kind", FUNDER_KINDS), name="kind_known"),
    sa.CheckConstraint(_in("whitelist_status", WHITELIST_STATUSES), name="whitelist_known"),
)

funding_programmes = sa.Table(
    "funding_programmes",
    metadata,
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, server_default=""),
    # [{"funder": code, "share": "0.3"}, ...]: shares sum to 1, each >= 0.3 when joint.
    sa.Column("shares", JSONB, nullable=False),
    sa.Column("priority", sa.Integer, nullable=False, server_default="100"),
    sa.Column("weight", RATE, nullable=False, server_default="1"),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("routed_count", sa.BigInteger, nullable=False, server_default="0"),
    _money("routed_amount"),
    _instant("created_at", default_now=True),
)

funding_settings = sa.Table(
    "funding_settings",
    metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True, server_default="1"),
    sa.Column("strategy", sa.Text, nullable=False, server_default="priority"),
    _money("joint_balance_limit", nullable=True),
    _currency(),
    sa.Column("approval_timeout_s", sa.Integer, nullable=False, server_default="30"),
    sa.CheckConstraint("id = 1", name="single_row"),
    sa.CheckConstraint(
        _in("strategy", ("priority", "cheapest", "round_robin")), name="strategy_known"
    ),
)

# Counters kept in step by routing (under a row lock) and by cancellations; the daily
# reconciliation recomputes ``outstanding`` from the open loans.
funder_positions = sa.Table(
    "funder_positions",
    metadata,
    sa.Column("funder_code", sa.Text, primary_key=True),
    _currency(),
    _money("routed_total"),
    _money("outstanding"),
    _money("joint_outstanding"),
)

funder_daily_usage = sa.Table(
    "funder_daily_usage",
    metadata,
    sa.Column("funder_code", sa.Text, primary_key=True),
    sa.Column("business_date", sa.Date, primary_key=True),
    _money("routed"),
)

loan_tranches = sa.Table(
    "loan_tranches",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
    sa.Column("loan_id", sa.Text, sa.ForeignKey("loans.id"), nullable=False, index=True),
    sa.Column("borrower_id", sa.Text, nullable=False, index=True),
    sa.Column("funder_code", sa.Text, nullable=False),
    _money("principal"),
    _currency(),
    sa.Column("share", RATE, nullable=False),
    sa.Column("interest_share", RATE, nullable=False),
    sa.Column("cash_account", sa.Text, nullable=False),
    sa.Column("requires_approval", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("joint", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("released", sa.Boolean, nullable=False, server_default=sa.false()),
    _instant("created_at", default_now=True),
    sa.CheckConstraint("principal > 0", name="principal_positive"),
    sa.Index(
        "uq_loan_tranches_live",
        "loan_id",
        "funder_code",
        unique=True,
        postgresql_where=sa.text("NOT released"),
    ),
)

loan_payouts = sa.Table(
    "loan_payouts",
    metadata,
    sa.Column("loan_id", sa.Text, sa.ForeignKey("loans.id"), primary_key=True),
    sa.Column("borrower_id", sa.Text, nullable=False, index=True),
    _money("amount"),
    _currency(),
    sa.Column("idempotency_key", sa.Text, nullable=False, unique=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("rail_reference", sa.Text, nullable=False, server_default=""),
    sa.Column("failure_code", sa.Text, nullable=False, server_default=""),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_sequence", sa.Integer, nullable=False, server_default="0"),
    _instant("sent_at"),
    _instant("confirmed_at"),
    sa.Column("settled_on", sa.Date, nullable=True, index=True),
    sa.Column("resolved_by", sa.Text, nullable=False, server_default=""),
    sa.Column("settlement_entry_id", sa.Text, nullable=True),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    _instant("next_poll_at"),
    sa.Column("context", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    _instant("created_at", default_now=True),
    _instant("updated_at", default_now=True),
    sa.CheckConstraint(_in("status", PAYOUT_STATUSES), name="status_known"),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    sa.Index("ix_loan_payouts_status", "status"),
    # The status poll reads only payouts still waiting for the rail's word.
    sa.Index(
        "ix_loan_payouts_unconfirmed",
        "next_poll_at",
        postgresql_where=sa.text("status IN ('sent', 'dead_letter')"),
    ),
)

partner_approvals = sa.Table(
    "partner_approvals",
    metadata,
    sa.Column("request_id", sa.Text, primary_key=True),
    sa.Column("loan_id", sa.Text, sa.ForeignKey("loans.id"), nullable=False, index=True),
    sa.Column("borrower_id", sa.Text, nullable=False, index=True),
    sa.Column("funder_code", sa.Text, nullable=False),
    _money("amount"),
    _currency(),
    sa.Column("status", sa.Text, nullable=False),
    _instant("requested_at", default_now=True),
    # The partner's own decision: written once, never changed.
    sa.Column("partner_decision", sa.Text, nullable=False, server_default=""),
    sa.Column("partner_reference", sa.Text, nullable=False, server_default=""),
    sa.Column("reason_code", sa.Text, nullable=False, server_default=""),
    _instant("decided_at"),
    sa.Column("source", sa.Text, nullable=False, server_default=""),
    sa.Column("sent", sa.Boolean, nullable=False, server_default=sa.false()),
    _instant("next_check_at"),
    sa.CheckConstraint(_in("status", APPROVAL_STATUSES), name="status_known"),
    sa.CheckConstraint(
        _in("partner_decision", ("", "approved", "declined")), name="decision_known"
    ),
    sa.Index(
        "ix_partner_approvals_pending",
        "requested_at",
        postgresql_where=sa.text("status = 'pending'"),
    ),
)

routing_decisions = sa.Table(
    "routing_decisions",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    # No foreign key: the decision is logged before the loan row is written.
    sa.Column("loan_id", sa.Text, nullable=False, index=True),
    sa.Column("borrower_id", sa.Text, nullable=False, index=True),
    sa.Column("attempt", sa.Integer, nullable=False, server_default="1"),
    sa.Column("strategy", sa.Text, nullable=False),
    sa.Column("programme_code", sa.Text, nullable=True),
    sa.Column("reasons", JSONB, nullable=False),
    _instant("created_at", default_now=True),
)

funding_outbox = sa.Table(
    "funding_outbox",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("borrower_id", sa.Text, nullable=True, index=True),
    sa.Column("payload", JSONB, nullable=False),
    sa.Column("idempotency_key", sa.Text, nullable=False, unique=True),
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    _instant("next_attempt_at", default_now=True),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    _instant("created_at", default_now=True),
    sa.CheckConstraint(_in("status", ("pending", "sent", "dead")), name="status_known"),
    sa.Index(
        "ix_funding_outbox_due",
        "topic",
        "next_attempt_at",
        postgresql_where=sa.text("status = 'pending'"),
    ),
)

rail_events = sa.Table(
    "rail_events",
    metadata,
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("idempotency_key", sa.Text, nullable=False, index=True),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("sequence", sa.Integer, nullable=False),
    sa.Column("final", sa.Boolean, nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),
    _instant("received_at", default_now=True),
    sa.Index("ix_rail_events_outcome", "outcome"),
)

reconciliation_reports = sa.Table(
    "reconciliation_reports",
    metadata,
    sa.Column("business_date", sa.Date, primary_key=True),
    sa.Column("clean", sa.Boolean, nullable=False),
    sa.Column("breaks", sa.Integer, nullable=False),
    sa.Column("report", JSONB, nullable=False),
    _instant("created_at", default_now=True),
)
