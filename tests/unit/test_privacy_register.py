"""The register of personal data covers every table that holds borrowers' data, and each
entry names columns that exist; each consent's withdrawal stops the processing it covers."""

from __future__ import annotations

from mobilend.adapters.db.tables import load_all_tables
from mobilend.app.privacy.consents import withdrawal_effects
from mobilend.app.privacy.register import (
    HOLDING_BY_TABLE,
    HOLDINGS,
    PURPOSE_BY_CODE,
    Basis,
    Erasure,
)
from mobilend.domain.borrowers import REQUIRED_FOR_CREDIT, ConsentPurpose


def test_every_table_with_a_borrower_id_is_in_the_register() -> None:
    tables = load_all_tables().tables
    holding_borrowers = {name for name, t in tables.items() if "borrower_id" in t.columns}
    missing = sorted(holding_borrowers - set(HOLDING_BY_TABLE))
    assert missing == [], f"tables holding borrowers' data missing from the register: {missing}"


def test_each_entry_names_columns_that_exist_and_purposes_that_are_registered() -> None:
    tables = load_all_tables().tables
    for holding in HOLDINGS:
        table = tables[holding.table]
        for column in (*holding.columns, *(c for c, _ in holding.sealed)):
            assert column in table.columns, (holding.table, column)
        if holding.found_by:
            assert holding.found_by[0] in table.columns, holding.table
            assert holding.found_by[1] in tables["borrowers"].columns, holding.table
        assert holding.erasure is not Erasure.CLEAR or holding.columns, holding.table
        assert holding.erasure is not Erasure.KEEP or holding.why_kept, holding.table
        assert all(p in PURPOSE_BY_CODE for p in holding.purposes), holding.table
    # Every sealed column of the borrower row is emptied by erasure.
    borrowers = HOLDING_BY_TABLE["borrowers"]
    assert {c for c, _ in borrowers.sealed} <= set(borrowers.columns)
    assert {"phone_bidx", "national_id_bidx", "bank_card_bidx"} <= set(borrowers.columns)


def test_withdrawing_a_consent_names_what_stops() -> None:
    assert [p.code for p in withdrawal_effects("marketing")] == ["marketing"]
    for purpose in REQUIRED_FOR_CREDIT:
        stopped = withdrawal_effects(purpose.value)
        assert stopped and all(p.basis is Basis.CONSENT for p in stopped)
    assert "credit_report_query" in [p.code for p in withdrawal_effects("credit_report_query")]
    assert [p.code for p in withdrawal_effects(ConsentPurpose.E_CONTRACT.value)] == ["e_signature"]
