"""Repayment allocation waterfall."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mobilend.domain.allocation import (
    AllocationOrder,
    Component,
    OpenItem,
    Waterfall,
    allocate_payment,
)
from mobilend.domain.errors import ValidationFailed
from mobilend.domain.money import Money

P, F, INT, K = Component.PENALTY, Component.FEES, Component.INTEREST, Component.PRINCIPAL


def m(value: str) -> Money:
    return Money(value)


def items() -> list[OpenItem]:
    """Installment 1 overdue (with penalty), installment 2 due today (listed first on purpose)."""
    return [
        OpenItem(2, dt.date(2024, 3, 10), INT, m("29.00")),
        OpenItem(2, dt.date(2024, 3, 10), K, m("1000.00")),
        OpenItem(2, dt.date(2024, 3, 10), F, m("5.00")),
        OpenItem(1, dt.date(2024, 2, 10), K, m("558.50")),
        OpenItem(1, dt.date(2024, 2, 10), P, m("11.73")),
    ]


def test_default_waterfall_settles_the_oldest_installment_first_penalty_fees_interest_principal() -> (
    None
):
    allocation = allocate_payment(items(), m("600.00"))
    got = [(line.installment, line.component, line.amount) for line in allocation.lines]
    # 11.73 + 558.50 = 570.23 settles installment 1; 29.77 left for installment 2: fees 5, interest 24.77.
    assert got == [
        (1, P, m("11.73")),
        (1, K, m("558.50")),
        (2, F, m("5.00")),
        (2, INT, m("24.77")),
    ]
    assert allocation.leftover.is_zero()
    assert allocation.applied == m("600.00")
    assert allocation.by_component(2).interest == m("24.77")
    assert allocation.installments == (1, 2)


def test_component_first_settles_one_component_everywhere_before_the_next() -> None:
    allocation = allocate_payment(items(), m("50.00"), AllocationOrder.COMPONENT_FIRST)
    got = [(line.installment, line.component, line.amount) for line in allocation.lines]
    # penalty 11.73, fees 5.00, interest 29.00 (all installments), then principal of the oldest: 4.27.
    assert got == [(1, P, m("11.73")), (2, F, m("5.00")), (2, INT, m("29.00")), (1, K, m("4.27"))]


def test_a_product_may_reorder_components() -> None:
    waterfall = Waterfall(AllocationOrder.INSTALLMENT_FIRST, (K, INT, F, P))
    allocation = allocate_payment(items(), m("560.00"), waterfall)
    got = [(line.installment, line.component, line.amount) for line in allocation.lines]
    assert got == [(1, K, m("558.50")), (1, P, m("1.50"))]


def test_excess_is_returned_as_leftover() -> None:
    allocation = allocate_payment(items(), m("2000.00"))
    owed = m("1604.23")
    assert allocation.applied == owed
    assert allocation.leftover == m("2000.00") - owed


def test_nothing_owed_returns_everything() -> None:
    allocation = allocate_payment([], m("12.34"))
    assert allocation.lines == ()
    assert allocation.leftover == m("12.34")


def test_invalid_waterfall_and_amount_are_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        Waterfall(AllocationOrder.INSTALLMENT_FIRST, (P, F, INT))
    assert caught.value.problems[0].field == "components"
    with pytest.raises(ValidationFailed):
        allocate_payment(items(), m("-1"))
    with pytest.raises(ValidationFailed):
        allocate_payment(items(), m("0.001"))
    with pytest.raises(ValidationFailed):
        allocate_payment(items(), Money("10", "USD"))


def test_waterfall_state_round_trips() -> None:
    waterfall = Waterfall(AllocationOrder.COMPONENT_FIRST, (INT, K, P, F))
    assert Waterfall.from_state(waterfall.to_state()) == waterfall


# --------------------------------------------------------------------------- properties

open_items = st.lists(
    st.builds(
        OpenItem,
        installment=st.integers(0, 12),
        due_date=st.dates(dt.date(2024, 1, 1), dt.date(2025, 12, 31)),
        component=st.sampled_from(Component),
        amount=st.integers(0, 500_000).map(Money.from_minor),
    ),
    max_size=20,
    unique_by=lambda i: (i.installment, i.component),
)
waterfalls = st.builds(
    Waterfall,
    order=st.sampled_from(AllocationOrder),
    components=st.permutations(list(Component)).map(tuple),
)


@given(items=open_items, paid=st.integers(0, 5_000_000).map(Money.from_minor), waterfall=waterfalls)
def test_allocation_never_moves_more_than_was_paid_and_follows_the_order(
    items: list[OpenItem], paid: Money, waterfall: Waterfall
) -> None:
    allocation = allocate_payment(items, paid, waterfall)
    assert allocation.applied + allocation.leftover == paid
    assert allocation.applied <= paid
    assert not allocation.leftover.is_negative()
    assert all(line.amount.is_positive() for line in allocation.lines)
    owed = sum((i.amount.to_minor() for i in items), 0)
    assert allocation.applied.to_minor() == min(owed, paid.to_minor())

    # A component of an installment is only touched once everything before it in the
    # waterfall is settled: at most one line is partial, and it is the last one.
    by_item = {(i.installment, i.component): i.amount for i in items if i.amount.is_positive()}
    partial = [
        x
        for x in allocation.lines
        if x.amount < by_item.get((x.installment, x.component), x.amount)
    ]
    assert len(partial) <= 1
    if partial:
        assert allocation.lines[-1] == partial[0]
        assert allocation.leftover.is_zero()

    # Order: walk the items in waterfall order; each takes min(owed, what is left).
    def key(i: OpenItem) -> tuple[object, ...]:
        rank = waterfall.rank(i.component)
        if waterfall.order is AllocationOrder.INSTALLMENT_FIRST:
            return (i.due_date, i.installment, rank)
        return (rank, i.due_date, i.installment)

    left = paid.to_minor()
    expected = []
    for item in sorted((i for i in items if i.amount.is_positive()), key=key):
        take = min(item.amount.to_minor(), left)
        if take:
            expected.append((item.installment, item.component, take))
        left -= take
    assert [(x.installment, x.component, x.amount.to_minor()) for x in allocation.lines] == expected
