"""Where the database is, and SQLAlchemy engines for it (sync, psycopg 3).

``database_url()`` is the one answer to "which database": ``MOBILEND_DATABASE_URL`` when
set, otherwise the embedded server under ``<var>/pg`` (started if needed) and its
``mobilend`` database (created if needed).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import Engine, make_url

from mobilend.adapters.db.embedded import EmbeddedPostgres, ServerInfo
from mobilend.adapters.db.transactions import end_reads_with_commit
from mobilend.config import Settings, get_settings


def embedded_server(settings: Settings | None = None) -> EmbeddedPostgres:
    """The platform's private server (under ``<var>/pg``); not started by this call."""
    settings = settings or get_settings()
    return EmbeddedPostgres(settings.var_path / "pg", port=settings.pg_port)


def normalise_url(url: str) -> str:
    """Make a PostgreSQL URL use the psycopg 3 driver (``postgres://`` and ``postgresql://`` too)."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def libpq_url(url: str) -> str:
    """The same URL without the SQLAlchemy driver part, for psycopg and libpq tools."""
    return (
        make_url(normalise_url(url))
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )


def database_url(settings: Settings | None = None) -> str:
    """SQLAlchemy URL of the platform's database; starts the embedded server when needed."""
    settings = settings or get_settings()
    if settings.database_url:
        return normalise_url(settings.database_url)
    info = embedded_server(settings).start()
    ensure_database(info, settings.pg_database)
    return info.url(settings.pg_database)


def ensure_database(info: ServerInfo, name: str) -> None:
    """Create database ``name`` on the embedded server unless it exists."""
    with psycopg.connect(info.conninfo(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is None:
            # Another process may create it at the same moment.
            with contextlib.suppress(
                psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation
            ):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


#: A pooled connection idle for longer than this is pinged (``SELECT 1``) before use.
#: SQLAlchemy's ``pool_pre_ping`` pings on every checkout — one extra round trip per unit
#: of work, several per request; a connection handed back moments ago is as good as the
#: last statement it ran. A server that went away while a connection sat idle is found
#: here; one that goes away mid-burst fails that statement, as it would after a ping.
PING_AFTER_IDLE_S = 5.0


def ping_idle_connections(engine: Engine, idle_s: float = PING_AFTER_IDLE_S) -> Engine:
    """Ping a connection at checkout only when it sat in the pool for ``idle_s`` or more;
    a dead one is replaced (``DisconnectionError`` makes the pool connect afresh)."""

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < idle_s:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise sa.exc.DisconnectionError("stale pooled connection") from exc

    sa.event.listen(engine, "checkin", checked_in)
    sa.event.listen(engine, "checkout", checked_out)
    return engine


def create_engine(url: str | None = None, *, pool_size: int | None = None, **kwargs: Any) -> Engine:
    """A sync SQLAlchemy engine (psycopg 3) for ``url`` (default: ``database_url()``);
    pooled connections are pinged only after sitting idle (``ping_idle_connections``)."""
    settings = get_settings()
    pre_ping = kwargs.pop("pool_pre_ping", None)
    engine = sa.create_engine(
        normalise_url(url or database_url(settings)),
        pool_size=pool_size if pool_size is not None else settings.db_pool_size,
        max_overflow=kwargs.pop("max_overflow", 10),
        pool_pre_ping=bool(pre_ping),
        **kwargs,
    )
    end_reads_with_commit(engine)
    return engine if pre_ping else ping_idle_connections(engine)
