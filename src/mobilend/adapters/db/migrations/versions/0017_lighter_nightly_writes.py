"""Lighter nightly writes: a partial index for reversals, room on loan pages.

- ``uq_journal_entries_reverses`` (0001) was a unique constraint over every entry, so
  each entry added a NULL to its index: end of day writes about one entry per active
  loan a night, and nearly none reverses anything. It is now a partial unique index over
  the entries that do reverse one (``WHERE reverses IS NOT NULL``); the rule and the name
  in its error message are unchanged.
- ``loans`` gets ``fillfactor = 90``: end of day rewrites every active loan row each
  night, and a new row version that fits on its page is a heap-only update, which skips
  the table's seven indexes; on full pages about one update in five moved to another
  page and inserted into all of them. Pages written from now on keep the room (existing
  pages gain it as they are rewritten, e.g. by ``VACUUM FULL``).

Revision ID: 0017_lighter_nightly_writes
Revises: 0016_ledger_check_by_transaction
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_lighter_nightly_writes"
down_revision = "0016_ledger_check_by_transaction"
branch_labels = None
depends_on = None

_REVERSES = "uq_journal_entries_reverses"


def upgrade() -> None:
    op.drop_constraint(_REVERSES, "journal_entries", type_="unique")
    op.create_index(
        _REVERSES,
        "journal_entries",
        ["reverses"],
        unique=True,
        postgresql_where=sa.text("reverses IS NOT NULL"),
    )
    op.execute("ALTER TABLE loans SET (fillfactor = 90)")


def downgrade() -> None:
    op.execute("ALTER TABLE loans RESET (fillfactor)")
    op.drop_index(_REVERSES, table_name="journal_entries")
    op.create_unique_constraint(_REVERSES, "journal_entries", ["reverses"])
