"""Pooled connections are pinged only after sitting idle, and a dead one is replaced."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mobilend.adapters.db.engine import create_engine, normalise_url, ping_idle_connections

pytestmark = pytest.mark.db


def backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_used_moments_ago_is_not_pinged(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(database_url, pool_size=1)
    pings: list[object] = []
    original = engine.dialect.do_ping

    def counting_ping(dbapi_connection: object) -> bool:
        pings.append(dbapi_connection)
        return bool(original(dbapi_connection))

    monkeypatch.setattr(engine.dialect, "do_ping", counting_ping)
    try:
        first = backend_pid(engine)
        second = backend_pid(engine)
    finally:
        engine.dispose()
    assert first == second  # the same pooled connection, reused
    assert pings == []


def test_a_connection_idle_past_the_limit_is_pinged_and_a_dead_one_replaced(
    database_url: str, pg_admin_url: str
) -> None:
    engine = ping_idle_connections(
        sa.create_engine(normalise_url(database_url), pool_size=1), idle_s=0.0
    )
    admin = create_engine(pg_admin_url, pool_size=1)
    try:
        dead = backend_pid(engine)
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": dead})
        # Without the ping this statement would fail on the terminated connection.
        alive = backend_pid(engine)
    finally:
        engine.dispose()
        admin.dispose()
    assert alive != dead


def test_without_the_idle_ping_the_dead_connection_fails(
    database_url: str, pg_admin_url: str
) -> None:
    """The check above is not vacuous: the same steps with no ping at all fail."""
    engine = sa.create_engine(normalise_url(database_url), pool_size=1)
    admin = create_engine(pg_admin_url, pool_size=1)
    try:
        dead = backend_pid(engine)
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": dead})
        with pytest.raises(sa.exc.OperationalError):
            backend_pid(engine)
    finally:
        engine.dispose()
        admin.dispose()
