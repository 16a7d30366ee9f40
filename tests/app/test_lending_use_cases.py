"""Lending use cases over the in-memory unit of work (the same bootstrap as production)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from tests.lending_scenarios import OPENED_ON, assert_ledger_consistent, make_line, make_product

from mobilend.app.lending.loans import draw_loan, quote_draw
from mobilend.app.lending.repayments import pay_off_loan, post_repayment, prepay_loan, quote_payoff
from mobilend.bootstrap.lending import Lending, build_lending
from mobilend.domain.compliance import AprAboveCap, CostCap, Rulebook
from mobilend.domain.errors import ComplianceViolation, Conflict, NotFound, ValidationFailed
from mobilend.domain.lines import LineStatus
from mobilend.domain.loans import LoanStatus
from mobilend.domain.money import Money


@pytest.fixture
def lending() -> Lending:
    platform = build_lending(in_memory=True)
    make_product(platform)
    return platform


def test_draw_creates_loan_schedule_and_balanced_disbursement(lending: Lending) -> None:
    line = make_line(lending)
    result = draw_loan(
        lending.uow_factory, lending.cost_caps, lending.new_id,
        line_id=line.line_id, amount=Money("10000.00"), periods=12, on=OPENED_ON,
    )  # fmt: skip
    loan = result.loan
    assert loan.status is LoanStatus.ACTIVE
    assert sum(i.principal.amount for i in result.offer.schedule.installments) == 10000
    # ACT/360 charges 365/360 of the nominal rate over a year, so the IRR-based APR sits
    # just above 18 % (an equal-installment 30/360 loan would match it exactly).
    assert result.offer.annual_rate < result.offer.apr.apr < result.offer.annual_rate * 365 / 360
    with lending.uow_factory() as uow:
        stored_line = uow.lending.lines.get(line.line_id)
        assert stored_line.available == Money("10000.00")
    assert_ledger_consistent(lending, loan.loan_id)


def test_draw_refuses_above_available_and_changes_nothing(lending: Lending) -> None:
    line = make_line(lending, limit="5000.00")
    with pytest.raises(ValidationFailed) as err:
        draw_loan(
            lending.uow_factory, lending.cost_caps, lending.new_id,
            line_id=line.line_id, amount=Money("6000.00"), periods=12, on=OPENED_ON,
        )  # fmt: skip
    assert err.value.problems[0].field == "amount"
    with lending.uow_factory() as uow:
        assert uow.lending.lines.get(line.line_id).available == Money("5000.00")
        assert uow.lending.ledger.trial_balance() == {}


def test_offer_asked_above_the_cost_cap_is_priced_down_to_it(lending: Lending) -> None:
    """A line priced at 30 % is not refused at the draw: the offer's rate is lowered to
    the highest step whose APR (ACT/360, actual days) is within the 24 % cap."""
    line = make_line(lending)
    offer = quote_draw(
        lending.uow_factory, lending.cost_caps,
        line_id=line.line_id, amount=Money("1000.00"), periods=12, on=OPENED_ON,
        annual_rate=Decimal("0.30"),
    )  # fmt: skip
    assert offer.annual_rate < Decimal("0.24")
    assert Decimal("0.2399") < offer.apr.apr_for_cap <= Decimal("0.24")
    assert offer.penalty_rate is not None
    assert offer.penalty_rate < Decimal("0.0001")  # the APR uses the cap: no room left


def test_offer_whose_fees_alone_break_the_cap_is_refused(lending: Lending) -> None:
    fee = {"kind": "upfront", "rate": "0.002", "amount": None, "payee": "lender"}
    make_product(lending, code="cash-fee", fees=[fee], penalty_rate="0.04")
    line = make_line(lending, product_code="cash-fee")
    strict = Rulebook([CostCap(Decimal("0.002"))])  # the fee alone costs ~0.37 % a year
    with pytest.raises(AprAboveCap) as refused:
        quote_draw(
            lending.uow_factory, strict,
            line_id=line.line_id, amount=Money("1000.00"), periods=12, on=OPENED_ON,
        )  # fmt: skip
    assert isinstance(refused.value, ComplianceViolation)
    assert refused.value.rule == "cost_cap"


def test_repay_eod_payoff_journey_keeps_ledger_consistent(lending: Lending) -> None:
    line = make_line(lending)
    drawn = draw_loan(
        lending.uow_factory, lending.cost_caps, lending.new_id,
        line_id=line.line_id, amount=Money("12000.00"), periods=12, on=OPENED_ON,
    )  # fmt: skip
    loan = drawn.loan
    first = drawn.offer.schedule.installments[0]
    for day in range(1, (first.due_date - OPENED_ON).days + 1):
        lending.eod.run(OPENED_ON + dt.timedelta(days=day))
    assert_ledger_consistent(lending, loan.loan_id)
    # Running the same date again changes nothing.
    with lending.uow_factory() as uow:
        before = uow.lending.ledger.trial_balance()
    summary = lending.eod.run(first.due_date)
    assert summary.loans_processed == 0
    with lending.uow_factory() as uow:
        assert uow.lending.ledger.trial_balance() == before

    receipt = post_repayment(
        lending.uow_factory, lending.new_id, loan_id=loan.loan_id, amount=first.total,
        on=first.due_date + dt.timedelta(days=1), idempotency_key="pay-1",
    )  # fmt: skip
    assert not receipt.replayed
    replay = post_repayment(
        lending.uow_factory, lending.new_id, loan_id=loan.loan_id, amount=first.total,
        on=first.due_date + dt.timedelta(days=1), idempotency_key="pay-1",
    )  # fmt: skip
    assert replay.replayed and replay.record == receipt.record
    with lending.uow_factory() as uow:
        assert len(uow.lending.repayments.for_loan(loan.loan_id)) == 1
    assert_ledger_consistent(lending, loan.loan_id)

    with pytest.raises(Conflict):
        post_repayment(
            lending.uow_factory, lending.new_id, loan_id=loan.loan_id, amount=Money("1.00"),
            on=first.due_date + dt.timedelta(days=1), idempotency_key="pay-1",
        )  # fmt: skip

    payday = first.due_date + dt.timedelta(days=10)
    quote = quote_payoff(lending.uow_factory, loan_id=loan.loan_id, on=payday)
    pay_off_loan(
        lending.uow_factory, lending.new_id, loan_id=loan.loan_id, amount=quote.amount_due,
        on=payday, idempotency_key="payoff",
    )  # fmt: skip
    with lending.uow_factory() as uow:
        closed = uow.lending.loans.get(loan.loan_id)
        assert closed.status is LoanStatus.CLOSED
        assert uow.lending.lines.get(line.line_id).available == Money("20000.00")
    assert_ledger_consistent(lending, loan.loan_id)


def test_partial_prepayment_lowers_installment(lending: Lending) -> None:
    line = make_line(lending)
    loan = draw_loan(
        lending.uow_factory, lending.cost_caps, lending.new_id,
        line_id=line.line_id, amount=Money("12000.00"), periods=12, on=OPENED_ON,
    ).loan  # fmt: skip
    on = loan.installments[0].due_date - dt.timedelta(days=5)
    prepay_loan(
        lending.uow_factory, lending.new_id, loan_id=loan.loan_id, amount=Money("3000.00"),
        on=on, mode="lower_installment", idempotency_key="pre-1",
    )  # fmt: skip
    with lending.uow_factory() as uow:
        after = uow.lending.loans.get(loan.loan_id)
    later = [i for i in after.installments if i.due_date > on]
    before = [i for i in loan.installments if i.due_date > on]
    assert later[-1].principal_due + later[-1].interest_scheduled < (
        before[-1].principal_due + before[-1].interest_scheduled
    )
    assert_ledger_consistent(lending, loan.loan_id)


def test_overdue_freezes_line_and_cure_unfreezes(lending: Lending) -> None:
    line = make_line(lending)
    loan = draw_loan(
        lending.uow_factory, lending.cost_caps, lending.new_id,
        line_id=line.line_id, amount=Money("6000.00"), periods=6, on=OPENED_ON,
    ).loan  # fmt: skip
    due = loan.installments[0].due_date
    day = OPENED_ON
    while day < due + dt.timedelta(days=2):
        day += dt.timedelta(days=1)
        lending.eod.run(day)
    with lending.uow_factory() as uow:
        assert uow.lending.lines.get(line.line_id).status is LineStatus.FROZEN
        overdue = uow.lending.loans.get(loan.loan_id)
        assert overdue.dpd == 2
    quote_amount = overdue.overdue_amounts(day).total
    post_repayment(
        lending.uow_factory, lending.new_id, loan_id=loan.loan_id, amount=quote_amount,
        on=day + dt.timedelta(days=1), idempotency_key="cure",
    )  # fmt: skip
    lending.eod.run(day + dt.timedelta(days=1))
    with lending.uow_factory() as uow:
        assert uow.lending.lines.get(line.line_id).status is LineStatus.ACTIVE
    assert_ledger_consistent(lending, loan.loan_id)


def test_other_borrower_cannot_pay_or_draw(lending: Lending) -> None:
    line = make_line(lending, borrower_id="owner")
    with pytest.raises(NotFound):
        draw_loan(
            lending.uow_factory, lending.cost_caps, lending.new_id,
            line_id=line.line_id, amount=Money("1000.00"), periods=3, on=OPENED_ON,
            borrower_id="intruder",
        )  # fmt: skip


def test_overpayment_applied_at_end_of_day_restores_the_line(lending: Lending) -> None:
    line = make_line(lending)
    drawn = draw_loan(
        lending.uow_factory, lending.cost_caps, lending.new_id,
        line_id=line.line_id, amount=Money("6000.00"), periods=6, on=OPENED_ON,
    )  # fmt: skip
    schedule = drawn.offer.schedule.installments
    # Pay three installments' worth on day one: the next installment is settled now, the
    # rest is held and settles later installments as they fall due at end of day.
    paid = schedule[0].total + schedule[1].total + schedule[2].total
    post_repayment(
        lending.uow_factory, lending.new_id, loan_id=drawn.loan.loan_id, amount=paid,
        on=OPENED_ON + dt.timedelta(days=1), idempotency_key="big",
    )  # fmt: skip
    with lending.uow_factory() as uow:
        available_before = uow.lending.lines.get(line.line_id).available
    day = OPENED_ON
    while day < schedule[2].due_date:
        day += dt.timedelta(days=1)
        lending.eod.run(day)
    with lending.uow_factory() as uow:
        loan = uow.lending.loans.get(drawn.loan.loan_id)
        line_after = uow.lending.lines.get(line.line_id)
    assert line_after.available > available_before  # principal settled during end of day
    assert line_after.available == Money("20000.00") - loan.outstanding_principal
    assert_ledger_consistent(lending, drawn.loan.loan_id)
