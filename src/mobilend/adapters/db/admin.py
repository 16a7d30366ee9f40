"""Creating, cloning and dropping databases (test suites, benchmarks, provisioning).

``admin_url`` is any URL on the server whose user may create databases; the database in
it is only used to issue the commands.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from mobilend.adapters.db import migrate
from mobilend.adapters.db.engine import libpq_url, normalise_url

# Advisory-lock key that serialises template builds across processes (xdist workers).
_TEMPLATE_LOCK_KEY = 0x6D6F62696C746D70  # "mobiltmp"


@contextlib.contextmanager
def _admin(admin_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
        yield conn


def url_for(admin_url: str, database: str) -> str:
    """``admin_url`` pointing at another database on the same server."""
    return (
        make_url(normalise_url(admin_url))
        .set(database=database)
        .render_as_string(hide_password=False)
    )


def database_exists(admin_url: str, name: str) -> bool:
    with _admin(admin_url) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        return row is not None


def list_databases(admin_url: str, prefix: str) -> list[str]:
    """Names of the databases that start with ``prefix``."""
    with _admin(admin_url) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s) ORDER BY 1", (prefix,)
        ).fetchall()
        return [name for (name,) in rows]


def create_database(admin_url: str, name: str, *, template: str | None = None) -> str:
    """Create (or re-create, dropping any old one) database ``name``; return its URL."""
    with _admin(admin_url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        conn.execute(statement)
    return url_for(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    with _admin(admin_url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def migrations_fingerprint() -> str:
    """A short hash of every migration file: it changes whenever the schema's history does."""
    digest = hashlib.sha256()
    for path in sorted(Path(migrate.MIGRATIONS_DIR).rglob("*.py")):
        digest.update(path.relative_to(migrate.MIGRATIONS_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def migrated_template(admin_url: str, prefix: str = "mobilend_tmpl") -> str:
    """Name of a database at the newest migration, for ``CREATE DATABASE … TEMPLATE``.

    Built once per migration fingerprint and reused by every process (and later runs);
    templates of older fingerprints are dropped. Connections to it are refused, because
    PostgreSQL cannot clone a database someone is connected to.
    """
    name = f"{prefix}_{migrations_fingerprint()}"
    with _admin(admin_url) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_TEMPLATE_LOCK_KEY,))
        try:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if exists is None:
                building = f"{name}_building"
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(building)
                    )
                )
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(building)))
                migrate.upgrade(url_for(admin_url, building))
                conn.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(building), sql.Identifier(name)
                    )
                )
                conn.execute(
                    sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(
                        sql.Identifier(name)
                    )
                )
            stale = conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s",
                (f"{prefix}\\_%", name),
            ).fetchall()
            for (old,) in stale:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(old))
                )
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_TEMPLATE_LOCK_KEY,))
    return name
