"""Sending what the journey queued: its notices by SMS through the message gateway.
(Payouts leave through funding's outbox and worker: ``app.disbursement``.)

Each outbox message is sent in its own transaction with its row locked (another worker
skips it), the borrower's identity read in that same transaction, so no request ever
holds two pooled connections. A gateway that does not answer leaves the message
pending for a later attempt with the same idempotency key, with a growing pause between
attempts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from mobilend.app.journey.context import JOURNEY_TOPICS, TOPIC_SMS, JourneyContext
from mobilend.app.journey.ports import OutboxMessage
from mobilend.app.messaging import OutgoingMessage
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.borrowers import Borrower

log = logging.getLogger(__name__)
T = TypeVar("T")


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
        _dispatch_one(ctx, message_id)


def dispatch_due(ctx: JourneyContext, limit: int = 100) -> int:
    """Send every message whose next attempt is due (for a background job); returns how many."""
    with ctx.uow() as uow:
        due = [m.message_id for m in uow.journey.outbox.due(ctx.now(), JOURNEY_TOPICS, limit)]
    dispatch(ctx, due)
    return len(due)


def _dispatch_one(ctx: JourneyContext, message_id: str) -> None:
    with ctx.uow() as uow:
        claimed = uow.journey.outbox.claim([message_id], JOURNEY_TOPICS)
        if not claimed:
            return  # sent already, or another worker has it
        message = claimed[0]
        # The borrower with identity in the clear, read on this unit of work's own
        # connection (a second one, nested, could drain the pool under load).
        recipient = (
            ctx.onboarding.borrower_in(uow, message.borrower_id) if message.borrower_id else None
        )
        try:
            if recipient is None:
                raise _Unreachable("no such borrower")
            if message.topic == TOPIC_SMS:
                _send_sms(ctx, uow, message, recipient)
            else:
                raise _Unreachable(f"unknown topic {message.topic}")
        except _Unreachable as exc:
            attempts = message.attempts + 1
            pause = dt.timedelta(seconds=min(2**attempts, 3600))
            dead = attempts >= ctx.settings.outbox_max_attempts
            uow.journey.outbox.mark_retry(message_id, attempts, ctx.now() + pause, str(exc), dead)
        else:
            uow.journey.outbox.mark_sent(message_id)
        uow.commit()


# --------------------------------------------------------------------------- SMS


def _send_sms(
    ctx: JourneyContext, uow: UnitOfWork, message: OutboxMessage, recipient: Borrower
) -> None:
    notification = uow.journey.notifications.get(str(message.payload["notification_id"]))
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
    uow.journey.notifications.save(
        dataclasses.replace(
            notification,
            status="sent" if ack.accepted else "failed",
            gateway_reference=ack.gateway_reference,
            sent_at=ctx.now(),
        )
    )
