"""The platform unit of work on PostgreSQL: one connection, one transaction, every
feature's store group bound to it (``app.unit_of_work.UnitOfWork``).

Audit records queued on ``uow.audit`` are appended to the hash chain at ``commit()``,
last, in the same transaction; work handed to ``before_commit`` runs just before them.

A group is built the first time a use case touches it, so a transaction that only reads
a loan pays for nothing else. Leaving the ``with`` block without ``commit()`` rolls
everything back; after a ``commit()`` further work in the block starts a new transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

import sqlalchemy as sa

from mobilend.adapters.db.collections_repository import SqlCollectionStores
from mobilend.adapters.db.compliance_repository import SqlComplianceStores
from mobilend.adapters.db.funding_repository import SqlFundingStores
from mobilend.adapters.db.journey_repository import SqlJourneyStores
from mobilend.adapters.db.lending_repository import SqlLendingStores
from mobilend.adapters.db.line_review_repository import SqlReviewStores
from mobilend.adapters.db.onboarding_repository import SqlOnboardingStores
from mobilend.adapters.db.operations_repository import SqlOperationsStores
from mobilend.adapters.db.privacy_repository import SqlPrivacyStores
from mobilend.adapters.db.security_repository import SqlAuditQueue
from mobilend.adapters.db.servicing_repository import SqlServicingStores
from mobilend.adapters.db.transactions import reading_connection
from mobilend.app.ports import PiiVault

#: Gives the PII vault when a store first needs it (the journey's payee cards).
VaultProvider = Callable[[], PiiVault]


class SqlUnitOfWork:
    def __init__(
        self, engine: sa.Engine, vault: VaultProvider | None = None, *, reading: bool = False
    ) -> None:
        self._engine = engine
        self._vault = vault
        #: Only reads: statements run outside a transaction (see ``reading`` on the port).
        self._reading = reading
        self._conn: sa.Connection | None = None
        self._groups: dict[str, object] = {}
        self._audit: SqlAuditQueue | None = None
        self._last: list[Callable[[], None]] = []

    def __enter__(self) -> Self:
        if self._reading:
            self._conn = reading_connection(self._engine)
        else:
            self._conn = self._engine.connect()
            self._conn.begin()
        self._groups = {}
        self._audit = SqlAuditQueue(self._conn)
        self._last = []
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
            self._groups = {}
            self._audit = None
            self._last = []

    @property
    def connection(self) -> sa.Connection:
        assert self._conn is not None, "use the unit of work inside a with block"
        return self._conn

    @property
    def audit(self) -> SqlAuditQueue:
        assert self._audit is not None, "use the unit of work inside a with block"
        return self._audit

    def before_commit(self, work: Callable[[], None]) -> None:
        self._refuse_if_reading()
        self._last.append(work)

    def _refuse_if_reading(self) -> None:
        if self._reading:
            raise RuntimeError("a reading unit of work writes nothing")

    def commit(self) -> None:
        self._refuse_if_reading()
        last, self._last = self._last, []
        for work in last:
            work()
        # Last, so the chain's lock is held only for the commit itself.
        self.audit.flush()
        self.connection.commit()

    def rollback(self) -> None:
        self._last = []
        self.audit.discard()
        self.connection.rollback()

    # -- store groups ---------------------------------------------------------------

    @property
    def lending(self) -> SqlLendingStores:
        group = self._groups.get("lending")
        if group is None:
            group = self._groups["lending"] = SqlLendingStores(self.connection)
        assert isinstance(group, SqlLendingStores)
        return group

    @property
    def onboarding(self) -> SqlOnboardingStores:
        group = self._groups.get("onboarding")
        if group is None:
            group = self._groups["onboarding"] = SqlOnboardingStores(self.connection)
        assert isinstance(group, SqlOnboardingStores)
        return group

    @property
    def funding(self) -> SqlFundingStores:
        group = self._groups.get("funding")
        if group is None:
            group = self._groups["funding"] = SqlFundingStores(self.connection)
        assert isinstance(group, SqlFundingStores)
        return group

    @property
    def journey(self) -> SqlJourneyStores:
        group = self._groups.get("journey")
        if group is None:
            vault = self._vault() if self._vault is not None else None
            group = self._groups["journey"] = SqlJourneyStores(self.connection, vault)
        assert isinstance(group, SqlJourneyStores)
        return group

    @property
    def servicing(self) -> SqlServicingStores:
        group = self._groups.get("servicing")
        if group is None:
            group = self._groups["servicing"] = SqlServicingStores(self.connection)
        assert isinstance(group, SqlServicingStores)
        return group

    @property
    def reviews(self) -> SqlReviewStores:
        group = self._groups.get("reviews")
        if group is None:
            group = self._groups["reviews"] = SqlReviewStores(self.connection)
        assert isinstance(group, SqlReviewStores)
        return group

    @property
    def operations(self) -> SqlOperationsStores:
        group = self._groups.get("operations")
        if group is None:
            group = self._groups["operations"] = SqlOperationsStores(self.connection)
        assert isinstance(group, SqlOperationsStores)
        return group

    @property
    def collections(self) -> SqlCollectionStores:
        group = self._groups.get("collections")
        if group is None:
            group = self._groups["collections"] = SqlCollectionStores(self.connection)
        assert isinstance(group, SqlCollectionStores)
        return group

    @property
    def compliance(self) -> SqlComplianceStores:
        group = self._groups.get("compliance")
        if group is None:
            group = self._groups["compliance"] = SqlComplianceStores(self.connection)
        assert isinstance(group, SqlComplianceStores)
        return group

    @property
    def privacy(self) -> SqlPrivacyStores:
        group = self._groups.get("privacy")
        if group is None:
            vault = self._vault() if self._vault is not None else None
            group = self._groups["privacy"] = SqlPrivacyStores(self.connection, vault)
        assert isinstance(group, SqlPrivacyStores)
        return group


class SqlUnitOfWorkFactory:
    def __init__(self, engine: sa.Engine, vault: VaultProvider | None = None) -> None:
        self.engine = engine
        self.vault = vault

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.vault)

    def reading(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.vault, reading=True)
