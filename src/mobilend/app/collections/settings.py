"""Collections policy as data: the conduct figures, the strategies, what may be agreed, how
cases are dealt to agents. Every figure can be changed per deployment."""

from __future__ import annotations

from dataclasses import dataclass, field

from mobilend.domain.collections import (
    DEFAULT_OVERDUE_NOTICES,
    AssignmentMode,
    OverdueNotice,
    ResolutionPolicy,
    StrategyBook,
)
from mobilend.domain.collections_conduct import ConductPolicy
from mobilend.domain.delinquency import DEFAULT_BUCKETS, BucketTable


@dataclass(frozen=True, slots=True)
class CollectionsSettings:
    conduct: ConductPolicy = field(default_factory=ConductPolicy)
    strategies: StrategyBook = field(default_factory=StrategyBook)
    resolution: ResolutionPolicy = field(default_factory=ResolutionPolicy)
    buckets: BucketTable = DEFAULT_BUCKETS
    assignment: AssignmentMode = AssignmentMode.BY_LOAD
    #: Behaviour score (0–1000, higher riskier) from which a case is high risk.
    high_risk_score: int = 300
    #: The number borrowers and contact persons are asked to call back.
    callback_number: str = "400-820-0000"
    default_time_zone: str = "Asia/Shanghai"
    #: T+1, T+3, T+7: sent to every open case on those days past due (through the gate).
    overdue_notices: tuple[OverdueNotice, ...] = DEFAULT_OVERDUE_NOTICES
