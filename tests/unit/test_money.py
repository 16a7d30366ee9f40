"""Money: exact Decimal amounts, refused floats and mixed currencies, largest-remainder splits."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mobilend.domain.money import CurrencyMismatch, Money, MoneyError, RoundingMode, total

fen = st.integers(min_value=-(10**12), max_value=10**12)
weights = st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=12).filter(
    lambda ws: sum(ws) > 0
)


def test_floats_are_refused_everywhere() -> None:
    with pytest.raises(MoneyError):
        Money(0.1)  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        Money("1.00") * 1.5  # type: ignore[operator]
    with pytest.raises(MoneyError):
        Money(True)  # type: ignore[arg-type]


def test_bad_strings_and_non_finite_are_refused() -> None:
    for bad in ("", "abc", "1,000", "NaN", "Infinity"):
        with pytest.raises(MoneyError):
            Money(bad)


def test_mixed_currencies_are_refused() -> None:
    with pytest.raises(CurrencyMismatch):
        Money("1.00", "CNY") + Money("1.00", "USD")
    with pytest.raises(CurrencyMismatch):
        _ = Money("1.00", "CNY") < Money("2.00", "USD")


def test_minor_units_round_trip_and_refuse_fractions() -> None:
    assert Money("12.34").to_minor() == 1234
    assert Money.from_minor(-5) == Money("-0.05")
    with pytest.raises(MoneyError):
        Money("0.005").to_minor()


def test_rounding_modes_differ_on_ties() -> None:
    assert Money("0.125").round(RoundingMode.HALF_UP) == Money("0.13")
    assert Money("0.125").round(RoundingMode.HALF_EVEN) == Money("0.12")
    assert Money("1234.50").round_to_multiple(Money("1.00")) == Money("1235.00")
    assert Money("1234.50").round_to_multiple(Money("1.00"), RoundingMode.HALF_EVEN) == Money(
        "1234.00"
    )


def test_allocate_worked_example() -> None:
    # 100.00 in thirds: 33.333.. each; one fen left over goes to the first part.
    assert Money("100.00").allocate([1, 1, 1]) == [Money("33.34"), Money("33.33"), Money("33.33")]
    # 70/30 of 0.05: exact 0.035 / 0.015 → the larger remainder (0.5 fen each, tie) goes first.
    assert Money("0.05").allocate([70, 30]) == [Money("0.04"), Money("0.01")]


@given(fen, weights)
def test_allocate_parts_always_sum_to_the_whole(amount: int, ws: list[int]) -> None:
    whole = Money.from_minor(amount)
    parts = whole.allocate(ws)
    assert total(parts) == whole
    assert len(parts) == len(ws)
    for part, w in zip(parts, ws, strict=True):
        exact = Decimal(amount) * w / sum(ws)
        assert abs(Decimal(part.to_minor()) - exact) < 1  # never more than one fen off its share
        if w == 0:
            assert part.is_zero()


@given(fen, fen)
def test_addition_is_exact(a: int, b: int) -> None:
    assert (Money.from_minor(a) + Money.from_minor(b)).to_minor() == a + b
