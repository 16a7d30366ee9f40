"""The collections desk: everything the collections use cases need, wired once by
bootstrap. It holds the conduct gate, never a raw channel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from mobilend.app.collections.gate import ConductGate
from mobilend.app.collections.ports import BorrowerIdentities, CaseFileRenderer
from mobilend.app.collections.settings import CollectionsSettings
from mobilend.app.unit_of_work import UnitOfWorkFactory
from mobilend.domain.compliance import CostCapPolicy


@dataclass
class CollectionsDesk:
    uow_factory: UnitOfWorkFactory
    new_id: Callable[[], str]
    now: Callable[[], dt.datetime]
    gate: ConductGate
    settings: CollectionsSettings = field(default_factory=CollectionsSettings)
    case_files: CaseFileRenderer | None = None
    identities: BorrowerIdentities | None = None
    #: The rules a hardship plan's cost is checked against (the defaults when unset).
    cost_caps: CostCapPolicy | None = None
