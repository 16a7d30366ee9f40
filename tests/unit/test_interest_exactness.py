"""Interest runs to the day of payment: hand-computed figures for an installment paid
ahead of its date and for a partial prepayment on a flat-rate (等本等息) loan.

Both loans: 12,000.00 at 12 % a year, 12 monthly periods, 30/360, from 2026-01-10 (every
period is 30 days; 1 % a month). Payments are dated 2026-01-20: 10 days into period 1,
interest through the end of 01-19.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from mobilend.domain.daycount import DayCount
from mobilend.domain.ledger import JournalEntry, loan_balances
from mobilend.domain.loans import Loan, ServicingRules
from mobilend.domain.money import Money
from mobilend.domain.prepayment import PrepaymentMode, prepay
from mobilend.domain.schedules import generate_schedule
from mobilend.domain.terms import LoanTerms, RepaymentMethod

START = dt.date(2026, 1, 10)
PAID_ON = dt.date(2026, 1, 20)


def m(value: str) -> Money:
    return Money(value)


def loan_of(method: RepaymentMethod) -> tuple[Loan, list[JournalEntry]]:
    terms = LoanTerms(
        principal=m("12000"),
        periods=12,
        annual_rate=Decimal("0.12"),
        method=method,
        start_date=START,
        day_count=DayCount.THIRTY_360,
    )
    loan = Loan.create("L1", "B1", generate_schedule(terms), ServicingRules())
    return loan, list(loan.disburse(START))


def balanced(loan: Loan, entries: list[JournalEntry]) -> bool:
    return loan_balances(entries, loan.loan_id) == loan.ledger_balances()


def test_next_installment_paid_early_is_charged_interest_to_the_day_of_payment() -> None:
    loan, entries = loan_of(RepaymentMethod.EQUAL_PRINCIPAL)
    first = loan.installment(1)
    assert (first.principal_due, first.interest_scheduled) == (m("1000.00"), m("120.00"))
    # 10 days on 12,000 at 1 % a month: 12,000 × 0.01 × 10/30 = 40.00; the 20 days left
    # run only on the 11,000 still out: 11,000 × 0.01 × 20/30 = 73.33. 1,113.33, not 1,120.
    items = loan.open_items(PAID_ON)
    assert sum((i.amount for i in items), m("0")) == m("1113.33")
    result = loan.repay(m("1113.33"), PAID_ON)
    entries += result.entries
    assert result.overpayment.is_zero()
    assert first.is_settled and first.settled_on == PAID_ON
    assert first.interest_scheduled == m("113.33")
    assert balanced(loan, entries)
    # Nothing more accrues on installment 1; installment 2 is untouched (11,000 × 1 %).
    entries += loan.accrue_to(dt.date(2026, 2, 10))
    assert first.accrued == m("113.33")
    assert loan.installment(2).interest_scheduled == m("110.00")
    assert balanced(loan, entries)


def test_part_of_the_next_installment_paid_early_keeps_interest_on_what_stays_out() -> None:
    loan, entries = loan_of(RepaymentMethod.EQUAL_PRINCIPAL)
    # 540.00 pays interest first, offered as if the whole 1,000 came back (113.33), then
    # 426.67 of principal. Only that much came back, so the period's interest is
    # 40.00 + 80 × (12,000 − 426.67) / 12,000 = 117.16, and 3.83 stays owed at the due date.
    result = loan.repay(m("540.00"), PAID_ON)
    entries += result.entries
    first = loan.installment(1)
    paid = first.paid
    assert paid.interest == m("113.33")
    assert paid.principal == m("426.67")
    assert first.interest_scheduled == m("117.16")
    assert first.unpaid.principal == m("573.33")
    assert first.unpaid.interest == m("3.83")
    assert balanced(loan, entries)
    entries += loan.accrue_to(dt.date(2026, 2, 10))
    assert first.accrued == m("117.16")
    assert balanced(loan, entries)


def test_flat_partial_prepayment_charges_the_rest_of_the_period_pro_rata() -> None:
    loan, entries = loan_of(RepaymentMethod.FLAT)
    first = loan.installment(1)
    assert (first.principal_due, first.interest_scheduled) == (m("1000.00"), m("120.00"))
    # 6,040.00 on day 10: 40.00 interest to date (12,000 × 0.01 × 10/30), 6,000.00 of
    # principal. The 20 days left run on the 6,000 still out: 6,000 × 0.12 × 20/360 =
    # 40.00. Installment 1 carries 80.00 of interest, not 40 + a whole period (100.00).
    result = prepay(loan, m("6040.00"), PAID_ON, PrepaymentMode.LOWER_INSTALLMENT)
    entries += result.entries
    assert result.principal_prepaid == m("6000.00")
    assert first.interest_scheduled == m("80.00")
    assert first.unpaid.interest == m("40.00")
    assert first.unpaid.principal == m("500.00")  # 6,000 over the 12 periods left
    # Later periods: flat on 6,000 → 60.00 a month.
    assert loan.installment(2).interest_scheduled == m("60.00")
    assert loan.outstanding_principal == m("6000.00")
    assert balanced(loan, entries)
    entries += loan.accrue_to(dt.date(2026, 2, 9))
    assert first.accrued == m("80.00")
    assert balanced(loan, entries)


def test_equal_principal_partial_prepayment_matches_the_flat_figures() -> None:
    """The balance-based path the flat one now follows: the same 80.00."""
    loan, _ = loan_of(RepaymentMethod.EQUAL_PRINCIPAL)
    prepay(loan, m("6040.00"), PAID_ON, PrepaymentMode.LOWER_INSTALLMENT)
    assert loan.installment(1).interest_scheduled == m("80.00")
