"""Migration ``0010``: existing birth dates are sealed and existing client addresses on
consents and signed contracts reduced to their network (and back on downgrade, for the
birth date); a signed contract stays immutable afterwards."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from tests.lending_scenarios import OPENED_ON, make_line, make_product

from mobilend.adapters.db import admin, migrate
from mobilend.app.lending.loans import draw_loan
from mobilend.bootstrap.infra import load_vault as _vault
from mobilend.bootstrap.lending import build_lending
from mobilend.config import get_settings
from mobilend.domain.money import Money

pytestmark = pytest.mark.db

BEFORE = "0009_rate_limit_counters"
AT = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def database(pg_admin_url: str) -> Iterator[str]:
    name = f"mobilend_mig10_{os.getpid()}"
    url = admin.create_database(pg_admin_url, name)
    try:
        yield url
    finally:
        admin.drop_database(pg_admin_url, name)


def _signed_contract(engine: sa.Engine, ip: str) -> str:
    lending = build_lending(engine=engine)
    make_product(lending)
    line = make_line(lending, borrower_id="b-0")
    drawn = draw_loan(
        lending.uow_factory, lending.cost_caps, lending.new_id,
        line_id=line.line_id, amount=Money("1000.00"), periods=3, on=OPENED_ON,
    )  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO loan_contracts (id, borrower_id, line_id, status, template_version, "
                "body, sha256, terms, offer_date, created_at, signed_at, loan_id, ip_address) "
                "VALUES ('c-0', 'b-0', :line, 'signed', 'v1', 'text', :sha, '{}', :day, :at, "
                ":at, :loan, :ip)"
            ),
            {"line": line.line_id, "sha": "0" * 64, "day": OPENED_ON, "at": AT,
             "loan": drawn.loan.loan_id, "ip": ip},
        )  # fmt: skip
    return "c-0"


def test_birth_dates_are_sealed_and_addresses_reduced(database: str) -> None:
    migrate.upgrade(database)
    engine = sa.create_engine(database, poolclass=sa.NullPool)
    try:
        _signed_contract(engine, "198.51.100.23")
        migrate.downgrade(database, BEFORE)
        # The world before 0010: a clear birth date, full addresses.
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE borrowers SET birth_date = '1990-03-07' WHERE id = 'b-0'"))
            for n, ip in enumerate(["203.0.113.77", "2001:db8:1:2::5", "", "testclient"]):
                conn.execute(
                    sa.text(
                        "INSERT INTO consents (id, borrower_id, purpose, text_version, "
                        "granted_at, withdrawn_at, ip_address) VALUES (:id, 'b-0', 'data_use', "
                        "'v1', :at, :at, :ip)"
                    ),
                    {"id": f"k-{n}", "at": AT, "ip": ip},
                )
        migrate.upgrade(database)

        with engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("borrowers")}
            sealed = conn.execute(
                sa.text("SELECT birth_date_enc FROM borrowers WHERE id = 'b-0'")
            ).scalar_one()
            consents = dict(conn.execute(sa.text("SELECT id, ip_address FROM consents")).all())
            contract_ip = conn.execute(
                sa.text("SELECT ip_address FROM loan_contracts WHERE id = 'c-0'")
            ).scalar_one()
        assert "birth_date" not in columns
        assert "1990" not in sealed
        vault = _vault(get_settings())
        assert vault.decrypt("birth_date", sealed) == "1990-03-07"
        assert consents == {
            "k-0": "203.0.113.0/24",
            "k-1": "2001:db8:1::/48",
            "k-2": "",
            "k-3": "",
        }
        assert contract_ip == "198.51.100.0/24"
        # The contract's trigger is back on.
        with pytest.raises(sa.exc.DBAPIError, match="signed"), engine.begin() as conn:
            conn.execute(sa.text("UPDATE loan_contracts SET ip_address = '' WHERE id = 'c-0'"))

        migrate.downgrade(database, BEFORE)
        with engine.connect() as conn:
            birth = conn.execute(
                sa.text("SELECT birth_date FROM borrowers WHERE id = 'b-0'")
            ).scalar_one()
        assert birth == dt.date(1990, 3, 7)
    finally:
        engine.dispose()
