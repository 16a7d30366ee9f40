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
from collections.abc import Sequence

from mobilend.app.funding.ports import RailEvent, RailEventRecord
from mobilend.app.ports import DebitRequest, RailAck
from mobilend.app.servicing.card_payments import in_flight_amount, post_collection
from mobilend.app.servicing.desk import ServicingDesk
from mobilend.app.servicing.notifications import queue_notice
from mobilend.app.servicing.ports import DebitAttempt
from mobilend.app.servicing.settings import COLLECTIONS_IN_TRANSIT, PERMANENT_DEBIT_FAILURES
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.errors import NotFound
from mobilend.domain.loans import Loan, LoanStatus
from mobilend.domain.money import Money

log = logging.getLogger(__name__)

#: Debits are collected into the rail's in-transit account (see ``card_payments``).
DEBIT_CASH_ACCOUNT = COLLECTIONS_IN_TRANSIT


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


def _amount_to_send(uow: UnitOfWork, attempt: DebitAttempt) -> Money:
    """The borrower's own payment as asked (reserved under the loan's lock), unless the
    loan closed meanwhile; the plan's debit for no more than is still owed, less the
    borrower's own payments already on their way."""
    loan = uow.lending.loans.get(attempt.loan_id)
    if attempt.from_app:
        open_loan = loan.status is LoanStatus.ACTIVE
        return attempt.amount if open_loan else Money.zero(loan.currency)
    others = in_flight_amount(uow, loan) - attempt.amount
    owed = owed_by(loan, attempt.business_date) - others
    return owed.min(attempt.amount)


def submit_debits(
    desk: ServicingDesk, limit: int = 500, *, keys: Sequence[str] | None = None
) -> int:
    """Send pending debits (the listed ones, or every pending one) to the rail; returns
    how many the rail answered."""
    if desk.rail is None or desk.debit_accounts is None:
        return 0
    if keys is None:
        with desk.uow_factory() as uow:
            keys = [a.idempotency_key for a in uow.servicing.debits.open("pending", limit)]
    answered = 0
    for key in keys:
        with desk.uow_factory() as uow:
            attempt = uow.servicing.debits.get(key, for_update=True)
            if attempt is None or attempt.status != "pending":
                continue
            amount = _amount_to_send(uow, attempt)
            if not amount.is_positive():
                failure = "loan_closed" if attempt.from_app else "nothing_due"
                _finish(uow, dataclasses.replace(attempt, status="failed", failure_code=failure))
                if attempt.from_app:
                    desk.announce(uow, dataclasses.replace(attempt, status="failed"), None)
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


def apply_debit_event(desk: ServicingDesk, event: RailEvent, sequence: int, final: bool) -> str:
    """Apply one verified rail callback about a debit; returns what became of it.

    Recorded once per event id (a duplicate changes nothing); only a final event with a
    sequence not yet passed moves the attempt, and only while it is not final itself."""
    with desk.uow_factory() as uow:
        fresh = uow.funding.rail_events.record(
            RailEventRecord(
                event.event_id, event.idempotency_key, event.event_type, sequence, final,
                "received", desk.now(),
            )
        )  # fmt: skip
        if not fresh:
            return "duplicate"
        attempt = uow.servicing.debits.get(event.idempotency_key, for_update=True)
        if attempt is None:
            outcome = "unknown_debit"
        elif not final:
            outcome = "not_final"
        elif sequence <= attempt.last_sequence:
            outcome = "stale"
        elif attempt.status in ("succeeded", "failed"):
            outcome = "already_applied"
        elif event.amount != attempt.amount:
            log.warning("debit %s: the rail reports another amount", attempt.idempotency_key)
            outcome = "amount_mismatch"
        else:
            ack = RailAck(
                True, event.rail_reference, event.status, event.failure_code, event.settled_on
            )
            moved = dataclasses.replace(attempt, last_sequence=sequence)
            done = apply_debit_ack(desk, uow, moved, ack)
            outcome = "collected" if done.status == "succeeded" else done.status
        uow.funding.rail_events.set_outcome(event.event_id, outcome)
        uow.commit()
    return outcome


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
        if attempt.from_app:
            desk.announce(uow, failed, None)
            return failed
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
    settled = ack.settled_on or attempt.business_date
    # The borrower's own payment is theirs from the day they paid (interest runs to that
    # day), whenever the rail settles it; the plan's debit counts from the rail's day.
    on = attempt.business_date if attempt.from_app else settled
    repayment_id = post_collection(desk, uow, attempt, on)
    done = dataclasses.replace(
        attempt,
        status="succeeded",
        rail_reference=ack.rail_reference or attempt.rail_reference,
        repayment_id=repayment_id,
        settled_on=settled,
    )
    _finish(uow, done)
    if attempt.from_app:
        record = None
        if repayment_id is not None:
            record = next(
                r
                for r in uow.lending.repayments.for_loan(attempt.loan_id)
                if r.repayment_id == repayment_id
            )
        desk.announce(uow, done, record)
    return done


def _finish(uow: UnitOfWork, attempt: DebitAttempt) -> None:
    uow.servicing.debits.save(attempt)
