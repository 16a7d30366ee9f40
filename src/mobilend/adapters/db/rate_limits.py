"""``RateLimiter`` on PostgreSQL: one ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` per
hit, in a transaction of its own. The row lock it takes orders concurrent hits on one
key, so each sees its own count; committing at once means an attempt counts even when
the request it belongs to fails later.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from mobilend.adapters.db.security_tables import rate_limit_counters

#: Count one hit (built once: ``adapters.db.statements``; the values are parameters).
_HIT = (
    insert(rate_limit_counters)
    .on_conflict_do_update(
        index_elements=["bucket", "key", "window_start"],
        set_={"count": rate_limit_counters.c.count + 1},
    )
    .returning(rate_limit_counters.c.count)
)


class SqlRateLimiter:
    """Implements ``app.ports.RateLimiter``."""

    def __init__(self, engine: sa.Engine, *, purge_bucket: str = "otp_send_all") -> None:
        self._engine = engine
        # The first hit of each new window of this bucket clears windows that ended.
        self._purge_bucket = purge_bucket

    def hit(self, bucket: str, key: str, window_start: dt.datetime, window_end: dt.datetime) -> int:
        values = {
            "bucket": bucket, "key": key, "window_start": window_start,
            "window_end": window_end, "count": 1,
        }  # fmt: skip
        with self._engine.begin() as conn:
            count = int(conn.execute(_HIT, values).scalar_one())
            if count == 1 and bucket == self._purge_bucket:
                conn.execute(
                    rate_limit_counters.delete().where(
                        rate_limit_counters.c.window_end < window_start
                    )
                )
        return count

    def purge(self, before: dt.datetime) -> int:
        """Delete counters of windows that ended before ``before``."""
        with self._engine.begin() as conn:
            result = conn.execute(
                rate_limit_counters.delete().where(rate_limit_counters.c.window_end < before)
            )
        return int(result.rowcount)
