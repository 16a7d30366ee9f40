"""Fees collected for someone else (the phone product's insurer fee) are booked as payable
to that party when recognised, never as the lender's fee income."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from mobilend.domain.daycount import DayCount
from mobilend.domain.ledger import Account, EntryKind, JournalEntry, balances, loan_balances
from mobilend.domain.loans import Loan, ServicingRules
from mobilend.domain.money import Money
from mobilend.domain.schedules import generate_schedule
from mobilend.domain.terms import FeeKind, FeeRule, LoanTerms, RepaymentMethod

START = dt.date(2026, 1, 10)
INSURER = "third_party_payable:insurer"


def m(value: str) -> Money:
    return Money(value)


def loan_with(*fees: FeeRule) -> Loan:
    terms = LoanTerms(
        principal=m("3000"),
        periods=3,
        annual_rate=Decimal("0.12"),
        method=RepaymentMethod.EQUAL_PRINCIPAL,
        start_date=START,
        day_count=DayCount.THIRTY_360,
        fees=fees,
    )
    return Loan.create("L1", "B1", generate_schedule(terms), ServicingRules())


def by_account(entries: list[JournalEntry]) -> dict[str, Money]:
    return {account: amount for (account, _), amount in balances(entries).items()}


def test_an_insurer_fee_falling_due_is_payable_to_the_insurer() -> None:
    loan = loan_with(
        FeeRule(FeeKind.PER_INSTALLMENT, amount=m("5.00"), payee="insurer"),
        FeeRule(FeeKind.PER_INSTALLMENT, amount=m("10.00")),
    )
    entries = list(loan.disburse(START))
    entries += loan.accrue_to(dt.date(2026, 2, 10))  # installment 1 falls due
    fee = [e for e in entries if e.kind is EntryKind.FEE]
    assert len(fee) == 1
    posted = {p.account: p.amount for p in fee[0].postings}
    # 15.00 receivable: 10.00 is the lender's income, 5.00 is owed to the insurer.
    assert posted == {"fee_receivable": m("15.00"), INSURER: m("-5.00"), "fee_income": m("-10.00")}
    assert loan.third_party_fees() == {"insurer": m("5.00")}
    assert loan_balances(entries, "L1") == loan.ledger_balances()
    assert loan.ledger_balances()[Account.THIRD_PARTY_PAYABLE] == m("-5.00")
    # Paying the fee early with installment 2 ahead of its date: recognised on payment,
    # the insurer's part payable too.
    result = loan.repay(loan.installment(1).unpaid.total + m("1200.00"), dt.date(2026, 2, 11))
    entries += result.entries
    assert by_account(entries)[INSURER] == m("-10.00")
    assert by_account(entries)["fee_income"] == m("-20.00")
    assert loan_balances(entries, "L1") == loan.ledger_balances()


def test_a_cancelled_loan_owes_the_insurer_nothing() -> None:
    loan = loan_with(FeeRule(FeeKind.UPFRONT, amount=m("20.00"), payee="insurer"))
    entries = list(loan.disburse(START))
    assert by_account(entries)[INSURER] == m("-20.00")
    assert "fee_income" not in by_account(entries)
    entries += loan.cancel(START)
    assert loan.ledger_balances() == {}
    assert INSURER not in by_account(entries) and "fee_income" not in by_account(entries)
