"""Table definitions (SQLAlchemy Core). The migrations in ``migrations/versions`` create them.

Conventions:
- money is BIGINT minor units (fen) with a CHAR(3) currency beside it;
- ids are TEXT (sortable ids from the id source), except posting ids (BIGINT identity);
- every table that grows with the business carries ``borrower_id``, the future shard key;
- instants are ``timestamptz``; business dates are ``date``;
- mutable aggregates carry ``version`` for optimistic locking.
A test compares this metadata with the migrated schema, so a change here needs a migration.

Features add their own tables in ``adapters/db/<feature>_tables.py`` on the same
``metadata``; ``load_all_tables()`` imports every such module.
"""

from __future__ import annotations

import importlib
import pkgutil

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

RATE = sa.Numeric(12, 8)  # annual rates as fractions, e.g. 0.18000000


def _money(name: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger, nullable=nullable, server_default="0")


def _currency() -> sa.Column[str]:
    return sa.Column("currency", sa.CHAR(3), nullable=False, server_default="CNY")


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


products = sa.Table(
    "products",
    metadata,
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("definition", JSONB, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    _created_at(),
)

borrowers = sa.Table(
    "borrowers",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    _created_at(),
)

credit_lines = sa.Table(
    "credit_lines",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("borrower_id", sa.Text, sa.ForeignKey("borrowers.id"), nullable=False, index=True),
    sa.Column("product_code", sa.Text, sa.ForeignKey("products.code"), nullable=False),
    _money("credit_limit"),
    _money("used"),
    _currency(),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("expires_on", sa.Date, nullable=True),
    sa.Column("frozen_reason", sa.Text, nullable=True),
    sa.Column("opened_on", sa.Date, nullable=True),
    sa.Column("revolving", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    _created_at(),
    sa.CheckConstraint("used >= 0 AND used <= credit_limit", name="used_within_limit"),
)

# Stored with fillfactor 90 (migration 0017): end of day rewrites every active loan each
# night, and room on the page keeps those updates heap-only (no index writes).
loans = sa.Table(
    "loans",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("borrower_id", sa.Text, sa.ForeignKey("borrowers.id"), nullable=False, index=True),
    sa.Column("line_id", sa.Text, sa.ForeignKey("credit_lines.id"), nullable=True, index=True),
    sa.Column("product_code", sa.Text, sa.ForeignKey("products.code"), nullable=False),
    _money("principal"),
    _currency(),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("funding_account", sa.Text, nullable=False, server_default="cash:own_pool"),
    # The contract (domain LoanTerms) and servicing rules, frozen when the loan is drawn.
    sa.Column("terms", JSONB, nullable=False),
    sa.Column("rules", JSONB, nullable=False),
    # Copies of the terms the end-of-day SQL needs, so it reads no JSON.
    sa.Column("annual_rate", RATE, nullable=False),
    sa.Column("penalty_rate", RATE, nullable=False, server_default="0"),
    sa.Column("penalty_grace_days", sa.Integer, nullable=False, server_default="0"),
    sa.Column("day_count", sa.Text, nullable=False),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("rounding", sa.Text, nullable=False, server_default="half-up"),
    sa.Column("disbursed_on", sa.Date, nullable=True),
    # Last business date whose end of day has run for this loan.
    sa.Column("accrued_through", sa.Date, nullable=True),
    sa.Column("closed_on", sa.Date, nullable=True),
    sa.Column("dpd", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_dpd", sa.Integer, nullable=False, server_default="0"),
    sa.Column("bucket", sa.Text, nullable=False, server_default="C"),
    _money("credit_balance"),
    _money("cash_received"),
    _money("cash_refunded"),
    _money("recovered"),
    sa.Column("written_off", JSONB, nullable=True),
    sa.Column("entry_seq", sa.Integer, nullable=False, server_default="0"),
    # Balances for lists and reports, kept in step with the installments (and so with the
    # ledger) by every transaction that changes them.
    _money("outstanding_principal"),
    _money("accrued_interest"),
    _money("interest_receivable"),
    _money("fee_receivable"),
    _money("penalty_receivable"),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    _created_at(),
    # The end-of-day SQL implements exactly these conventions.
    sa.CheckConstraint("rounding IN ('half-up', 'half-even')", name="rounding_known"),
    sa.CheckConstraint("day_count IN ('30/360', 'ACT/360', 'ACT/365')", name="day_count_known"),
    # End of day reads only open loans; closed ones pile up over the years.
    sa.Index("ix_loans_open", "id", postgresql_where=sa.text("closed_on IS NULL")),
)

installments = sa.Table(
    "installments",
    metadata,
    sa.Column("loan_id", sa.Text, sa.ForeignKey("loans.id"), primary_key=True),
    sa.Column("n", sa.Integer, primary_key=True),
    sa.Column("borrower_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False, server_default="regular"),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    # Scheduled (the contract).
    _money("principal_due"),
    _money("interest_scheduled"),
    _money("fees_due"),
    # Recognised in the ledger so far. penalty_exact is the unrounded running penalty in
    # currency units (not fen), exactly as the domain keeps it.
    _money("interest_accrued"),
    _money("fees_charged"),
    sa.Column("penalty_exact", sa.Numeric, nullable=False, server_default="0"),
    _money("penalty_posted"),
    # Paid.
    _money("principal_paid"),
    _money("interest_paid"),
    _money("fees_paid"),
    _money("penalty_paid"),
    sa.Column("settled_on", sa.Date, nullable=True),
    # After a partial prepayment: interest fixed so far, and where accrual restarts.
    sa.Column("accrual_start", sa.Date, nullable=True),
    _money("interest_base"),
    # Status at the end of the loan's accrued_through date.
    sa.Column("status", sa.Text, nullable=False, server_default="scheduled"),
    sa.CheckConstraint("due_date >= period_start", name="period_not_reversed"),
    # End of day ages and re-states only installments not yet paid and already due.
    sa.Index(
        "ix_installments_unpaid_due", "due_date", postgresql_where=sa.text("status <> 'paid'")
    ),
)

repayments = sa.Table(
    "repayments",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("loan_id", sa.Text, sa.ForeignKey("loans.id"), nullable=False, index=True),
    sa.Column("borrower_id", sa.Text, nullable=False, index=True),
    _money("amount"),
    _currency(),
    sa.Column("received_on", sa.Date, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("idempotency_key", sa.Text, nullable=False, unique=True),
    sa.Column("allocation", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    _created_at(),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
)

journal_entries = sa.Table(
    "journal_entries",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("loan_id", sa.Text, nullable=True, index=True),
    sa.Column("borrower_id", sa.Text, nullable=True),
    sa.Column("reverses", sa.Text, sa.ForeignKey("journal_entries.id"), nullable=True),
    sa.Column("memo", sa.Text, nullable=False, server_default=""),
    _created_at(),
    # Set by the database to the creating transaction: the commit-time balance check
    # finds the transaction's entries by it.
    sa.Column(
        "created_txid",
        sa.BigInteger,
        nullable=False,
        server_default=sa.text("txid_current()"),
        index=True,
    ),
    # An entry is reversed at most once. Partial: nearly every entry reverses nothing,
    # and a full index took a NULL for each (a million a night at end of day).
    sa.Index(
        "uq_journal_entries_reverses",
        "reverses",
        unique=True,
        postgresql_where=sa.text("reverses IS NOT NULL"),
    ),
)

postings = sa.Table(
    "postings",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
    # References journal_entries.id. The ledger trigger checks it per statement (the entry
    # must exist and be created by the same transaction), which is stricter than a foreign
    # key and costs one join per INSERT instead of one lookup per row.
    sa.Column("entry_id", sa.Text, nullable=False, index=True),
    sa.Column("account", sa.Text, nullable=False),
    sa.Column("party", sa.Text, nullable=True),
    sa.Column("loan_id", sa.Text, nullable=True),
    sa.Column("borrower_id", sa.Text, nullable=True),
    # Signed: debit positive, credit negative. Each entry sums to zero per currency.
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    _currency(),
    sa.CheckConstraint("amount_minor <> 0", name="amount_not_zero"),
    sa.Index("ix_postings_loan_id_account", "loan_id", "account"),
)

eod_runs = sa.Table(
    "eod_runs",
    metadata,
    sa.Column("business_date", sa.Date, primary_key=True),
    sa.Column("partition_count", sa.Integer, primary_key=True),
    sa.Column("partition", sa.Integer, primary_key=True),
    sa.Column("status", sa.Text, nullable=False, server_default="running"),
    sa.Column("rows_done", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("rows_total", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column(
        "started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("partition >= 0 AND partition < partition_count", name="partition_in_range"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("borrower_id", sa.Text, nullable=True),
    sa.Column("payload", JSONB, nullable=False),
    sa.Column("idempotency_key", sa.Text, nullable=False, unique=True),
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column(
        "next_attempt_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Column("last_error", sa.Text, nullable=True),
    _created_at(),
    # The dispatcher polls pending rows in due order.
    sa.Index(
        "ix_outbox_pending", "next_attempt_at", postgresql_where=sa.text("status = 'pending'")
    ),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("borrower_id", sa.Text, nullable=True),
    sa.Column("request_hash", sa.Text, nullable=False),
    sa.Column("response", JSONB, nullable=True),
    _created_at(),
)


def load_all_tables() -> sa.MetaData:
    """Import every ``*_tables`` module of this package; return the complete ``metadata``."""
    package = __name__.rsplit(".", 1)[0]
    for module in pkgutil.iter_modules(importlib.import_module(package).__path__):
        if module.name.endswith("_tables"):
            importlib.import_module(f"{package}.{module.name}")
    return metadata
