"""The lending core: products, lines, loans, repayments and end of day, on PostgreSQL
(``build_lending()``) or over in-memory fakes (``build_lending(in_memory=True)``, for
fast use-case tests)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from mobilend.app.lending.eod import LoanByLoanEndOfDay
from mobilend.app.lending.ports import EndOfDayRunner
from mobilend.app.ports import Clock
from mobilend.app.unit_of_work import UnitOfWorkFactory
from mobilend.bootstrap.infra import Infrastructure, build_infrastructure
from mobilend.config import Settings
from mobilend.domain.business_day import business_date
from mobilend.domain.compliance import CostCapPolicy


@dataclass
class Lending:
    """Everything a lending use case needs, already wired."""

    uow_factory: UnitOfWorkFactory
    new_id: Callable[[], str]
    clock: Clock
    cost_caps: CostCapPolicy
    eod: EndOfDayRunner
    #: The SQLAlchemy engine when on PostgreSQL.
    engine: sa.Engine | None = None

    def today(self) -> dt.date:
        return business_date(self.clock.now())


def build_lending(
    *,
    in_memory: bool = False,
    engine: sa.Engine | None = None,
    settings: Settings | None = None,
    clock: Clock | None = None,
    infra: Infrastructure | None = None,
) -> Lending:
    infra = infra or build_infrastructure(settings, engine=engine, clock=clock, in_memory=in_memory)
    if infra.engine is None:
        # Lending and funding fakes: a draw is routed to its funders and paid out
        # through the rail's outbox, as on PostgreSQL.
        from mobilend.adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory

        memory = InMemoryUnitOfWorkFactory(now=infra.clock.now)
        eod: EndOfDayRunner = LoanByLoanEndOfDay(memory, infra.new_id, rules=infra.cost_caps)
        return Lending(memory, infra.new_id, infra.clock, infra.cost_caps, eod)
    from mobilend.adapters.db.eod_runner import SqlEndOfDay
    from mobilend.adapters.db.unit_of_work import SqlUnitOfWorkFactory

    factory = SqlUnitOfWorkFactory(infra.engine, lambda: infra.vault)
    # End of day in set-based SQL (the domain's rules; loans holding credit go through
    # the domain itself), partitioned by loan id for the job queue's workers.
    eod = SqlEndOfDay(
        infra.engine, infra.ids, chunk_size=infra.settings.eod_chunk_size, rules=infra.cost_caps
    )
    return Lending(factory, infra.new_id, infra.clock, infra.cost_caps, eod, infra.engine)
