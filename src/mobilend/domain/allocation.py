"""Repayment allocation waterfall.

A payment is spread over the loan's open items (what is owed, per installment
and component). The default waterfall settles the oldest installment first and,
within an installment, penalty → fees → interest → principal. The alternative
"component first" settles one component across every installment (oldest first)
before the next component. Allocation never moves more than was paid: whatever
is not needed is returned as ``leftover`` (an overpayment) explicitly.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from mobilend.domain.errors import Problem, ValidationFailed
from mobilend.domain.ledger import ComponentAmounts
from mobilend.domain.money import Money


class Component(enum.StrEnum):
    PENALTY = "penalty"
    FEES = "fees"
    INTEREST = "interest"
    PRINCIPAL = "principal"


class AllocationOrder(enum.StrEnum):
    INSTALLMENT_FIRST = "installment_first"  # oldest installment fully, then the next
    COMPONENT_FIRST = "component_first"  # one component across installments, then the next


DEFAULT_COMPONENT_ORDER: tuple[Component, ...] = (
    Component.PENALTY,
    Component.FEES,
    Component.INTEREST,
    Component.PRINCIPAL,
)


@dataclass(frozen=True, slots=True)
class Waterfall:
    """How a product spreads a payment; configured per product."""

    order: AllocationOrder = AllocationOrder.INSTALLMENT_FIRST
    components: tuple[Component, ...] = DEFAULT_COMPONENT_ORDER

    def __post_init__(self) -> None:
        object.__setattr__(self, "order", AllocationOrder(self.order))
        object.__setattr__(self, "components", tuple(Component(c) for c in self.components))
        problems = self.problems()
        if problems:
            raise ValidationFailed(problems)

    def problems(self) -> list[Problem]:
        if sorted(self.components) != sorted(Component) or len(self.components) != len(Component):
            return [
                Problem(
                    "components",
                    "must name each of penalty, fees, interest, principal exactly once",
                )
            ]
        return []

    def rank(self, component: Component) -> int:
        return self.components.index(component)

    def to_state(self) -> dict[str, object]:
        return {"order": self.order.value, "components": [c.value for c in self.components]}

    @classmethod
    def from_state(cls, state: dict[str, object]) -> Waterfall:
        comps = state.get("components", [c.value for c in DEFAULT_COMPONENT_ORDER])
        assert isinstance(comps, list)
        return cls(
            AllocationOrder(str(state.get("order", "installment_first"))),
            tuple(Component(str(c)) for c in comps),
        )


DEFAULT_WATERFALL = Waterfall()


@dataclass(frozen=True, slots=True)
class OpenItem:
    """An amount still owed on one component of one installment."""

    installment: int
    due_date: dt.date
    component: Component
    amount: Money


@dataclass(frozen=True, slots=True)
class AllocationLine:
    installment: int
    component: Component
    amount: Money


@dataclass(frozen=True, slots=True)
class Allocation:
    """Where a payment went: ``lines`` plus ``leftover``; ``applied + leftover == paid``."""

    paid: Money
    lines: tuple[AllocationLine, ...]
    leftover: Money

    @property
    def applied(self) -> Money:
        result = Money.zero(self.paid.currency)
        for line in self.lines:
            result = result + line.amount
        return result

    def component_total(self, component: Component, installment: int | None = None) -> Money:
        result = Money.zero(self.paid.currency)
        for line in self.lines:
            if line.component is component and (
                installment is None or line.installment == installment
            ):
                result = result + line.amount
        return result

    def by_component(self, installment: int | None = None) -> ComponentAmounts:
        return ComponentAmounts(
            principal=self.component_total(Component.PRINCIPAL, installment),
            interest=self.component_total(Component.INTEREST, installment),
            fees=self.component_total(Component.FEES, installment),
            penalty=self.component_total(Component.PENALTY, installment),
        )

    @property
    def installments(self) -> tuple[int, ...]:
        return tuple(sorted({line.installment for line in self.lines}))


def allocate_payment(
    loan_state: Iterable[OpenItem],
    amount: Money,
    order: Waterfall | AllocationOrder = DEFAULT_WATERFALL,
) -> Allocation:
    """Spread ``amount`` over the open items in waterfall order.

    ``loan_state`` is what the loan owes: ``loan.open_items(on)``.
    """
    if amount.is_negative() or not amount.is_whole():
        raise ValidationFailed([Problem("amount", "must be zero or more, exact to the fen")])
    waterfall = order if isinstance(order, Waterfall) else Waterfall(order=AllocationOrder(order))
    items = [i for i in loan_state if i.amount.is_positive()]
    for item in items:
        if item.amount.currency != amount.currency:
            raise ValidationFailed(
                [Problem("amount", f"currency {amount.currency} differs from the loan's")]
            )
    if waterfall.order is AllocationOrder.INSTALLMENT_FIRST:
        items.sort(key=lambda i: (i.due_date, i.installment, waterfall.rank(i.component)))
    else:
        items.sort(key=lambda i: (waterfall.rank(i.component), i.due_date, i.installment))
    remaining = amount
    lines: list[AllocationLine] = []
    for item in items:
        if not remaining.is_positive():
            break
        take = item.amount.min(remaining)
        lines.append(AllocationLine(item.installment, item.component, take))
        remaining = remaining - take
    return Allocation(paid=amount, lines=tuple(lines), leftover=remaining)
