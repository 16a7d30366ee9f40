"""The migrations build exactly the schema the table definitions describe, both ways."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from typer.testing import CliRunner

from mobilend.adapters.db import admin, migrate
from mobilend.adapters.db.tables import load_all_tables
from mobilend.cli.main import app

pytestmark = pytest.mark.db


@pytest.fixture
def empty_database(pg_admin_url: str) -> Iterator[str]:
    name = f"mobilend_mig_{os.getpid()}"
    url = admin.create_database(pg_admin_url, name)
    try:
        yield url
    finally:
        admin.drop_database(pg_admin_url, name)


def schema_differences(url: str) -> list[object]:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            return list(compare_metadata(context, load_all_tables()))
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_table_definitions(empty_database: str) -> None:
    migrate.upgrade(empty_database)
    assert schema_differences(empty_database) == []
    assert migrate.current_revision(empty_database) == migrate.head_revision()


def test_every_migration_can_be_undone_and_redone(empty_database: str) -> None:
    migrate.upgrade(empty_database)
    migrated = table_names(empty_database)
    assert {"loans", "installments", "journal_entries", "postings", "eod_runs"} <= migrated
    migrate.downgrade(empty_database, "base")
    assert table_names(empty_database) <= {"alembic_version"}
    migrate.upgrade(empty_database)
    assert table_names(empty_database) == migrated
    assert schema_differences(empty_database) == []


def test_the_session_database_is_at_head(database_url: str) -> None:
    assert migrate.current_revision(database_url) == migrate.head_revision()


def test_migrate_command_brings_a_database_up_and_is_idempotent(
    empty_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mobilend.config import get_settings

    monkeypatch.setenv("MOBILEND_DATABASE_URL", empty_database)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        first = runner.invoke(app, ["migrate"])
        assert first.exit_code == 0, first.output
        assert migrate.head_revision() in first.output
        second = runner.invoke(app, ["migrate"])
        assert second.exit_code == 0, second.output
        url = runner.invoke(app, ["db", "url"])
        assert url.output.strip() == empty_database
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert migrate.current_revision(empty_database) == migrate.head_revision()


def test_ledger_verify_on_a_database_never_migrated_says_so(
    empty_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mobilend.config import get_settings

    monkeypatch.setenv("MOBILEND_DATABASE_URL", empty_database)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["ledger", "verify"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    assert "mobilend migrate" in result.output
    assert "Traceback" not in result.output
