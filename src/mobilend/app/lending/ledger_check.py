"""Use case: verify the whole ledger against itself and against the loans it records.

Checks, each reported with what was expected and what was found:

1. every journal entry is a double entry (two postings or more, summing to zero);
2. all postings together sum to zero, per currency;
3. every loan's balances in the ledger (per chart account, funder-sharing entries left
   out) equal what its schedule state says it must hold (``Loan.ledger_balances``);
4. every credit line's used amount equals its loans' outstanding principal (a revolving
   line) or the principal drawn and not cancelled (a line that does not revolve).

Read-only: it changes nothing and can run beside live traffic (each batch reads in its
own transaction, so a loan that moves between two batches is read once, consistently).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from mobilend.app.lending.ports import LedgerAudit
from mobilend.domain.loans import Loan
from mobilend.domain.money import Money


@dataclass(frozen=True, slots=True)
class Mismatch:
    check: str  # entry_unbalanced | currency_unbalanced | loan_balance | line_used
    subject: str  # entry, currency, loan or line id
    detail: str


@dataclass(frozen=True, slots=True)
class LedgerReport:
    entries: int
    postings: int
    loans: int
    lines: int
    mismatches: tuple[Mismatch, ...] = field(default_factory=tuple)

    @property
    def clean(self) -> bool:
        return not self.mismatches


AuditSession = Callable[[], AbstractContextManager[LedgerAudit]]


def loan_mismatches(loan: Loan, ledger: dict[str, Money]) -> list[Mismatch]:
    """Accounts where the ledger differs from what ``loan`` says it must hold."""
    expected = {account.value: value for account, value in loan.ledger_balances().items()}
    problems = []
    for account in sorted(set(expected) | set(ledger)):
        zero = Money.zero(loan.currency)
        want, have = expected.get(account, zero), ledger.get(account, zero)
        if want != have:
            problems.append(
                Mismatch(
                    "loan_balance",
                    loan.loan_id,
                    f"{account}: schedule state {want.format()}, ledger {have.format()}",
                )
            )
    return problems


def verify_ledger(session: AuditSession, batch: int = 500, limit: int = 1000) -> LedgerReport:
    """Run every check; at most ``limit`` mismatches are listed."""
    found: list[Mismatch] = []
    with session() as audit:
        entries, postings = audit.counts()
        for row in audit.imbalances(limit):
            found.append(
                Mismatch(
                    "entry_unbalanced",
                    row.entry_id,
                    f"{row.postings} postings summing to {row.sum_minor} {row.currency} minor units",
                )
            )
        for currency, total in sorted(audit.currency_totals().items()):
            if total != 0:
                found.append(
                    Mismatch(
                        "currency_unbalanced", currency, f"postings sum to {total} minor units"
                    )
                )
    loans = _verify_loans(session, batch, found)
    lines = _verify_lines(session, batch, found)
    return LedgerReport(entries, postings, loans, lines, tuple(found[:limit]))


def _verify_loans(session: AuditSession, batch: int, found: list[Mismatch]) -> int:
    seen, after = 0, ""
    while True:
        with session() as audit:
            page = audit.loans_after(after, batch)
            if not page:
                return seen
            balances = audit.loan_balances([loan.loan_id for loan in page])
        for loan in page:
            found.extend(loan_mismatches(loan, balances.get(loan.loan_id, {})))
        seen += len(page)
        after = page[-1].loan_id


def _verify_lines(session: AuditSession, batch: int, found: list[Mismatch]) -> int:
    seen, after = 0, ""
    while True:
        with session() as audit:
            page = audit.lines_after(after, batch)
            if not page:
                return seen
            held = audit.line_principal([line.line_id for line in page])
        for line in page:
            zero = Money.zero(line.limit.currency)
            principal = held.get(line.line_id)
            if line.revolving:
                want = principal.outstanding if principal else zero
                basis = "outstanding principal of its loans"
            else:
                want = principal.drawn if principal else zero
                basis = "principal drawn and not cancelled"
            if line.used_amount != want:
                found.append(
                    Mismatch(
                        "line_used",
                        line.line_id,
                        f"used {line.used_amount.format()}, {basis} {want.format()}",
                    )
                )
        seen += len(page)
        after = page[-1].line_id


__all__ = ["LedgerReport", "Mismatch", "loan_mismatches", "verify_ledger"]
