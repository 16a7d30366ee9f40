"""Compliance and privacy tables (migration ``0014_compliance_privacy_bureau``).

- ``loan_pricing``: the price each loan was drawn at and the rules it was checked
  against (end of day caps penalties from it; a report checks it against later rules);
- ``bureau_submissions`` / ``bureau_records``: what was sent to the credit bureau for
  each month, per loan, so later changes to a past month go out as corrections;
- ``erasure_requests``: a borrower's request that their personal data be erased, and
  when it was (once the legal retention period had ended).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from mobilend.adapters.db.tables import RATE, metadata


def _instant(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


loan_pricing = sa.Table(
    "loan_pricing",
    metadata,
    sa.Column("loan_id", sa.Text, sa.ForeignKey("loans.id"), primary_key=True),
    sa.Column("borrower_id", sa.Text, nullable=False, index=True),
    sa.Column("licence_type", sa.Text, nullable=False),
    sa.Column("apr", RATE, nullable=False),
    sa.Column("apr_for_cap", RATE, nullable=False),
    sa.Column("annual_rate", RATE, nullable=False),
    sa.Column("requested_rate", RATE, nullable=False),
    sa.Column("penalty_rate", RATE, nullable=False),
    sa.Column("rulebook_version", sa.Text, nullable=False),
    sa.Column("priced_on", sa.Date, nullable=False),
)

bureau_submissions = sa.Table(
    "bureau_submissions",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("month", sa.CHAR(7), nullable=False, index=True),  # YYYY-MM
    _instant("created_at", nullable=False),
    sa.Column("regular_records", sa.Integer, nullable=False),
    sa.Column("corrections", sa.Integer, nullable=False),
    sa.Column("deletions", sa.Integer, nullable=False),
    sa.Column("sha256", sa.CHAR(64), nullable=False),
)

bureau_records = sa.Table(
    "bureau_records",
    metadata,
    sa.Column("month", sa.CHAR(7), primary_key=True),
    sa.Column("loan_id", sa.Text, primary_key=True),
    sa.Column("borrower_id", sa.Text, nullable=False, index=True),
    # The record as sent: [[field, value], …] in layout order.
    sa.Column("fields", JSONB, nullable=False),
    sa.Column("submission_id", sa.Text, sa.ForeignKey("bureau_submissions.id"), nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
)

erasure_requests = sa.Table(
    "erasure_requests",
    metadata,
    sa.Column("borrower_id", sa.Text, sa.ForeignKey("borrowers.id"), primary_key=True),
    _instant("requested_at", nullable=False),
    sa.Column("requested_by", sa.Text, nullable=False),
    _instant("erased_at"),
    sa.Column("retention_ended_on", sa.Date, nullable=True),
    # What the erasure removed, table by table (row counts), for the record.
    sa.Column("removed", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
)
