"""The platform unit of work: one database transaction over every feature's stores.

Each feature keeps its stores in its own ``app/<feature>/ports.py`` and appears here as
one store group that is always present (``uow.lending``, ``uow.funding``, …). A use
case's core takes an open unit of work and changes state through it; the thin command
around it opens one, calls the core and commits once. Cores compose: the journey's
signing runs lending's draw and funding's routing in its own transaction by passing its
unit of work along. Leaving the ``with`` block without ``commit()`` rolls back.

Adding a feature: define its stores in ``app/<feature>/ports.py``, add its group below,
and bind it in the SQL unit of work (``adapters/db/unit_of_work.py``) and, where
use-case tests need it, the in-memory one.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Concatenate, ParamSpec, Protocol, Self, TypeVar

from mobilend.app.audit import AuditQueue
from mobilend.app.collections.ports import CollectionStores
from mobilend.app.compliance.ports import ComplianceStores
from mobilend.app.funding.ports import FundingStores
from mobilend.app.journey.ports import JourneyStores
from mobilend.app.lending.ports import LendingStores
from mobilend.app.onboarding.ports import OnboardingStores
from mobilend.app.operations.ports import OperationsStores
from mobilend.app.privacy.ports import PrivacyStores
from mobilend.app.reviews.ports import ReviewStores
from mobilend.app.servicing.ports import ServicingStores
from mobilend.domain.errors import ChangedMeanwhile


class UnitOfWork(Protocol):
    @property
    def lending(self) -> LendingStores: ...

    @property
    def onboarding(self) -> OnboardingStores: ...

    @property
    def funding(self) -> FundingStores: ...

    @property
    def journey(self) -> JourneyStores: ...

    @property
    def servicing(self) -> ServicingStores: ...

    @property
    def reviews(self) -> ReviewStores: ...

    @property
    def operations(self) -> OperationsStores: ...

    @property
    def collections(self) -> CollectionStores: ...

    @property
    def compliance(self) -> ComplianceStores: ...

    @property
    def privacy(self) -> PrivacyStores: ...

    @property
    def audit(self) -> AuditQueue:
        """Records for the hash-chained audit log, written with this transaction's commit."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def before_commit(self, work: Callable[[], None]) -> None:
        """Run ``work`` last in this transaction, just before ``commit()`` commits (in the
        order given). For rows nearly every transaction writes — a funder's balance — so
        their locks are held for the commit alone, not for the whole use case; ``work``
        that raises rolls everything back."""
        ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...

    def reading(self) -> UnitOfWork:
        """A unit of work that only reads, for a use case that decides nothing from what it
        reads inside a lock: no transaction is opened (so none is begun and rolled back
        around a read or two), each statement sees what is committed when it runs — as it
        would in a transaction, at READ COMMITTED — and ``commit()`` refuses."""
        ...


P = ParamSpec("P")
T = TypeVar("T")


#: How many times in all a request is run while its commit finds what it relied on taken.
ATTEMPTS = 3


def run_again_if_changed(run: Callable[[], T]) -> T:
    """``run()`` — which opens and commits its own unit of work — again while it fails with
    ``ChangedMeanwhile`` (a funder's last quota taken by another loan at the commit), up
    to ``ATTEMPTS`` in all; the last refusal goes to the caller."""
    for _ in range(ATTEMPTS - 1):
        try:
            return run()
        except ChangedMeanwhile:
            continue
    return run()


def command(
    core: Callable[Concatenate[UnitOfWork, P], T],
) -> Callable[Concatenate[UnitOfWorkFactory, P], T]:
    """The thin command around a use-case core: open a unit of work, run the core in it,
    commit once (again when the commit finds what it relied on changed:
    ``run_again_if_changed``). A core that raises leaves nothing behind: the block rolls
    back."""

    def run(uow_factory: UnitOfWorkFactory, /, *args: P.args, **kwargs: P.kwargs) -> T:
        def once() -> T:
            with uow_factory() as uow:
                result = core(uow, *args, **kwargs)
                uow.commit()
            return result

        return run_again_if_changed(once)

    run.__name__ = core.__name__.removesuffix("_in")
    run.__doc__ = core.__doc__
    return run
