"""Loan properties over random products and random servicing histories (hypothesis).

The central one: whatever happens to a loan — end-of-day runs over any dates,
partial, full and over-payments, prepayments, payoffs, refunds, write-off,
recovery — the balances folded from the journal entries it returned equal the
balances the loan itself holds, and every entry balances.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from strategies_loans import loan_terms

from mobilend.domain.allocation import AllocationOrder, Component, Waterfall
from mobilend.domain.daycount import PeriodUnit
from mobilend.domain.errors import DomainError
from mobilend.domain.ledger import EntryKind, JournalEntry, loan_balances
from mobilend.domain.loans import Loan, LoanStatus, ServicingRules
from mobilend.domain.money import Money
from mobilend.domain.prepayment import PrepaymentMode, pay_off, payoff_quote, prepay
from mobilend.domain.schedules import generate_schedule
from mobilend.domain.terms import LoanTerms

ONE_DAY = dt.timedelta(days=1)
SETTINGS = settings(max_examples=60, deadline=None)

#: Up to 12 periods a loan, so a whole life stays a few hundred business dates.
short_terms = loan_terms(
    max_periods=12, units=(PeriodUnit.MONTHS, PeriodUnit.WEEKS, PeriodUnit.DAYS)
)

rules_strategy = st.builds(
    ServicingRules,
    penalty_rate=st.integers(0, 7300).map(lambda bp: Decimal(bp) / 10000),
    penalty_grace_days=st.integers(0, 5),
    waterfall=st.builds(
        Waterfall,
        order=st.sampled_from(AllocationOrder),
        components=st.permutations(list(Component)).map(tuple),
    ),
    pay_next_installment_early=st.booleans(),
)

#: (kind, weight in percent): terminal operations are rare so histories run long.
OPERATION_WEIGHTS = (
    ("eod", 35),
    ("repay", 25),
    ("pay", 12),
    ("prepay", 12),
    ("refund", 5),
    ("payoff", 4),
    ("write_off", 3),
    ("recover", 2),
    ("cancel", 2),
)


@st.composite
def operation(draw: st.DrawFn) -> tuple[object, ...]:
    roll = draw(st.integers(0, 99))
    kind = OPERATION_WEIGHTS[-1][0]
    for name, weight in OPERATION_WEIGHTS:
        if roll < weight:
            kind = name
            break
        roll -= weight
    if kind == "eod":
        return (kind, draw(st.integers(1, 45)))
    if kind == "repay":
        return (kind, draw(st.integers(1, 150)))  # percent of what is owed now
    if kind == "pay":
        return (kind, draw(st.integers(1, 500_000)))  # an arbitrary amount in fen
    if kind == "prepay":
        return (kind, draw(st.integers(1, 100)), draw(st.sampled_from(PrepaymentMode)))
    if kind == "payoff":
        return (kind, draw(st.integers(0, 10_000)))  # fen above the quote
    if kind == "recover":
        return (kind, draw(st.integers(1, 100_000)))
    return (kind, 0)


operations = st.lists(operation(), min_size=5, max_size=40)


def check_invariants(loan: Loan, entries: list[JournalEntry]) -> None:
    for entry in entries:
        assert sum(p.amount.to_minor() for p in entry.postings) == 0
    assert loan_balances(entries, loan.loan_id) == loan.ledger_balances()
    zero = Money.zero(loan.currency)
    assert sum((i.principal_due for i in loan.installments), zero) == loan.principal
    for inst in loan.installments:
        paid = inst.paid
        assert zero <= paid.principal <= inst.principal_due
        assert zero <= paid.interest <= inst.accrued <= inst.interest_scheduled
        assert zero <= paid.fees <= inst.charged <= inst.fees_due
        assert zero <= paid.penalty <= inst.penalty
    assert not loan.held_credit.is_negative()
    assert Loan.from_state(loan.to_state()) == loan


def today(loan: Loan) -> dt.date:
    assert loan.accrued_through is not None
    return loan.accrued_through + ONE_DAY


def run(loan: Loan, op: tuple[object, ...], entries: list[JournalEntry]) -> None:
    kind, value = op[0], op[1]
    assert isinstance(value, int)
    on = today(loan)
    if kind == "eod":
        entries += loan.accrue_to(on + dt.timedelta(days=value - 1))
    elif kind == "repay":
        owed = sum((i.amount for i in loan.open_items(on)), Money.zero(loan.currency))
        amount = (owed * (Decimal(value) / 100)).round().max(Money("0.01", loan.currency))
        entries += loan.repay(amount, on, cash_account="cash:rail:clearing").entries
    elif kind == "pay":
        entries += loan.repay(Money.from_minor(value, loan.currency), on).entries
    elif kind == "prepay":
        mode = op[2]
        assert isinstance(mode, PrepaymentMode)
        quote = payoff_quote(loan, on)
        amount = (quote.total * (Decimal(value) / 100)).round().max(Money("0.01", loan.currency))
        entries += prepay(loan, amount, on, mode).entries
    elif kind == "payoff":
        quote = payoff_quote(loan, on)
        entries += pay_off(
            loan, quote.amount_due + Money.from_minor(value, loan.currency), on
        ).entries
    elif kind == "refund":
        entries.append(loan.refund_credit(on))
    elif kind == "write_off":
        entries.append(loan.write_off(on))
    elif kind == "recover":
        entries.append(loan.recover(Money.from_minor(value, loan.currency), on))
    elif kind == "cancel":
        entries += loan.cancel(on)


@settings(max_examples=100, deadline=None)
@given(terms=short_terms, rules=rules_strategy, ops=operations)
def test_balances_rebuilt_from_postings_equal_the_loan_after_any_history(
    terms: LoanTerms, rules: ServicingRules, ops: list[tuple[object, ...]]
) -> None:
    loan = Loan.create("L1", "B1", generate_schedule(terms), rules)
    entries: list[JournalEntry] = list(loan.disburse(terms.start_date))
    check_invariants(loan, entries)
    for op in ops:
        before = loan.to_state()
        count = len(entries)
        try:
            run(loan, op, entries)
        except DomainError:
            # A refusal changes nothing and posts nothing.
            assert loan.to_state() == before
            del entries[count:]
        check_invariants(loan, entries)
    # Running the last business date again changes nothing.
    if loan.accrued_through is not None:
        state = loan.to_state()
        assert loan.accrue_to(loan.accrued_through) == []
        assert loan.to_state() == state
    if loan.status is LoanStatus.CLOSED:
        assert all(i.is_settled for i in loan.installments)
        assert loan.outstanding_principal.is_zero()


@SETTINGS
@given(terms=short_terms)
def test_accrual_to_maturity_recognises_exactly_the_scheduled_interest(terms: LoanTerms) -> None:
    schedule = generate_schedule(terms)
    loan = Loan.create("L1", "B1", schedule)
    entries = list(loan.disburse(terms.start_date))
    maturity = schedule.maturity_date
    entries += loan.accrue_to(maturity)
    for inst in loan.installments:
        assert inst.accrued == inst.interest_scheduled
    accrued = sum(
        (e.total_debits for e in entries if e.kind is EntryKind.ACCRUAL), Money.zero(loan.currency)
    )
    assert accrued == schedule.total_interest
    assert loan.accrue_to(maturity) == []
    check_invariants(loan, entries)


@SETTINGS
@given(terms=short_terms, data=st.data())
def test_payoff_at_any_date_closes_the_loan_and_charges_no_more_than_the_schedule(
    terms: LoanTerms, data: st.DataObject
) -> None:
    schedule = generate_schedule(terms)
    loan = Loan.create("L1", "B1", schedule)
    entries = list(loan.disburse(terms.start_date))
    days = (schedule.maturity_date - terms.start_date).days
    on = terms.start_date + dt.timedelta(days=data.draw(st.integers(0, days)))
    entries += loan.accrue_to(on - ONE_DAY)
    quote = payoff_quote(loan, on)
    assert quote.principal == terms.principal
    # Interest to date never exceeds the interest of the periods begun so far.
    begun = [i for i in loan.installments if i.period_start < on or i.due_date <= on]
    assert quote.interest <= sum((i.interest_scheduled for i in begun), Money.zero(loan.currency))
    entries += pay_off(loan, quote.amount_due, on).entries
    assert loan.status is LoanStatus.CLOSED
    check_invariants(loan, entries)
