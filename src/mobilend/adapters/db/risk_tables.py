"""Risk tables (migration ``0007_risk``): the paid-report cache, fraud sightings and
blacklist, credit decision records, and periodic line reviews.

No raw personal data is stored here: identifiers are the PII vault's keyed blind
indexes, and a decision record's personal fields are sealed by the vault (see
``risk_repository.py``). Business dates (``*_on``) drive every rule; instants
(``*_at``) are for audit only.

Fraud sightings carry no ``borrower_id``: their queries look across borrowers by
design (one device used by many people), so they would live on the coordinator of a
sharded deployment rather than be split by borrower.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from mobilend.adapters.db.tables import RATE, metadata

DECISION_OUTCOMES = ("approve", "decline", "refer")
FRAUD_IDENTIFIERS = ("national_id", "phone", "device_id", "ip_address", "bank_card")
REVIEW_ACTIONS = ("keep", "lower", "freeze", "propose_increase")
PROPOSAL_STATUSES = ("pending", "accepted", "declined", "expired")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _currency() -> sa.Column[str]:
    return sa.Column("currency", sa.CHAR(3), nullable=False, server_default="CNY")


def _now(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def _bidx(name: str) -> sa.Column[str]:
    return sa.Column(f"{name}_bidx", sa.Text, nullable=True)


# A bought report, reused for its TTL instead of being bought again. The key is the blind
# index of the report's identity (source + the identifying fields the provider is sent).
credit_reports = sa.Table(
    "credit_reports",
    metadata,
    sa.Column("subject_bidx", sa.Text, primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("payload", JSONB, nullable=False),
    sa.Column("data_version", sa.Text, nullable=False, server_default=""),
    sa.Column("fetched_on", sa.Date, nullable=False),
    sa.Column("expires_on", sa.Date, nullable=False),
    sa.Column("cost_minor", sa.BigInteger, nullable=False),
    _currency(),
    # Times this purchase was served again instead of bought: cost saved = reuses × cost.
    sa.Column("reuse_count", sa.Integer, nullable=False, server_default="0"),
    _now("fetched_at"),
    sa.CheckConstraint("expires_on >= fetched_on", name="expires_after_fetch"),
    sa.CheckConstraint("cost_minor >= 0", name="cost_not_negative"),
    sa.Index("ix_credit_reports_expires_on", "expires_on"),
)

fraud_sightings = sa.Table(
    "fraud_sightings",
    metadata,
    sa.Column("application_id", sa.Text, primary_key=True),
    sa.Column("seen_on", sa.Date, nullable=False),
    *(_bidx(name) for name in FRAUD_IDENTIFIERS),
    _now("recorded_at"),
    *(
        sa.Index(f"ix_fraud_sightings_{name}_bidx_seen_on", f"{name}_bidx", "seen_on")
        for name in FRAUD_IDENTIFIERS
    ),
)

fraud_blacklist = sa.Table(
    "fraud_blacklist",
    metadata,
    sa.Column("identifier", sa.Text, primary_key=True),
    sa.Column("value_bidx", sa.Text, primary_key=True),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    _now("added_at"),
    sa.CheckConstraint(_in("identifier", FRAUD_IDENTIFIERS), name="identifier_known"),
)

# One row per credit decision: the queryable summary beside the full record (every input,
# with its personal fields sealed). Rows are append-only; only the sealed record may be
# rewritten (key rotation), and ``record_sha256`` (of the plain canonical record) proves
# what it opens to.
decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("application_id", sa.Text, nullable=False),
    sa.Column("borrower_id", sa.Text, nullable=False),
    sa.Column("product_code", sa.Text, nullable=False),
    sa.Column("decided_on", sa.Date, nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("limit_minor", sa.BigInteger, nullable=True),
    _currency(),
    sa.Column("annual_rate", RATE, nullable=True),
    sa.Column("reasons", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("versions", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("policy_id", sa.Text, nullable=False),
    sa.Column("model_version", sa.Text, nullable=False),
    sa.Column("arm", sa.Text, nullable=False),
    sa.Column("market", sa.Text, nullable=False),
    sa.Column("cost_minor", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("record", JSONB, nullable=False),
    sa.Column("record_sha256", sa.CHAR(64), nullable=False),
    _now("created_at"),
    sa.CheckConstraint(_in("outcome", DECISION_OUTCOMES), name="outcome_known"),
    sa.Index("ix_decisions_borrower_id_decided_on", "borrower_id", "decided_on"),
    sa.Index("ix_decisions_application_id", "application_id"),
    sa.Index("ix_decisions_decided_on_arm", "decided_on", "arm"),
)

line_reviews = sa.Table(
    "line_reviews",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("line_id", sa.Text, sa.ForeignKey("credit_lines.id"), nullable=False),
    sa.Column("borrower_id", sa.Text, sa.ForeignKey("borrowers.id"), nullable=False),
    sa.Column("reviewed_on", sa.Date, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("previous_limit_minor", sa.BigInteger, nullable=False),
    sa.Column("new_limit_minor", sa.BigInteger, nullable=False),
    sa.Column("proposed_limit_minor", sa.BigInteger, nullable=True),
    _currency(),
    sa.Column("decision_id", sa.Text, nullable=False),
    sa.Column("decision_outcome", sa.Text, nullable=False),
    sa.Column("reasons", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("proposal_status", sa.Text, nullable=True),
    sa.Column("proposal_expires_on", sa.Date, nullable=True),
    sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
    _now("created_at"),
    sa.CheckConstraint(_in("action", REVIEW_ACTIONS), name="action_known"),
    sa.CheckConstraint(
        f"proposal_status IS NULL OR {_in('proposal_status', PROPOSAL_STATUSES)}",
        name="proposal_status_known",
    ),
    sa.CheckConstraint(
        "(action = 'propose_increase') = (proposed_limit_minor IS NOT NULL"
        " AND proposal_status IS NOT NULL)",
        name="proposal_only_for_increase",
    ),
    sa.UniqueConstraint("line_id", "reviewed_on"),
    sa.Index("ix_line_reviews_borrower_id_reviewed_on", "borrower_id", "reviewed_on"),
    sa.Index(
        "ix_line_reviews_pending",
        "borrower_id",
        postgresql_where=sa.text("proposal_status = 'pending'"),
    ),
)
