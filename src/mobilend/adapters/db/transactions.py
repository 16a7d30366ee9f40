"""How transactions that only read are run, so each costs no more round trips and no
more planning than it must.

psycopg prepares a statement on the server once a connection has run it five times,
and from then on PostgreSQL neither parses nor plans it again. But at every ROLLBACK
psycopg forgets every statement the connection prepared (and sends ``DEALLOCATE
ALL``): it cannot tell what the rollback undid. Closing a connection that only read
rolls its transaction back, so with reads ending that way most statements were parsed
and planned anew each time. Two remedies, both the same for the database:

- ``reading_connection``: a read of a statement or two runs with no transaction at all
  (no BEGIN, no ROLLBACK: two round trips fewer);
- ``end_reads_with_commit``: a transaction that ran only SELECTs ends with COMMIT where
  it would have rolled back. It changed nothing, its locks go either way, and the
  connection keeps its prepared statements. A transaction that ran anything else — or
  that failed — rolls back as before.

Kept that way, a connection runs a few hundred distinct statements over a day of
business, more than psycopg's default of 100 prepared at once; past it the oldest is
deallocated and prepared again on its next five runs, so the bound is raised.
"""

from __future__ import annotations

import weakref
from typing import Any

import sqlalchemy as sa
from psycopg.pq import TransactionStatus
from sqlalchemy.engine import Engine

#: Execution option of a ``reading_connection`` (its writes are refused).
READING = "mobilend_reading"

#: Statements a connection keeps prepared (psycopg's default is 100).
PREPARED_AT_MOST = 1000

#: Connections (the driver's) whose transaction ran a statement other than a SELECT.
_wrote: weakref.WeakSet[Any] = weakref.WeakSet()


class WriteWhileReading(RuntimeError):
    """A statement that writes, run on a reading connection (a programming error)."""


def reading_connection(engine: Engine) -> sa.Connection:
    """A connection for reads only: no transaction is begun (nor rolled back) around
    them; each statement sees what is committed when it runs, as it would in a READ
    COMMITTED transaction. A write on it would commit at once, alone, so it is refused
    (``WriteWhileReading``)."""
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT", **{READING: True})


def _reads_only(statement: str, context: Any) -> bool:
    """A SELECT (SQLAlchemy's, or text that is one): nothing a COMMIT would keep. Locks
    it takes (``FOR UPDATE``, advisory) end with the transaction either way. (A SELECT
    of a function that writes would count as a read; none here does — the job queue
    defers its jobs on connections of its own, not this engine's.)"""
    compiled = getattr(context, "compiled", None)
    if compiled is not None and isinstance(compiled.statement, sa.Select):
        return True
    return statement.lstrip()[:7].upper() == "SELECT "


@sa.event.listens_for(Engine, "before_cursor_execute")
def _watch_writes(
    conn: sa.Connection,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: Any,
    executemany: bool,
) -> None:
    if _reads_only(statement, context):
        return
    if conn.get_execution_options().get(READING):
        raise WriteWhileReading(f"a reading connection writes nothing: {statement[:60]!r}")
    _wrote.add(cursor.connection)


def _driver(dbapi_connection: Any) -> Any:
    """The driver's connection (the pool hands some calls a proxy of it)."""
    return getattr(dbapi_connection, "dbapi_connection", dbapi_connection)


def end_reads_with_commit(engine: Engine) -> Engine:
    """Make ``engine`` end a transaction that ran only SELECTs with COMMIT, not ROLLBACK
    (see the module's docstring)."""
    dialect = engine.dialect
    rollback, commit = dialect.do_rollback, dialect.do_commit

    def do_rollback(dbapi_connection: Any) -> None:
        driver = _driver(dbapi_connection)
        wrote = driver in _wrote
        _wrote.discard(driver)
        if not wrote and driver.info.transaction_status == TransactionStatus.INTRANS:
            commit(dbapi_connection)
        else:
            rollback(dbapi_connection)

    def do_commit(dbapi_connection: Any) -> None:
        _wrote.discard(_driver(dbapi_connection))
        commit(dbapi_connection)

    # The dialect is the engine's own (and its pool's): the methods are replaced on it.
    dialect.do_rollback = do_rollback  # type: ignore[method-assign]
    dialect.do_commit = do_commit  # type: ignore[method-assign]

    @sa.event.listens_for(engine, "connect")
    def _keep_more_prepared(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.prepared_max = PREPARED_AT_MOST

    return engine
