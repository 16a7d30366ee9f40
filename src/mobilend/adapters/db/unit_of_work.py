"""The transaction shape every SQL unit of work shares: one connection, one transaction.

A subclass binds its repositories to the connection in ``_bind``. Leaving the ``with``
block without ``commit()`` rolls everything back.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

import sqlalchemy as sa


class SqlUnitOfWork:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._conn: sa.Connection | None = None

    def _bind(self, conn: sa.Connection) -> None:
        """Create the repositories on ``conn`` (called on entering the block)."""

    def __enter__(self) -> Self:
        self._conn = self._engine.connect()
        self._conn.begin()
        self._bind(self._conn)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._conn is not None
        try:
            if self._conn.in_transaction():
                self._conn.rollback()
        finally:
            self._conn.close()
            self._conn = None

    @property
    def connection(self) -> sa.Connection:
        assert self._conn is not None, "use the unit of work inside a with block"
        return self._conn

    def commit(self) -> None:
        self.connection.commit()

    def rollback(self) -> None:
        self.connection.rollback()
