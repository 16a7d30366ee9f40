"""Servicing rules, statuses and results shared by the loan aggregate and prepayment."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mobilend.domain.allocation import (
    DEFAULT_WATERFALL,
    Allocation,
    AllocationOrder,
    Component,
    Waterfall,
)
from mobilend.domain.errors import Conflict, Problem, ValidationFailed
from mobilend.domain.ledger import JournalEntry
from mobilend.domain.money import Money
from mobilend.domain.products import LoanProduct

ONE_DAY = dt.timedelta(days=1)

#: Gives a new journal entry id; when a command gets none the loan numbers its
#: entries itself as ``<loan_id>-<sequence>``.
IdFactory = Callable[[], str]


class LoanStatus(enum.StrEnum):
    PENDING_DISBURSEMENT = "pending_disbursement"
    ACTIVE = "active"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    WRITTEN_OFF = "written_off"


class LoanNotActive(Conflict):
    code = "loan_not_active"


class BackdatedOperation(Conflict):
    """A payment or write-off dated before an end-of-day run that already happened."""

    code = "loan_backdated"


@dataclass(frozen=True, slots=True)
class ServicingRules:
    """The product's servicing rules, copied onto the loan when it is opened."""

    penalty_rate: Decimal = Decimal(0)
    penalty_grace_days: int = 0
    waterfall: Waterfall = DEFAULT_WATERFALL
    pay_next_installment_early: bool = True

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        if not isinstance(self.penalty_rate, Decimal) or self.penalty_rate < 0:
            problems.append(Problem("penalty_rate", "must be a Decimal fraction, 0 or more"))
        if self.penalty_grace_days < 0:
            problems.append(Problem("penalty_grace_days", "must be 0 or more"))
        if problems:
            raise ValidationFailed(problems)

    @classmethod
    def from_product(
        cls,
        product: LoanProduct,
        order: AllocationOrder = AllocationOrder.INSTALLMENT_FIRST,
        pay_next_installment_early: bool = True,
    ) -> ServicingRules:
        return cls(
            penalty_rate=product.penalty_rate,
            penalty_grace_days=product.penalty_grace_days,
            waterfall=Waterfall(order, tuple(Component(c) for c in product.allocation_order)),
            pay_next_installment_early=pay_next_installment_early,
        )

    def to_state(self) -> dict[str, Any]:
        return {
            "penalty_rate": str(self.penalty_rate),
            "penalty_grace_days": self.penalty_grace_days,
            "waterfall": self.waterfall.to_state(),
            "pay_next_installment_early": self.pay_next_installment_early,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ServicingRules:
        return cls(
            penalty_rate=Decimal(str(state["penalty_rate"])),
            penalty_grace_days=int(state["penalty_grace_days"]),
            waterfall=Waterfall.from_state(dict(state["waterfall"])),
            pay_next_installment_early=bool(state.get("pay_next_installment_early", True)),
        )


@dataclass(frozen=True, slots=True)
class RepaymentResult:
    """What a payment did. ``principal_repaid`` is what a revolving line gets back."""

    entries: tuple[JournalEntry, ...]
    allocation: Allocation
    principal_repaid: Money
    overpayment: Money
    closed: bool
