"""Reading units of work and what one transaction keeps: a reading unit of work opens no
transaction and writes nothing; within a transaction a product is read once and an
identity locked once, and the lock is still held."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
import sqlalchemy as sa
from tests.lending_scenarios import make_product

from mobilend.adapters.db.engine import create_engine
from mobilend.adapters.db.transactions import PREPARED_AT_MOST, WriteWhileReading
from mobilend.adapters.db.unit_of_work import SqlUnitOfWorkFactory
from mobilend.adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from mobilend.bootstrap.lending import build_lending

pytestmark = pytest.mark.db

_OWN_TRANSACTION = sa.text("SELECT statement_timestamp() = transaction_timestamp()")


@contextmanager
def counted(db: sa.Engine, fragment: str) -> Iterator[list[str]]:
    """The statements run on ``db`` meanwhile that contain ``fragment``."""
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if fragment in statement:
            seen.append(statement)

    sa.event.listen(db, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(db, "before_cursor_execute", note)


def test_a_reading_unit_of_work_runs_each_statement_on_its_own(db: sa.Engine) -> None:
    factory = SqlUnitOfWorkFactory(db)
    with factory.reading() as uow:
        alone = [uow.connection.execute(_OWN_TRANSACTION).scalar() for _ in range(2)]
    with factory() as uow:
        in_one = [uow.connection.execute(_OWN_TRANSACTION).scalar() for _ in range(2)]
    assert alone == [True, True]  # each statement its own transaction: nothing begun
    assert in_one == [False, False]  # the transaction began before its statements


def test_a_reading_unit_of_work_writes_nothing(db: sa.Engine) -> None:
    lending = build_lending(engine=db)
    product = make_product(lending)
    factory = SqlUnitOfWorkFactory(db)
    renamed = dataclasses.replace(product, code="cash-read-only")
    with factory.reading() as uow:
        with pytest.raises(WriteWhileReading):
            uow.lending.products.add(renamed)
        with pytest.raises(WriteWhileReading):
            uow.connection.execute(sa.text("  update products set version = version + 1"))
        with pytest.raises(RuntimeError, match="writes nothing"):
            uow.commit()
        with pytest.raises(RuntimeError, match="writes nothing"):
            uow.before_commit(lambda: None)
        assert uow.lending.products.get(product.code) == product  # reads still work
    with db.connect() as conn:
        codes = conn.execute(sa.text("SELECT code, version FROM products")).all()
    assert codes == [(product.code, 1)]


def test_an_in_memory_reading_unit_of_work_refuses_to_commit() -> None:
    factory = InMemoryUnitOfWorkFactory()
    with factory.reading() as uow, pytest.raises(RuntimeError, match="writes nothing"):
        uow.commit()
    with factory() as uow:
        uow.commit()  # a unit of work that may write still commits


def test_a_transaction_reads_a_product_once_and_again_after_saving_it(db: sa.Engine) -> None:
    lending = build_lending(engine=db)
    product = make_product(lending)
    factory = SqlUnitOfWorkFactory(db)
    with counted(db, "FROM products") as reads, factory() as uow:
        first = uow.lending.products.get(product.code)
        assert uow.lending.products.get(product.code) is first
        assert len(reads) == 1
        cheaper = dataclasses.replace(first, annual_rate=Decimal("0.1"))
        uow.lending.products.save(cheaper)
        assert uow.lending.products.get(product.code) == cheaper
        assert len(reads) == 2
        uow.commit()


def test_an_identity_is_locked_once_per_transaction_and_held(db: sa.Engine) -> None:
    factory = SqlUnitOfWorkFactory(db)
    identity = "nid:lock-once"
    held = sa.text("SELECT pg_try_advisory_xact_lock(hashtextextended(:identity, :seed))")

    def free_elsewhere() -> bool:
        with db.connect() as other:
            return bool(other.execute(held, {"identity": identity, "seed": 0x696474}).scalar())

    with counted(db, "pg_advisory_xact_lock(hashtextextended") as locks, factory() as uow:
        exposures = uow.compliance.exposures
        exposures.lock(identity)
        exposures.lock(identity)
        assert len(locks) == 1
        assert not free_elsewhere()
        exposures.lock("nid:someone-else")
        assert len(locks) == 2
        uow.connection.commit()  # the transaction ends, and its locks with it
        assert free_elsewhere()
        exposures.lock(identity)  # a new transaction: locked again
        assert len(locks) == 3
        assert not free_elsewhere()
        uow.connection.rollback()


_PREPARED = sa.text("SELECT count(*) FROM pg_prepared_statements")


def one_connection(db: sa.Engine) -> sa.Engine:
    """An engine of ``db``'s database with one pooled connection (so each checkout is
    the same session)."""
    return create_engine(db.url.render_as_string(hide_password=False), pool_size=1, max_overflow=0)


def test_a_transaction_that_only_read_keeps_the_prepared_statements(db: sa.Engine) -> None:
    engine = one_connection(db)
    try:
        with engine.connect() as conn:
            for _ in range(6):  # prepared by the driver from the fifth time on
                conn.execute(sa.select(sa.literal(1))).scalar()
            prepared = conn.execute(_PREPARED).scalar()
        # The connection ended its read-only transaction on its way back to the pool.
        with engine.connect() as conn:
            assert conn.execute(_PREPARED).scalar() == prepared > 0
    finally:
        engine.dispose()


def test_a_transaction_that_wrote_and_did_not_commit_is_rolled_back(db: sa.Engine) -> None:
    engine = one_connection(db)
    lending = build_lending(engine=db)
    product = make_product(lending)
    try:
        with engine.connect() as conn:
            for _ in range(6):
                conn.execute(sa.select(sa.literal(1))).scalar()
            conn.execute(
                sa.text("UPDATE products SET version = 7 WHERE code = :c"), {"c": product.code}
            )
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version FROM products")).scalar() == 1
            assert conn.execute(_PREPARED).scalar() == 0  # a rollback forgets them, as before
        # A failed statement: rolled back too.
        with SqlUnitOfWorkFactory(engine)() as uow, pytest.raises(sa.exc.DBAPIError):
            uow.connection.execute(sa.text("SELECT 1 / 0"))
        with SqlUnitOfWorkFactory(engine)() as uow:
            assert uow.lending.products.get(product.code).code == product.code
    finally:
        engine.dispose()


def test_a_connection_keeps_more_statements_prepared_than_the_driver_default(
    db: sa.Engine,
) -> None:
    engine = one_connection(db)
    try:
        with engine.connect() as conn:
            driver = conn.connection.driver_connection
            assert driver is not None
            assert driver.prepared_max == PREPARED_AT_MOST > 100
    finally:
        engine.dispose()
