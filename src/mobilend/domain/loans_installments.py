"""One installment of a serviced loan: what is scheduled, recognised and paid.

For every component the installment keeps three figures:

- *scheduled* (``principal_due``, ``interest_scheduled``, ``fees_due``): the contract;
- *recognised* in the ledger (``interest_accrued``, ``fees_charged``,
  ``penalty_posted``; principal is recognised in full at disbursement);
- *paid* (``principal_paid``, ``interest_paid``, ``fees_paid``, ``penalty_paid``).

Invariants: paid ≤ recognised ≤ scheduled (penalty has no schedule; it grows
daily while principal is overdue). The ledger receivables of a loan are exactly
recognised − paid, summed over its installments.

Interest accrual without drift: the interest recognised on an installment by
the end of business date ``x`` is

    target(x) = round(scheduled_interest × elapsed(x) / period_length)

where ``elapsed(x)`` is the day-count days from the period start to
``min(x + 1, due_date)`` (the night of ``x`` has been earned) and
``period_length`` the day-count days of the whole period. Each run posts
``target(x) − already recognised`` when positive. ``target`` never decreases
and equals the scheduled interest exactly from the day before the due date
on, so the sum of the daily postings is the scheduled interest to the fen,
whatever the day count or the rounding mode, and a second run for the same
date posts nothing.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mobilend.domain.daycount import DayCount, day_count_days, days_in_year
from mobilend.domain.ledger import ComponentAmounts
from mobilend.domain.money import Money, RoundingMode


class InstallmentStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    DUE = "due"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERDUE = "overdue"


class InstallmentKind(enum.StrEnum):
    REGULAR = "regular"
    UPFRONT_FEE = "upfront_fee"  # fees due on the disbursement date, never deducted from it


@dataclass(slots=True)
class InstallmentState:
    n: int
    period_start: dt.date
    due_date: dt.date
    principal_due: Money
    interest_scheduled: Money
    fees_due: Money
    kind: InstallmentKind = InstallmentKind.REGULAR
    interest_accrued: Money | None = None
    fees_charged: Money | None = None
    penalty_exact: Decimal = Decimal(0)
    penalty_posted: Money | None = None
    principal_paid: Money | None = None
    interest_paid: Money | None = None
    fees_paid: Money | None = None
    penalty_paid: Money | None = None
    settled_on: dt.date | None = None
    # After a partial prepayment mid-period, interest to date is fixed at
    # ``interest_base`` and the rest accrues from ``accrual_start`` on the new balance.
    accrual_start: dt.date | None = None
    interest_base: Money | None = None

    def __post_init__(self) -> None:
        zero = Money.zero(self.principal_due.currency)
        for name in (
            "interest_accrued",
            "fees_charged",
            "penalty_posted",
            "principal_paid",
            "interest_paid",
            "fees_paid",
            "penalty_paid",
            "interest_base",
        ):
            if getattr(self, name) is None:
                setattr(self, name, zero)
        self.kind = InstallmentKind(self.kind)

    # Typed accessors: the Optional fields are always filled after __post_init__.
    @property
    def accrued(self) -> Money:
        assert self.interest_accrued is not None
        return self.interest_accrued

    @property
    def charged(self) -> Money:
        assert self.fees_charged is not None
        return self.fees_charged

    @property
    def penalty(self) -> Money:
        assert self.penalty_posted is not None
        return self.penalty_posted

    @property
    def paid(self) -> ComponentAmounts:
        assert self.principal_paid is not None and self.interest_paid is not None
        assert self.fees_paid is not None and self.penalty_paid is not None
        return ComponentAmounts(
            self.principal_paid, self.interest_paid, self.fees_paid, self.penalty_paid
        )

    @property
    def currency(self) -> str:
        return self.principal_due.currency

    # -- what is owed -------------------------------------------------------
    @property
    def unpaid(self) -> ComponentAmounts:
        """Scheduled (penalty: posted) minus paid, per component."""
        paid = self.paid
        return ComponentAmounts(
            principal=self.principal_due - paid.principal,
            interest=self.interest_scheduled - paid.interest,
            fees=self.fees_due - paid.fees,
            penalty=self.penalty - paid.penalty,
        )

    @property
    def receivable(self) -> ComponentAmounts:
        """What the ledger carries for this installment: recognised minus paid."""
        paid = self.paid
        return ComponentAmounts(
            principal=self.principal_due - paid.principal,
            interest=self.accrued - paid.interest,
            fees=self.charged - paid.fees,
            penalty=self.penalty - paid.penalty,
        )

    @property
    def is_settled(self) -> bool:
        # Compared field by field: this runs for every installment on every business date.
        return (
            self.principal_paid == self.principal_due
            and self.interest_paid == self.interest_scheduled
            and self.fees_paid == self.fees_due
            and self.penalty_paid == self.penalty_posted
        )

    @property
    def has_payment(self) -> bool:
        return any(
            not value.is_zero()
            for value in (
                self.principal_paid,
                self.interest_paid,
                self.fees_paid,
                self.penalty_paid,
            )
            if value is not None
        )

    @property
    def total_due(self) -> Money:
        return self.principal_due + self.interest_scheduled + self.fees_due

    def status_on(self, on: dt.date) -> InstallmentStatus:
        """Status at the end of business date ``on``."""
        if self.is_settled:
            return InstallmentStatus.PAID
        if self.due_date < on:
            return InstallmentStatus.OVERDUE
        if self.has_payment:
            return InstallmentStatus.PARTIALLY_PAID
        if self.due_date == on:
            return InstallmentStatus.DUE
        return InstallmentStatus.SCHEDULED

    def days_past_due(self, on: dt.date) -> int:
        if self.is_settled or self.due_date >= on:
            return 0
        return (on - self.due_date).days

    # -- accrual arithmetic ---------------------------------------------------
    @property
    def accrues_from(self) -> dt.date:
        return self.accrual_start or self.period_start

    @property
    def fixed_interest(self) -> Money:
        assert self.interest_base is not None
        return self.interest_base

    def interest_target(
        self, through: dt.date, day_count: DayCount, rounding: RoundingMode
    ) -> Money:
        """Interest earned by the end of ``through`` (see the module notes), rounded.

        ``interest_base`` (interest fixed by a prepayment) counts as earned; the
        rest accrues in proportion over the days from ``accrues_from`` to the due date.
        """
        base = self.fixed_interest
        start = self.accrues_from
        if through < start:
            return base if through >= self.period_start else Money.zero(self.currency)
        end = min(through + dt.timedelta(days=1), self.due_date)
        length = day_count_days(start, self.due_date, day_count)
        if end >= self.due_date or length <= 0:
            return self.interest_scheduled
        elapsed = max(day_count_days(start, end, day_count), 0)
        exact = (self.interest_scheduled - base).amount * Decimal(elapsed) / Decimal(length)
        return base + Money(exact, self.currency).round(rounding)

    def add_penalty_day(
        self, annual_rate: Decimal, day_count: DayCount, rounding: RoundingMode
    ) -> Money:
        """Accrue one calendar day of penalty on unpaid principal; return the newly posted part.

        The daily rate is ``annual_rate / days_in_year`` (360, or 365 for ACT/365),
        kept at full precision; the posted total is the rounded running sum.
        """
        unpaid_principal = self.unpaid.principal
        if not unpaid_principal.is_positive() or annual_rate <= 0:
            return Money.zero(self.currency)
        self.penalty_exact += (
            unpaid_principal.amount * annual_rate / Decimal(days_in_year(day_count))
        )
        target = Money(self.penalty_exact, self.currency).round(rounding)
        delta = target - self.penalty
        if delta.is_positive():
            self.penalty_posted = target
            return delta
        return Money.zero(self.currency)

    # -- persistence ----------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        paid = self.paid
        return {
            "n": self.n,
            "kind": self.kind.value,
            "period_start": self.period_start.isoformat(),
            "due_date": self.due_date.isoformat(),
            "principal_due_minor": self.principal_due.to_minor(),
            "interest_scheduled_minor": self.interest_scheduled.to_minor(),
            "fees_due_minor": self.fees_due.to_minor(),
            "interest_accrued_minor": self.accrued.to_minor(),
            "fees_charged_minor": self.charged.to_minor(),
            "penalty_exact": str(self.penalty_exact),
            "penalty_posted_minor": self.penalty.to_minor(),
            "principal_paid_minor": paid.principal.to_minor(),
            "interest_paid_minor": paid.interest.to_minor(),
            "fees_paid_minor": paid.fees.to_minor(),
            "penalty_paid_minor": paid.penalty.to_minor(),
            "settled_on": self.settled_on.isoformat() if self.settled_on else None,
            "accrual_start": self.accrual_start.isoformat() if self.accrual_start else None,
            "interest_base_minor": self.fixed_interest.to_minor(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], currency: str) -> InstallmentState:
        def m(key: str) -> Money:
            return Money.from_minor(int(state[key]), currency)

        settled = state.get("settled_on")
        accrual_start = state.get("accrual_start")
        return cls(
            n=int(state["n"]),
            kind=InstallmentKind(str(state.get("kind", "regular"))),
            period_start=dt.date.fromisoformat(str(state["period_start"])),
            due_date=dt.date.fromisoformat(str(state["due_date"])),
            principal_due=m("principal_due_minor"),
            interest_scheduled=m("interest_scheduled_minor"),
            fees_due=m("fees_due_minor"),
            interest_accrued=m("interest_accrued_minor"),
            fees_charged=m("fees_charged_minor"),
            penalty_exact=Decimal(str(state.get("penalty_exact", "0"))),
            penalty_posted=m("penalty_posted_minor"),
            principal_paid=m("principal_paid_minor"),
            interest_paid=m("interest_paid_minor"),
            fees_paid=m("fees_paid_minor"),
            penalty_paid=m("penalty_paid_minor"),
            settled_on=dt.date.fromisoformat(str(settled)) if settled else None,
            accrual_start=dt.date.fromisoformat(str(accrual_start)) if accrual_start else None,
            interest_base=Money.from_minor(int(state.get("interest_base_minor", 0)), currency),
        )
