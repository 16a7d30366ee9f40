"""Abuse-limit counters (migration ``0009_rate_limit_counters``).

One row per bucket, key and fixed window; keys are keyed hashes (blind indexes), never
a phone number or an address in the clear. Rows outlive their window only until the
next purge.
"""

from __future__ import annotations

import sqlalchemy as sa

from mobilend.adapters.db.tables import metadata

rate_limit_counters = sa.Table(
    "rate_limit_counters",
    metadata,
    sa.Column("bucket", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("window_start", sa.DateTime(timezone=True), primary_key=True),
    sa.Column("window_end", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("count", sa.Integer, nullable=False),
)
