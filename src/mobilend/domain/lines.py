"""Credit line (授信): a limit a borrower draws loans from (用信).

``available = max(limit - used, 0)``. A revolving line gets its limit back as
principal is repaid; any line gets it back when a disbursement is cancelled.
The line is a plain mutable aggregate: ``to_state()``/``from_state()`` give the
fields a repository stores.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from mobilend.domain.errors import Conflict, Problem, ValidationFailed
from mobilend.domain.money import Money


class LineStatus(enum.StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"
    EXPIRED = "expired"
    CLOSED = "closed"


class LineFrozen(Conflict):
    code = "line_frozen"


class LineExpired(Conflict):
    code = "line_expired"


class LineClosed(Conflict):
    code = "line_closed"


class LimitExceeded(Conflict):
    code = "line_limit_exceeded"


@dataclass(frozen=True, slots=True)
class Draw:
    """One accepted draw: the loan it creates is for exactly ``amount``."""

    line_id: str
    amount: Money
    on: dt.date
    used_after: Money
    available_after: Money


def _positive(amount: Money, field_name: str) -> None:
    if not amount.is_positive() or not amount.is_whole():
        raise ValidationFailed([Problem(field_name, "must be a positive amount exact to the fen")])


@dataclass(slots=True)
class CreditLine:
    line_id: str
    borrower_id: str
    limit: Money
    expires_on: dt.date
    opened_on: dt.date
    used: Money | None = None
    status: LineStatus = LineStatus.ACTIVE
    revolving: bool = True
    freeze_reason: str = ""
    product_code: str = ""

    def __post_init__(self) -> None:
        if self.used is None:
            self.used = Money.zero(self.limit.currency)
        self.status = LineStatus(self.status)
        problems: list[Problem] = []
        if self.limit.is_negative() or not self.limit.is_whole():
            problems.append(Problem("limit", "must be zero or more, exact to the fen"))
        if self.used.currency != self.limit.currency:
            problems.append(Problem("used", "currency differs from the limit"))
        elif self.used.is_negative():
            problems.append(Problem("used", "must not be negative"))
        if self.expires_on < self.opened_on:
            problems.append(Problem("expires_on", "is before the opening date"))
        if problems:
            raise ValidationFailed(problems)

    # -- views ------------------------------------------------------------
    @property
    def used_amount(self) -> Money:
        assert self.used is not None
        return self.used

    @property
    def available(self) -> Money:
        return (self.limit - self.used_amount).max(Money.zero(self.limit.currency))

    def is_expired_on(self, on: dt.date) -> bool:
        return on > self.expires_on

    # -- commands -----------------------------------------------------------
    def draw(self, amount: Money, on: dt.date) -> Draw:
        """Take ``amount`` from the line on date ``on``; refused when not usable or above available."""
        _positive(amount, "amount")
        if self.status is LineStatus.CLOSED:
            raise LineClosed(f"credit line {self.line_id} is closed")
        if self.status is LineStatus.EXPIRED or self.is_expired_on(on):
            raise LineExpired(f"credit line {self.line_id} expired on {self.expires_on}")
        if self.status is LineStatus.FROZEN:
            raise LineFrozen(f"credit line {self.line_id} is frozen: {self.freeze_reason}")
        if amount > self.available:
            raise LimitExceeded(
                f"draw of {amount} exceeds available {self.available} on line {self.line_id}"
            )
        self.used = self.used_amount + amount
        return Draw(self.line_id, amount, on, self.used_amount, self.available)

    def restore(self, amount: Money, *, cancelled: bool = False) -> Money:
        """Give back limit: principal repaid (revolving lines only) or a draw cancelled.

        Returns the amount actually restored (zero for repayments on a non-revolving line).
        """
        _positive(amount, "amount")
        if not cancelled and not self.revolving:
            return Money.zero(self.limit.currency)
        if amount > self.used_amount:
            raise Conflict(
                f"cannot restore {amount}: only {self.used_amount} is in use on line {self.line_id}"
            )
        self.used = self.used_amount - amount
        return amount

    def freeze(self, reason: str) -> None:
        if self.status in (LineStatus.CLOSED, LineStatus.EXPIRED):
            raise Conflict(f"credit line {self.line_id} is {self.status}; it cannot be frozen")
        if not reason:
            raise ValidationFailed([Problem("reason", "a reason is required to freeze a line")])
        self.status = LineStatus.FROZEN
        self.freeze_reason = reason

    def unfreeze(self) -> None:
        if self.status is not LineStatus.FROZEN:
            raise Conflict(f"credit line {self.line_id} is not frozen")
        self.status = LineStatus.ACTIVE
        self.freeze_reason = ""

    def change_limit(self, new_limit: Money) -> None:
        """Raise or lower the limit; lowering below what is used is allowed (available floors at 0)."""
        if new_limit.currency != self.limit.currency:
            raise ValidationFailed([Problem("limit", "currency differs from the line's")])
        if new_limit.is_negative() or not new_limit.is_whole():
            raise ValidationFailed([Problem("limit", "must be zero or more, exact to the fen")])
        if self.status is LineStatus.CLOSED:
            raise LineClosed(f"credit line {self.line_id} is closed")
        self.limit = new_limit

    def extend(self, new_expires_on: dt.date) -> None:
        if new_expires_on < self.opened_on:
            raise ValidationFailed([Problem("expires_on", "is before the opening date")])
        if self.status is LineStatus.CLOSED:
            raise LineClosed(f"credit line {self.line_id} is closed")
        self.expires_on = new_expires_on
        if self.status is LineStatus.EXPIRED:
            self.status = LineStatus.ACTIVE

    def expire_if_due(self, on: dt.date) -> bool:
        """Mark the line expired once ``on`` is past ``expires_on``; True when it changed."""
        if self.status in (LineStatus.ACTIVE, LineStatus.FROZEN) and self.is_expired_on(on):
            self.status = LineStatus.EXPIRED
            return True
        return False

    def close(self) -> None:
        self.status = LineStatus.CLOSED

    # -- persistence --------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        return {
            "line_id": self.line_id,
            "borrower_id": self.borrower_id,
            "currency": self.limit.currency,
            "limit_minor": self.limit.to_minor(),
            "used_minor": self.used_amount.to_minor(),
            "expires_on": self.expires_on.isoformat(),
            "opened_on": self.opened_on.isoformat(),
            "status": self.status.value,
            "revolving": self.revolving,
            "freeze_reason": self.freeze_reason,
            "product_code": self.product_code,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> CreditLine:
        currency = str(state["currency"])
        return cls(
            line_id=str(state["line_id"]),
            borrower_id=str(state["borrower_id"]),
            limit=Money.from_minor(int(state["limit_minor"]), currency),
            used=Money.from_minor(int(state["used_minor"]), currency),
            expires_on=dt.date.fromisoformat(str(state["expires_on"])),
            opened_on=dt.date.fromisoformat(str(state["opened_on"])),
            status=LineStatus(str(state["status"])),
            revolving=bool(state["revolving"]),
            freeze_reason=str(state.get("freeze_reason", "")),
            product_code=str(state.get("product_code", "")),
        )
