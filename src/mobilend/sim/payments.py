"""The borrowers' scheduled payments of a simulated day, and who makes them.

Each payment was drawn when its loan was paid out (``sim.arrivals``): the loan, whether
it pays what is due or pays the loan off, and the installment's due date. A loan the
collections team holds (a case not closed) is paid in the main process at 19:00, in the
day's order among the calls and promises that touch it. Every other loan's payments
touch nothing the collections day reads, so both processes share them (``split``): the
arrivals process takes them one loan at a time once the day's applicants are through,
the main process once its own are paid, until none is left (``pay_shared``) — whichever
is free first works. Which process pays a loan changes nothing: each payment numbers its
records from its own block of ids (``payment_ids``), and the two never share a loan.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any, Protocol

import sqlalchemy as sa

from mobilend.adapters.ids import SequentialIds
from mobilend.app.lending.repayments import pay_off_loan_in, post_repayment_in, quote_payoff_in
from mobilend.bootstrap.lending import Lending
from mobilend.domain.errors import DomainError
from mobilend.domain.loans import LoanStatus

DAY = dt.timedelta(days=1)
#: Payments number their records from here: a block of 256 ids per payment, by its date
#: and its place in the day's list (the arrivals count from 1 << 100, the rest from 1 << 80).
PAYMENT_IDS_FROM = 1 << 110

#: A payment the borrower will make: (loan id, "due" or "payoff", the installment's due date).
Payment = tuple[str, str, dt.date]
#: A payment with its place in the day's list (its idempotency key and ids name it).
Numbered = tuple[int, Payment]

_HELD_BY_COLLECTIONS = sa.text(
    "SELECT DISTINCT loan_id FROM collection_cases"
    " WHERE status <> 'closed' AND loan_id = ANY(:loans)"
)


class Cursor(Protocol):
    """The next group of shared payments to take, counted across processes."""

    def take(self) -> int: ...

    def reset(self) -> None: ...


def split(db: sa.Engine, payments: list[Payment]) -> tuple[list[Numbered], list[list[Numbered]]]:
    """The day's payments as (on loans a collections case holds; every other loan's, a
    group per loan in the day's order)."""
    numbered = list(enumerate(payments))
    if not numbered:
        return [], []
    with db.connect() as conn:
        held = set(
            conn.execute(_HELD_BY_COLLECTIONS, {"loans": [p[0] for p in payments]}).scalars()
        )
    by_loan: dict[str, list[Numbered]] = {}
    for item in numbered:
        if item[1][0] not in held:
            by_loan.setdefault(item[1][0], []).append(item)
    return [item for item in numbered if item[1][0] in held], list(by_loan.values())


def payment_ids(on: dt.date, n: int) -> SequentialIds:
    """The ids of the ``n``-th payment of ``on``: the same whichever process pays it."""
    return SequentialIds(PAYMENT_IDS_FROM + (on.toordinal() << 24) + (n << 8))


def pay_shared(
    lending: Lending, on: dt.date, groups: list[list[Numbered]], cursor: Cursor
) -> Counter[str]:
    """Take the next group from ``cursor`` and pay it, until none is left."""
    counts: Counter[str] = Counter()
    while (k := cursor.take()) < len(groups):
        counts.update(pay_scheduled(lending, on, groups[k]))
    return counts


def pay_scheduled(lending: Lending, on: dt.date, payments: list[Numbered]) -> Counter[str]:
    """Make the payments (one unit of work each: the loan read, sized and paid); what
    happened, counted."""
    counts: Counter[str] = Counter()
    for n, (loan_id, kind, due_on) in payments:
        key = f"sim-{loan_id}-{on:%Y%m%d}-{n}"
        new_id = payment_ids(on, n)
        try:
            with lending.uow_factory() as uow:
                loan = uow.lending.loans.get(loan_id)
                if loan.status is not LoanStatus.ACTIVE:
                    continue
                if kind == "payoff":
                    quote = quote_payoff_in(uow, loan_id=loan_id, on=on)
                    pay_off_loan_in(
                        uow, new_id, loan_id=loan_id, amount=quote.amount_due,
                        on=on, idempotency_key=key, channel="transfer",
                    )  # fmt: skip
                    uow.commit()
                    counts["payoffs"] += 1
                    continue
                # Everything due by the installment's date (paid early) or by today
                # (paid late).
                due = loan.overdue_amounts(max(on, due_on) + DAY).total
                if not due.is_positive():
                    continue
                post_repayment_in(
                    uow, new_id, loan_id=loan_id, amount=due, on=on,
                    idempotency_key=key, channel="transfer",
                )  # fmt: skip
                uow.commit()
            counts["payments"] += 1
        except DomainError as exc:
            counts[f"payment_refused_{exc.code}"] += 1
    return counts


class SharedCursor:
    """A ``Cursor`` on a ``multiprocessing.Value``: handed to the arrivals process when it
    starts, it counts for both."""

    def __init__(self, value: Any) -> None:
        self._value = value

    def take(self) -> int:
        with self._value.get_lock():
            k = int(self._value.value)
            self._value.value = k + 1
        return k

    def reset(self) -> None:
        with self._value.get_lock():
            self._value.value = 0
