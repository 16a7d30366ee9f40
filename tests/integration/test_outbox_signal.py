"""The funding outbox wakes listening workers when, and only when, a message commits."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from mobilend.adapters.db.funding_payouts_repository import SqlFundingOutbox
from mobilend.adapters.db.outbox_signal import OutboxSignal
from mobilend.app.funding.ports import TOPIC_PAYOUT, OutboxItem

pytestmark = pytest.mark.db


def queue(db: sa.Engine, message_id: str, *, commit: bool) -> None:
    with db.connect() as conn:
        SqlFundingOutbox(conn).add(
            OutboxItem(message_id, TOPIC_PAYOUT, None, {"loan_id": message_id}, f"key-{message_id}")
        )
        if commit:
            conn.commit()
        else:
            conn.rollback()


@pytest.fixture
def signal(db: sa.Engine) -> Iterator[OutboxSignal]:
    listening = OutboxSignal(db.url.render_as_string(hide_password=False))
    assert listening.wait(0.01) is False  # now listening, nothing queued yet
    yield listening
    listening.close()


def test_a_committed_payout_wakes_the_listener(db: sa.Engine, signal: OutboxSignal) -> None:
    queue(db, "m-1", commit=True)
    started = time.monotonic()
    assert signal.wait(5.0) is True
    assert time.monotonic() - started < 4.0  # woken, not timed out
    assert signal.wait(0.05) is False  # consumed: the next wait times out


def test_a_rolled_back_payout_wakes_no_one(db: sa.Engine, signal: OutboxSignal) -> None:
    queue(db, "m-2", commit=False)
    assert signal.wait(0.3) is False


def test_many_commits_between_waits_wake_one_pass(db: sa.Engine, signal: OutboxSignal) -> None:
    for n in range(5):
        queue(db, f"m-3-{n}", commit=True)
    time.sleep(0.2)
    assert signal.wait(5.0) is True
    assert signal.wait(0.05) is False


def test_a_lost_connection_is_reopened(db: sa.Engine, signal: OutboxSignal) -> None:
    with sa.create_engine(db.url).connect() as conn:
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query LIKE 'LISTEN %' AND datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
        )
        conn.commit()
    assert signal.wait(0.05) is False  # the broken connection, noticed and dropped
    assert signal.wait(0.05) is False  # listening again
    queue(db, "m-4", commit=True)
    assert signal.wait(5.0) is True
