"""Payoff quotes, payoff in full, and partial prepayment."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from mobilend.domain.errors import ValidationFailed
from mobilend.domain.ledger import Account, EntryKind, JournalEntry, loan_balances
from mobilend.domain.loans import BackdatedOperation, Loan, LoanStatus, ServicingRules
from mobilend.domain.money import Money
from mobilend.domain.prepayment import (
    InsufficientPayoff,
    PrepaymentMode,
    pay_off,
    payoff_quote,
    prepay,
)
from mobilend.domain.schedules import generate_schedule
from mobilend.domain.terms import FeeKind, FeeRule, LoanTerms, RepaymentMethod

D = dt.date
START = D(2024, 1, 10)


def m(value: str) -> Money:
    return Money(value)


def new_loan(
    method: RepaymentMethod = RepaymentMethod.EQUAL_PRINCIPAL,
    principal: str = "3000",
    periods: int = 3,
    fees: tuple[FeeRule, ...] = (),
) -> Loan:
    """18 % a year, ACT/360, monthly from 2024-01-10: due 02-10 (31 d), 03-10 (29 d), 04-10 (31 d)."""
    terms = LoanTerms(
        principal=m(principal),
        periods=periods,
        annual_rate=Decimal("0.18"),
        method=method,
        start_date=START,
        fees=fees,
    )
    rules = ServicingRules(penalty_rate=Decimal("0.36"), penalty_grace_days=3)
    loan = Loan.create("L1", "B1", generate_schedule(terms), rules)
    return loan


class Book:
    def __init__(self, loan: Loan) -> None:
        self.loan = loan
        self.entries: list[JournalEntry] = []

    def post(self, entries: tuple[JournalEntry, ...] | list[JournalEntry]) -> None:
        self.entries.extend(entries)
        assert loan_balances(self.entries, "L1") == self.loan.ledger_balances()


def active(
    method: RepaymentMethod = RepaymentMethod.EQUAL_PRINCIPAL, **kw: object
) -> tuple[Loan, Book]:
    loan = new_loan(method, **kw)  # type: ignore[arg-type]
    book = Book(loan)
    book.post(loan.disburse(START))
    return loan, book


# --------------------------------------------------------------------------- quotes and payoff


def test_payoff_quote_mid_period_charges_interest_to_that_date_only() -> None:
    """Installment 1 interest is 3000 × 0.18 × 31/360 = 46.50 (1.50 a day).

    Paying off on 01-25 the money was out 15 nights (01-10..01-24): 22.50 of interest.
    """
    loan, book = active()
    before = loan.to_state()
    quote = payoff_quote(loan, D(2024, 1, 25))
    assert loan.to_state() == before  # a quote changes nothing
    assert (quote.principal, quote.interest, quote.fees, quote.penalty) == (
        m("3000.00"),
        m("22.50"),
        m("0"),
        m("0"),
    )
    assert quote.total == m("3022.50") == quote.amount_due
    result = pay_off(loan, quote.amount_due, D(2024, 1, 25))
    book.post(result.entries)
    assert result.closed and loan.status is LoanStatus.CLOSED
    assert loan.ledger_balances() == {
        Account.CASH: m("22.50"),
        Account.INTEREST_INCOME: m("-22.50"),
    }
    assert loan.installment(1).interest_scheduled == m("22.50")
    assert all(loan.installment(n).interest_scheduled.is_zero() for n in (2, 3))


def test_payoff_quote_on_a_due_date_owes_that_installment_in_full() -> None:
    loan, _ = active(fees=(FeeRule(FeeKind.PER_INSTALLMENT, amount=m("5")),))
    quote = payoff_quote(loan, D(2024, 2, 10))
    # Installment 1 is due that day: interest 46.50 and its 5.00 fee; period 2 has
    # not earned anything yet, and its fee is not yet due.
    assert (quote.principal, quote.interest, quote.fees) == (m("3000.00"), m("46.50"), m("5.00"))


def test_payoff_quote_includes_penalty_and_uses_money_held() -> None:
    loan, book = active()
    book.post(list(loan.accrue_to(D(2024, 2, 20))))
    quote = payoff_quote(loan, D(2024, 2, 21))
    # Penalty 02-14..02-20 on 1000.00 at 0.36/360 a day = 7.00; period 2 interest
    # 02-10..02-20 = 11 nights × 1.00 (2000 × 0.18 × 29/360 = 29.00 over 29 days).
    assert quote.penalty == m("7.00")
    assert quote.interest == m("46.50") + m("11.00")
    assert quote.credit_balance.is_zero()
    owed = quote.total
    result = loan.repay(m("1060.00"), D(2024, 2, 21))  # installment 1 is 1053.50 with penalty
    book.post(list(result.entries))
    later = payoff_quote(loan, D(2024, 2, 21))
    assert later.total == owed - m("1060.00")  # 6.50 went to installment 2 ahead of its date
    assert later.credit_balance.is_zero()


def test_payoff_uses_money_held_for_the_borrower() -> None:
    terms = LoanTerms(
        principal=m("3000"),
        periods=3,
        annual_rate=Decimal("0.18"),
        method=RepaymentMethod.EQUAL_PRINCIPAL,
        start_date=START,
    )
    rules = ServicingRules(pay_next_installment_early=False)
    loan = Loan.create("L1", "B1", generate_schedule(terms), rules)
    book = Book(loan)
    book.post(loan.disburse(START))
    book.post(list(loan.repay(m("800"), D(2024, 1, 20)).entries))  # nothing due: all held
    assert loan.held_credit == m("800")
    quote = payoff_quote(loan, D(2024, 1, 25))
    assert quote.credit_balance == m("800")
    assert quote.total == m("3022.50")
    assert quote.amount_due == m("2222.50")
    result = pay_off(loan, quote.amount_due, D(2024, 1, 25))
    book.post(list(result.entries))
    assert loan.status is LoanStatus.CLOSED
    assert loan.held_credit.is_zero()
    assert loan.ledger_balances() == {
        Account.CASH: m("22.50"),
        Account.INTEREST_INCOME: m("-22.50"),
    }


def test_insufficient_payoff_is_refused_and_the_loan_is_left_unchanged() -> None:
    loan, _ = active()
    before = loan.to_state()
    with pytest.raises(InsufficientPayoff) as caught:
        pay_off(loan, m("3022.49"), D(2024, 1, 25))
    assert caught.value.code == "payoff_insufficient"
    assert loan.to_state() == before


def test_paying_off_more_than_the_quote_holds_the_rest() -> None:
    loan, book = active()
    result = pay_off(loan, m("3100.00"), D(2024, 1, 25))
    book.post(list(result.entries))
    assert result.overpayment == m("77.50")
    assert loan.held_credit == m("77.50")
    book.post([loan.refund_credit(D(2024, 1, 26))])
    assert loan.ledger_balances()[Account.CASH] == m("22.50")


def test_payoff_dated_on_a_day_already_closed_by_end_of_day_is_refused() -> None:
    loan, _ = active()
    loan.accrue_to(D(2024, 1, 25))
    with pytest.raises(BackdatedOperation):
        payoff_quote(loan, D(2024, 1, 25))
    assert payoff_quote(loan, D(2024, 1, 26)).interest == m("24.00")  # 16 nights


# --------------------------------------------------------------------------- partial prepayment


def test_partial_prepayment_lower_installment_worked_example() -> None:
    """Prepay 1022.50 on 01-25: interest to date 22.50 (15 nights × 1.50), principal 1000.00.

    New principal 2000.00 over the same 3 periods from 01-25, equal principal:
      1: due 02-10 (16 days): principal 666.67, interest 2000 × 0.18 × 16/360 = 16.00
      2: due 03-10 (29 days): principal 666.67, interest 1333.33 × 0.18 × 29/360 = 19.33
      3: due 04-10 (31 days): principal 666.66, interest 666.66 × 0.18 × 31/360 = 10.33
    Installment 1 keeps its number and due date and now holds 22.50 + 16.00 interest and
    1000.00 + 666.67 principal, of which 22.50 and 1000.00 are paid.
    After it, interest accrues at 16.00/16 = 1.00 a night: a payoff on 01-30 owes
    5 nights (01-25..01-29) = 5.00 of interest on top of the 2000.00 principal.
    """
    loan, book = active()
    result = prepay(loan, m("1022.50"), D(2024, 1, 25), PrepaymentMode.LOWER_INSTALLMENT)
    book.post(list(result.entries))
    assert result.principal_prepaid == m("1000.00")
    assert (result.periods_before, result.periods_after) == (3, 3)
    rows = [
        (i.n, i.due_date, i.principal_due, i.interest_scheduled, i.paid.principal, i.paid.interest)
        for i in loan.installments
    ]
    assert rows == [
        (1, D(2024, 2, 10), m("1666.67"), m("38.50"), m("1000.00"), m("22.50")),
        (2, D(2024, 3, 10), m("666.67"), m("19.33"), m("0"), m("0")),
        (3, D(2024, 4, 10), m("666.66"), m("10.33"), m("0"), m("0")),
    ]
    assert sum((i.principal_due for i in loan.installments), m("0")) == loan.principal
    assert loan.outstanding_principal == m("2000.00")
    book.post(loan.accrue_to(D(2024, 1, 29)))
    quote = payoff_quote(loan, D(2024, 1, 30))
    assert (quote.principal, quote.interest) == (m("2000.00"), m("5.00"))
    book.post(loan.accrue_to(D(2024, 2, 9)))
    assert loan.installment(1).accrued == m("38.50")  # exactly, by the due date


def test_partial_prepayment_shorten_term_keeps_the_installment_and_drops_periods() -> None:
    """Same prepayment; the largest remaining installment (principal + interest) was 1046.50.

    One period would need 2000 + 16.00 = 2016.00; two periods need 1016.00 then
    1000 + 1000 × 0.18 × 29/360 = 1014.50, both within 1046.50: two periods.
    """
    loan, book = active()
    result = prepay(loan, m("1022.50"), D(2024, 1, 25), "shorten_term")
    book.post(list(result.entries))
    assert (result.periods_before, result.periods_after) == (3, 2)
    assert [(i.n, i.due_date) for i in loan.installments] == [
        (1, D(2024, 2, 10)),
        (2, D(2024, 3, 10)),
    ]
    assert loan.installment(1).unpaid.principal + loan.installment(1).unpaid.interest == m(
        "1016.00"
    )
    assert loan.installment(2).total_due == m("1014.50")
    assert sum((i.principal_due for i in loan.installments), m("0")) == loan.principal


def test_equal_installment_prepayment_lowers_the_installment_and_the_loan_runs_to_the_end() -> None:
    loan, book = active(RepaymentMethod.EQUAL_INSTALLMENT, principal="12000", periods=12)
    old_level = loan.installment(3).total_due
    for inst in loan.installments[:2]:
        book.post(list(loan.repay(inst.total_due, inst.due_date).entries))
    result = prepay(loan, m("5000"), D(2024, 4, 1), PrepaymentMode.LOWER_INSTALLMENT)
    book.post(list(result.entries))
    assert (result.periods_before, result.periods_after) == (10, 10)
    assert loan.installment(4).total_due < old_level
    assert sum((i.principal_due for i in loan.installments), m("0")) == loan.principal
    for inst in list(loan.installments):
        if not inst.is_settled:
            book.post(list(loan.repay(inst.unpaid.total, inst.due_date).entries))
    assert loan.status is LoanStatus.CLOSED
    assert loan.dpd == 0 and loan.held_credit.is_zero()


def test_equal_installment_shorten_term_never_raises_the_installment() -> None:
    loan, book = active(RepaymentMethod.EQUAL_INSTALLMENT, principal="12000", periods=12)
    largest = max(i.principal_due + i.interest_scheduled for i in loan.installments[1:])
    book.post(list(loan.repay(loan.installment(1).total_due, D(2024, 2, 10)).entries))
    result = prepay(loan, m("4000"), D(2024, 2, 20), PrepaymentMode.SHORTEN_TERM)
    book.post(list(result.entries))
    assert result.periods_after < result.periods_before == 11
    for inst in loan.installments[2:]:
        assert inst.principal_due + inst.interest_scheduled <= largest
    assert sum((i.principal_due for i in loan.installments), m("0")) == loan.principal


def test_shorten_term_does_not_apply_to_interest_first_loans() -> None:
    loan, _ = active(RepaymentMethod.INTEREST_FIRST)
    before = loan.to_state()
    with pytest.raises(ValidationFailed):
        prepay(loan, m("1500"), D(2024, 1, 25), PrepaymentMode.SHORTEN_TERM)
    assert loan.to_state() == before
    result = prepay(loan, m("1500"), D(2024, 1, 25), PrepaymentMode.LOWER_INSTALLMENT)
    assert result.principal_prepaid == m("1500") - m("22.50")
    assert loan.outstanding_principal == m("3000") - result.principal_prepaid


def test_a_prepayment_must_go_beyond_what_is_owed_now() -> None:
    loan, book = active()
    book.post(loan.accrue_to(D(2024, 2, 20)))
    before = loan.to_state()
    # Owed on 02-21: installment 1 with penalty 1053.50 + period 2 interest to date 11.00.
    with pytest.raises(ValidationFailed) as caught:
        prepay(loan, m("1064.50"), D(2024, 2, 21))
    assert "1064.50" in caught.value.problems[0].message
    assert loan.to_state() == before
    result = prepay(loan, m("1064.51"), D(2024, 2, 21))
    book.post(list(result.entries))
    assert result.principal_prepaid == m("0.01")
    assert loan.days_past_due(D(2024, 2, 21)) == 0


def test_a_prepayment_covering_everything_becomes_a_payoff() -> None:
    loan, book = active()
    result = prepay(loan, m("5000"), D(2024, 1, 25))
    book.post(list(result.entries))
    assert result.closed
    assert loan.status is LoanStatus.CLOSED
    assert loan.held_credit == m("5000") - m("3022.50")
    assert EntryKind.REPAYMENT in [e.kind for e in result.entries]


def test_prepayment_mode_is_checked() -> None:
    loan, _ = active()
    with pytest.raises(ValidationFailed):
        prepay(loan, m("1500"), D(2024, 1, 25), "skip_a_month")


def test_a_prepayment_leaving_less_than_a_multiple_a_period_drops_the_multiple() -> None:
    """12 000 rounded to multiples of 100: prepaying all but about 500 over the 10 periods
    left cannot repay 100 a period, so the new schedule is level to the fen instead of
    being refused (or paying off early and leaving installments of zero)."""
    terms = LoanTerms(
        principal=m("12000"), periods=12, annual_rate=Decimal("0.18"),
        method=RepaymentMethod.EQUAL_INSTALLMENT, start_date=START,
        installment_multiple=m("100"),
    )  # fmt: skip
    loan = Loan.create("L1", "B1", generate_schedule(terms), ServicingRules())
    book = Book(loan)
    book.post(loan.disburse(START))
    for inst in loan.installments[:2]:
        book.post(list(loan.repay(inst.total_due, inst.due_date).entries))
    outstanding = sum((i.unpaid.principal for i in loan.installments), m("0"))
    result = prepay(loan, outstanding - m("500"), D(2024, 3, 10))
    book.post(list(result.entries))
    left = [i.unpaid.total for i in loan.installments if not i.is_settled]
    assert len(left) == 10
    assert all(amount.is_positive() for amount in left)
    assert len(set(left[:-1])) == 1 and abs(left[-1].amount - left[0].amount) < 1
    assert left[0].amount % 100 != 0
