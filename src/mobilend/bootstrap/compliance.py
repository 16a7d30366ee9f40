"""Compliance and privacy on PostgreSQL: the compliance report, credit-bureau exports,
the data subject's export and erasure — what ``mobilend compliance|bureau|privacy``
and the jobs use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from mobilend.app.ports import Clock, PiiVault
from mobilend.app.unit_of_work import UnitOfWorkFactory
from mobilend.bootstrap.infra import Infrastructure, build_infrastructure
from mobilend.config import Settings
from mobilend.domain.business_day import business_date
from mobilend.domain.compliance import CostCapPolicy


@dataclass
class ComplianceDesk:
    uow_factory: UnitOfWorkFactory
    rules: CostCapPolicy
    clock: Clock
    new_id: Callable[[], str]
    retention_years: int
    infra: Infrastructure

    @property
    def vault(self) -> PiiVault:
        """The PII vault (the key ring is read the first time it is needed)."""
        return self.infra.vault

    def now(self) -> dt.datetime:
        return self.clock.now()

    def today(self) -> dt.date:
        return business_date(self.clock.now())


def build_compliance(
    settings: Settings | None = None,
    *,
    infra: Infrastructure | None = None,
    clock: Clock | None = None,
) -> ComplianceDesk:
    from mobilend.adapters.db.unit_of_work import SqlUnitOfWorkFactory

    infra = infra or build_infrastructure(settings, clock=clock)
    return ComplianceDesk(
        uow_factory=SqlUnitOfWorkFactory(infra.db, lambda: infra.vault),
        rules=infra.cost_caps,
        clock=infra.clock,
        new_id=infra.new_id,
        retention_years=infra.settings.privacy_retention_years,
        infra=infra,
    )
