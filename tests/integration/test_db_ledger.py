"""The database itself enforces the ledger's rules, whatever SQL reaches it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

pytestmark = pytest.mark.db

INSERT_ENTRY = sa.text(
    "INSERT INTO journal_entries (id, kind, business_date, loan_id, borrower_id)"
    " VALUES (:id, 'adjustment', DATE '2025-01-15', 'L1', 'B1')"
)
INSERT_POSTING = sa.text(
    "INSERT INTO postings (entry_id, account, loan_id, borrower_id, amount_minor, currency)"
    " VALUES (:entry, :account, 'L1', 'B1', :amount, :currency)"
)


def post(conn: sa.Connection, entry: str, *lines: tuple[str, int, str]) -> None:
    for account, amount, currency in lines:
        conn.execute(
            INSERT_POSTING,
            {"entry": entry, "account": account, "amount": amount, "currency": currency},
        )


def entry_ids(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT id FROM journal_entries ORDER BY id")).scalars())


def posting_total(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM postings")).scalar_one())


def test_balanced_entry_commits(db: sa.Engine) -> None:
    with db.begin() as conn:
        conn.execute(INSERT_ENTRY, {"id": "E1"})
        post(
            conn,
            "E1",
            ("cash:own_pool", 10_000, "CNY"),
            ("loan_principal_receivable", -10_000, "CNY"),
        )
    assert entry_ids(db) == ["E1"]
    assert posting_total(db) == 2


def test_unbalanced_entry_is_refused_at_commit_not_before(db: sa.Engine) -> None:
    conn = db.connect()
    try:
        conn.begin()
        conn.execute(INSERT_ENTRY, {"id": "E1"})
        # Each statement succeeds: the entry is only complete when the transaction ends.
        post(
            conn,
            "E1",
            ("cash:own_pool", 10_000, "CNY"),
            ("loan_principal_receivable", -9_999, "CNY"),
        )
        with pytest.raises(IntegrityError, match="does not balance: CNY 1"):
            conn.commit()
    finally:
        conn.close()
    assert entry_ids(db) == []
    assert posting_total(db) == 0


def test_entry_with_one_posting_is_refused(db: sa.Engine) -> None:
    with pytest.raises(IntegrityError, match="has 1 posting"), db.begin() as conn:
        conn.execute(INSERT_ENTRY, {"id": "E1"})
        post(conn, "E1", ("cash:own_pool", 10_000, "CNY"))
    assert entry_ids(db) == []


def test_entry_without_postings_is_refused(db: sa.Engine) -> None:
    with pytest.raises(IntegrityError, match="has 0 posting"), db.begin() as conn:
        conn.execute(INSERT_ENTRY, {"id": "E1"})
    assert entry_ids(db) == []


def test_each_currency_must_balance_on_its_own(db: sa.Engine) -> None:
    # Sums to zero overall (100 - 40 - 60) but not per currency.
    with pytest.raises(IntegrityError, match="CNY 40, USD -40"), db.begin() as conn:
        conn.execute(INSERT_ENTRY, {"id": "E1"})
        post(conn, "E1", ("cash", 100, "CNY"), ("cash", -60, "CNY"), ("cash", -40, "USD"))
    with db.begin() as conn:
        conn.execute(INSERT_ENTRY, {"id": "E2"})
        post(
            conn,
            "E2",
            ("cash", 100, "CNY"),
            ("suspense", -100, "CNY"),
            ("cash", 7, "USD"),
            ("suspense", -7, "USD"),
        )
    assert entry_ids(db) == ["E2"]


def test_a_committed_entry_takes_no_more_postings(db: sa.Engine) -> None:
    with db.begin() as conn:
        conn.execute(INSERT_ENTRY, {"id": "E1"})
        post(conn, "E1", ("cash", 500, "CNY"), ("suspense", -500, "CNY"))
    with pytest.raises(IntegrityError, match="journal entry E1 is closed"), db.begin() as conn:
        post(conn, "E1", ("cash", 1, "CNY"), ("suspense", -1, "CNY"))
    assert posting_total(db) == 2


def test_many_entries_in_one_transaction_are_each_checked(db: sa.Engine) -> None:
    with (
        pytest.raises(IntegrityError, match="journal entry E3 does not balance"),
        db.begin() as conn,
    ):
        for n in range(1, 6):
            conn.execute(INSERT_ENTRY, {"id": f"E{n}"})
            post(conn, f"E{n}", ("cash", 100, "CNY"), ("suspense", -100 if n != 3 else -99, "CNY"))
    assert entry_ids(db) == []


def test_check_can_be_made_immediate_within_a_transaction(db: sa.Engine) -> None:
    conn = db.connect()
    try:
        conn.begin()
        conn.execute(INSERT_ENTRY, {"id": "E1"})
        post(conn, "E1", ("cash", 100, "CNY"), ("suspense", -1, "CNY"))
        with pytest.raises(IntegrityError, match="does not balance"):
            conn.execute(sa.text("SET CONSTRAINTS ALL IMMEDIATE"))  # runs the queued checks now
        conn.rollback()
    finally:
        conn.close()


def test_entries_added_after_an_early_check_are_checked_again(db: sa.Engine) -> None:
    conn = db.connect()
    try:
        conn.begin()
        conn.execute(INSERT_ENTRY, {"id": "E1"})
        post(conn, "E1", ("cash", 100, "CNY"), ("suspense", -100, "CNY"))
        conn.execute(sa.text("SET CONSTRAINTS ALL IMMEDIATE"))  # E1 checked: fine
        conn.execute(sa.text("SET CONSTRAINTS ALL DEFERRED"))
        conn.execute(INSERT_ENTRY, {"id": "E2"})
        post(conn, "E2", ("cash", 100, "CNY"), ("suspense", -99, "CNY"))
        with pytest.raises(IntegrityError, match="journal entry E2 does not balance"):
            conn.commit()
    finally:
        conn.close()
    assert entry_ids(db) == []


def test_entries_written_inside_savepoints_are_checked(db: sa.Engine) -> None:
    with (
        pytest.raises(IntegrityError, match="journal entry E2 does not balance"),
        db.begin() as conn,
    ):
        with conn.begin_nested():
            conn.execute(INSERT_ENTRY, {"id": "E1"})
            post(conn, "E1", ("cash", 100, "CNY"), ("suspense", -100, "CNY"))
        with conn.begin_nested():
            conn.execute(INSERT_ENTRY, {"id": "E2"})
            post(conn, "E2", ("cash", 100, "CNY"), ("suspense", -1, "CNY"))
    # A savepoint rolled back takes its unbalanced entry with it.
    with db.begin() as conn:
        conn.execute(INSERT_ENTRY, {"id": "E1"})
        post(conn, "E1", ("cash", 100, "CNY"), ("suspense", -100, "CNY"))
        nested = conn.begin_nested()
        conn.execute(INSERT_ENTRY, {"id": "E2"})
        post(conn, "E2", ("cash", 100, "CNY"))
        nested.rollback()
    assert entry_ids(db) == ["E1"]


def test_postings_need_an_existing_entry(db: sa.Engine) -> None:
    with pytest.raises(DBAPIError, match="E404"), db.begin() as conn:
        post(conn, "E404", ("cash", 100, "CNY"), ("suspense", -100, "CNY"))


def test_the_creating_transaction_cannot_be_forged(db: sa.Engine) -> None:
    with pytest.raises(IntegrityError, match="has 0 posting"), db.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO journal_entries (id, kind, business_date, created_txid)"
                " VALUES ('E1', 'adjustment', DATE '2025-01-15', 1)"
            )
        )


@pytest.fixture
def committed_entry(db: sa.Engine) -> sa.Engine:
    with db.begin() as conn:
        conn.execute(INSERT_ENTRY, {"id": "E1"})
        post(conn, "E1", ("cash", 100, "CNY"), ("suspense", -100, "CNY"))
    return db


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE postings SET amount_minor = amount_minor * 2",
        "UPDATE postings SET account = 'interest_income' WHERE account = 'suspense'",
        "DELETE FROM postings WHERE account = 'cash'",
        "UPDATE journal_entries SET memo = 'edited'",
        "DELETE FROM journal_entries",
        "TRUNCATE postings",
        "TRUNCATE journal_entries CASCADE",
    ],
)
def test_ledger_is_append_only(committed_entry: sa.Engine, statement: str) -> None:
    with pytest.raises(DBAPIError, match="append-only"), committed_entry.begin() as conn:
        conn.execute(sa.text(statement))
    with committed_entry.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT account, amount_minor FROM postings ORDER BY account")
        ).all()
        memo = conn.execute(sa.text("SELECT memo FROM journal_entries")).scalar_one()
    assert [tuple(r) for r in rows] == [("cash", 100), ("suspense", -100)]
    assert memo == ""


def test_a_correction_is_a_reversing_entry(committed_entry: sa.Engine) -> None:
    with committed_entry.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO journal_entries (id, kind, business_date, reverses)"
                " VALUES ('E2', 'reversal', DATE '2025-01-16', 'E1')"
            )
        )
        post(conn, "E2", ("cash", -100, "CNY"), ("suspense", 100, "CNY"))
    with committed_entry.connect() as conn:
        net = conn.execute(
            sa.text("SELECT account, sum(amount_minor) FROM postings GROUP BY account ORDER BY 1")
        ).all()
    assert [tuple(r) for r in net] == [("cash", 0), ("suspense", 0)]
    # An entry can be reversed once only.
    with (
        pytest.raises(IntegrityError, match="uq_journal_entries_reverses"),
        committed_entry.begin() as conn,
    ):
        conn.execute(
            sa.text(
                "INSERT INTO journal_entries (id, kind, business_date, reverses)"
                " VALUES ('E3', 'reversal', DATE '2025-01-16', 'E1')"
            )
        )
        post(conn, "E3", ("cash", -100, "CNY"), ("suspense", 100, "CNY"))


def test_zero_amount_postings_are_refused(db: sa.Engine) -> None:
    with pytest.raises(IntegrityError, match="ck_postings_amount_not_zero"), db.begin() as conn:
        conn.execute(INSERT_ENTRY, {"id": "E1"})
        post(conn, "E1", ("cash", 0, "CNY"), ("suspense", 0, "CNY"))
