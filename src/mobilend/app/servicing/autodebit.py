"""Auto-debit (代扣): collecting what is due from the borrower's card through the payment
rail, on the due date and again by the retry plan (by default D0, D+1 and D+3 after the
oldest unpaid due date).

Planning is one set-based step per business date (``DebitStore.plan``). Each attempt is
sent with its own idempotency key, so a retry after a timeout never debits twice, and
for no more than is still owed when it leaves (a borrower who paid in the app meanwhile
is not charged again). The rail answers later (webhook or status poll):

- succeeded → the money is taken as a repayment (waterfall; any excess held as credit);
- insufficient funds → the borrower is told; the plan tries again on its next day;
- card expired / invalid / restricted → the borrower is asked to update the card and
  the plan stops for this arrear (retrying the same card is pointless).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from mobilend.app.ports import DebitRequest, RailAck
from mobilend.app.servicing.desk import ServicingDesk
from mobilend.app.servicing.notifications import queue_notice
from mobilend.app.servicing.payments import payment_date, take_payment
from mobilend.app.servicing.ports import DebitAttempt
from mobilend.app.servicing.settings import PERMANENT_DEBIT_FAILURES
from mobilend.app.servicing.transfers import suspense_entry
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.errors import NotFound
from mobilend.domain.loans import Loan, LoanStatus
from mobilend.domain.money import Money

log = logging.getLogger(__name__)

DEBIT_CASH_ACCOUNT = "cash:rail:collection"


def plan_debits(
    desk: ServicingDesk, business_date: dt.date, partition: int = 0, partitions: int = 1
) -> int:
    """Plan the day's debits (for the loans of one partition; idempotent); returns how
    many were new."""
    plan = desk.settings.autodebit
    with desk.uow_factory() as uow:
        planned = uow.servicing.debits.plan(
            business_date, plan.plan_days, plan.minimum_fen, partition, partitions
        )
        uow.commit()
    return planned


def owed_by(loan: Loan, day: dt.date) -> Money:
    """Everything due on or before ``day`` and not yet paid, net of credit held."""
    if loan.status is not LoanStatus.ACTIVE:
        return Money.zero(loan.currency)
    owed = Money.zero(loan.currency)
    for inst in loan.installments:
        if inst.due_date <= day:
            owed = owed + inst.unpaid.total
    return (owed - loan.held_credit).max(Money.zero(loan.currency))


def submit_debits(desk: ServicingDesk, limit: int = 500) -> int:
    """Send planned debits to the rail; returns how many the rail answered."""
    if desk.rail is None or desk.debit_accounts is None:
        return 0
    with desk.uow_factory() as uow:
        keys = [a.idempotency_key for a in uow.servicing.debits.open("pending", limit)]
    answered = 0
    for key in keys:
        with desk.uow_factory() as uow:
            attempt = uow.servicing.debits.get(key, for_update=True)
            if attempt is None or attempt.status != "pending":
                continue
            loan = uow.lending.loans.get(attempt.loan_id)
            amount = owed_by(loan, attempt.business_date).min(attempt.amount)
            if not amount.is_positive():
                _finish(
                    uow, dataclasses.replace(attempt, status="failed", failure_code="nothing_due")
                )
                uow.commit()
                continue
            attempt = dataclasses.replace(attempt, amount=amount)
            try:
                account = desk.debit_accounts.for_borrower(attempt.borrower_id)
            except NotFound:
                ack = RailAck(accepted=False, status="failed", failure_code="no_card")
            else:
                try:
                    ack = desk.rail.request_debit(
                        DebitRequest(
                            key, attempt.loan_id, amount, account.account_name, account.card_number
                        )
                    )
                except Exception as exc:  # the rail did not answer: same key next pass
                    log.warning("debit %s not sent: %s", key, type(exc).__name__)
                    continue
            apply_debit_ack(desk, uow, attempt, ack)
            uow.commit()
            answered += 1
    return answered


def poll_debits(desk: ServicingDesk, limit: int = 500) -> int:
    """Ask the rail about debits it accepted but has not confirmed; returns how many
    reached a final status."""
    if desk.debit_status is None:
        return 0
    with desk.uow_factory() as uow:
        keys = [a.idempotency_key for a in uow.servicing.debits.open("submitted", limit)]
    resolved = 0
    for key in keys:
        try:
            ack = desk.debit_status.debit_status(key)
        except Exception as exc:
            log.warning("debit %s status unknown: %s", key, type(exc).__name__)
            continue
        if ack.status in ("succeeded", "failed"):
            apply_debit_outcome(desk, key, ack)
            resolved += 1
    return resolved


def apply_debit_outcome(desk: ServicingDesk, idempotency_key: str, ack: RailAck) -> DebitAttempt:
    """Apply what the rail says about a debit (a verified webhook or a status answer);
    once only — a duplicate or late event for a finished attempt changes nothing."""
    with desk.uow_factory() as uow:
        attempt = uow.servicing.debits.get(idempotency_key, for_update=True)
        if attempt is None:
            raise NotFound(f"no debit with key {idempotency_key}")
        if attempt.status in ("succeeded", "failed"):
            return attempt
        result = apply_debit_ack(desk, uow, attempt, ack)
        uow.commit()
        return result


def apply_debit_ack(
    desk: ServicingDesk, uow: UnitOfWork, attempt: DebitAttempt, ack: RailAck
) -> DebitAttempt:
    """Move an attempt to what the rail answered, inside the caller's transaction."""
    if ack.status == "succeeded":
        return _collected(desk, uow, attempt, ack)
    if ack.status == "failed" or not ack.accepted:
        failure = ack.failure_code or "failed"
        failed = dataclasses.replace(attempt, status="failed", failure_code=failure)
        _finish(uow, failed)
        template = (
            "card_update_needed" if failure in PERMANENT_DEBIT_FAILURES else "autodebit_failed"
        )
        queue_notice(
            desk,
            uow,
            attempt.borrower_id,
            template,
            {"loan_id": attempt.loan_id, "amount_fen": attempt.amount.to_minor()},
            dedupe_key=f"{template}:{attempt.idempotency_key}",
            loan_id=attempt.loan_id,
            on=attempt.business_date,
        )
        return failed
    submitted = dataclasses.replace(
        attempt, status="submitted", rail_reference=ack.rail_reference or attempt.rail_reference
    )
    _finish(uow, submitted)
    return submitted


def _collected(
    desk: ServicingDesk, uow: UnitOfWork, attempt: DebitAttempt, ack: RailAck
) -> DebitAttempt:
    on = ack.settled_on or attempt.business_date
    loan = uow.lending.loans.get(attempt.loan_id)
    if loan.status is LoanStatus.ACTIVE:
        record, _ = take_payment(
            uow,
            desk.new_id,
            loan_id=attempt.loan_id,
            amount=attempt.amount,
            on=on,
            channel="autodebit",
            idempotency_key=attempt.idempotency_key,
            cash_account=DEBIT_CASH_ACCOUNT,
        )
        repayment_id: str | None = record.repayment_id
    else:
        # The loan closed while the debit was out: hold the money for an operator to refund.
        uow.lending.ledger.append(
            [
                suspense_entry(
                    desk.new_id(), payment_date(loan, on), attempt.amount, DEBIT_CASH_ACCOUNT, True
                )
            ]
        )
        repayment_id = None
    done = dataclasses.replace(
        attempt,
        status="succeeded",
        rail_reference=ack.rail_reference or attempt.rail_reference,
        repayment_id=repayment_id,
        settled_on=on,
    )
    _finish(uow, done)
    return done


def _finish(uow: UnitOfWork, attempt: DebitAttempt) -> None:
    uow.servicing.debits.save(attempt)
