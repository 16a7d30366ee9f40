"""The Loan aggregate: state machine, accrual, aging, penalty, repayment, ledger."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from mobilend.domain.allocation import Component
from mobilend.domain.daycount import DayCount, Frequency, PeriodUnit
from mobilend.domain.errors import Conflict, ValidationFailed
from mobilend.domain.ledger import Account, EntryKind, JournalEntry, loan_balances
from mobilend.domain.loans import (
    BackdatedOperation,
    InstallmentKind,
    InstallmentStatus,
    Loan,
    LoanNotActive,
    LoanStatus,
    ServicingRules,
)
from mobilend.domain.money import Money, RoundingMode
from mobilend.domain.prepayment import pay_off, payoff_quote
from mobilend.domain.products import LoanProduct
from mobilend.domain.schedules import generate_schedule
from mobilend.domain.terms import FeeKind, FeeRule, LoanTerms, RepaymentMethod

D = dt.date


def m(value: str) -> Money:
    return Money(value)


def product(**overrides: object) -> LoanProduct:
    fields: dict[str, object] = {
        "code": "demo",
        "name": "Demo",
        "min_amount": m("100"),
        "max_amount": m("50000"),
        "min_periods": 1,
        "max_periods": 36,
        "annual_rate": Decimal("0.18"),
        "method": RepaymentMethod.EQUAL_PRINCIPAL,
        "penalty_rate": Decimal("0.36"),
        "penalty_grace_days": 3,
        "fees": (FeeRule(FeeKind.PER_INSTALLMENT, amount=m("5.00")),),
    }
    fields.update(overrides)
    return LoanProduct.create(**fields)


def new_loan(
    principal: str = "3000", periods: int = 3, start: dt.date = D(2024, 1, 10), **overrides: object
) -> Loan:
    prod = product(**overrides)
    schedule = generate_schedule(prod.terms_for(m(principal), periods, start))
    return Loan.create("L1", "B1", schedule, prod)


class Book:
    """Collects every entry a loan returns, and checks the ledger against the loan."""

    def __init__(self, loan: Loan) -> None:
        self.loan = loan
        self.entries: list[JournalEntry] = []

    def post(self, entries: list[JournalEntry] | tuple[JournalEntry, ...] | JournalEntry) -> None:
        batch = [entries] if isinstance(entries, JournalEntry) else list(entries)
        self.entries.extend(batch)
        assert loan_balances(self.entries, self.loan.loan_id) == self.loan.ledger_balances()

    def kinds(self) -> list[EntryKind]:
        return [e.kind for e in self.entries]


# --------------------------------------------------------------------------- worked example


def test_worked_example_day_by_day() -> None:
    """A 3,000.00 loan walked through due, grace, overdue, penalty, buckets, cure and payoff.

    Product: equal principal (等额本金), 18 % a year on ACT/360, 3 monthly periods,
    5.00 fee per installment, penalty 36 % a year on overdue principal after 3 grace days.
    Disbursed 2024-01-10; due 02-10 (31 days), 03-10 (29 days, leap year), 04-10 (31 days).

    Schedule:
      1: principal 1000, interest 3000 × 0.18 × 31/360 = 46.50, fees 5 → 1051.50
      2: principal 1000, interest 2000 × 0.18 × 29/360 = 29.00, fees 5 → 1034.00
      3: principal 1000, interest 1000 × 0.18 × 31/360 = 15.50, fees 5 → 1020.50
    Daily accrual: 46.50/31 = 1.50 a day in period 1; 29.00/29 = 1.00 in period 2;
    15.50/31 = 0.50 in period 3.
      EOD 01-10: 1.50; EOD 01-24: 15 days = 22.50; EOD 02-09: 31 days = 46.50 (all of it).
    02-10 due date: installment 1 is due; fee 5.00 recognised; period 2 accrues 1.00.
    02-11..02-13: overdue, DPD 1..3 (M1), inside the 3 grace days: no penalty.
    Penalty per day on 1000.00 overdue principal: 1000 × 0.36/360 = 1.00.
      EOD 02-14 (DPD 4): 1.00; EOD 02-20 (DPD 10): 7 days = 7.00.
    02-21 pays 500.00: penalty 7.00, fees 5.00, interest 46.50, principal 441.50;
      overdue principal 1000 − 441.50 = 558.50, daily penalty 0.5585.
      EOD 02-21: exact 7.5585 → posted 7.56.
    02-21..03-12 is 21 days: exact 7 + 21 × 0.5585 = 18.7285 → posted 18.73.
    03-10 installment 2 falls due (fee 5.00); 03-11 DPD still counts from 02-10: 30 (M1);
      03-12: DPD 31 → M2. Period 3 accrued 03-10..03-12 = 3 × 0.50 = 1.50.
    03-13 pays 1604.23 = installment 1 (penalty 18.73 − 7.00 = 11.73, principal 558.50)
      + installment 2 (fees 5.00, interest 29.00, principal 1000.00) → DPD 0, bucket C (cured).
    EOD through 03-19: period 3 accrued 10 days = 5.00.
    03-20 payoff quote: principal 1000.00 + interest to date 5.00 (installment 3's fee is not
      yet due, so not owed) = 1005.00. Paying it closes the loan.
    Totals: cash in 500 + 1604.23 + 1005.00 = 3109.23 = principal 3000 + interest
      (46.50 + 29.00 + 5.00 = 80.50) + fees 10.00 + penalty 18.73.
    """
    loan = new_loan()
    book = Book(loan)
    assert [
        (i.n, i.principal_due, i.interest_scheduled, i.fees_due) for i in loan.installments
    ] == [
        (1, m("1000.00"), m("46.50"), m("5.00")),
        (2, m("1000.00"), m("29.00"), m("5.00")),
        (3, m("1000.00"), m("15.50"), m("5.00")),
    ]
    book.post(loan.disburse(D(2024, 1, 10)))
    assert loan.status is LoanStatus.ACTIVE

    def day(d: dt.date) -> None:
        book.post(loan.accrue_to(d))

    inst1, inst2, inst3 = loan.installment(1), loan.installment(2), loan.installment(3)
    day(D(2024, 1, 10))
    assert inst1.accrued == m("1.50")
    day(D(2024, 1, 24))
    assert inst1.accrued == m("22.50")
    assert loan.accrued_interest_not_due() == m("22.50")
    day(D(2024, 2, 9))
    assert inst1.accrued == m("46.50") == inst1.interest_scheduled
    assert loan.installment_statuses()[1] is InstallmentStatus.SCHEDULED

    day(D(2024, 2, 10))
    assert loan.installment_statuses()[1] is InstallmentStatus.DUE
    assert inst1.charged == m("5.00")
    assert inst2.accrued == m("1.00")
    assert (loan.dpd, loan.bucket().code) == (0, "C")

    for d, dpd in ((D(2024, 2, 11), 1), (D(2024, 2, 12), 2), (D(2024, 2, 13), 3)):
        day(d)
        assert loan.dpd == dpd
        assert loan.bucket().code == "M1"
        assert inst1.penalty.is_zero()  # grace days
    assert loan.installment_statuses()[1] is InstallmentStatus.OVERDUE

    day(D(2024, 2, 14))
    assert inst1.penalty == m("1.00")
    day(D(2024, 2, 20))
    assert inst1.penalty == m("7.00")
    assert loan.dpd == 10

    result = loan.repay(m("500.00"), D(2024, 2, 21))
    book.post(result.entries)
    assert [(x.installment, x.component, x.amount) for x in result.allocation.lines] == [
        (1, Component.PENALTY, m("7.00")),
        (1, Component.FEES, m("5.00")),
        (1, Component.INTEREST, m("46.50")),
        (1, Component.PRINCIPAL, m("441.50")),
    ]
    assert result.principal_repaid == m("441.50")
    assert loan.installment_statuses(D(2024, 2, 21))[1] is InstallmentStatus.OVERDUE

    day(D(2024, 2, 21))
    assert inst1.penalty == m("7.56")
    assert inst1.penalty_exact == Decimal("7.5585")
    day(D(2024, 3, 11))
    assert (loan.dpd, loan.bucket().code) == (30, "M1")
    assert inst2.charged == m("5.00")
    day(D(2024, 3, 12))
    assert (loan.dpd, loan.bucket().code) == (31, "M2")
    assert inst1.penalty == m("18.73")
    assert inst2.penalty.is_zero()  # installment 2 is only 2 days late: still in grace
    assert inst3.accrued == m("1.50")

    result = loan.repay(m("1604.23"), D(2024, 3, 13))
    book.post(result.entries)
    assert result.overpayment.is_zero()
    assert result.allocation.by_component(1).penalty == m("11.73")
    assert result.allocation.by_component(2).total == m("1034.00")
    assert loan.days_past_due(D(2024, 3, 13)) == 0
    assert loan.bucket(on=D(2024, 3, 13)).code == "C"
    assert loan.installment_statuses(D(2024, 3, 13)) == {
        1: InstallmentStatus.PAID,
        2: InstallmentStatus.PAID,
        3: InstallmentStatus.SCHEDULED,
    }
    day(D(2024, 3, 19))
    assert inst3.accrued == m("5.00")
    assert loan.max_dpd == 31

    quote = payoff_quote(loan, D(2024, 3, 20))
    assert (quote.principal, quote.interest, quote.fees, quote.penalty) == (
        m("1000.00"),
        m("5.00"),
        m("0"),
        m("0"),
    )
    result = pay_off(loan, quote.amount_due, D(2024, 3, 20))
    book.post(result.entries)
    assert loan.status is LoanStatus.CLOSED
    assert loan.closed_on == D(2024, 3, 20)
    assert loan.ledger_balances() == {
        Account.CASH: m("109.23"),
        Account.INTEREST_INCOME: m("-80.50"),
        Account.FEE_INCOME: m("-10.00"),
        Account.PENALTY_INCOME: m("-18.73"),
    }
    assert book.loan.accrue_to(D(2024, 4, 30)) == []


# --------------------------------------------------------------------------- accrual


@pytest.mark.parametrize("method", list(RepaymentMethod))
@pytest.mark.parametrize("day_count", list(DayCount))
@pytest.mark.parametrize("rounding", list(RoundingMode))
def test_accrual_over_each_full_period_equals_the_scheduled_interest(
    method: RepaymentMethod, day_count: DayCount, rounding: RoundingMode
) -> None:
    terms = LoanTerms(
        principal=m("7777.77"),
        periods=4,
        annual_rate=Decimal("0.2345"),
        method=method,
        start_date=D(2024, 1, 31),
        day_count=day_count,
        rounding=rounding,
        first_due_date=D(2024, 2, 29),
    )
    loan = Loan.create("L1", "B1", generate_schedule(terms))
    book = Book(loan)
    book.post(loan.disburse(terms.start_date))
    for inst in loan.installments:
        book.post(loan.accrue_to(inst.due_date - dt.timedelta(days=1)))
        assert inst.accrued == inst.interest_scheduled
        # The next period has not begun: nothing accrued on it yet.
        assert all(
            i.accrued.is_zero()
            for i in loan.installments
            if i.period_start > inst.due_date - dt.timedelta(days=1)
        )
    daily = [e for e in book.entries if e.kind is EntryKind.ACCRUAL]
    assert sum(e.total_debits.amount for e in daily) == sum(
        i.interest_scheduled.amount for i in loan.installments
    )


def test_accrual_is_idempotent_by_business_date() -> None:
    loan = new_loan()
    loan.disburse(D(2024, 1, 10))
    first = loan.accrue_to(D(2024, 1, 20))
    assert len(first) == 11  # one accrual entry per business date 01-10..01-20
    state = loan.to_state()
    assert loan.accrue_to(D(2024, 1, 20)) == []
    assert loan.accrue_to(D(2024, 1, 15)) == []
    assert loan.to_state() == state


def test_accrual_catches_up_missed_dates_in_order() -> None:
    caught_up = new_loan()
    caught_up.disburse(D(2024, 1, 10))
    daily = new_loan()
    daily.disburse(D(2024, 1, 10))
    entries_caught_up = caught_up.accrue_to(D(2024, 3, 1))
    entries_daily: list[JournalEntry] = []
    d = D(2024, 1, 10)
    while d <= D(2024, 3, 1):
        entries_daily += daily.accrue_to(d)
        d += dt.timedelta(days=1)
    assert caught_up.to_state() == daily.to_state()
    assert [(e.kind, e.business_date, e.postings) for e in entries_caught_up] == [
        (e.kind, e.business_date, e.postings) for e in entries_daily
    ]


def test_thirty_360_earns_nothing_on_the_night_of_the_30th_but_still_sums_exactly() -> None:
    """30E/360 counts Jan 30 → Jan 31 as 0 days and Jan 31 → Feb 1 as 1 day (31st = 30th)."""
    loan = new_loan(start=D(2024, 1, 1), day_count=DayCount.THIRTY_360, fees=())
    loan.disburse(D(2024, 1, 1))
    inst1 = loan.installment(1)
    loan.accrue_to(D(2024, 1, 29))
    accrued = inst1.accrued
    assert accrued == Money(inst1.interest_scheduled.amount * 29 / 30).round()
    assert loan.accrue_to(D(2024, 1, 30)) == []
    assert inst1.accrued == accrued
    loan.accrue_to(D(2024, 1, 31))
    assert inst1.accrued == inst1.interest_scheduled


def test_a_pending_loan_neither_accrues_nor_takes_payments() -> None:
    loan = new_loan()
    assert loan.accrue_to(D(2024, 2, 1)) == []
    with pytest.raises(LoanNotActive):
        loan.repay(m("10"), D(2024, 1, 11))


# --------------------------------------------------------------------------- payments


def test_overpayment_is_held_and_settles_the_next_installment_when_it_falls_due() -> None:
    loan = new_loan(fees=())
    book = Book(loan)
    book.post(loan.disburse(D(2024, 1, 10)))
    # Nothing is due on 01-15: the payment settles installment 1 ahead of its date. Its
    # interest runs to the day of payment on the 1,000 it brings back early: 5 days of
    # 1.50 on 3,000 (7.50) + the 26 days left on the 2,000 still out
    # (39.00 × 2,000 / 3,000 = 26.00) = 33.50, not the full 46.50. 1,033.50 settles it
    # and the 113.00 beyond it is held.
    result = loan.repay(m("1146.50"), D(2024, 1, 15))
    book.post(result.entries)
    assert result.overpayment == m("113.00")
    assert loan.held_credit == m("113.00")
    assert loan.installment(1).is_settled
    assert loan.installment(1).interest_scheduled == m("33.50")
    assert loan.installment(1).settled_on == D(2024, 1, 15)
    # Catching up accrued 01-10..01-14 (5 × 1.50); paying interest ahead of accrual
    # recognised the remaining 26.00 first.
    accruals = [e.total_debits for e in result.entries if e.kind is EntryKind.ACCRUAL]
    assert accruals == [m("1.50")] * 5 + [m("26.00")]
    book.post(loan.accrue_to(D(2024, 2, 10)))
    assert loan.installment(1).accrued == m("33.50")  # daily accrual added nothing more
    book.post(loan.accrue_to(D(2024, 3, 9)))
    assert loan.installment(2).paid.total.is_zero()
    book.post(loan.accrue_to(D(2024, 3, 10)))
    assert book.kinds()[-1] is EntryKind.CREDIT_APPLICATION
    inst2 = loan.installment(2)
    assert (inst2.paid.interest, inst2.paid.principal) == (m("29.00"), m("84.00"))
    assert loan.held_credit.is_zero()
    assert loan.days_past_due(D(2024, 3, 10)) == 0


def test_credit_closing_the_loan_leaves_the_rest_to_refund() -> None:
    loan = new_loan(fees=(), periods=1)
    book = Book(loan)
    book.post(loan.disburse(D(2024, 1, 10)))
    result = loan.repay(m("4000"), D(2024, 1, 20))
    book.post(result.entries)
    assert result.closed
    assert loan.status is LoanStatus.CLOSED
    # Interest to the day of payment only: 10 days of 1.50 on the 3,000 repaid early.
    assert loan.held_credit == m("4000") - m("3015.00")
    book.post(loan.refund_credit(D(2024, 1, 21)))
    assert loan.held_credit.is_zero()
    assert EntryKind.REFUND in book.kinds()
    with pytest.raises(ValidationFailed):
        loan.refund_credit(D(2024, 1, 22))


def test_payments_cannot_be_dated_before_an_end_of_day_already_run() -> None:
    loan = new_loan()
    loan.disburse(D(2024, 1, 10))
    loan.accrue_to(D(2024, 2, 1))
    before = loan.to_state()
    with pytest.raises(BackdatedOperation):
        loan.repay(m("10"), D(2024, 1, 31))
    assert loan.to_state() == before
    loan.repay(m("10"), D(2024, 2, 1))  # the business date itself is fine


def test_repayment_catches_up_end_of_day_to_the_day_before() -> None:
    loan = new_loan()
    loan.disburse(D(2024, 1, 10))
    result = loan.repay(m("1051.50"), D(2024, 2, 10))
    assert loan.accrued_through == D(2024, 2, 9)
    assert result.entries[0].kind is EntryKind.ACCRUAL
    assert result.entries[-1].kind is EntryKind.REPAYMENT
    assert loan.installment(1).is_settled
    assert loan.installment_statuses(D(2024, 2, 10))[1] is InstallmentStatus.PAID


def test_partial_payment_before_due_date_marks_partially_paid() -> None:
    loan = new_loan()
    loan.disburse(D(2024, 1, 10))
    loan.repay(m("10.00"), D(2024, 2, 1))
    assert loan.installment_statuses(D(2024, 2, 1))[1] is InstallmentStatus.PARTIALLY_PAID


def test_money_never_moves_without_an_entry_and_amounts_are_checked() -> None:
    loan = new_loan()
    loan.disburse(D(2024, 1, 10))
    for bad in (m("0"), m("-1"), m("0.001"), Money("5", "USD")):
        with pytest.raises(ValidationFailed):
            loan.repay(bad, D(2024, 1, 11))


# --------------------------------------------------------------------------- state machine


def test_disbursement_must_match_the_schedule_and_happens_once() -> None:
    loan = new_loan()
    with pytest.raises(Conflict):
        loan.disburse(D(2024, 1, 11))
    entries = loan.disburse(D(2024, 1, 10))
    assert [e.kind for e in entries] == [EntryKind.DISBURSEMENT]
    assert entries[0].total_debits == loan.principal  # disbursed = contract principal
    with pytest.raises(LoanNotActive):
        loan.disburse(D(2024, 1, 10))


def test_upfront_fees_are_owed_on_the_disbursement_date_not_deducted() -> None:
    loan = new_loan(fees=(FeeRule(FeeKind.UPFRONT, amount=m("30.00")),))
    book = Book(loan)
    book.post(loan.disburse(D(2024, 1, 10)))
    upfront = loan.installment(0)
    assert upfront.kind is InstallmentKind.UPFRONT_FEE
    assert upfront.due_date == D(2024, 1, 10)
    assert loan.ledger_balances()[Account.CASH] == m("-3000")
    assert loan.ledger_balances()[Account.FEE_RECEIVABLE] == m("30.00")
    book.post(loan.repay(m("30.00"), D(2024, 1, 10)).entries)
    assert upfront.is_settled
    assert loan.days_past_due(D(2024, 1, 11)) == 0


def test_cancel_before_disbursement_posts_nothing() -> None:
    loan = new_loan()
    assert loan.cancel(D(2024, 1, 9)) == []
    assert loan.status is LoanStatus.CANCELLED


def test_a_failed_payout_is_cancelled_and_every_balance_taken_back() -> None:
    loan = new_loan(fees=(FeeRule(FeeKind.UPFRONT, amount=m("30.00")),))
    book = Book(loan)
    book.post(loan.disburse(D(2024, 1, 10)))
    book.post(loan.accrue_to(D(2024, 1, 12)))
    book.post(loan.cancel(D(2024, 1, 13)))
    assert loan.status is LoanStatus.CANCELLED
    assert loan_balances(book.entries, "L1") == {}


def test_a_loan_with_payments_cannot_be_cancelled() -> None:
    loan = new_loan()
    loan.disburse(D(2024, 1, 10))
    loan.repay(m("10"), D(2024, 1, 11))
    with pytest.raises(Conflict):
        loan.cancel(D(2024, 1, 12))


def test_write_off_and_recovery() -> None:
    loan = new_loan()
    book = Book(loan)
    book.post(loan.disburse(D(2024, 1, 10)))
    book.post(loan.accrue_to(D(2024, 9, 1)))
    assert loan.bucket().code == "M6+"
    receivable = loan.receivables.total
    book.post(loan.write_off(D(2024, 9, 1)))
    assert loan.status is LoanStatus.WRITTEN_OFF
    balances = loan.ledger_balances()
    assert balances[Account.WRITE_OFF_EXPENSE] == receivable
    assert Account.LOAN_PRINCIPAL_RECEIVABLE not in balances
    assert loan.accrue_to(D(2024, 9, 30)) == []
    book.post(loan.recover(m("250"), D(2024, 10, 1)))
    assert loan.ledger_balances()[Account.RECOVERY_INCOME] == m("-250")
    with pytest.raises(LoanNotActive):
        loan.repay(m("1"), D(2024, 10, 2))


def test_state_round_trips_through_json() -> None:
    loan = new_loan(
        fees=(FeeRule(FeeKind.UPFRONT, rate=Decimal("0.01")),), rounding=RoundingMode.HALF_EVEN
    )
    loan.disburse(D(2024, 1, 10))
    loan.accrue_to(D(2024, 2, 20))
    loan.repay(m("500"), D(2024, 2, 21))
    state = json.loads(json.dumps(loan.to_state()))
    again = Loan.from_state(state)
    assert again.to_state() == loan.to_state()
    assert again == loan
    assert state["installments"][1]["status"] == "overdue"


def test_servicing_rules_come_from_the_product() -> None:
    prod = product(
        allocation_order=("principal", "interest", "fees", "penalty"), penalty_grace_days=5
    )
    rules = ServicingRules.from_product(prod)
    assert rules.penalty_grace_days == 5
    assert rules.waterfall.components[0] is Component.PRINCIPAL
    assert ServicingRules.from_state(rules.to_state()) == rules


def test_weekly_loan_accrues_and_ages() -> None:
    terms = LoanTerms(
        principal=m("700"),
        periods=4,
        annual_rate=Decimal("0.12"),
        method=RepaymentMethod.EQUAL_INSTALLMENT,
        start_date=D(2024, 5, 1),
        frequency=Frequency(1, PeriodUnit.WEEKS),
        day_count=DayCount.ACT_365,
    )
    loan = Loan.create(
        "L1", "B1", generate_schedule(terms), ServicingRules(penalty_rate=Decimal("0.365"))
    )
    book = Book(loan)
    book.post(loan.disburse(D(2024, 5, 1)))
    book.post(loan.accrue_to(D(2024, 5, 9)))
    # Due 05-08; one day late on 05-09; no grace: 1 day of penalty on installment 1's principal.
    inst1 = loan.installment(1)
    assert loan.dpd == 1
    assert inst1.penalty == (inst1.principal_due * Decimal("0.001")).round()


def test_second_early_payment_settles_the_following_installment() -> None:
    """Paying installment 1 early, then paying again before its due date, settles
    installment 2 ahead of time instead of holding the money as credit."""
    import datetime as _dt

    from mobilend.domain.loans import Loan
    from mobilend.domain.money import Money as _Money
    from mobilend.domain.products import LoanProduct
    from mobilend.domain.schedules import generate_schedule

    product = LoanProduct.create(
        code="p", name="p", min_amount="100", max_amount="10000", min_periods=1,
        max_periods=12, annual_rate="0.12", method="equal-installment", day_count="30/360",
    )  # fmt: skip
    schedule = generate_schedule(product.terms_for(_Money("3000.00"), 3, _dt.date(2026, 1, 10)))
    loan = Loan.create("L", "B", schedule, product)
    loan.disburse(_dt.date(2026, 1, 10))
    day = _dt.date(2026, 1, 20)
    loan.repay(schedule.installments[0].total, day)
    second = loan.repay(schedule.installments[1].total, day)
    # Installment 2's principal comes back before its period begins: its period charges
    # interest only on the principal of installment 3 still out (about half of it).
    assert second.overpayment == _Money("10.00")
    assert loan.installment(2).is_settled
    assert loan.installment(2).interest_scheduled == schedule.installments[1].interest - _Money(
        "10.00"
    )
    assert second.allocation.installments == (2,)
