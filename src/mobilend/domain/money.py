"""Money: a Decimal amount in one currency, exact to the minor unit (fen).

Built from ``str``, ``int`` or ``Decimal`` only: a float has already lost the fen
before we could see it, so it is refused. Arithmetic refuses mixed currencies.
Amounts may carry more decimals than the minor unit while interest is being
computed; ``round()`` brings them to the minor unit with an explicit mode.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

from mobilend.domain.errors import DomainError

#: Number of decimal places of each supported currency's minor unit.
MINOR_UNIT_DIGITS: dict[str, int] = {"CNY": 2, "USD": 2, "HKD": 2, "EUR": 2, "JPY": 0}

DEFAULT_CURRENCY = "CNY"


class RoundingMode(enum.StrEnum):
    HALF_UP = "half-up"
    HALF_EVEN = "half-even"

    @property
    def decimal_mode(self) -> str:
        return ROUND_HALF_UP if self is RoundingMode.HALF_UP else ROUND_HALF_EVEN


class MoneyError(DomainError):
    code = "money_invalid"


class CurrencyMismatch(MoneyError):
    code = "currency_mismatch"


AmountLike = str | int | Decimal


def to_decimal(value: AmountLike) -> Decimal:
    """Turn a str/int/Decimal into a finite Decimal; refuse floats and junk."""
    if isinstance(value, (bool, float)):
        raise MoneyError(
            f"amounts must be given as str, int or Decimal, not {type(value).__name__}"
        )
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise MoneyError(f"not a decimal amount: {value!r}") from None
    else:
        raise MoneyError(
            f"amounts must be given as str, int or Decimal, not {type(value).__name__}"
        )
    if not result.is_finite():
        raise MoneyError(f"amount must be finite: {value!r}")
    return result


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str = DEFAULT_CURRENCY

    def __init__(self, amount: AmountLike, currency: str = DEFAULT_CURRENCY) -> None:
        if currency not in MINOR_UNIT_DIGITS:
            raise MoneyError(f"unsupported currency {currency!r}")
        object.__setattr__(self, "amount", to_decimal(amount))
        object.__setattr__(self, "currency", currency)

    # -- construction -----------------------------------------------------
    @classmethod
    def zero(cls, currency: str = DEFAULT_CURRENCY) -> Money:
        return cls(0, currency)

    @classmethod
    def of(cls, amount: AmountLike, currency: str = DEFAULT_CURRENCY) -> Money:
        return cls(amount, currency)

    @classmethod
    def from_minor(cls, minor: int, currency: str = DEFAULT_CURRENCY) -> Money:
        if isinstance(minor, bool) or not isinstance(minor, int):
            raise MoneyError("minor units must be an int")
        digits = MINOR_UNIT_DIGITS.get(currency)
        if digits is None:
            raise MoneyError(f"unsupported currency {currency!r}")
        return cls(Decimal(minor).scaleb(-digits), currency)

    # -- views ------------------------------------------------------------
    @property
    def minor_digits(self) -> int:
        return MINOR_UNIT_DIGITS[self.currency]

    @property
    def quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.minor_digits)

    def to_minor(self) -> int:
        """Minor units (fen); the amount must already be exact to the fen."""
        scaled = self.amount.scaleb(self.minor_digits)
        if scaled != scaled.to_integral_value():
            raise MoneyError(f"{self} has fractions of a minor unit; round it first")
        return int(scaled)

    def is_whole(self) -> bool:
        """True when the amount is exact to the minor unit. Read from the digits, with
        no context precision involved, so an absurd amount is judged, not a crash."""
        _, digits, exponent = self.amount.as_tuple()
        assert isinstance(exponent, int)  # amounts are always finite
        significant = "".join(map(str, digits)).rstrip("0")
        exponent += len(digits) - len(significant)  # trailing zeros raise the exponent
        return not significant or exponent >= -self.minor_digits

    def round(self, mode: RoundingMode = RoundingMode.HALF_UP) -> Money:
        return Money(self.amount.quantize(self.quantum, rounding=mode.decimal_mode), self.currency)

    def round_to_multiple(
        self, multiple: Money, mode: RoundingMode = RoundingMode.HALF_UP
    ) -> Money:
        """Round to the nearest multiple (e.g. whole yuan) with the given mode."""
        self._check(multiple)
        if multiple.amount <= 0:
            raise MoneyError("rounding multiple must be positive")
        units = (self.amount / multiple.amount).quantize(Decimal(1), rounding=mode.decimal_mode)
        return Money(units * multiple.amount, self.currency).round(mode)

    def __str__(self) -> str:
        return f"{self.amount.quantize(self.quantum) if self.is_whole() else self.amount} {self.currency}"

    def format(self) -> str:
        """Amount as a decimal string exact to the minor unit, e.g. '1234.50'."""
        return str(self.round().amount)

    # -- arithmetic -------------------------------------------------------
    def _check(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise MoneyError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._check(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._check(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, (int, Decimal)):
            raise MoneyError(
                f"Money can be multiplied by int or Decimal only, not {type(factor).__name__}"
            )
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._check(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._check(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._check(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._check(other).amount

    def is_zero(self) -> bool:
        return self.amount == 0

    def is_positive(self) -> bool:
        return self.amount > 0

    def is_negative(self) -> bool:
        return self.amount < 0

    def min(self, other: Money) -> Money:
        return self if self <= other else other

    def max(self, other: Money) -> Money:
        return self if self >= other else other

    # -- splitting ----------------------------------------------------------
    def allocate(self, weights: Sequence[int | Decimal]) -> list[Money]:
        """Split by weights at the minor unit, largest remainder first.

        The parts always sum exactly to the whole; ties go to the earlier part.
        """
        if not weights:
            raise MoneyError("allocate needs at least one weight")
        decimal_weights = [to_decimal(w) for w in weights]
        if any(w < 0 for w in decimal_weights):
            raise MoneyError("weights must not be negative")
        total_weight = sum(decimal_weights, Decimal(0))
        if total_weight == 0:
            raise MoneyError("weights must not all be zero")
        total_minor = self.to_minor()
        sign = -1 if total_minor < 0 else 1
        magnitude = abs(total_minor)
        exact = [Decimal(magnitude) * w / total_weight for w in decimal_weights]
        floors = [int(e) for e in exact]
        short = magnitude - sum(floors)
        order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
        for i in order[:short]:
            floors[i] += 1
        return [Money.from_minor(sign * f, self.currency) for f in floors]


def total(amounts: Iterable[Money], currency: str = DEFAULT_CURRENCY) -> Money:
    """Sum of Money values (zero in ``currency`` when empty)."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result
