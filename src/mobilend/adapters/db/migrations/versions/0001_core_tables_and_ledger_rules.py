"""Core tables, the ledger rules enforced by the database itself, and the SQL arithmetic
shared with the domain.

Revision ID: 0001
Revises:
Create Date: 2026-11-29

The rules and functions live here as SQL (not imported from elsewhere) so this migration keeps
doing exactly what it did when it was written. A change to them is a new migration.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Arithmetic the end-of-day SQL shares with the domain (mobilend.domain.daycount, .money and
# .loans_installments), written once here so every statement uses the same definitions.
SQL_FUNCTIONS = [
    # Days in [start, end) as the convention counts them. 30/360 is 30E/360 with month
    # ends (28/29 Feb too) counted as the 30th, as domain.daycount.days_30_360 does.
    """
    CREATE FUNCTION day_count_days(start_date date, end_date date, convention text)
    RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN convention = '30/360' THEN
              360 * (extract(year FROM end_date)::int - extract(year FROM start_date)::int)
            + 30 * (extract(month FROM end_date)::int - extract(month FROM start_date)::int)
            + CASE WHEN extract(day FROM end_date + 1) = 1 THEN 30
                   ELSE least(extract(day FROM end_date)::int, 30) END
            - CASE WHEN extract(day FROM start_date + 1) = 1 THEN 30
                   ELSE least(extract(day FROM start_date)::int, 30) END
        ELSE end_date - start_date END
    $$
    """,
    """
    CREATE FUNCTION days_in_year(convention text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN convention = 'ACT/365' THEN 365 ELSE 360 END
    $$
    """,
    # Minor units per currency unit (domain.money.MINOR_UNIT_DIGITS).
    """
    CREATE FUNCTION minor_per_unit(currency text) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN currency = 'JPY' THEN 1::numeric ELSE 100::numeric END
    $$
    """,
    # Round to ``places`` decimals, ties to even (PostgreSQL's round() sends ties away from 0).
    """
    CREATE FUNCTION round_half_even(x numeric, places integer) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE
            WHEN abs(x - trunc(x, places)) * power(10::numeric, places) = 0.5 THEN
                trunc(x, places)
                + CASE WHEN mod(trunc(x, places) * power(10::numeric, places), 2) = 0 THEN 0
                       ELSE sign(x) * power(10::numeric, -places) END
            ELSE round(x, places) END
    $$
    """,
    # An amount in minor units rounded to a whole fen with a product rounding mode
    # (domain RoundingMode: half-up sends ties away from zero, half-even to even).
    """
    CREATE FUNCTION round_minor(amount numeric, mode text) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN mode = 'half-even' THEN round_half_even(amount, 0)
                    ELSE round(amount) END::bigint
    $$
    """,
    # What Python's decimal module does to the result of every operation in its default
    # context: keep 28 significant digits, ties to even. The domain keeps the running
    # penalty that way, so the SQL must too, or a fen could differ after many days.
    """
    CREATE FUNCTION decimal_context_round(x numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN x = 0 THEN 0::numeric ELSE
            round_half_even(x, 27 - CASE
                WHEN abs(x) >= 1 THEN length(trunc(abs(x))::text) - 1
                ELSE -1 - (length(split_part(abs(x)::text, '.', 2))
                           - length(ltrim(split_part(abs(x)::text, '.', 2), '0')))
            END)
        END
    $$
    """,
    # Quotient exact to 50 decimals before rounding to 28 significant digits
    # (numeric division alone keeps as few as 16).
    """
    CREATE FUNCTION decimal_context_div(dividend numeric, divisor numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT decimal_context_round(round(dividend, 50) / divisor)
    $$
    """,
]

DROP_SQL_FUNCTIONS = [
    "DROP FUNCTION decimal_context_div(numeric, numeric)",
    "DROP FUNCTION decimal_context_round(numeric)",
    "DROP FUNCTION round_minor(numeric, text)",
    "DROP FUNCTION round_half_even(numeric, integer)",
    "DROP FUNCTION minor_per_unit(text)",
    "DROP FUNCTION days_in_year(text)",
    "DROP FUNCTION day_count_days(date, date, text)",
]

# The ledger's rules, enforced by the database so that even raw SQL cannot break them:
#
# - An entry must have at least two postings and sum to zero in each currency. This is
#   checked when the transaction commits (a DEFERRABLE INITIALLY DEFERRED constraint
#   trigger), so an entry and its postings can be written in any order. The check is
#   set-based: the first deferred event of a transaction checks every entry the
#   transaction created (found by ``created_txid``) and the others return at once, unless
#   more rows were inserted since.
# - Postings can only be added to an entry created by the same transaction: a committed
#   entry is closed, so checking the transaction's own entries covers every new posting.
# - Entries and postings are append-only: UPDATE and DELETE are refused (corrections are
#   reversing entries); TRUNCATE too, unless the session says so explicitly (test suites
#   clearing their own database).
LEDGER_RULES = [
    """
    CREATE FUNCTION ledger_stamp_entry() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        NEW.created_txid := txid_current();
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER journal_entries_stamp
    BEFORE INSERT ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_stamp_entry()
    """,
    # Any new ledger row means the transaction's entries must be checked (again).
    """
    CREATE FUNCTION ledger_mark_unchecked() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM set_config('mobilend.ledger_checked', 'no', true);
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER journal_entries_mark_unchecked
    AFTER INSERT ON journal_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_mark_unchecked()
    """,
    """
    CREATE FUNCTION ledger_postings_join_open_entries() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        closed text;
    BEGIN
        SELECT a.entry_id INTO closed
        FROM added_postings a
        LEFT JOIN journal_entries e ON e.id = a.entry_id
        WHERE e.created_txid IS DISTINCT FROM txid_current()
        LIMIT 1;
        IF closed IS NOT NULL THEN
            RAISE EXCEPTION 'journal entry % is closed: postings can only be added by the '
                'transaction that creates the entry', closed
                USING ERRCODE = 'restrict_violation';
        END IF;
        PERFORM set_config('mobilend.ledger_checked', 'no', true);
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER postings_join_open_entries
    AFTER INSERT ON postings
    REFERENCING NEW TABLE AS added_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_postings_join_open_entries()
    """,
    """
    CREATE FUNCTION ledger_check_transaction_entries() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        bad record;
    BEGIN
        IF current_setting('mobilend.ledger_checked', true) = 'yes' THEN
            RETURN NULL;
        END IF;
        SELECT e.id, count(p.id) AS posting_count INTO bad
        FROM journal_entries e
        LEFT JOIN postings p ON p.entry_id = e.id
        WHERE e.created_txid = txid_current()
        GROUP BY e.id
        HAVING count(p.id) < 2
        ORDER BY e.id
        LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'journal entry % has % posting(s); at least 2 are required',
                bad.id, bad.posting_count
                USING ERRCODE = 'check_violation';
        END IF;
        SELECT s.entry_id, string_agg(s.currency || ' ' || s.total, ', ' ORDER BY s.currency)
               AS off
        INTO bad
        FROM (
            SELECT p.entry_id, p.currency, sum(p.amount_minor) AS total
            FROM journal_entries e
            JOIN postings p ON p.entry_id = e.id
            WHERE e.created_txid = txid_current()
            GROUP BY p.entry_id, p.currency
            HAVING sum(p.amount_minor) <> 0
        ) AS s
        GROUP BY s.entry_id
        ORDER BY s.entry_id
        LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'journal entry % does not balance: %', bad.entry_id, bad.off
                USING ERRCODE = 'check_violation';
        END IF;
        PERFORM set_config('mobilend.ledger_checked', 'yes', true);
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE CONSTRAINT TRIGGER journal_entries_balanced
    AFTER INSERT ON journal_entries
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_transaction_entries()
    """,
    """
    CREATE FUNCTION ledger_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'TRUNCATE'
           AND coalesce(current_setting('mobilend.allow_ledger_truncate', true), '') = 'on' THEN
            RETURN NULL;
        END IF;
        RAISE EXCEPTION '% is append-only: % refused; post a reversing entry instead',
            TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'restrict_violation';
    END
    $$
    """,
    """
    CREATE TRIGGER journal_entries_append_only
    BEFORE UPDATE OR DELETE ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()
    """,
    """
    CREATE TRIGGER postings_append_only
    BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()
    """,
    """
    CREATE TRIGGER journal_entries_no_truncate
    BEFORE TRUNCATE ON journal_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()
    """,
    """
    CREATE TRIGGER postings_no_truncate
    BEFORE TRUNCATE ON postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()
    """,
]

# End of day updates every open loan and its current installment daily: free room on each
# page lets PostgreSQL update in place (HOT) without touching the indexes.
STORAGE_SETTINGS = [
    "ALTER TABLE loans SET (fillfactor = 85)",
    "ALTER TABLE installments SET (fillfactor = 85)",
]

DROP_LEDGER_RULES = [
    "DROP TRIGGER postings_no_truncate ON postings",
    "DROP TRIGGER journal_entries_no_truncate ON journal_entries",
    "DROP TRIGGER postings_append_only ON postings",
    "DROP TRIGGER journal_entries_append_only ON journal_entries",
    "DROP TRIGGER journal_entries_balanced ON journal_entries",
    "DROP TRIGGER postings_join_open_entries ON postings",
    "DROP TRIGGER journal_entries_mark_unchecked ON journal_entries",
    "DROP TRIGGER journal_entries_stamp ON journal_entries",
    "DROP FUNCTION ledger_refuse_change()",
    "DROP FUNCTION ledger_check_transaction_entries()",
    "DROP FUNCTION ledger_postings_join_open_entries()",
    "DROP FUNCTION ledger_mark_unchecked()",
    "DROP FUNCTION ledger_stamp_entry()",
]


def upgrade() -> None:
    op.create_table(
        "borrowers",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_borrowers")),
    )
    op.create_table(
        "eod_runs",
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("partition_count", sa.Integer(), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), server_default="running", nullable=False),
        sa.Column("rows_done", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("rows_total", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "partition >= 0 AND partition < partition_count",
            name=op.f("ck_eod_runs_partition_in_range"),
        ),
        sa.PrimaryKeyConstraint(
            "business_date", "partition_count", "partition", name=op.f("pk_eod_runs")
        ),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=True),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("key", "scope", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "journal_entries",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=True),
        sa.Column("borrower_id", sa.Text(), nullable=True),
        sa.Column("reverses", sa.Text(), nullable=True),
        sa.Column("memo", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_txid",
            sa.BigInteger(),
            server_default=sa.text("txid_current()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["reverses"],
            ["journal_entries.id"],
            name=op.f("fk_journal_entries_reverses_journal_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_entries")),
        sa.UniqueConstraint("reverses", name=op.f("uq_journal_entries_reverses")),
    )
    op.create_index(
        op.f("ix_journal_entries_loan_id"), "journal_entries", ["loan_id"], unique=False
    )
    op.create_index(
        op.f("ix_journal_entries_created_txid"), "journal_entries", ["created_txid"], unique=False
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "products",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("definition", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_products")),
    )
    op.create_table(
        "credit_lines",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("product_code", sa.Text(), nullable=False),
        sa.Column("credit_limit", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("used", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("currency", sa.CHAR(length=3), server_default="CNY", nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("frozen_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "used >= 0 AND used <= credit_limit", name=op.f("ck_credit_lines_used_within_limit")
        ),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name=op.f("fk_credit_lines_borrower_id_borrowers")
        ),
        sa.ForeignKeyConstraint(
            ["product_code"], ["products.code"], name=op.f("fk_credit_lines_product_code_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_lines")),
    )
    op.create_index(
        op.f("ix_credit_lines_borrower_id"), "credit_lines", ["borrower_id"], unique=False
    )
    op.create_table(
        "postings",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("entry_id", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("party", sa.Text(), nullable=True),
        sa.Column("loan_id", sa.Text(), nullable=True),
        sa.Column("borrower_id", sa.Text(), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.CHAR(length=3), server_default="CNY", nullable=False),
        sa.CheckConstraint("amount_minor <> 0", name=op.f("ck_postings_amount_not_zero")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postings")),
    )
    op.create_index(op.f("ix_postings_entry_id"), "postings", ["entry_id"], unique=False)
    op.create_index("ix_postings_loan_id_account", "postings", ["loan_id", "account"], unique=False)
    op.create_table(
        "loans",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("line_id", sa.Text(), nullable=True),
        sa.Column("product_code", sa.Text(), nullable=False),
        sa.Column("principal", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("currency", sa.CHAR(length=3), server_default="CNY", nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("funding_account", sa.Text(), server_default="cash:own_pool", nullable=False),
        sa.Column("terms", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("rules", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("annual_rate", sa.Numeric(precision=12, scale=8), nullable=False),
        sa.Column(
            "penalty_rate", sa.Numeric(precision=12, scale=8), server_default="0", nullable=False
        ),
        sa.Column("penalty_grace_days", sa.Integer(), server_default="0", nullable=False),
        sa.Column("day_count", sa.Text(), nullable=False),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("rounding", sa.Text(), server_default="half-up", nullable=False),
        sa.Column("disbursed_on", sa.Date(), nullable=True),
        sa.Column("accrued_through", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("dpd", sa.Integer(), server_default="0", nullable=False),
        sa.Column("max_dpd", sa.Integer(), server_default="0", nullable=False),
        sa.Column("bucket", sa.Text(), server_default="C", nullable=False),
        sa.Column("credit_balance", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cash_received", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cash_refunded", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("recovered", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("written_off", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("entry_seq", sa.Integer(), server_default="0", nullable=False),
        sa.Column("outstanding_principal", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("accrued_interest", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("interest_receivable", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("fee_receivable", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("penalty_receivable", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "day_count IN ('30/360', 'ACT/360', 'ACT/365')", name=op.f("ck_loans_day_count_known")
        ),
        sa.CheckConstraint(
            "rounding IN ('half-up', 'half-even')", name=op.f("ck_loans_rounding_known")
        ),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name=op.f("fk_loans_borrower_id_borrowers")
        ),
        sa.ForeignKeyConstraint(
            ["line_id"], ["credit_lines.id"], name=op.f("fk_loans_line_id_credit_lines")
        ),
        sa.ForeignKeyConstraint(
            ["product_code"], ["products.code"], name=op.f("fk_loans_product_code_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loans")),
    )
    op.create_index(op.f("ix_loans_borrower_id"), "loans", ["borrower_id"], unique=False)
    op.create_index(op.f("ix_loans_line_id"), "loans", ["line_id"], unique=False)
    op.create_index(
        "ix_loans_open",
        "loans",
        ["id"],
        unique=False,
        postgresql_where=sa.text("closed_on IS NULL"),
    )
    op.create_table(
        "installments",
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), server_default="regular", nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("principal_due", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("interest_scheduled", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("fees_due", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("interest_accrued", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("fees_charged", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("penalty_exact", sa.Numeric(), server_default="0", nullable=False),
        sa.Column("penalty_posted", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("principal_paid", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("interest_paid", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("fees_paid", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("penalty_paid", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("settled_on", sa.Date(), nullable=True),
        sa.Column("status", sa.Text(), server_default="scheduled", nullable=False),
        sa.CheckConstraint(
            "due_date >= period_start", name=op.f("ck_installments_period_not_reversed")
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_installments_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("loan_id", "n", name=op.f("pk_installments")),
    )
    op.create_index(
        "ix_installments_unpaid_due",
        "installments",
        ["due_date"],
        unique=False,
        postgresql_where=sa.text("status <> 'paid'"),
    )
    op.create_table(
        "repayments",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("loan_id", sa.Text(), nullable=False),
        sa.Column("borrower_id", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("currency", sa.CHAR(length=3), server_default="CNY", nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column(
            "allocation",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_repayments_amount_positive")),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_repayments_loan_id_loans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repayments")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_repayments_idempotency_key")),
    )
    op.create_index(op.f("ix_repayments_borrower_id"), "repayments", ["borrower_id"], unique=False)
    op.create_index(op.f("ix_repayments_loan_id"), "repayments", ["loan_id"], unique=False)
    for statement in SQL_FUNCTIONS + LEDGER_RULES + STORAGE_SETTINGS:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_LEDGER_RULES + DROP_SQL_FUNCTIONS:
        op.execute(statement)
    op.drop_index(op.f("ix_repayments_loan_id"), table_name="repayments")
    op.drop_index(op.f("ix_repayments_borrower_id"), table_name="repayments")
    op.drop_table("repayments")
    op.drop_table("installments")
    op.drop_index(
        "ix_loans_open", table_name="loans", postgresql_where=sa.text("closed_on IS NULL")
    )
    op.drop_index(op.f("ix_loans_line_id"), table_name="loans")
    op.drop_index(op.f("ix_loans_borrower_id"), table_name="loans")
    op.drop_table("loans")
    op.drop_index("ix_postings_loan_id_account", table_name="postings")
    op.drop_index(op.f("ix_postings_entry_id"), table_name="postings")
    op.drop_table("postings")
    op.drop_index(op.f("ix_credit_lines_borrower_id"), table_name="credit_lines")
    op.drop_table("credit_lines")
    op.drop_table("products")
    op.drop_index(
        "ix_outbox_pending", table_name="outbox", postgresql_where=sa.text("status = 'pending'")
    )
    op.drop_table("outbox")
    op.drop_index(op.f("ix_journal_entries_loan_id"), table_name="journal_entries")
    op.drop_table("journal_entries")
    op.drop_table("idempotency_keys")
    op.drop_table("eod_runs")
    op.drop_table("borrowers")
