"""Migration ``0008``: the journey's own ``disbursements`` table goes, its rows carried
over into funding's ``loan_payouts`` (and back again on downgrade), and the journey's
queued ``rail.payout`` messages are given up."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from tests.lending_scenarios import OPENED_ON, make_line, make_product

from mobilend.adapters.db import admin, migrate
from mobilend.app.lending.loans import draw_loan
from mobilend.bootstrap.lending import build_lending
from mobilend.domain.money import Money

pytestmark = pytest.mark.db

BEFORE = "0007_risk"
SIGNED_AT = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def database(pg_admin_url: str) -> Iterator[str]:
    name = f"mobilend_mig8_{os.getpid()}"
    url = admin.create_database(pg_admin_url, name)
    try:
        yield url
    finally:
        admin.drop_database(pg_admin_url, name)


def _signed_loans(engine: sa.Engine, count: int) -> list[str]:
    """Loans drawn through funding, each with a signed contract (as the journey makes)."""
    lending = build_lending(engine=engine)
    make_product(lending)
    loan_ids = []
    for i in range(count):
        line = make_line(lending, borrower_id=f"b-{i}")
        drawn = draw_loan(
            lending.uow_factory, lending.cost_caps, lending.new_id,
            line_id=line.line_id, amount=Money("1000.00"), periods=3, on=OPENED_ON,
        )  # fmt: skip
        loan_ids.append(drawn.loan.loan_id)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO loan_contracts (id, borrower_id, line_id, status, "
                    "template_version, body, sha256, terms, offer_date, created_at, signed_at, "
                    "loan_id) VALUES (:id, :b, :line, 'signed', 'v1', 'text', :sha, '{}', "
                    ":day, :at, :at, :loan)"
                ),
                {
                    "id": f"c-{i}",
                    "b": f"b-{i}",
                    "line": line.line_id,
                    "sha": "0" * 64,
                    "day": OPENED_ON,
                    "at": SIGNED_AT,
                    "loan": drawn.loan.loan_id,
                },
            )
    return loan_ids


def _rows(engine: sa.Engine, sql: str) -> dict[str, tuple[object, ...]]:
    with engine.connect() as conn:
        return {row[0]: tuple(row[1:]) for row in conn.execute(sa.text(sql))}


def test_disbursements_carry_over_both_ways(database: str) -> None:
    migrate.upgrade(database)
    engine = sa.create_engine(database, poolclass=sa.NullPool)
    try:
        paid, pending = _signed_loans(engine, 2)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE loan_payouts SET status = 'paid', rail_reference = 'R1' "
                    "WHERE loan_id = :l"
                ),
                {"l": paid},
            )

        # Down: each signed contract's payout is the journey's row again.
        migrate.downgrade(database, BEFORE)
        back = _rows(
            engine, "SELECT loan_id, status, contract_id, idempotency_key FROM disbursements"
        )
        assert back == {
            paid: ("paid", "c-0", f"payout-{paid}"),
            pending: ("pending", "c-1", f"payout-{pending}"),
        }

        # The world before 0008: the journey's rows only, and its payout message queued.
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM loan_payouts"))
            conn.execute(
                sa.text(
                    "INSERT INTO outbox (id, topic, borrower_id, payload, idempotency_key) "
                    "VALUES ('m-1', 'rail.payout', 'b-1', '{}', :key)"
                ),
                {"key": f"payout-{pending}"},
            )
        migrate.upgrade(database)
        carried = _rows(
            engine,
            "SELECT loan_id, status, rail_reference, resolved_by, settled_on, "
            "idempotency_key FROM loan_payouts",
        )
        assert carried == {
            paid: ("paid", "R1", "journey", None, f"payout-{paid}"),
            pending: ("needs_review", "", "journey", None, f"payout-{pending}"),
        }
        outbox = _rows(engine, "SELECT id, status FROM outbox WHERE topic = 'rail.payout'")
        assert outbox == {"m-1": ("dead",)}
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
        assert "disbursements" not in tables
    finally:
        engine.dispose()
