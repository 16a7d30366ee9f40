"""Waking the disbursement worker the moment a payout is queued: PostgreSQL LISTEN/NOTIFY.

The funding outbox announces each message it takes (``announce``, in the writer's own
transaction: PostgreSQL delivers a notification only when that transaction commits, and
folds repeats within one transaction into one). A process running the worker's passes
listens on a connection of its own (``OutboxSignal``) and, between passes, waits for a
notification instead of sleeping a fixed interval — so a signed loan's payout leaves
within a round trip of the commit rather than after the rest of a polling interval.
The wait still ends after its timeout, so time-based duties (leases running out,
partner approvals and unconfirmed payouts to poll) run as before, and a lost or missed
notification costs at most one interval. Listening never holds a transaction open.
"""

from __future__ import annotations

import logging
import time

import psycopg
import sqlalchemy as sa

from mobilend.adapters.db.engine import libpq_url

log = logging.getLogger(__name__)

CHANNEL = "mobilend_funding_outbox"


def announce(conn: sa.Connection) -> None:
    """Tell the listening workers, at this transaction's commit, that work is queued."""
    conn.execute(sa.text(f"NOTIFY {CHANNEL}"))


class OutboxSignal:
    """A listening connection; ``wait`` blocks until a notification or the timeout."""

    def __init__(self, url: str) -> None:
        self._conninfo = libpq_url(url)
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    def _listening(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._conninfo, autocommit=True)
            self._conn.execute(f"LISTEN {CHANNEL}")
        return self._conn

    def wait(self, timeout: float) -> bool:
        """True when woken by a notification (all pending ones are consumed), False when
        the timeout passed. A broken connection is reopened on the next call; meanwhile
        this sleeps the timeout, as polling would."""
        try:
            conn = self._listening()
            woken = any(True for _ in conn.notifies(timeout=timeout, stop_after=1))
            if woken:  # several commits may have announced work: one pass serves them all
                for _ in conn.notifies(timeout=0):
                    pass
            return woken
        except psycopg.Error as exc:
            log.warning("outbox listener: %s; polling until it reconnects", type(exc).__name__)
            self.close()
            time.sleep(timeout)
            return False

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
