"""Where the database is, and SQLAlchemy engines for it (sync, psycopg 3).

``database_url()`` is the one answer to "which database": ``MOBILEND_DATABASE_URL`` when
set, otherwise the embedded server under ``<var>/pg`` (started if needed) and its
``mobilend`` database (created if needed).
"""

from __future__ import annotations

import contextlib
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import Engine, make_url

from mobilend.adapters.db.embedded import EmbeddedPostgres, ServerInfo
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


def create_engine(url: str | None = None, *, pool_size: int | None = None, **kwargs: Any) -> Engine:
    """A sync SQLAlchemy engine (psycopg 3) for ``url`` (default: ``database_url()``)."""
    settings = get_settings()
    return sa.create_engine(
        normalise_url(url or database_url(settings)),
        pool_size=pool_size if pool_size is not None else settings.db_pool_size,
        max_overflow=kwargs.pop("max_overflow", 10),
        pool_pre_ping=kwargs.pop("pool_pre_ping", True),
        **kwargs,
    )
