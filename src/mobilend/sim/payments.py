"""The borrowers' scheduled payments of a simulated day, and who makes them.

Each payment was drawn when its loan was paid out (``sim.arrivals``): the loan, whether
it pays what is due or pays the loan off, and the installment's due date. A loan the
collections team holds (a case not closed) is paid in the main process, in the day's
order among the calls and promises that touch it; every other loan's payments touch
nothing the collections day reads, so the arrivals process makes them (``split``)
while the main process works the cases — the same payments either way, on loans the
two never share.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable

import sqlalchemy as sa

from mobilend.app.lending.repayments import pay_off_loan_in, post_repayment_in, quote_payoff_in
from mobilend.bootstrap.lending import Lending
from mobilend.domain.errors import DomainError
from mobilend.domain.loans import LoanStatus

DAY = dt.timedelta(days=1)

#: A payment the borrower will make: (loan id, "due" or "payoff", the installment's due date).
Payment = tuple[str, str, dt.date]
#: A payment with its place in the day's list (its idempotency key names it).
Numbered = tuple[int, Payment]

_HELD_BY_COLLECTIONS = sa.text(
    "SELECT DISTINCT loan_id FROM collection_cases"
    " WHERE status <> 'closed' AND loan_id = ANY(:loans)"
)


def split(db: sa.Engine, payments: list[Payment]) -> tuple[list[Numbered], list[Numbered]]:
    """The day's payments as (on loans a collections case holds, on every other loan)."""
    numbered = list(enumerate(payments))
    if not numbered:
        return [], []
    with db.connect() as conn:
        held = set(
            conn.execute(_HELD_BY_COLLECTIONS, {"loans": [p[0] for p in payments]}).scalars()
        )
    return (
        [item for item in numbered if item[1][0] in held],
        [item for item in numbered if item[1][0] not in held],
    )


def pay_scheduled(
    lending: Lending, new_id: Callable[[], str], on: dt.date, payments: list[Numbered]
) -> Counter[str]:
    """Make the payments (one unit of work each: the loan read, sized and paid), their
    records numbered by ``new_id``; what happened, counted."""
    counts: Counter[str] = Counter()
    for n, (loan_id, kind, due_on) in payments:
        key = f"sim-{loan_id}-{on:%Y%m%d}-{n}"
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
