"""Portfolio analytics tables (migration ``0012_console``) and the indexes the console's
look-ups need on other features' tables.

The analytics tables are small summaries rebuilt set-based by ``analytics_refresh.py``
after end of day (a few hundred to a few thousand rows whatever the size of the book),
so every chart reads in milliseconds with a million loans on the books. Nothing here is
a source of truth: each table can be dropped and rebuilt from the ledger, the loans and
the applications.
"""

from __future__ import annotations

import sqlalchemy as sa

from mobilend.adapters.db import tables as t
from mobilend.adapters.db.journey_tables import credit_applications
from mobilend.adapters.db.onboarding_tables import audit_log
from mobilend.adapters.db.tables import metadata


def _count(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger, nullable=False, server_default="0")


analytics_state = sa.Table(
    "analytics_state",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("seconds", sa.Numeric(12, 3), nullable=False, server_default="0"),
)

# One row per calendar day: the application funnel, decisions, average score, data costs.
analytics_funnel_daily = sa.Table(
    "analytics_funnel_daily",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    _count("registered"),
    _count("kyc_passed"),
    _count("applied"),
    _count("approved"),
    _count("declined"),
    _count("referred"),
    _count("contracts_signed"),
    _count("loans_disbursed"),
    _count("disbursed_minor"),
    _count("score_sum"),
    _count("scored"),
    _count("data_cost_minor"),
)

# Vintage curves: per monthly cohort (month of disbursement) and month on book, the loans
# observed that long and those ever 30+ days past due by then.
analytics_vintage = sa.Table(
    "analytics_vintage",
    metadata,
    sa.Column("cohort", sa.Date, primary_key=True),
    sa.Column("mob", sa.Integer, primary_key=True),
    _count("loans"),
    _count("principal_minor"),
    _count("bad_loans"),
    _count("bad_principal_minor"),
)

# Roll rates: loans by state at the start of a period (the previous month end) and at
# its end; states are the delinquency buckets plus ``closed`` and ``written_off``.
analytics_roll_rates = sa.Table(
    "analytics_roll_rates",
    metadata,
    sa.Column("period_end", sa.Date, primary_key=True),
    sa.Column("from_state", sa.Text, primary_key=True),
    sa.Column("to_state", sa.Text, primary_key=True),
    _count("loans"),
)

# What came back from each bucket over a period: loans cured and cash collected.
analytics_recovery = sa.Table(
    "analytics_recovery",
    metadata,
    sa.Column("period_end", sa.Date, primary_key=True),
    sa.Column("bucket", sa.Text, primary_key=True),
    _count("loans"),
    _count("cured"),
    _count("collected_minor"),
)

# The active book by product, funder (share of each tranche) and bucket.
analytics_book_cells = sa.Table(
    "analytics_book_cells",
    metadata,
    sa.Column("product_code", sa.Text, primary_key=True),
    sa.Column("funder_code", sa.Text, primary_key=True),
    sa.Column("bucket", sa.Text, primary_key=True),
    _count("loans"),
    _count("outstanding_minor"),
    _count("receivable_minor"),
)

# Application scores by month, and the performance of matured loans by their score.
analytics_score_monthly = sa.Table(
    "analytics_score_monthly",
    metadata,
    sa.Column("month", sa.Date, primary_key=True),
    sa.Column("score", sa.Integer, primary_key=True),
    _count("applications"),
)

analytics_score_performance = sa.Table(
    "analytics_score_performance",
    metadata,
    sa.Column("score", sa.Integer, primary_key=True),
    _count("good"),
    _count("bad"),
)

# Income and loss accounts per business date (sum of postings, debit positive).
analytics_ledger_daily = sa.Table(
    "analytics_ledger_daily",
    metadata,
    sa.Column("business_date", sa.Date, primary_key=True),
    sa.Column("account", sa.Text, primary_key=True),
    sa.Column("currency", sa.CHAR(3), primary_key=True),
    _count("amount_minor"),
)

# Each funder's outstanding principal on a refreshed day and its cost of funds for it.
analytics_funder_daily = sa.Table(
    "analytics_funder_daily",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("funder_code", sa.Text, primary_key=True),
    _count("outstanding_minor"),
    sa.Column("cost_minor", sa.Numeric(20, 4), nullable=False, server_default="0"),
)

# Indexes the console's look-ups and the refresh need on other features' tables.
CONSOLE_INDEXES = (
    sa.Index("ix_loans_status_id", t.loans.c.status, t.loans.c.id),
    sa.Index("ix_loans_bucket_id", t.loans.c.bucket, t.loans.c.id),
    sa.Index("ix_loans_disbursed_on", t.loans.c.disbursed_on),
    sa.Index("ix_journal_entries_business_date", t.journal_entries.c.business_date),
    sa.Index("ix_borrowers_created_at_id", t.borrowers.c.created_at, t.borrowers.c.id),
    sa.Index(
        "ix_credit_applications_referred",
        credit_applications.c.applied_at,
        postgresql_where=sa.text("outcome = 'refer'"),
    ),
    sa.Index("ix_credit_applications_decided_on", credit_applications.c.decided_on),
    sa.Index("ix_audit_log_target_seq", audit_log.c.target, audit_log.c.seq),
)
