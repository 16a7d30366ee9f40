"""Use cases: end of day for a business date (accrual, aging, penalties, line freezes).

Penalties accrue at the contract's rate, lowered on a day when a cost cap in force
since the draw needs it (``app.compliance.pricing.penalty_rate_on``).

``LoanByLoanEndOfDay`` runs the domain rules loan by loan, each loan in its own
transaction, so a repayment taken concurrently simply waits for the row lock.
The set-based SQL runner in ``adapters/db`` implements the same rules for large
portfolios; tests compare the two. ``catch_up`` runs missed dates in order.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Callable

from mobilend.app.compliance.pricing import loan_pricing_in, penalty_rate_on
from mobilend.app.lending.ports import EndOfDayRunner, EndOfDaySummary
from mobilend.app.unit_of_work import UnitOfWork, UnitOfWorkFactory
from mobilend.domain.compliance import CostCapPolicy
from mobilend.domain.lines import LineStatus
from mobilend.domain.loans import Loan, LoanStatus

OVERDUE_FREEZE_REASON = "overdue"


def partition_of(loan_id: str, partitions: int) -> int:
    """Stable partition of a loan id (the same on every worker and every run)."""
    return zlib.crc32(loan_id.encode()) % partitions


class LoanByLoanEndOfDay:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        new_id: Callable[[], str],
        batch: int = 500,
        rules: CostCapPolicy | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._new_id = new_id
        self._batch = batch
        self._rules = rules

    def run(
        self, business_date: dt.date, partition: int = 0, partitions: int = 1
    ) -> EndOfDaySummary:
        processed = posted = frozen = unfrozen = 0
        after = ""
        while True:
            with self._uow_factory() as uow:
                ids = uow.lending.loans.ids_needing_eod(business_date, after, self._batch)
            if not ids:
                break
            after = ids[-1]
            for loan_id in ids:
                if partition_of(loan_id, partitions) != partition:
                    continue
                entries, froze, unfroze = self._one_loan(loan_id, business_date)
                processed += 1
                posted += entries
                frozen += froze
                unfrozen += unfroze
        if processed:
            # Loan by loan is for small books: one record for the whole run.
            with self._uow_factory() as uow:
                uow.audit.record(
                    "system:eod",
                    "eod.run_done",
                    f"eod:{business_date.isoformat()}:{partition}/{partitions}",
                    {"loans": processed, "entries": posted, "frozen": frozen},
                )
                uow.commit()
        return EndOfDaySummary(business_date, processed, posted, frozen, unfrozen)

    def _one_loan(self, loan_id: str, business_date: dt.date) -> tuple[int, int, int]:
        with self._uow_factory() as uow:
            loan = uow.lending.loans.get(loan_id, for_update=True)
            repaid_before = loan.principal_repaid
            capped = None
            pricing = loan_pricing_in(uow, loan) if self._rules is not None else None
            if self._rules is not None and pricing is not None:
                capped = penalty_rate_on(
                    self._rules, pricing, loan.rules.penalty_rate, loan.terms.day_count
                )
            entries = loan.accrue_to(business_date, self._new_id, capped)
            # Money held from an overpayment can settle principal during end of day;
            # a revolving line gets that principal back just as with a repayment.
            repaid = loan.principal_repaid - repaid_before
            if repaid.is_positive() and loan.line_id is not None:
                line = uow.lending.lines.get(loan.line_id, for_update=True)
                line.restore(repaid)
                uow.lending.lines.save(line)
            froze, unfroze = _sync_line_freeze(uow, loan)
            uow.lending.loans.save(loan)
            uow.lending.ledger.append(entries, loan.borrower_id)
            uow.commit()
        return len(entries), froze, unfroze


def _sync_line_freeze(uow: UnitOfWork, loan: Loan) -> tuple[int, int]:
    """Freeze the line of a borrower who is overdue; unfreeze it once every loan on it is cured."""
    if loan.line_id is None:
        return 0, 0
    line = uow.lending.lines.get(loan.line_id, for_update=True)
    if loan.dpd > 0 and line.status is LineStatus.ACTIVE:
        line.freeze(OVERDUE_FREEZE_REASON)
        uow.lending.lines.save(line)
        return 1, 0
    if (
        loan.dpd == 0
        and line.status is LineStatus.FROZEN
        and line.freeze_reason == OVERDUE_FREEZE_REASON
    ):
        others = [
            other
            for other in uow.lending.loans.for_borrower(loan.borrower_id)
            if other.line_id == line.line_id
            and other.loan_id != loan.loan_id
            and other.status is LoanStatus.ACTIVE
        ]
        if all(other.dpd == 0 for other in others):
            line.unfreeze()
            uow.lending.lines.save(line)
            return 0, 1
    return 0, 0


def catch_up(
    runner: EndOfDayRunner, last_run: dt.date | None, business_date: dt.date
) -> list[EndOfDaySummary]:
    """Run every date after ``last_run`` up to ``business_date``, in order."""
    start = business_date if last_run is None else last_run + dt.timedelta(days=1)
    summaries: list[EndOfDaySummary] = []
    day = start
    while day <= business_date:
        summaries.append(runner.run(day))
        day += dt.timedelta(days=1)
    return summaries
