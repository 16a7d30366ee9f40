"""``SqlLoanRepository.save`` writes only the installments that changed, and what it
leaves in the database is still exactly the loan's schedule (after a repayment, a
re-amortising prepayment, a hardship reschedule, and across transactions)."""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from tests.lending_scenarios import OPENED_ON, make_line, make_product

from mobilend.adapters.db import tables as t
from mobilend.adapters.db.lending_repository import _installment_rows
from mobilend.adapters.db.unit_of_work import SqlUnitOfWork
from mobilend.app.lending.loans import draw_loan
from mobilend.app.lending.repayments import post_repayment, prepay_loan
from mobilend.bootstrap.lending import Lending, build_lending
from mobilend.domain.collections import PlanInstalment
from mobilend.domain.collections_reschedule import reschedule_for_plan
from mobilend.domain.loans import Loan
from mobilend.domain.money import Money

DAY = dt.timedelta(days=1)


@pytest.fixture
def lending(db: sa.Engine) -> Lending:
    platform = build_lending(engine=db)
    make_product(platform)
    return platform


def _draw(lending: Lending, amount: str = "6000.00", periods: int = 6) -> Loan:
    line = make_line(lending)
    return draw_loan(
        lending.uow_factory, lending.cost_caps, lending.new_id,
        line_id=line.line_id, amount=Money(amount), periods=periods, on=OPENED_ON,
    ).loan  # fmt: skip


class _Writes:
    """Statements (and rows, for an executemany) written to ``installments``."""

    def __init__(self) -> None:
        self.statements: collections.Counter[str] = collections.Counter()
        self.rows: collections.Counter[str] = collections.Counter()

    def __call__(self, _conn: Any, _cursor: Any, statement: str, parameters: Any,
                 _context: Any, executemany: bool) -> None:  # fmt: skip
        words = statement.split()
        if len(words) < 3:
            return
        verb = words[0].upper()
        table = words[1] if verb == "UPDATE" else words[2]
        if verb in {"INSERT", "UPDATE", "DELETE"} and table == "installments":
            self.statements[verb] += 1
            self.rows[verb] += len(parameters) if executemany else 1


@pytest.fixture
def writes(db: sa.Engine) -> Iterator[_Writes]:
    counter = _Writes()
    sa.event.listen(db, "before_cursor_execute", counter)
    yield counter
    sa.event.remove(db, "before_cursor_execute", counter)


def _row_versions(engine: sa.Engine, loan_id: str) -> dict[int, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT n, xmin::text FROM installments WHERE loan_id = :id ORDER BY n"),
            {"id": loan_id},
        )
        return {n: xmin for n, xmin in rows}


def _engine(lending: Lending) -> sa.Engine:
    assert lending.engine is not None
    return lending.engine


def _assert_stored_exactly(lending: Lending, loan: Loan) -> None:
    """The rows in the database are the loan's schedule, column for column, and read
    back as the same loan."""
    with _engine(lending).connect() as conn:
        stored = [
            dict(r._mapping)
            for r in conn.execute(
                sa.select(t.installments)
                .where(t.installments.c.loan_id == loan.loan_id)
                .order_by(t.installments.c.n)
            )
        ]
    expected = _installment_rows(loan)
    assert [r["n"] for r in stored] == [r["n"] for r in expected]
    for got, want in zip(stored, expected, strict=True):
        got["penalty_exact"] = str(got["penalty_exact"])
        assert got == want
    with lending.uow_factory() as uow:
        assert uow.lending.loans.get(loan.loan_id).to_state() == loan.to_state()


def test_repayment_rewrites_only_the_installment_it_paid(lending: Lending, writes: _Writes) -> None:
    loan = _draw(lending)
    first = loan.installments[0]
    versions = _row_versions(_engine(lending), loan.loan_id)
    writes.statements.clear()
    writes.rows.clear()
    post_repayment(
        lending.uow_factory, lending.new_id, loan_id=loan.loan_id,
        amount=loan.overdue_amounts(first.due_date + DAY).total, on=first.due_date,
        idempotency_key="pay-1", channel="transfer",
    )  # fmt: skip
    assert writes.statements == {"UPDATE": 1}
    assert writes.rows == {"UPDATE": 1}
    after = _row_versions(_engine(lending), loan.loan_id)
    assert [n for n in after if after[n] != versions[n]] == [first.n]
    with lending.uow_factory() as uow:
        paid = uow.lending.loans.get(loan.loan_id)
    assert paid.installments[0].is_settled
    assert not any(i.is_settled for i in paid.installments[1:])
    _assert_stored_exactly(lending, paid)


def test_save_of_an_unchanged_loan_writes_no_installment(lending: Lending, writes: _Writes) -> None:
    loan = _draw(lending)
    writes.statements.clear()
    with lending.uow_factory() as uow:
        uow.lending.loans.save(uow.lending.loans.get(loan.loan_id, for_update=True))
        uow.commit()
    assert writes.statements == {}


def test_shortened_term_deletes_the_installments_it_drops(
    lending: Lending, writes: _Writes
) -> None:
    loan = _draw(lending, "12000.00", 12)
    writes.statements.clear()
    prepay_loan(
        lending.uow_factory, lending.new_id, loan_id=loan.loan_id, amount=Money("6000.00"),
        on=loan.installments[0].due_date - 5 * DAY, mode="shorten_term",
        idempotency_key="pre-1",
    )  # fmt: skip
    with lending.uow_factory() as uow:
        after = uow.lending.loans.get(loan.loan_id)
    assert len(after.installments) < len(loan.installments)
    assert writes.statements["DELETE"] == 1
    assert writes.statements["INSERT"] == 0
    _assert_stored_exactly(lending, after)


def test_hardship_reschedule_replaces_the_schedule_exactly(lending: Lending) -> None:
    loan = _draw(lending, "3000.00", 3)
    on = loan.installments[0].due_date + 20 * DAY
    with lending.uow_factory() as uow:
        current = uow.lending.loans.get(loan.loan_id, for_update=True)
        plan = [PlanInstalment(on + k * 30 * DAY, Money("600.00")) for k in range(1, 6)]
        result = reschedule_for_plan(current, plan, on, new_id=lending.new_id)
        uow.lending.loans.save(current)
        uow.lending.ledger.append(result.entries, current.borrower_id)
        uow.commit()
    assert result.added
    assert len(current.installments) > len(loan.installments)
    _assert_stored_exactly(lending, current)


def test_rows_read_in_an_earlier_transaction_are_not_trusted(lending: Lending) -> None:
    """After a commit, another writer may have changed the rows: the save then writes
    the whole schedule again, as it did before rows were compared."""
    loan = _draw(lending)
    with lending.uow_factory() as uow:
        current = uow.lending.loans.get(loan.loan_id, for_update=True)
        uow.commit()
        with _engine(lending).begin() as other:
            other.execute(
                sa.text("UPDATE installments SET fees_due = fees_due + 1 WHERE loan_id = :id"),
                {"id": loan.loan_id},
            )
        uow.lending.loans.save(current)
        uow.commit()
    _assert_stored_exactly(lending, current)


def test_rows_written_in_a_savepoint_rolled_back_are_not_trusted(lending: Lending) -> None:
    """A save inside a savepoint that is rolled back leaves the database as it was: the
    next save of the same state must write it again, not find it already there."""
    loan = _draw(lending)
    first = loan.installments[0]
    with lending.uow_factory() as uow:
        loans = uow.lending.loans
        current = loans.get(loan.loan_id, for_update=True)
        current.repay(
            current.overdue_amounts(first.due_date + DAY).total, first.due_date,
            new_id=lending.new_id,
        )  # fmt: skip
        assert isinstance(uow, SqlUnitOfWork)
        savepoint = uow.connection.begin_nested()
        loans.save(current)
        savepoint.rollback()
        loans.save(current)
        uow.commit()
    assert current.installments[0].is_settled
    _assert_stored_exactly(lending, current)
