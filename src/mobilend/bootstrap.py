"""The composition root: the one place that wires adapters into use cases.

``build_lending()`` gives the real platform on PostgreSQL (the embedded server
unless ``MOBILEND_DATABASE_URL`` is set); ``build_lending(in_memory=True)``
gives the same use cases over in-memory fakes, for fast tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mobilend.adapters.ids import SortableIds, SystemClock
from mobilend.adapters.memory.lending import InMemoryLendingUnitOfWorkFactory
from mobilend.app.eod import LoanByLoanEndOfDay
from mobilend.app.ports import Clock
from mobilend.app.ports_lending import EndOfDayRunner, LendingUnitOfWorkFactory
from mobilend.config import Settings, get_settings
from mobilend.domain.compliance import CostCapPolicy


@dataclass
class Lending:
    """Everything a lending use case needs, already wired."""

    uow_factory: LendingUnitOfWorkFactory
    new_id: Callable[[], str]
    clock: Clock
    cost_caps: CostCapPolicy
    eod: EndOfDayRunner
    engine: Any = None  # the SQLAlchemy engine when on PostgreSQL

    def today(self) -> dt.date:
        return self.clock.now().date()


def build_lending(
    *,
    in_memory: bool = False,
    engine: Any = None,
    settings: Settings | None = None,
    clock: Clock | None = None,
) -> Lending:
    ids = SortableIds()
    caps = CostCapPolicy()
    clock = clock or SystemClock()
    if in_memory:
        memory = InMemoryLendingUnitOfWorkFactory()
        return Lending(memory, ids, clock, caps, LoanByLoanEndOfDay(memory, ids))
    from mobilend.adapters.db.engine import create_engine
    from mobilend.adapters.db.lending_repository import SqlLendingUnitOfWorkFactory

    settings = settings or get_settings()
    engine = engine if engine is not None else create_engine()
    factory = SqlLendingUnitOfWorkFactory(engine)
    return Lending(factory, ids, clock, caps, LoanByLoanEndOfDay(factory, ids), engine)
