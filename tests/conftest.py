"""Shared fixtures.

PostgreSQL
----------
Tests run against real PostgreSQL. With ``MOBILEND_DATABASE_URL`` set, that server is used
(its user must be allowed to create databases); otherwise a private test server is started
under ``var/pg-test`` (no fsync: test data need not survive a crash), shared by concurrent
test runs and stopped when the last of them ends.

Each pytest process (each xdist worker) gets its own database, cloned from a template that
was migrated to the newest revision once (rebuilt when a migration changes). Fixtures:

- ``database_url``  (session) SQLAlchemy URL of this process's migrated database; also put
  in ``MOBILEND_DATABASE_URL`` for the session, so code that reads settings finds it;
- ``db_engine``     (session) a SQLAlchemy engine on it;
- ``db``            (function) the same engine, after emptying every table a previous test
  wrote to (``TRUNCATE``). Use this one in tests.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from mobilend.adapters.db import admin
from mobilend.adapters.db.embedded import NON_DURABLE_SETTINGS, EmbeddedPostgres
from mobilend.adapters.db.engine import create_engine
from mobilend.config import get_settings

REPO_ROOT = Path(__file__).resolve().parents[1]
TEST_SERVER_DIR = REPO_ROOT / "var" / "pg-test"

#: Tables whose rows are set up by migrations and must survive between tests.
REFERENCE_TABLES = frozenset({"alembic_version", "collection_templates"})
#: Seeded by migrations: put back as seeded instead of emptied (what tests add goes).
RESEED = (
    "DELETE FROM collection_templates WHERE proposed_by <> 'system:catalogue'",
    "UPDATE collection_templates SET status = 'approved', decided_by = 'system:migration-0015'"
    " WHERE status <> 'approved'",
)


# --------------------------------------------------------------------------- PostgreSQL


def _external_url() -> str | None:
    return os.environ.get("MOBILEND_DATABASE_URL") or None


def _test_server() -> EmbeddedPostgres:
    return EmbeddedPostgres(TEST_SERVER_DIR, settings=NON_DURABLE_SETTINGS)


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@contextlib.contextmanager
def _test_server_clients() -> Iterator[Path]:
    """The folder where each running test session leaves its pid, under a lock.

    Several test runs (and developers) may share the test server; the last one to finish
    stops it. Entries of processes that died are ignored.
    """
    clients = TEST_SERVER_DIR / "clients"
    clients.mkdir(parents=True, exist_ok=True)
    with open(TEST_SERVER_DIR / "clients.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            for entry in clients.iterdir():
                if not _pid_alive(int(entry.name)):
                    entry.unlink(missing_ok=True)
            yield clients
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pytest_configure(config: pytest.Config) -> None:
    if not _is_xdist_worker(config) and _external_url() is None:
        with _test_server_clients() as clients:
            (clients / str(os.getpid())).touch()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _is_xdist_worker(config) or _external_url() is not None:
        return
    with _test_server_clients() as clients:
        (clients / str(os.getpid())).unlink(missing_ok=True)
        if not any(clients.iterdir()):
            _test_server().stop()


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """URL of a database on the test server from which databases can be created."""
    external = _external_url()
    if external is not None:
        return external
    return _test_server().start().url("postgres")


@pytest.fixture(scope="session")
def database_url(pg_admin_url: str) -> Iterator[str]:
    # One database per process: concurrent runs and xdist workers never share one.
    name = f"mobilend_test_{os.getpid()}"
    for leftover in admin.list_databases(pg_admin_url, "mobilend_test_"):
        owner = leftover.rsplit("_", 1)[1]
        if owner.isdigit() and not _pid_alive(int(owner)):
            admin.drop_database(pg_admin_url, leftover)
    template = admin.migrated_template(pg_admin_url)
    url = admin.create_database(pg_admin_url, name, template=template)
    previous = os.environ.get("MOBILEND_DATABASE_URL")
    os.environ["MOBILEND_DATABASE_URL"] = url
    get_settings.cache_clear()
    try:
        yield url
    finally:
        if previous is None:
            os.environ.pop("MOBILEND_DATABASE_URL", None)
        else:
            os.environ["MOBILEND_DATABASE_URL"] = previous
        get_settings.cache_clear()
        admin.drop_database(pg_admin_url, name)


@pytest.fixture(scope="session")
def db_engine(database_url: str) -> Iterator[sa.Engine]:
    engine = create_engine(database_url, pool_size=5)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def _resettable_tables(db_engine: sa.Engine) -> list[str]:
    with db_engine.connect() as conn:
        names = conn.execute(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        ).scalars()
        return [name for name in names if name not in REFERENCE_TABLES]


@pytest.fixture
def db(db_engine: sa.Engine, _resettable_tables: list[str]) -> sa.Engine:
    """The test database with every non-reference table empty."""
    if _resettable_tables:
        probe = " UNION ALL ".join(
            f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM \"{name}\")"
            for name in _resettable_tables
        )
        with db_engine.begin() as conn:
            dirty = conn.execute(sa.text(probe)).scalars().all()
            if dirty:
                conn.execute(sa.text("SET LOCAL mobilend.allow_ledger_truncate = 'on'"))
                tables = ", ".join(f'"{name}"' for name in dirty)
                conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            for statement in RESEED:
                conn.execute(sa.text(statement))
    return db_engine
