"""Alembic environment: migrates the database given by the caller (see ``migrate.py``).

Migrations run in one transaction under an advisory lock, so several processes that
start at once (web server, workers) do not migrate the same database twice.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from mobilend.adapters.db.tables import load_all_tables

# Arbitrary constant: the advisory-lock key that serialises migrations.
MIGRATION_LOCK_KEY = 0x6D6F62696C656E64  # "mobilend"


def run_migrations_online() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=sa.NullPool)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=load_all_tables(),
        compare_type=True,
        compare_server_default=True,
    )
    with context.begin_transaction():
        connection.execute(
            sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
        )
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `mobilend migrate`")
run_migrations_online()
