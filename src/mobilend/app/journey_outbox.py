"""Sending what the journey queued: payouts through the payment rail, SMS through the
message gateway; and applying what the rail says about a payout.

Each outbox message is sent in its own transaction with its row locked (another worker
skips it); the borrower's identity is read before that transaction opens, so no request
ever holds two pooled connections. An outside system that does not answer leaves the
message pending for a later attempt with the same idempotency key, with a growing pause
between attempts.

A payout the rail refuses for good cancels the loan: the cancellation entry takes the
disbursement back out of the ledger and the credit line gets its limit back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from mobilend.app.journey_context import (
    JOURNEY_TOPICS,
    TOPIC_PAYOUT,
    TOPIC_SMS,
    JourneyContext,
    notify,
)
from mobilend.app.ports import OutgoingMessage, PayoutRequest, RailAck
from mobilend.app.ports_journey import (
    Disbursement,
    DisbursementStatus,
    JourneyUnitOfWork,
    OutboxMessage,
)
from mobilend.domain.borrowers import Borrower
from mobilend.domain.errors import NotFound
from mobilend.domain.loans import InstallmentKind

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Rail failure codes in words a borrower understands.
FAILURE_TEXT = {
    "card_expired": "银行卡已过期 card expired",
    "invalid_card": "银行卡无效 invalid card",
    "card_restricted": "银行卡受限 card restricted",
    "invalid_request": "收款信息有误 payee details rejected",
}


class _Unreachable(Exception):
    """The outside system gave no usable answer; try again later."""


def _call(what: str, call: Callable[[], T]) -> T:
    try:
        return call()
    except Exception as exc:  # any failure of an outside call means: try again later
        log.warning("%s failed: %s", what, type(exc).__name__)
        raise _Unreachable(type(exc).__name__) from exc


# --------------------------------------------------------------------------- dispatch


def dispatch(ctx: JourneyContext, message_ids: Sequence[str]) -> None:
    """Send the listed messages now (after the commit that queued them)."""
    for message_id in message_ids:
        for follow_up in _dispatch_one(ctx, message_id):
            _dispatch_one(ctx, follow_up)


def dispatch_due(ctx: JourneyContext, limit: int = 100) -> int:
    """Send every message whose next attempt is due (for a background job); returns how many."""
    with ctx.uow() as uow:
        due = [m.message_id for m in uow.outbox.due(ctx.now(), JOURNEY_TOPICS, limit)]
    dispatch(ctx, due)
    return len(due)


def _recipient(ctx: JourneyContext, borrower_id: str | None) -> Borrower | None:
    """The borrower with identity in the clear, read before any journey transaction opens
    (one connection at a time: nested ones could drain the pool under load)."""
    if borrower_id is None:
        return None
    try:
        return ctx.onboarding.load_borrower(borrower_id)
    except NotFound:
        return None


def _dispatch_one(ctx: JourneyContext, message_id: str) -> list[str]:
    with ctx.uow() as uow:
        peeked = uow.outbox.claim([message_id], JOURNEY_TOPICS)
    if not peeked:
        return []  # sent already, or another worker has it
    recipient = _recipient(ctx, peeked[0].borrower_id)
    with ctx.uow() as uow:
        claimed = uow.outbox.claim([message_id], JOURNEY_TOPICS)
        if not claimed:
            return []
        message = claimed[0]
        follow_ups: list[str] = []
        try:
            if recipient is None:
                raise _Unreachable("no such borrower")
            if message.topic == TOPIC_PAYOUT:
                follow_ups = _send_payout(ctx, uow, message, recipient)
            elif message.topic == TOPIC_SMS:
                _send_sms(ctx, uow, message, recipient)
            else:
                raise _Unreachable(f"unknown topic {message.topic}")
        except _Unreachable as exc:
            attempts = message.attempts + 1
            pause = dt.timedelta(seconds=min(2**attempts, 3600))
            dead = attempts >= ctx.settings.outbox_max_attempts
            uow.outbox.mark_retry(message_id, attempts, ctx.now() + pause, str(exc), dead)
        else:
            uow.outbox.mark_sent(message_id)
        uow.commit()
    return follow_ups


# --------------------------------------------------------------------------- SMS


def _send_sms(
    ctx: JourneyContext, uow: JourneyUnitOfWork, message: OutboxMessage, recipient: Borrower
) -> None:
    notification = uow.notifications.get(str(message.payload["notification_id"]))
    if notification is None or notification.status != "pending":
        return
    ack = _call(
        "sms",
        lambda: ctx.messages.send(
            OutgoingMessage(
                f"ntf-{notification.notification_id}", "sms", recipient.phone, notification.body_zh
            )
        ),
    )
    uow.notifications.save(
        dataclasses.replace(
            notification,
            status="sent" if ack.accepted else "failed",
            gateway_reference=ack.gateway_reference,
            sent_at=ctx.now(),
        )
    )


# --------------------------------------------------------------------------- payouts


def payout_request(disbursement: Disbursement, recipient: Borrower) -> PayoutRequest:
    """The payout to the borrower's verified card, in their verified name."""
    kyc = recipient.ensure_can_borrow()
    return PayoutRequest(
        idempotency_key=disbursement.idempotency_key,
        loan_id=disbursement.loan_id,
        amount=disbursement.amount,
        account_name=kyc.real_name,
        card_number=kyc.bank_card,
    )


def _send_payout(
    ctx: JourneyContext, uow: JourneyUnitOfWork, message: OutboxMessage, recipient: Borrower
) -> list[str]:
    disbursement = uow.disbursements.get(str(message.payload["loan_id"]), for_update=True)
    if disbursement is None or disbursement.status != DisbursementStatus.PENDING:
        return []
    request = payout_request(disbursement, recipient)
    ack = _call("payout", lambda: ctx.rail.send_payout(request))
    return apply_payout_ack(ctx, uow, disbursement, ack, recipient)


def apply_payout_ack(
    ctx: JourneyContext,
    uow: JourneyUnitOfWork,
    disbursement: Disbursement,
    ack: RailAck,
    recipient: Borrower,
) -> list[str]:
    """Move a pending disbursement to what the rail says; returns outbox ids to send."""
    if disbursement.status != DisbursementStatus.PENDING:
        return []
    now = ctx.now()
    if ack.status == "succeeded":
        uow.disbursements.save(
            dataclasses.replace(
                disbursement,
                status=DisbursementStatus.PAID,
                rail_reference=ack.rail_reference,
                updated_at=now,
            )
        )
        loan = uow.loans.get(disbursement.loan_id)
        card = recipient.kyc.bank_card if recipient.kyc is not None else ""
        first_due = min(i.due_date for i in loan.installments if i.kind is InstallmentKind.REGULAR)
        return [
            notify(
                uow,
                ctx,
                disbursement.borrower_id,
                "loan_disbursed",
                {
                    "amount": disbursement.amount.format(),
                    "card_tail": card[-4:],
                    "first_due": first_due.isoformat(),
                },
            )
        ]
    if ack.status == "failed" or (not ack.accepted and ack.status != "unknown"):
        return _cancel_failed_payout(ctx, uow, disbursement, ack)
    if ack.rail_reference and ack.rail_reference != disbursement.rail_reference:
        uow.disbursements.save(
            dataclasses.replace(disbursement, rail_reference=ack.rail_reference, updated_at=now)
        )
    return []


def _cancel_failed_payout(
    ctx: JourneyContext, uow: JourneyUnitOfWork, disbursement: Disbursement, ack: RailAck
) -> list[str]:
    loan = uow.loans.get(disbursement.loan_id, for_update=True)
    entries = loan.cancel(ctx.today(), ctx.new_id)
    if loan.line_id is not None:
        line = uow.lines.get(loan.line_id, for_update=True)
        line.restore(loan.principal, cancelled=True)
        uow.lines.save(line)
    uow.loans.save(loan)
    if entries:
        uow.ledger.append(entries, loan.borrower_id)
    failure = ack.failure_code or "failed"
    uow.disbursements.save(
        dataclasses.replace(
            disbursement,
            status=DisbursementStatus.FAILED,
            rail_reference=ack.rail_reference or disbursement.rail_reference,
            failure_code=failure,
            updated_at=ctx.now(),
        )
    )
    return [
        notify(
            uow,
            ctx,
            disbursement.borrower_id,
            "disbursement_failed",
            {"amount": disbursement.amount.format(), "failure": FAILURE_TEXT.get(failure, failure)},
        )
    ]


def refresh_disbursement(ctx: JourneyContext, loan_id: str) -> Disbursement | None:
    """Ask the rail about a pending payout (sending it if the rail never got it)."""
    with ctx.uow() as uow:
        disbursement = uow.disbursements.get(loan_id)
    if disbursement is None or disbursement.status != DisbursementStatus.PENDING:
        return disbursement
    recipient = _recipient(ctx, disbursement.borrower_id)
    if recipient is None:
        return disbursement
    with ctx.uow() as uow:
        locked = uow.disbursements.get(loan_id, for_update=True)
        if locked is None or locked.status != DisbursementStatus.PENDING:
            return locked
        key = locked.idempotency_key
        try:
            ack = _call("payout status", lambda: ctx.rail.payout_status(key))
            if ack.status == "unknown":
                request = payout_request(locked, recipient)
                ack = _call("payout", lambda: ctx.rail.send_payout(request))
        except _Unreachable:
            return locked
        follow_ups = apply_payout_ack(ctx, uow, locked, ack, recipient)
        uow.commit()
        current = uow.disbursements.get(loan_id)
    dispatch(ctx, follow_ups)
    return current
