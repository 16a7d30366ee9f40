"""The PostgreSQL counters behind the abuse limits: concurrent hits each get their own
count (none lost, none repeated), and old windows are purged."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from mobilend.adapters.db.engine import create_engine
from mobilend.adapters.db.rate_limits import SqlRateLimiter
from mobilend.domain.limits import RateLimit

pytestmark = pytest.mark.db

T0 = dt.datetime(2026, 3, 2, 8, 0, 5, tzinfo=dt.UTC)


@pytest.fixture
def engine(database_url: str, db: sa.Engine) -> Iterator[sa.Engine]:
    wide = create_engine(database_url, pool_size=20, max_overflow=10)
    yield wide
    wide.dispose()


def test_concurrent_hits_are_counted_one_by_one(engine: sa.Engine) -> None:
    limiter = SqlRateLimiter(engine)
    limit = RateLimit("otp_send_ip", 20, dt.timedelta(minutes=10))
    start, end = limit.window_at(T0)
    barrier = threading.Barrier(40)
    counts: list[int] = []
    lock = threading.Lock()

    def hit() -> None:
        barrier.wait()
        count = limiter.hit(limit.bucket, "client-a", start, end)
        with lock:
            counts.append(count)

    threads = [threading.Thread(target=hit) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(counts) == list(range(1, 41))
    assert sum(not limit.exceeded_by(c) for c in counts) == 20


def test_windows_are_separate_and_ended_ones_are_purged(engine: sa.Engine) -> None:
    limiter = SqlRateLimiter(engine)
    limit = RateLimit("otp_send_all", 5, dt.timedelta(minutes=1))
    first = limit.window_at(T0)
    assert limiter.hit(limit.bucket, "*", *first) == 1
    assert limiter.hit(limit.bucket, "*", *first) == 2
    assert limiter.hit("otp_check_phone", "p1", *first) == 1
    later = limit.window_at(T0 + dt.timedelta(minutes=5))
    # The first hit of a new overall window clears the windows that ended.
    assert limiter.hit(limit.bucket, "*", *later) == 1
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT bucket, count FROM rate_limit_counters")).all()
    assert [tuple(r) for r in rows] == [("otp_send_all", 1)]
