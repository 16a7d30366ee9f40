"""In-memory lending stores, for fast use-case tests (built by the same bootstrap).

Aggregates are kept as their plain ``to_state`` values and copied in and out, so a
use case that forgets to ``save`` or ``commit`` loses its changes exactly as it
would on PostgreSQL.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mobilend.app.lending.ports import RepaymentRecord
from mobilend.domain.errors import Conflict, NotFound
from mobilend.domain.ledger import JournalEntry
from mobilend.domain.lines import CreditLine
from mobilend.domain.loans import Loan
from mobilend.domain.money import Money
from mobilend.domain.products import LoanProduct
from mobilend.domain.products_state import product_from_state, product_to_state


@dataclass
class LendingStore:
    """Committed state shared by every unit of work of one in-memory platform."""

    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    borrowers: set[str] = field(default_factory=set)
    lines: dict[str, dict[str, Any]] = field(default_factory=dict)
    loans: dict[str, dict[str, Any]] = field(default_factory=dict)
    entries: list[JournalEntry] = field(default_factory=list)
    repayments: dict[str, RepaymentRecord] = field(default_factory=dict)


class _Products:
    def __init__(self, data: dict[str, dict[str, Any]]) -> None:
        self._data = data

    def add(self, product: LoanProduct) -> None:
        if product.code in self._data:
            raise Conflict(f"product {product.code!r} already exists")
        self._data[product.code] = product_to_state(product)

    def get(self, code: str) -> LoanProduct:
        if code not in self._data:
            raise NotFound(f"product {code!r} not found")
        return product_from_state(self._data[code])

    def list(self) -> list[LoanProduct]:
        return [product_from_state(s) for _, s in sorted(self._data.items())]

    def save(self, product: LoanProduct) -> None:
        if product.code not in self._data:
            raise NotFound(f"product {product.code!r} not found")
        self._data[product.code] = product_to_state(product)


class _Borrowers:
    def __init__(self, data: set[str]) -> None:
        self._data = data

    def ensure(self, borrower_id: str) -> None:
        self._data.add(borrower_id)

    def exists(self, borrower_id: str) -> bool:
        return borrower_id in self._data


class _Lines:
    def __init__(self, data: dict[str, dict[str, Any]]) -> None:
        self._data = data

    def add(self, line: CreditLine) -> None:
        self._data[line.line_id] = line.to_state()

    def get(self, line_id: str, *, for_update: bool = False) -> CreditLine:
        if line_id not in self._data:
            raise NotFound(f"credit line {line_id} not found")
        return CreditLine.from_state(self._data[line_id])

    def save(self, line: CreditLine) -> None:
        self._data[line.line_id] = line.to_state()

    def for_borrower(self, borrower_id: str) -> list[CreditLine]:
        return [
            CreditLine.from_state(s) for s in self._data.values() if s["borrower_id"] == borrower_id
        ]


class _Loans:
    def __init__(self, data: dict[str, dict[str, Any]]) -> None:
        self._data = data

    def add(self, loan: Loan) -> None:
        self._data[loan.loan_id] = loan.to_state()

    def get(self, loan_id: str, *, for_update: bool = False) -> Loan:
        if loan_id not in self._data:
            raise NotFound(f"loan {loan_id} not found")
        return Loan.from_state(copy.deepcopy(self._data[loan_id]))

    def save(self, loan: Loan) -> None:
        self._data[loan.loan_id] = loan.to_state()

    def for_borrower(self, borrower_id: str) -> list[Loan]:
        return [self.get(i) for i, s in self._data.items() if s["borrower_id"] == borrower_id]

    def ids_needing_eod(
        self, business_date: dt.date, after_id: str = "", limit: int = 500
    ) -> list[str]:
        ids = sorted(
            loan_id
            for loan_id, s in self._data.items()
            if s["status"] == "active"
            and s["accrued_through"] is not None
            and dt.date.fromisoformat(s["accrued_through"]) < business_date
            and loan_id > after_id
        )
        return ids[:limit]


class _Ledger:
    def __init__(self, entries: list[JournalEntry]) -> None:
        self._entries = entries

    def append(self, entries: Sequence[JournalEntry], borrower_id: str | None = None) -> None:
        self._entries.extend(entries)

    def entries_for_loan(self, loan_id: str) -> list[JournalEntry]:
        return [e for e in self._entries if e.loan_id == loan_id]

    def trial_balance(self) -> dict[tuple[str, str], Money]:
        result: dict[tuple[str, str], Money] = {}
        for entry in self._entries:
            for p in entry.postings:
                key = (p.account, p.amount.currency)
                result[key] = result.get(key, Money.zero(p.amount.currency)) + p.amount
        return result


class _Repayments:
    def __init__(self, data: dict[str, RepaymentRecord]) -> None:
        self._data = data

    def add(self, record: RepaymentRecord) -> None:
        if record.idempotency_key in self._data:
            raise Conflict("duplicate idempotency key")
        self._data[record.idempotency_key] = record

    def by_idempotency_key(self, key: str) -> RepaymentRecord | None:
        return self._data.get(key)

    def for_loan(self, loan_id: str) -> list[RepaymentRecord]:
        return [r for r in self._data.values() if r.loan_id == loan_id]


class InMemoryLendingStores:
    """The lending store group over one unit of work's working copy."""

    def __init__(self, work: LendingStore) -> None:
        self.products = _Products(work.products)
        self.borrowers = _Borrowers(work.borrowers)
        self.lines = _Lines(work.lines)
        self.loans = _Loans(work.loans)
        self.ledger = _Ledger(work.entries)
        self.repayments = _Repayments(work.repayments)
