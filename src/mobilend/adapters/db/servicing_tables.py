"""Servicing tables (migration ``0006_servicing``): business dates closed by end of day,
borrowers' contact settings, reminders and their delivery receipts, auto-debit attempts,
incoming bank transfers (and suspense), repayment reversals, overpayment refunds,
behaviour scores and bureau changes.

Every table that grows with the business carries ``borrower_id`` (the future shard key),
except incoming transfers, which may not yet belong to anyone (suspense). Money is
BIGINT fen. The job queue's own tables live in the PostgreSQL schema ``procrastinate``
(created by the same migration), outside this metadata.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from mobilend.adapters.db.tables import metadata

BUSINESS_DATE_STATUSES = ("running", "done")
MESSAGE_KINDS = ("service", "legal", "marketing")
MESSAGE_CHANNELS = ("sms", "push")
MESSAGE_STATUSES = ("pending", "sent", "delivered", "failed", "dead", "suppressed")
DEBIT_STATUSES = ("pending", "submitted", "succeeded", "failed")
TRANSFER_STATUSES = ("matched", "suspense", "assigned")
REFUND_STATUSES = ("awaiting_approval", "pending", "sent", "paid", "failed")
#: What a card debit is for: the auto-debit plan, or the borrower's own payment in the app.
DEBIT_PURPOSES = ("schedule", "due", "amount", "payoff", "prepay")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _money(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger, nullable=False, server_default="0")


def _currency() -> sa.Column[str]:
    return sa.Column("currency", sa.CHAR(3), nullable=False, server_default="CNY")


def _instant(name: str, *, default_now: bool = False) -> sa.Column[object]:
    if default_now:
        return sa.Column(
            name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        )
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def _borrower(*, nullable: bool = False) -> sa.Column[str]:
    return sa.Column("borrower_id", sa.Text, sa.ForeignKey("borrowers.id"), nullable=nullable)


# One row per business date whose end of day was started: the partition count it was
# fanned out over, and when every step of the date finished.
eod_business_dates = sa.Table(
    "eod_business_dates",
    metadata,
    sa.Column("business_date", sa.Date, primary_key=True),
    sa.Column("partition_count", sa.Integer, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="running"),
    # The latest date asked for while this one ran: the next one is run after it.
    sa.Column("catch_up_to", sa.Date, nullable=True),
    _instant("started_at", default_now=True),
    _instant("closed_at"),
    sa.Column("summary", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.CheckConstraint(_in("status", BUSINESS_DATE_STATUSES), name="status_known"),
    sa.CheckConstraint("partition_count >= 1", name="partitions_positive"),
)

borrower_contact_settings = sa.Table(
    "borrower_contact_settings",
    metadata,
    sa.Column("borrower_id", sa.Text, sa.ForeignKey("borrowers.id"), primary_key=True),
    sa.Column("time_zone", sa.Text, nullable=False, server_default="Asia/Shanghai"),
    sa.Column("locale", sa.Text, nullable=False, server_default="zh-CN"),
    sa.Column("push_token", sa.Text, nullable=True),
    _instant("updated_at", default_now=True),
)

servicing_messages = sa.Table(
    "servicing_messages",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    _borrower(),
    sa.Column("loan_id", sa.Text, nullable=True),
    sa.Column("template", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("locale", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False, server_default=""),
    # Rendered when the message leaves (in the borrower's language) from these values.
    sa.Column("params", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("body", sa.Text, nullable=False, server_default=""),
    # Makes planning idempotent: one reminder per loan, installment, step and channel.
    sa.Column("dedupe_key", sa.Text, nullable=False, unique=True),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    # Not before the morning of the business date in the borrower's zone; moved on by
    # quiet hours, the daily cap and retries.
    _instant("next_attempt_at", default_now=True),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    sa.Column("gateway_reference", sa.Text, nullable=False, server_default=""),
    sa.Column("recipient_masked", sa.Text, nullable=False, server_default=""),
    _instant("created_at", default_now=True),
    _instant("sent_at"),
    _instant("delivered_at"),
    sa.CheckConstraint(_in("kind", MESSAGE_KINDS), name="kind_known"),
    sa.CheckConstraint(_in("channel", MESSAGE_CHANNELS), name="channel_known"),
    sa.CheckConstraint(_in("status", MESSAGE_STATUSES), name="status_known"),
    sa.Index(
        "ix_servicing_messages_pending",
        "next_attempt_at",
        postgresql_where=sa.text("status = 'pending'"),
    ),
    sa.Index("ix_servicing_messages_borrower_id_created_at", "borrower_id", "created_at"),
    sa.Index(
        "ix_servicing_messages_dead", "created_at", postgresql_where=sa.text("status = 'dead'")
    ),
)

message_receipts = sa.Table(
    "message_receipts",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
    sa.Column("message_id", sa.Text, nullable=False, index=True),
    sa.Column("borrower_id", sa.Text, nullable=True),
    sa.Column("gateway_reference", sa.Text, nullable=False, server_default=""),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("error", sa.Text, nullable=False, server_default=""),
    # The gateway's event id (webhooks) or "poll:<reference>": a receipt is stored once.
    sa.Column("event_key", sa.Text, nullable=False, unique=True),
    _instant("received_at", default_now=True),
)

# Messages sent per borrower and local calendar day: a slot is taken atomically before a
# message leaves, so concurrent senders can never pass the daily cap.
message_daily_counts = sa.Table(
    "message_daily_counts",
    metadata,
    sa.Column("borrower_id", sa.Text, primary_key=True),
    sa.Column("local_day", sa.Date, primary_key=True),
    sa.Column("sent", sa.Integer, nullable=False, server_default="0"),
)

# Where the receipt poller got to, per gateway.
servicing_cursors = sa.Table(
    "servicing_cursors",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False, server_default="0"),
)

autodebit_attempts = sa.Table(
    "autodebit_attempts",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("loan_id", sa.Text, sa.ForeignKey("loans.id"), nullable=False),
    _borrower(),
    sa.Column("business_date", sa.Date, nullable=False),
    # Oldest unpaid due date when planned, and the step of the retry plan (days after it).
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("plan_day", sa.Integer, nullable=False),
    _money("amount"),
    _currency(),
    sa.Column("idempotency_key", sa.Text, nullable=False, unique=True),
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("failure_code", sa.Text, nullable=False, server_default=""),
    sa.Column("rail_reference", sa.Text, nullable=False, server_default=""),
    sa.Column("repayment_id", sa.Text, nullable=True),
    sa.Column("settled_on", sa.Date, nullable=True),
    sa.Column("purpose", sa.Text, nullable=False, server_default="schedule"),
    sa.Column("mode", sa.Text, nullable=False, server_default=""),
    # The highest rail event sequence applied: an older event never overrides a newer one.
    sa.Column("last_sequence", sa.Integer, nullable=False, server_default="0"),
    # The day the rail paid the money it collected into the lender's bank.
    sa.Column("bank_settled_on", sa.Date, nullable=True),
    _instant("created_at", default_now=True),
    _instant("updated_at", default_now=True),
    sa.CheckConstraint(_in("status", DEBIT_STATUSES), name="status_known"),
    sa.CheckConstraint(_in("purpose", DEBIT_PURPOSES), name="purpose_known"),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    # The plan debits a loan at most once a business date; the borrower may pay often.
    sa.Index(
        "uq_autodebit_attempts_loan_day",
        "loan_id",
        "business_date",
        unique=True,
        postgresql_where=sa.text("purpose = 'schedule'"),
    ),
    sa.Index("ix_autodebit_attempts_loan_id", "loan_id"),
    sa.Index(
        "ix_autodebit_attempts_open",
        "business_date",
        postgresql_where=sa.text("status IN ('pending', 'submitted')"),
    ),
    sa.Index("ix_autodebit_attempts_borrower_id_business_date", "borrower_id", "business_date"),
)

incoming_transfers = sa.Table(
    "incoming_transfers",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    # The bank's own transaction id: receiving the same transfer twice changes nothing.
    sa.Column("bank_transaction_id", sa.Text, nullable=False, unique=True),
    sa.Column("reference", sa.Text, nullable=False, server_default=""),
    sa.Column("payer_masked", sa.Text, nullable=False, server_default=""),
    _money("amount"),
    _currency(),
    sa.Column("received_on", sa.Date, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("loan_id", sa.Text, sa.ForeignKey("loans.id"), nullable=True),
    _borrower(nullable=True),
    sa.Column("repayment_id", sa.Text, nullable=True),
    sa.Column("suspense_entry_id", sa.Text, nullable=True),
    sa.Column("assigned_by", sa.Text, nullable=False, server_default=""),
    _instant("assigned_at"),
    _instant("created_at", default_now=True),
    sa.CheckConstraint(_in("status", TRANSFER_STATUSES), name="status_known"),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    sa.Index(
        "ix_incoming_transfers_suspense",
        "received_on",
        postgresql_where=sa.text("status = 'suspense'"),
    ),
)

repayment_reversals = sa.Table(
    "repayment_reversals",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("repayment_id", sa.Text, sa.ForeignKey("repayments.id"), nullable=False, unique=True),
    sa.Column("loan_id", sa.Text, sa.ForeignKey("loans.id"), nullable=False),
    _borrower(),
    _money("amount"),
    _currency(),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("entry_ids", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    _instant("created_at", default_now=True),
    sa.Index("ix_repayment_reversals_borrower_id", "borrower_id"),
)

credit_refunds = sa.Table(
    "credit_refunds",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("loan_id", sa.Text, sa.ForeignKey("loans.id"), nullable=False, index=True),
    _borrower(),
    _money("amount"),
    _currency(),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("entry_id", sa.Text, nullable=False),
    sa.Column("idempotency_key", sa.Text, nullable=False, unique=True),
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rail_reference", sa.Text, nullable=False, server_default=""),
    sa.Column("failure_code", sa.Text, nullable=False, server_default=""),
    sa.Column("approved_by", sa.Text, nullable=False, server_default=""),
    _instant("created_at", default_now=True),
    sa.CheckConstraint(_in("status", REFUND_STATUSES), name="status_known"),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    sa.Index(
        "ix_credit_refunds_pending", "created_at", postgresql_where=sa.text("status = 'pending'")
    ),
)

# The latest behaviour score of each active loan, rewritten only when it changes
# (``scored_on`` is the date it last changed; ``days_to_roll`` is kept only inside the
# warning horizon, so most rows stay untouched from one day to the next).
loan_behaviour_scores = sa.Table(
    "loan_behaviour_scores",
    metadata,
    sa.Column("loan_id", sa.Text, sa.ForeignKey("loans.id"), primary_key=True),
    _borrower(),
    sa.Column("scored_on", sa.Date, nullable=False),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("band", sa.Text, nullable=False),
    sa.Column("roll_risk", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("bucket", sa.Text, nullable=False),
    sa.Column("next_bucket", sa.Text, nullable=False),
    sa.Column("days_to_roll", sa.Integer, nullable=True),
    sa.Column("dpd", sa.Integer, nullable=False),
    sa.Column("max_dpd", sa.Integer, nullable=False),
    sa.Column("late_installments", sa.Integer, nullable=False),
    sa.Column("avg_days_late", sa.Integer, nullable=False),
    sa.Column("partial_installments", sa.Integer, nullable=False),
    sa.Column("failed_debits", sa.Integer, nullable=False),
    sa.Column("bureau_events", sa.Integer, nullable=False),
    sa.Index("ix_loan_behaviour_scores_borrower_id", "borrower_id"),
    sa.Index("ix_loan_behaviour_scores_roll_risk", "score", postgresql_where=sa.text("roll_risk")),
)

# Adverse changes seen at the credit bureau (new delinquency elsewhere, score drop, many
# new enquiries), fed by line reviews and bureau refreshes.
bureau_changes = sa.Table(
    "bureau_changes",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
    _borrower(),
    sa.Column("observed_on", sa.Date, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False, server_default=""),
    sa.Index("ix_bureau_changes_borrower_id_observed_on", "borrower_id", "observed_on"),
)
