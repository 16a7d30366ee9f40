"""The platform unit of work in memory, for fast use-case tests (built by the same
bootstrap): the lending and funding groups are real fakes; a test that needs another
group passes its own, and touching a group nobody supplied fails loudly.

Committed state is copied into a working copy on entering the block and copied back on
``commit()``, so a use case that forgets to save or commit loses its changes exactly as
it would on PostgreSQL.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self, cast

from mobilend.adapters.memory.audit import InMemoryAuditQueue
from mobilend.adapters.memory.compliance import ComplianceStore, InMemoryComplianceStores
from mobilend.adapters.memory.funding import FundingStore, InMemoryFundingStores
from mobilend.adapters.memory.lending import InMemoryLendingStores, LendingStore
from mobilend.app.audit import AuditEntry
from mobilend.app.collections.ports import CollectionStores
from mobilend.app.journey.ports import JourneyStores
from mobilend.app.onboarding.ports import OnboardingStores
from mobilend.app.operations.ports import OperationsStores
from mobilend.app.privacy.ports import PrivacyStores
from mobilend.app.reviews.ports import ReviewStores
from mobilend.app.servicing.ports import ServicingStores

Now = Callable[[], dt.datetime]


class MissingStores:
    """A store group the in-memory platform does not have: any use raises."""

    def __init__(self, group: str) -> None:
        self._group = group

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(
            f"the in-memory unit of work has no {self._group} stores ({name}); "
            "run this use case on PostgreSQL or give the unit of work a fake group"
        )


class InMemoryUnitOfWork:
    lending: InMemoryLendingStores
    funding: InMemoryFundingStores
    onboarding: OnboardingStores
    journey: JourneyStores
    servicing: ServicingStores
    reviews: ReviewStores
    operations: OperationsStores
    collections: CollectionStores
    compliance: InMemoryComplianceStores
    privacy: PrivacyStores
    audit: InMemoryAuditQueue

    def __init__(
        self,
        store: LendingStore,
        funding: FundingStore,
        now: Now,
        groups: dict[str, object] | None = None,
        compliance: ComplianceStore | None = None,
        audit: list[AuditEntry] | None = None,
        *,
        reading: bool = False,
    ) -> None:
        self._reading = reading
        self._store = store
        self._audit_log = audit if audit is not None else []
        self._funding_store = funding
        self._compliance_store = compliance or ComplianceStore()
        self._now = now
        self._extra = groups or {}

    def __enter__(self) -> Self:
        self._open()
        return self

    def _open(self) -> None:
        self._last: list[Callable[[], None]] = []
        self.audit = InMemoryAuditQueue(self._audit_log)
        self._work = copy.deepcopy(self._store)
        self._funding_work = copy.deepcopy(self._funding_store)
        self.lending = InMemoryLendingStores(self._work)
        self.funding = InMemoryFundingStores(self._funding_work, self._work, self._now)
        self._compliance_work = copy.deepcopy(self._compliance_store)
        self.compliance = InMemoryComplianceStores(self._work, self._compliance_work)
        self.privacy = cast(PrivacyStores, self._group("privacy"))
        self.onboarding = cast(OnboardingStores, self._group("onboarding"))
        self.journey = cast(JourneyStores, self._group("journey"))
        self.servicing = cast(ServicingStores, self._group("servicing"))
        self.reviews = cast(ReviewStores, self._group("reviews"))
        self.operations = cast(OperationsStores, self._group("operations"))
        self.collections = cast(CollectionStores, self._group("collections"))

    def _group(self, name: str) -> object:
        return self._extra.get(name) or MissingStores(name)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._work = LendingStore()
        self._funding_work = FundingStore()

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
        for name in LendingStore.__dataclass_fields__:
            setattr(self._store, name, copy.deepcopy(getattr(self._work, name)))
        for name in FundingStore.__dataclass_fields__:
            setattr(self._funding_store, name, copy.deepcopy(getattr(self._funding_work, name)))
        self._compliance_store.pricing = copy.deepcopy(self._compliance_work.pricing)
        self.audit.commit()

    def rollback(self) -> None:
        self._open()


class InMemoryUnitOfWorkFactory:
    def __init__(
        self,
        store: LendingStore | None = None,
        funding: FundingStore | None = None,
        now: Now | None = None,
    ) -> None:
        self.store = store or LendingStore()
        self.funding = funding or FundingStore()
        self.compliance = ComplianceStore()
        #: What committed units of work wrote to the audit log.
        self.audit: list[AuditEntry] = []
        self._now = now or (lambda: dt.datetime.now(dt.UTC))

    def __call__(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(
            self.store, self.funding, self._now, compliance=self.compliance, audit=self.audit
        )

    def reading(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(
            self.store,
            self.funding,
            self._now,
            compliance=self.compliance,
            audit=self.audit,
            reading=True,
        )
