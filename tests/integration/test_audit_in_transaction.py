"""Audit records are written in the transaction of the action they record: a use case
that fails leaves none, a money movement leaves exactly one, and concurrent actions
leave a chain ``mobilend audit verify`` accepts."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import threading
from collections.abc import Iterator
from typing import cast

import pytest
import sqlalchemy as sa
from tests.integration.servicing_fixtures import *  # noqa: F403  (fixtures)
from tests.integration.servicing_fixtures import (
    FakeClock,
    add_borrower,
    make_runtime,
    open_loan,
    stored_loan,
)
from typer.testing import CliRunner

from mobilend.adapters.auth.audit import AuditRecord, verify_chain
from mobilend.adapters.db.engine import create_engine
from mobilend.adapters.db.security_repository import SqlAuditStore
from mobilend.adapters.db.unit_of_work import SqlUnitOfWork
from mobilend.adapters.vault import FieldVault
from mobilend.app.audit import staged_audit
from mobilend.app.lending.repayments import post_repayment, post_repayment_in
from mobilend.bootstrap.servicing import ServicingRuntime
from mobilend.cli.main import app
from mobilend.domain.money import Money

pytestmark = pytest.mark.db

START = dt.date(2026, 1, 1)


@pytest.fixture
def wide(database_url: str, db: sa.Engine) -> Iterator[sa.Engine]:
    engine = create_engine(database_url, pool_size=20, max_overflow=20)
    yield engine
    engine.dispose()


@pytest.fixture
def wired(wide: sa.Engine, clock: FakeClock, vault: FieldVault) -> Iterator[ServicingRuntime]:
    runtime = make_runtime(wide, clock, vault)
    yield runtime
    runtime.close()


def records(db: sa.Engine, action: str | None = None) -> list[AuditRecord]:
    found = SqlAuditStore(db).records()
    return [r for r in found if action is None or r.action == action]


def a_loan(wired: ServicingRuntime, db: sa.Engine, vault: FieldVault, n: int) -> str:
    borrower = f"B-{n:03d}"
    add_borrower(db, vault, borrower, phone=f"13800{n:06d}")
    open_loan(wired, f"L-{n:03d}", borrower, START)
    return f"L-{n:03d}"


def pay(wired: ServicingRuntime, loan_id: str, key: str, amount: str = "100.00") -> None:
    post_repayment(
        wired.lending.uow_factory, wired.lending.new_id, loan_id=loan_id, amount=Money(amount),
        on=START + dt.timedelta(days=10), idempotency_key=key,
    )  # fmt: skip


def test_a_repayment_leaves_exactly_one_record_and_a_replay_none(
    wired: ServicingRuntime, db: sa.Engine, vault: FieldVault
) -> None:
    loan_id = a_loan(wired, db, vault, 1)
    pay(wired, loan_id, "k-1")
    pay(wired, loan_id, "k-1")  # the same payment again: replayed, nothing new
    (record,) = records(db, "repayment.received")
    assert record.target == f"loan:{loan_id}"
    assert record.details["amount"] == "100.00" and record.details["currency"] == "CNY"
    assert record.details["entries"]  # the journal entries it posted (accrual included)
    assert verify_chain(records(db)).ok


def test_a_use_case_whose_transaction_fails_leaves_no_record(
    wired: ServicingRuntime, db: sa.Engine, vault: FieldVault
) -> None:
    loan_id = a_loan(wired, db, vault, 2)
    before = stored_loan(wired, loan_id).principal_repaid

    # The payment is booked and its record queued; then the use case fails before commit.
    with pytest.raises(RuntimeError), wired.lending.uow_factory() as uow:
        post_repayment_in(
            uow, wired.lending.new_id, loan_id=loan_id, amount=Money("100.00"),
            on=START + dt.timedelta(days=10), idempotency_key="k-2",
        )  # fmt: skip
        raise RuntimeError("the use case fails after booking")
    # Committing fails inside the database after the record was appended: both go.
    with pytest.raises(sa.exc.DBAPIError), wired.lending.uow_factory() as uow:
        post_repayment_in(
            uow, wired.lending.new_id, loan_id=loan_id, amount=Money("100.00"),
            on=START + dt.timedelta(days=10), idempotency_key="k-3",
        )  # fmt: skip
        uow.audit.record("system:test", "test.doomed", "loan:x")
        connection = cast(SqlUnitOfWork, uow).connection
        connection.execute(
            sa.text("CREATE TEMP TABLE doomed (n int UNIQUE DEFERRABLE INITIALLY DEFERRED)")
        )
        connection.execute(sa.text("INSERT INTO doomed VALUES (1), (1)"))  # checked at commit
        uow.commit()
    assert records(db) == []
    assert stored_loan(wired, loan_id).principal_repaid == before


def test_a_staged_staff_action_is_written_with_the_use_cases_commit(
    wired: ServicingRuntime, db: sa.Engine, vault: FieldVault
) -> None:
    loan_id = a_loan(wired, db, vault, 3)
    fallback: list[object] = []
    with (
        pytest.raises(ValueError),
        staged_audit("staff:s1", "ops.tried", f"loan:{loan_id}", fallback=fallback.append),
    ):
        raise ValueError("refused before anything committed")
    assert records(db) == [] and fallback == []

    with staged_audit("staff:s1", "ops.paid", f"loan:{loan_id}", fallback=fallback.append):
        pay(wired, loan_id, "k-4")
    assert [r.action for r in records(db)] == ["ops.paid", "repayment.received"]
    assert fallback == []  # written in the transaction, not after it


def test_thirty_concurrent_money_actions_leave_a_chain_audit_verify_accepts(
    wired: ServicingRuntime, db: sa.Engine, vault: FieldVault
) -> None:
    loans = [a_loan(wired, db, vault, 10 + n) for n in range(10)]
    barrier = threading.Barrier(30)
    failures: list[BaseException] = []

    def one(n: int) -> None:
        barrier.wait(timeout=60)
        try:
            pay(wired, loans[n % len(loans)], f"c-{n}", "50.00")
        except BaseException as exc:
            failures.append(exc)

    with concurrent.futures.ThreadPoolExecutor(30) as pool:
        list(pool.map(one, range(30)))
    assert failures == []
    written = records(db)
    assert [r.seq for r in written] == list(range(1, 31))
    assert len({r.details["repayment_id"] for r in written}) == 30
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "30 records" in result.output
