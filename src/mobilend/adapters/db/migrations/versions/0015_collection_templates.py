"""Collection templates as records: the approved scripts and messages (话术模板) move from
a file to ``collection_templates``, seeded with the shipped catalogue
(``app.collections.templates.CATALOGUE``) as approved. A new version is proposed by one
collections manager and goes live when another approves it; the earlier version is
retired. One live version and at most one proposal per code; the proposer cannot be the
approver (a check constraint).

Revision ID: 0015_collection_templates
Revises: 0014_compliance_privacy_bureau
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015_collection_templates"
down_revision = "0014_compliance_privacy_bureau"
branch_labels = None
depends_on = None

SEEDED_BY = "system:catalogue"
APPROVED_BY = "system:migration-0015"


def upgrade() -> None:
    table = op.create_table(
        "collection_templates",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="proposed", nullable=False),
        sa.Column("channels", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("parties", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("free_text", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("body_zh", sa.Text(), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("proposed_by", sa.Text(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Text(), server_default="", nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.CheckConstraint(
            "decided_by = '' OR decided_by <> proposed_by",
            name=op.f("ck_collection_templates_four_eyes"),
        ),
        sa.CheckConstraint(
            "status IN ('proposed', 'approved', 'rejected', 'retired')",
            name=op.f("ck_collection_templates_template_status_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_templates")),
        sa.UniqueConstraint("code", "version", name=op.f("uq_collection_templates_code_version")),
    )
    op.create_index(
        "uq_collection_templates_live",
        "collection_templates",
        ["code"],
        unique=True,
        postgresql_where=sa.text("status = 'approved'"),
    )
    op.create_index(
        "uq_collection_templates_proposed",
        "collection_templates",
        ["code"],
        unique=True,
        postgresql_where=sa.text("status = 'proposed'"),
    )
    # The catalogue as shipped becomes the approved version of each template.
    from mobilend.app.collections.templates import CATALOGUE

    now = dt.datetime.now(dt.UTC)
    op.bulk_insert(
        table,
        [
            {
                "id": f"tpl-{t.code}-{t.version}",
                "code": t.code,
                "version": t.version,
                "status": "approved",
                "channels": sorted(c.value for c in t.channels),
                "parties": sorted(p.value for p in t.parties),
                "free_text": sorted(t.free_text),
                "body_zh": t.body_zh,
                "body_en": t.body_en,
                "proposed_by": SEEDED_BY,
                "proposed_at": now,
                "decided_by": APPROVED_BY,
                "decided_at": now,
                "note": "seeded from the shipped catalogue",
            }
            for t in CATALOGUE
        ],
    )


def downgrade() -> None:
    op.drop_index("uq_collection_templates_proposed", table_name="collection_templates")
    op.drop_index("uq_collection_templates_live", table_name="collection_templates")
    op.drop_table("collection_templates")
