"""Storage ports of the lending core: products, credit lines, loans, ledger, repayments.

They are the ``lending`` store group of the platform unit of work
(``app.unit_of_work``): a use case reads and changes aggregates through them, then the
command that opened the unit of work commits once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from mobilend.domain.ledger import JournalEntry
from mobilend.domain.lines import CreditLine
from mobilend.domain.loans import Loan
from mobilend.domain.money import Money
from mobilend.domain.products import LoanProduct


class ProductRepository(Protocol):
    def add(self, product: LoanProduct) -> None: ...

    def get(self, code: str) -> LoanProduct:
        """The product, or NotFound."""
        ...

    def list(self) -> list[LoanProduct]: ...

    def save(self, product: LoanProduct) -> None:
        """Replace an existing product's definition (loans keep the terms they were drawn
        on); NotFound when there is no such product."""
        ...


class BorrowerDirectory(Protocol):
    """The lending core only needs to know that a borrower exists."""

    def ensure(self, borrower_id: str) -> None: ...

    def exists(self, borrower_id: str) -> bool: ...


class CreditLineRepository(Protocol):
    def add(self, line: CreditLine) -> None: ...

    def get(self, line_id: str, *, for_update: bool = False) -> CreditLine:
        """The line (row-locked with ``for_update``), or NotFound."""
        ...

    def save(self, line: CreditLine) -> None: ...

    def for_borrower(self, borrower_id: str) -> list[CreditLine]: ...


class LoanRepository(Protocol):
    def add(self, loan: Loan) -> None: ...

    def get(self, loan_id: str, *, for_update: bool = False) -> Loan:
        """The loan (row-locked with ``for_update``), or NotFound."""
        ...

    def save(self, loan: Loan) -> None: ...

    def for_borrower(self, borrower_id: str) -> list[Loan]: ...

    def ids_needing_eod(
        self, business_date: dt.date, after_id: str = "", limit: int = 500
    ) -> list[str]:
        """Active loans whose end of day has not run through ``business_date``, in id order."""
        ...


class LedgerRepository(Protocol):
    def append(self, entries: Sequence[JournalEntry], borrower_id: str | None = None) -> None: ...

    def entries_for_loan(self, loan_id: str) -> list[JournalEntry]: ...

    def trial_balance(self) -> dict[tuple[str, str], Money]:
        """Sum of postings per (account, currency) over the whole ledger."""
        ...


@dataclass(frozen=True, slots=True)
class RepaymentRecord:
    repayment_id: str
    loan_id: str
    borrower_id: str
    amount: Money
    received_on: dt.date
    channel: str
    idempotency_key: str
    allocation: dict[str, Any] = field(default_factory=dict)


class RepaymentRepository(Protocol):
    def add(self, record: RepaymentRecord) -> None: ...

    def by_idempotency_key(self, key: str) -> RepaymentRecord | None: ...

    def for_loan(self, loan_id: str) -> list[RepaymentRecord]: ...


class LendingStores(Protocol):
    """The lending core's store group of the platform unit of work."""

    @property
    def products(self) -> ProductRepository: ...

    @property
    def borrowers(self) -> BorrowerDirectory: ...

    @property
    def lines(self) -> CreditLineRepository: ...

    @property
    def loans(self) -> LoanRepository: ...

    @property
    def ledger(self) -> LedgerRepository: ...

    @property
    def repayments(self) -> RepaymentRepository: ...


@dataclass(frozen=True, slots=True)
class EndOfDaySummary:
    business_date: dt.date
    loans_processed: int
    entries_posted: int
    lines_frozen: int = 0
    lines_unfrozen: int = 0


class EndOfDayRunner(Protocol):
    """Runs end of day for one business date over every loan (or one partition of them)."""

    def run(
        self, business_date: dt.date, partition: int = 0, partitions: int = 1
    ) -> EndOfDaySummary: ...


# --------------------------------------------------------------------------- ledger audit


@dataclass(frozen=True, slots=True)
class EntryImbalance:
    """A journal entry whose postings do not form a double entry."""

    entry_id: str
    currency: str
    sum_minor: int
    postings: int


@dataclass(frozen=True, slots=True)
class LinePrincipal:
    """What a credit line's loans hold (see ``LedgerAudit.line_principal``)."""

    outstanding: Money
    drawn: Money


class LedgerAudit(Protocol):
    """Read-only aggregate queries a ledger verification runs over the whole book."""

    def counts(self) -> tuple[int, int]:
        """(journal entries, postings)."""
        ...

    def imbalances(self, limit: int = 100) -> list[EntryImbalance]:
        """Entries whose postings, per currency, do not sum to zero or are fewer than two."""
        ...

    def currency_totals(self) -> dict[str, int]:
        """Every posting summed per currency, in minor units."""
        ...

    def loans_after(self, after: str, limit: int) -> list[Loan]:
        """Loans with an id greater than ``after``, in id order."""
        ...

    def loan_balances(self, loan_ids: Sequence[str]) -> dict[str, dict[str, Money]]:
        """Postings of each loan summed per chart account (base account value), leaving
        out entries that share collections with funders (kind ``funder_share``)."""
        ...

    def lines_after(self, after: str, limit: int) -> list[CreditLine]: ...

    def line_principal(self, line_ids: Sequence[str]) -> dict[str, LinePrincipal]:
        """Per line: unpaid principal of its pending, active and written-off loans, and
        the principal of every loan drawn on it that was not cancelled."""
        ...
