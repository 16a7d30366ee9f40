"""Collections tables (migration ``0013_collections``): cases, agencies and agents, the
contact log (every attempt, allowed or refused, with the rules it broke), the per-day
contact slots that cap calls and messages across the lender and every agency, promises
to pay, complaints, four-eyes resolutions (settlements, hardship plans, write-offs),
collections' own payments, and the contact persons borrowers listed.

The contact log is a record: the database refuses to delete it or change what an attempt
was (only its outcome is filled in after the call). A resolution cannot be approved by
whoever proposed it, in the database too.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from mobilend.adapters.db.tables import metadata

CASE_STATUSES = ("open", "arrangement", "legal", "written_off", "closed")
PLACEMENTS = ("digital", "agent", "agency", "legal")
RESOLUTION_KINDS = ("settlement", "hardship_plan", "write_off")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _money(name: str, *, nullable: bool = False) -> sa.Column[int]:
    if nullable:
        return sa.Column(name, sa.BigInteger, nullable=True)
    return sa.Column(name, sa.BigInteger, nullable=False, server_default="0")


def _currency() -> sa.Column[str]:
    return sa.Column("currency", sa.CHAR(3), nullable=False, server_default="CNY")


def _at(name: str = "created_at") -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


collection_cases = sa.Table(
    "collection_cases",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("loan_id", sa.Text, nullable=False),
    sa.Column("borrower_id", sa.Text, nullable=False),
    sa.Column("opened_on", sa.Date, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("bucket", sa.Text, nullable=False),
    sa.Column("bucket_at_open", sa.Text, nullable=False),
    sa.Column("dpd", sa.Integer, nullable=False),
    sa.Column("segment", sa.Text, nullable=False),
    sa.Column("strategy", sa.Text, nullable=False),
    sa.Column("arm", sa.Text, nullable=False),
    sa.Column("placement", sa.Text, nullable=False),
    _money("owed_at_open_minor"),
    _money("cash_in_at_open_minor"),
    _money("owed_minor"),
    _money("collected_minor"),
    _money("expected_minor"),
    _currency(),
    sa.Column("agency", sa.Text, nullable=False, server_default=""),
    sa.Column("agent_id", sa.Text, nullable=False, server_default=""),
    sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("next_action_on", sa.Date, nullable=True),
    sa.Column("last_message_on", sa.Date, nullable=True),
    sa.Column("closed_on", sa.Date, nullable=True),
    sa.Column("close_reason", sa.Text, nullable=True),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    _at(),
    _at("updated_at"),
    sa.CheckConstraint(_in("status", CASE_STATUSES), name="case_status_known"),
    sa.CheckConstraint(_in("placement", PLACEMENTS), name="case_placement_known"),
    sa.CheckConstraint("(status = 'closed') = (closed_on IS NOT NULL)", name="closed_has_date"),
    # One open case per loan: case sync may run on several workers.
    sa.Index(
        "ux_collection_cases_open_loan",
        "loan_id",
        unique=True,
        postgresql_where=sa.text("status <> 'closed'"),
    ),
    sa.Index("ix_collection_cases_borrower_id", "borrower_id"),
    sa.Index(
        "ix_collection_cases_work",
        "agent_id",
        "next_action_on",
        postgresql_where=sa.text("status <> 'closed'"),
    ),
)

collection_agencies = sa.Table(
    "collection_agencies",
    metadata,
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.text("true")),
    sa.Column("commission_percent", sa.Integer, nullable=False, server_default="0"),
    sa.Column("capacity", sa.Integer, nullable=False, server_default="10000"),
    _at(),
    sa.CheckConstraint("code <> 'lender'", name="agency_code_not_lender"),
)

collection_agents = sa.Table(
    "collection_agents",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),  # the staff user's id
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("team", sa.Text, nullable=False),  # 'lender' or an agency code
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.text("true")),
    sa.Column("capacity", sa.Integer, nullable=False, server_default="200"),
    _at(),
    sa.Index("ix_collection_agents_team", "team"),
)

collection_cursors = sa.Table(
    "collection_cursors",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False, server_default=""),
)

collection_contacts = sa.Table(
    "collection_contacts",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("case_id", sa.Text, nullable=False),
    sa.Column("loan_id", sa.Text, nullable=False),
    sa.Column("borrower_id", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("local_day", sa.Date, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("team", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("party", sa.Text, nullable=False),
    sa.Column("template", sa.Text, nullable=False),
    sa.Column("allowed", sa.Boolean, nullable=False),
    sa.Column("rules", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("recording_ref", sa.Text, nullable=False, server_default=""),
    sa.Column("gateway_ref", sa.Text, nullable=False, server_default=""),
    sa.Column("counted_call", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("body", sa.Text, nullable=False, server_default=""),
    sa.CheckConstraint("allowed = (cardinality(rules) = 0)", name="refusal_names_rules"),
    sa.Index("ix_collection_contacts_case_id", "case_id"),
    sa.Index("ix_collection_contacts_refused", "at", postgresql_where=sa.text("NOT allowed")),
)

collection_daily_slots = sa.Table(
    "collection_daily_slots",
    metadata,
    sa.Column("borrower_id", sa.Text, primary_key=True),
    sa.Column("local_day", sa.Date, primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),  # call | message
    sa.Column("taken", sa.Integer, nullable=False),
    sa.CheckConstraint("taken >= 0", name="taken_not_negative"),
)

collection_promises = sa.Table(
    "collection_promises",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("case_id", sa.Text, nullable=False, index=True),
    sa.Column("loan_id", sa.Text, nullable=False),
    _money("amount_minor"),
    _currency(),
    sa.Column("due_on", sa.Date, nullable=False),
    sa.Column("made_on", sa.Date, nullable=False),
    sa.Column("made_by", sa.Text, nullable=False),
    _money("cash_in_at_promise_minor"),
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("resolved_on", sa.Date, nullable=True),
    _at(),
    sa.CheckConstraint("amount_minor > 0", name="promise_positive"),
    sa.Index(
        "ix_collection_promises_pending", "id", postgresql_where=sa.text("status = 'pending'")
    ),
)

collection_complaints = sa.Table(
    "collection_complaints",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("case_id", sa.Text, nullable=False, index=True),
    sa.Column("borrower_id", sa.Text, nullable=False, index=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("recorded_by", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="open"),
    sa.Column("reviewed_by", sa.Text, nullable=False, server_default=""),
    sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("resolution", sa.Text, nullable=False, server_default=""),
    sa.CheckConstraint(_in("status", ("open", "upheld", "dismissed")), name="complaint_status"),
)

collection_resolutions = sa.Table(
    "collection_resolutions",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("case_id", sa.Text, nullable=False, index=True),
    sa.Column("loan_id", sa.Text, nullable=False),
    sa.Column("proposed_by", sa.Text, nullable=False),
    sa.Column("proposed_on", sa.Date, nullable=False),
    _money("owed_minor"),
    _money("amount_minor"),
    _currency(),
    sa.Column("status", sa.Text, nullable=False, server_default="proposed"),
    sa.Column("valid_until", sa.Date, nullable=True),
    sa.Column("instalments", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    _money("cash_in_at_approval_minor", nullable=True),
    sa.Column("approved_by", sa.Text, nullable=False, server_default=""),
    sa.Column("decided_on", sa.Date, nullable=True),
    sa.Column("done_on", sa.Date, nullable=True),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("entry_ids", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    _at(),
    sa.CheckConstraint(_in("kind", RESOLUTION_KINDS), name="resolution_kind_known"),
    # Four eyes, in the database too.
    sa.CheckConstraint("approved_by = '' OR approved_by <> proposed_by", name="four_eyes"),
)

collection_payments = sa.Table(
    "collection_payments",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("case_id", sa.Text, nullable=False, index=True),
    sa.Column("loan_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    _money("amount_minor"),
    _currency(),
    sa.Column("received_on", sa.Date, nullable=False),
    sa.Column("idempotency_key", sa.Text, nullable=False, unique=True),
    sa.Column("entry_ids", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    _at(),
    sa.CheckConstraint("amount_minor > 0", name="payment_positive"),
)

collection_contact_persons = sa.Table(
    "collection_contact_persons",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("borrower_id", sa.Text, nullable=False, index=True),
    sa.Column("relation", sa.Text, nullable=False),
    # Sealed by the PII vault (field ``phone``).
    sa.Column("phone_enc", sa.Text, nullable=False),
    _at(),
)

# Migration ``0015_collection_templates``: the approved scripts and messages as records.
# One approved (live) version and at most one proposal per code; whoever proposed a
# version cannot approve it, in the database too.
TEMPLATE_STATUSES = ("proposed", "approved", "rejected", "retired")

collection_templates = sa.Table(
    "collection_templates",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("code", sa.Text, nullable=False),
    sa.Column("version", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="proposed"),
    sa.Column("channels", ARRAY(sa.Text), nullable=False),
    sa.Column("parties", ARRAY(sa.Text), nullable=False),
    sa.Column("free_text", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("body_zh", sa.Text, nullable=False),
    sa.Column("body_en", sa.Text, nullable=False),
    sa.Column("proposed_by", sa.Text, nullable=False),
    sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decided_by", sa.Text, nullable=False, server_default=""),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.UniqueConstraint("code", "version"),
    sa.CheckConstraint(_in("status", TEMPLATE_STATUSES), name="template_status_known"),
    sa.CheckConstraint("decided_by = '' OR decided_by <> proposed_by", name="four_eyes"),
    sa.Index(
        "uq_collection_templates_live",
        "code",
        unique=True,
        postgresql_where=sa.text("status = 'approved'"),
    ),
    sa.Index(
        "uq_collection_templates_proposed",
        "code",
        unique=True,
        postgresql_where=sa.text("status = 'proposed'"),
    ),
)
