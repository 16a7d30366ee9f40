"""Use cases: the daily reconciliation of the payment rail against the ledger, and the
partner settlement report (what each funder is owed out of what borrowers paid).

Reconciliation for a business date reads the rail's statement and compares it, payout
by payout (keyed by idempotency key), with what the ledger booked that day: every
payout the rail settled must have exactly one debit to the rail's in-transit account
(the settlement entry when paid, the cancellation entry when failed) for the same
amount, and a payout status that agrees. Every difference is reported as a break:

* ``missing_in_ledger`` — on the statement, but not booked that day;
* ``missing_in_statement`` — booked that day, but not on the statement;
* ``duplicate_in_statement`` / ``duplicate_in_ledger`` — more than once on one side;
* ``amount_differs`` — both sides have it, for different amounts;
* ``status_differs`` — the rail says succeeded and we cancelled, or the other way.

Before comparing, payouts the statement shows as final but we still wait on (a callback
never came) are resolved from the statement — that is the rail's final word too.
Finally the in-transit account must hold exactly the payouts still open.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from mobilend.app.funding.disbursement import (
    DisbursementDesk,
    RailOutcome,
    payout_key,
    resolve_payout,
)
from mobilend.app.funding.ports import PayoutStatus
from mobilend.app.unit_of_work import UnitOfWorkFactory
from mobilend.domain.funding import OWN_POOL, FunderTake, Tranche, split_collection
from mobilend.domain.ledger import DEFAULT_CASH_ACCOUNT, ComponentAmounts
from mobilend.domain.loans_fees import lenders_fees
from mobilend.domain.money import Money

#: Payouts whose disbursement is booked but whose money has not been confirmed.
BOOKED_OPEN = (
    PayoutStatus.QUEUED,
    PayoutStatus.SENT,
    PayoutStatus.DEAD_LETTER,
    PayoutStatus.NEEDS_REVIEW,
)


@dataclass(frozen=True, slots=True)
class Break:
    kind: str
    idempotency_key: str
    loan_id: str = ""
    statement: str = ""  # what the rail says (amount/status), '' when absent
    ledger: str = ""  # what we booked, '' when absent


@dataclass(frozen=True, slots=True)
class ReconciliationReport:
    business_date: dt.date
    statement_lines: int
    matched: int
    breaks: tuple[Break, ...]
    resolved_from_statement: tuple[str, ...]
    in_transit_balance: Money
    in_transit_expected: Money
    other_lines: int = 0  # statement lines of other kinds (debits), not ours to match
    notes: tuple[str, ...] = field(default=())

    @property
    def clean(self) -> bool:
        return not self.breaks

    def to_state(self) -> dict[str, Any]:
        return {
            "business_date": self.business_date.isoformat(),
            "clean": self.clean,
            "statement_lines": self.statement_lines,
            "matched": self.matched,
            "breaks": [asdict(b) for b in self.breaks],
            "resolved_from_statement": list(self.resolved_from_statement),
            "in_transit_balance": self.in_transit_balance.format(),
            "in_transit_expected": self.in_transit_expected.format(),
            "other_lines": self.other_lines,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any], currency: str = "CNY") -> ReconciliationReport:
        return cls(
            business_date=dt.date.fromisoformat(state["business_date"]),
            statement_lines=int(state["statement_lines"]),
            matched=int(state["matched"]),
            breaks=tuple(Break(**b) for b in state["breaks"]),
            resolved_from_statement=tuple(state["resolved_from_statement"]),
            in_transit_balance=Money(state["in_transit_balance"], currency),
            in_transit_expected=Money(state["in_transit_expected"], currency),
            other_lines=int(state.get("other_lines", 0)),
        )


def reconcile_rail(
    desk: DisbursementDesk, day: dt.date, *, currency: str = "CNY", resolve: bool = True
) -> ReconciliationReport:
    """Compare the rail's statement for ``day`` with the ledger; store and return the report."""
    lines = desk.rail.statement(day)
    payout_lines = [line for line in lines if line.direction == "payout"]
    resolved: list[str] = []
    if resolve:
        resolved = _resolve_from_statement(desk, payout_lines)
    account = desk.settings.in_transit_account
    with desk.uow_factory() as uow:
        stores = uow.funding
        booked = stores.ledger_queries.debits_on(account, day)
        ours = {p.idempotency_key: p for p in stores.payouts.settled_on(day)}
        balance = stores.ledger_queries.account_balance(account, currency)
        expected = -stores.payouts.amount_with_status(BOOKED_OPEN, currency)
    by_key: dict[str, list[Any]] = defaultdict(list)
    for line in payout_lines:
        by_key[line.idempotency_key].append(line)
    booked_by_key = {payout_key(loan_id): (loan_id, v) for loan_id, v in booked.items()}
    breaks: list[Break] = []
    matched = 0
    for key in sorted(set(by_key) | set(booked_by_key) | set(ours)):
        found = _compare(key, by_key.get(key, []), booked_by_key.get(key), ours.get(key))
        breaks.extend(found)
        matched += not found
    if balance != expected:
        breaks.append(
            Break("in_transit_differs", "", "", f"open payouts {expected}", f"ledger {balance}")
        )
    report = ReconciliationReport(
        business_date=day,
        statement_lines=len(payout_lines),
        matched=matched,
        breaks=tuple(breaks),
        resolved_from_statement=tuple(resolved),
        in_transit_balance=balance,
        in_transit_expected=expected,
        other_lines=len(lines) - len(payout_lines),
    )
    with desk.uow_factory() as uow:
        uow.funding.reconciliations.save(day, report.to_state())
        uow.commit()
    return report


def _resolve_from_statement(desk: DisbursementDesk, lines: list[Any]) -> list[str]:
    keys = [line.idempotency_key for line in lines]
    with desk.uow_factory() as uow:
        stores = uow.funding
        waiting = {}
        for key in keys:
            payout = stores.payouts.by_key(key)
            if payout is not None and payout.status in BOOKED_OPEN:
                waiting[key] = payout
    resolved = []
    for line in lines:
        if line.idempotency_key in waiting and line.status in ("succeeded", "failed"):
            outcome = RailOutcome(
                line.status, "", line.settled_on, line.rail_reference, line.amount
            )
            result = resolve_payout(desk, line.idempotency_key, outcome, "statement")
            if result in ("paid", "cancelled"):
                resolved.append(line.idempotency_key)
    return resolved


def _compare(
    key: str,
    lines: list[Any],
    booked: tuple[str, tuple[int, Money]] | None,
    payout: Any,
) -> list[Break]:
    loan_id = booked[0] if booked else (payout.loan_id if payout is not None else "")
    ledger_text = f"{booked[1][0]} x {booked[1][1]}" if booked else ""
    statement_text = ", ".join(f"{line.status} {line.amount}" for line in lines)
    breaks = []

    def add(kind: str) -> None:
        breaks.append(Break(kind, key, loan_id, statement_text, ledger_text))

    if len(lines) > 1:
        add("duplicate_in_statement")
    if booked and booked[1][0] > 1:
        add("duplicate_in_ledger")
    if not lines:
        add("missing_in_statement")
        return breaks
    if not booked:
        add("missing_in_ledger")
        return breaks
    line = lines[0]
    if booked[1][1] != line.amount:
        add("amount_differs")
    if payout is not None:
        paid = payout.status == PayoutStatus.PAID
        if paid != (line.status == "succeeded"):
            add("status_differs")
    else:
        add("status_differs")
    return breaks


# --------------------------------------------------------------------------- partner settlement


@dataclass(frozen=True, slots=True)
class FunderSettlement:
    """What one funder is owed out of what borrowers paid over a period."""

    funder_code: str
    loans: int
    principal: Money
    interest: Money
    fees: Money
    penalty: Money
    platform_margin: Money

    @property
    def total(self) -> Money:
        return self.principal + self.interest + self.fees + self.penalty


def partner_settlement(
    uow_factory: UnitOfWorkFactory,
    first: dt.date,
    last: dt.date,
    currency: str = "CNY",
) -> list[FunderSettlement]:
    """Split every collection of the period between the loan's funders (exactly, by
    share; see ``domain.funding.split_collection``) and sum per funder. What partners are
    owed is also posted, day by day (``funder_shares.post_funder_shares``)."""
    with uow_factory() as uow:
        stores = uow.funding
        collections = stores.ledger_queries.collections(first, last)
        loan_ids = sorted({c.loan_id for c in collections})
        tranches = stores.tranches.for_loans(loan_ids)
        # Fees owed to third parties (an insurer) are no funder's: left out of the split.
        terms = {loan_id: uow.lending.loans.get(loan_id).terms for loan_id in loan_ids}
    zero = Money.zero(currency)
    sums: dict[str, list[Money]] = {}
    loans: dict[str, set[str]] = defaultdict(set)
    for line in collections:
        parts = tranches.get(line.loan_id) or [_own_pool_tranche(line.collected.principal)]
        c = line.collected
        shared = ComponentAmounts(
            c.principal, c.interest, lenders_fees(terms[line.loan_id], c.fees), c.penalty
        )
        takes: list[FunderTake] = split_collection(shared, parts)
        for take in takes:
            row = sums.setdefault(take.funder_code, [zero] * 5)
            values = (take.principal, take.interest, take.fees, take.penalty, take.platform_margin)
            sums[take.funder_code] = [a + b for a, b in zip(row, values, strict=True)]
            loans[take.funder_code].add(line.loan_id)
    return [
        FunderSettlement(code, len(loans[code]), *values) for code, values in sorted(sums.items())
    ]


def _own_pool_tranche(amount: Money) -> Tranche:
    """Loans booked before routing existed were funded wholly by the own pool."""
    from decimal import Decimal

    return Tranche(OWN_POOL, amount, Decimal(1), Decimal(1), DEFAULT_CASH_ACCOUNT)


def stored_report(uow_factory: UnitOfWorkFactory, day: dt.date) -> ReconciliationReport | None:
    with uow_factory() as uow:
        report = uow.funding.reconciliations.get(day)
    return None if report is None else ReconciliationReport.from_state(report)
