"""Money in and back on PostgreSQL, with the sandbox payment gateway over real HTTP:
auto-debit and its retry plan, bank transfers matched by reference or held in suspense,
partial payments, overpayment kept as credit or refunded, bounced payments reversed."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from tests.integration.sandbox_fixtures import *  # noqa: F403  (sandbox fixtures)
from tests.integration.sandbox_fixtures import SANDBOX_SECRET, Sandbox
from tests.integration.servicing_fixtures import *  # noqa: F403  (fixtures)
from tests.integration.servicing_fixtures import (
    DAY,
    FakeClock,
    LoanSpec,
    account_balances,
    add_borrower,
    assert_ledger_matches,
    make_runtime,
    open_loan,
    stored_loan,
    trial_balance_is_zero,
)

from mobilend.adapters.http_resilience import Backoff, CircuitBreaker
from mobilend.adapters.rails.http_rail import HttpPaymentRail
from mobilend.app.servicing.autodebit import poll_debits, submit_debits
from mobilend.app.servicing.daily import close_business_date
from mobilend.app.servicing.payments import approve_refund, poll_refunds, refund_credit
from mobilend.app.servicing.reversals import reverse_repayment
from mobilend.app.servicing.transfers import (
    TransferNotice,
    assign_transfer,
    receive_transfer,
    repayment_reference,
    suspense_items,
)
from mobilend.domain.money import Money

pytestmark = pytest.mark.db

D = dt.date(2026, 3, 10)
OK_CARD = "6222021234567890128"
POOR_CARD = "6222021234560051"  # insufficient funds
EXPIRED_CARD = "6222021234560054"  # card expired


def rail(sandbox: Sandbox) -> HttpPaymentRail:
    return HttpPaymentRail(
        sandbox.base_url,
        SANDBOX_SECRET,
        timeout=2.0,
        retries=1,
        backoff=Backoff(base=0.0),
        breaker=CircuitBreaker(failure_threshold=1000),
        sleep=lambda _: None,
    )


def attempts(db: sa.Engine, loan_id: str) -> list[tuple[dt.date, int, str, str]]:
    with db.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                sa.text(
                    "SELECT business_date, plan_day, status, failure_code FROM autodebit_attempts"
                    " WHERE loan_id = :id ORDER BY business_date"
                ),
                {"id": loan_id},
            ).all()
        ]


def test_auto_debit_follows_the_retry_plan(db, vault, payment_gateway: Sandbox) -> None:
    clock = FakeClock(dt.datetime(2026, 3, 9, 17, 0, tzinfo=dt.UTC))
    wired = make_runtime(db, clock, vault, rail=rail(payment_gateway))
    desk = wired.desk
    cards = (("B-ok", OK_CARD), ("B-poor", POOR_CARD), ("B-exp", EXPIRED_CARD))
    for k, (borrower, card) in enumerate(cards):
        add_borrower(db, vault, borrower, phone=f"1390000{k:04d}", card=card)
        open_loan(wired, f"L-{borrower[2:]}", borrower, D - 30 * DAY, LoanSpec(principal="1500.00"))
    day = D - DAY
    while day <= D + 5 * DAY:
        wired.eod.run(day)
        close_business_date(desk, day)  # plans the next day's debits
        payment_gateway.admin("POST", "/admin/config", json={"business_date": str(day + DAY)})
        submit_debits(desk)
        payment_gateway.wait_idle()
        poll_debits(desk)
        day += DAY

    assert attempts(db, "L-ok") == [(D, 0, "succeeded", "")]
    assert attempts(db, "L-poor") == [
        (D, 0, "failed", "insufficient_funds"),
        (D + DAY, 1, "failed", "insufficient_funds"),
        (D + 3 * DAY, 3, "failed", "insufficient_funds"),
    ]
    # An expired card is not tried again: the borrower is asked to update it.
    assert attempts(db, "L-exp") == [(D, 0, "failed", "card_expired")]
    with db.connect() as conn:
        notices = dict(
            conn.execute(
                sa.text(
                    "SELECT borrower_id || ':' || template, count(*) FROM servicing_messages"
                    " WHERE template IN ('autodebit_failed', 'card_update_needed')"
                    " AND channel = 'sms' GROUP BY 1"
                )
            ).all()
        )
        collected = conn.execute(
            sa.text("SELECT amount, channel, received_on FROM repayments WHERE loan_id = 'L-ok'")
        ).one()
    assert notices == {"B-poor:autodebit_failed": 3, "B-exp:card_update_needed": 1}
    first = stored_loan(wired, "L-ok").installments[0]
    assert first.is_settled and first.settled_on == D
    assert tuple(collected) == (first.total_due.to_minor(), "autodebit", D)
    assert stored_loan(wired, "L-poor").dpd == 5
    for loan_id in ("L-ok", "L-poor", "L-exp"):
        assert_ledger_matches(wired, loan_id)
    assert trial_balance_is_zero(db)


def test_transfers_match_by_reference_or_wait_in_suspense(
    db, clock, vault, payment_gateway: Sandbox
) -> None:
    wired = make_runtime(db, clock, vault, rail=rail(payment_gateway))
    desk = wired.desk
    add_borrower(db, vault, "B1")
    loan = open_loan(wired, "01jloan0000000000000000001", "B1", D - 20 * DAY)
    wired.eod.run(D - DAY)
    reference = repayment_reference(loan.loan_id)

    # A partial payment, the reference typed with spaces and in lower case.
    partial = receive_transfer(
        desk,
        TransferNotice(
            "BANK-1", Money("1000.00"), D, f"还款 {reference[:6].lower()} {reference[6:]}"
        ),
    )
    assert (partial.status, partial.loan_id) == ("matched", loan.loan_id)
    first = stored_loan(wired, loan.loan_id).installments[0]
    # Ahead of its due date: interest is offered only on the principal that stays out for
    # the rest of the period (80.00 of 90.00); the 920.00 of principal back early keeps
    # the rest of the period's interest on the principal still out owed at the due date.
    assert (first.interest_paid, first.principal_paid) == (Money("80.00"), Money("920.00"))
    assert Money("80.00") < first.interest_scheduled < Money("90.00")
    assert first.status_on(D) == "partially_paid"

    # Money that names no loan lands in suspense; the same bank transaction twice is once.
    unmatched = receive_transfer(desk, TransferNotice("BANK-2", Money("500.00"), D, "张三转账"))
    again = receive_transfer(desk, TransferNotice("BANK-2", Money("500.00"), D, "张三转账"))
    assert unmatched.status == "suspense" and again.transfer_id == unmatched.transfer_id
    assert [t.bank_transaction_id for t in suspense_items(desk)] == ["BANK-2"]
    with db.connect() as conn:
        held = dict(
            conn.execute(
                sa.text(
                    "SELECT account, sum(amount_minor) FROM postings WHERE loan_id IS NULL"
                    " GROUP BY account"
                )
            ).all()
        )
    assert held == {"cash:bank:collection": 50000, "suspense": -50000}

    # An operator assigns it: suspense clears and the loan is paid in one transaction.
    assigned = assign_transfer(
        desk, unmatched.transfer_id, loan_id=loan.loan_id, operator="ops-7", on=D
    )
    assert assigned.status == "assigned" and suspense_items(desk) == []
    with db.connect() as conn:
        suspense = conn.execute(
            sa.text(
                "SELECT coalesce(sum(amount_minor), 0) FROM postings WHERE account = 'suspense'"
            )
        ).scalar_one()
    assert suspense == 0
    # 1,500.00 in all, of which interest to date on what stays out: 85.15.
    assert stored_loan(wired, loan.loan_id).principal_repaid == Money("1414.85")

    # More than is owed now: the rest is kept as the borrower's credit …
    big = receive_transfer(desk, TransferNotice("BANK-3", Money("5000.00"), D, reference))
    held_credit = stored_loan(wired, loan.loan_id).held_credit
    assert big.status == "matched" and held_credit.is_positive()
    assert account_balances(db, loan.loan_id)["borrower_credit_balance"] == -held_credit.to_minor()
    # … and paid back to the borrower's card on request. Above ¥500 it waits for an
    # operator: nothing moves until then.
    assert held_credit > Money("500.00")
    waiting = refund_credit(desk, loan.loan_id, on=D)
    assert (waiting.status, waiting.entry_id) == ("awaiting_approval", "")
    assert stored_loan(wired, loan.loan_id).held_credit == held_credit
    assert account_balances(db, loan.loan_id)["borrower_credit_balance"] == -held_credit.to_minor()
    refund = approve_refund(desk, waiting.refund_id, operator="ops-7", on=D)
    assert refund.amount == held_credit and refund.status in ("sent", "paid")
    assert refund.approved_by == "ops-7" and refund.entry_id
    payment_gateway.wait_idle()
    poll_refunds(desk)
    with desk.uow_factory() as uow:
        assert uow.servicing.refunds.get(refund.refund_id).status == "paid"
    assert "borrower_credit_balance" not in account_balances(db, loan.loan_id)
    assert_ledger_matches(wired, loan.loan_id)
    assert trial_balance_is_zero(db)


def test_a_bounced_payment_is_reversed_in_the_loan_and_the_ledger(db, clock, vault) -> None:
    wired = make_runtime(db, clock, vault)
    desk = wired.desk
    add_borrower(db, vault, "B1")
    loan = open_loan(wired, "01jloan0000000000000000002", "B1", D - 20 * DAY)
    wired.eod.run(D - DAY)
    reference = repayment_reference(loan.loan_id)
    before = stored_loan(wired, loan.loan_id)
    # Two installments' worth and more: installment 1 is settled now, the rest held and
    # applied to installment 2 when it falls due at end of day.
    paid = receive_transfer(desk, TransferNotice("BANK-9", Money("6200.00"), D, reference))
    walk_to = D + 45 * DAY
    day = D
    while day <= walk_to:
        wired.eod.run(day)
        day += DAY
    applied = stored_loan(wired, loan.loan_id)
    assert applied.installments[1].is_settled  # paid from the held credit
    with desk.uow_factory() as uow:
        line_before = uow.lending.lines.get(applied.line_id).available

    reversal = reverse_repayment(
        desk, loan_id=loan.loan_id, repayment_id=paid.repayment_id, reason="recalled", on=walk_to
    )
    assert (
        reverse_repayment(
            desk, loan_id=loan.loan_id, repayment_id=paid.repayment_id, reason="again", on=walk_to
        )
        == reversal
    )
    after = stored_loan(wired, loan.loan_id)
    assert after.principal_repaid.is_zero() and after.held_credit.is_zero()
    assert after.cash_received == before.cash_received
    assert after.days_past_due(walk_to) == (walk_to - before.installments[0].due_date).days
    with db.connect() as conn:
        kinds = conn.execute(
            sa.text(
                "SELECT kind, reverses IS NOT NULL FROM journal_entries WHERE id = ANY(:ids)"
                " ORDER BY kind"
            ),
            {"ids": list(reversal.entry_ids)},
        ).all()
    assert [tuple(k) for k in kinds] == [("adjustment", False), ("reversal", True)]
    with desk.uow_factory() as uow:
        assert uow.lending.lines.get(after.line_id).available < line_before  # principal lent again
    assert_ledger_matches(wired, loan.loan_id)
    assert trial_balance_is_zero(db)
    # End of day goes on charging what is overdue again.
    wired.eod.run(walk_to + DAY)
    assert_ledger_matches(wired, loan.loan_id)
    assert stored_loan(wired, loan.loan_id).receivables.penalty.is_positive()


def test_a_refund_the_bank_refuses_goes_back_to_the_credit_balance(
    db, clock, vault, payment_gateway: Sandbox
) -> None:
    wired = make_runtime(db, clock, vault, rail=rail(payment_gateway))
    desk = wired.desk
    add_borrower(db, vault, "B1", card=EXPIRED_CARD)
    loan = open_loan(wired, "01jloan0000000000000000003", "B1", D - 20 * DAY)
    wired.eod.run(D - DAY)
    receive_transfer(
        desk, TransferNotice("BANK-5", Money("9500.00"), D, repayment_reference(loan.loan_id))
    )
    held = stored_loan(wired, loan.loan_id).held_credit
    refund = refund_credit(desk, loan.loan_id, on=D)
    if refund.status == "awaiting_approval":
        refund = approve_refund(desk, refund.refund_id, operator="ops-7", on=D)
    assert refund.status == "sent"  # accepted; the bank answers later
    payment_gateway.wait_idle()
    assert poll_refunds(desk) == 1
    with desk.uow_factory() as uow:
        failed = uow.servicing.refunds.get(refund.refund_id)
    assert (failed.status, failed.failure_code) == ("failed", "card_expired")
    after = stored_loan(wired, loan.loan_id)
    assert after.held_credit == held and after.cash_refunded.is_zero()
    assert account_balances(db, loan.loan_id)["borrower_credit_balance"] == -held.to_minor()
    assert_ledger_matches(wired, loan.loan_id)
    assert trial_balance_is_zero(db)


def in_transit(db: sa.Engine, loan_id: str) -> int:
    with db.connect() as conn:
        return int(
            conn.execute(
                sa.text(
                    "SELECT coalesce(sum(amount_minor), 0) FROM postings WHERE loan_id = :l"
                    " AND account = 'cash:rail:collections_in_transit'"
                ),
                {"l": loan_id},
            ).scalar_one()
        )


def test_collected_money_reaches_the_bank_before_anything_held_is_refunded(
    db, clock, vault, payment_gateway: Sandbox
) -> None:
    """A card payment is booked against collections in transit; the rail's statement
    moves it to the bank once. Money held for the borrower is not refunded while a debit
    of the loan is out or collected and not yet in the bank."""
    from mobilend.app.servicing.card_payments import request_card_payment_in
    from mobilend.app.servicing.collection_settlement import settle_collections
    from mobilend.app.servicing.payments import RefundNotReady

    wired = make_runtime(db, clock, vault, rail=rail(payment_gateway))
    desk = wired.desk
    add_borrower(db, vault, "B1", card=OK_CARD)
    loan = open_loan(wired, "01jloan0000000000000000009", "B1", D - 20 * DAY)
    wired.eod.run(D - DAY)
    # Real money held for the borrower: a transfer beyond what it settles.
    reference = repayment_reference(loan.loan_id)
    receive_transfer(desk, TransferNotice("BANK-9", Money("5000.00"), D, reference))
    assert stored_loan(wired, loan.loan_id).held_credit.is_positive()
    with desk.uow_factory() as uow:
        locked = uow.lending.loans.get(loan.loan_id, for_update=True)
        attempt = request_card_payment_in(
            uow, desk.new_id, locked, purpose="amount", amount=Money("100.00"), on=D
        )
        uow.commit()
    with pytest.raises(RefundNotReady):  # the debit is still out
        refund_credit(desk, loan.loan_id, on=D)
    submit_debits(desk, keys=[attempt.idempotency_key])
    payment_gateway.wait_idle()
    poll_debits(desk)
    with desk.uow_factory() as uow:
        collected = uow.servicing.debits.get(attempt.idempotency_key)
    assert collected is not None and collected.status == "succeeded"
    assert in_transit(db, loan.loan_id) == 10_000
    with pytest.raises(RefundNotReady):  # collected, not yet in the bank
        refund_credit(desk, loan.loan_id, on=D)
    day = collected.settled_on
    assert day is not None
    assert settle_collections(desk, day) == 1
    assert settle_collections(desk, day) == 0  # the same statement again moves nothing
    assert in_transit(db, loan.loan_id) == 0
    refund = refund_credit(desk, loan.loan_id, on=D)
    assert refund.status in ("sent", "paid", "awaiting_approval")
    assert_ledger_matches(wired, loan.loan_id)
    assert trial_balance_is_zero(db)
