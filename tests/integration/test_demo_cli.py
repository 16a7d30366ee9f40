"""``mobilend demo`` walks a loan through its life without touching the database."""

from __future__ import annotations

import sqlalchemy as sa
from typer.testing import CliRunner

from mobilend.cli.main import app


def test_the_demo_writes_nothing_to_the_database(db: sa.Engine) -> None:
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "balances rebuilt from postings match: True" in result.output
    with db.connect() as conn:
        for table in ("loans", "journal_entries", "loan_payouts", "funding_outbox", "products"):
            count = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            assert count == 0, table
