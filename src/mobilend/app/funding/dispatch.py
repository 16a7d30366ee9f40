"""Use cases: sending payouts to the rail, and what operators do when it will not take them.

The dispatcher (``dispatch_payouts``) leases due outbox messages (other workers skip
them; a worker killed mid-call leaves them to be taken again when the lease runs out)
and sends each payout with its idempotency key, so a retry can never pay twice.
Transport failures are retried with exponential backoff and jitter; past
``max_attempts`` the payout is dead-lettered (``dead_letters``) until an operator sends
it again (``retry_payout``). Payouts the rail accepted but never confirmed — and dead
letters, which it may have taken after all — are asked about (``poll_unconfirmed``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace

from mobilend.app.funding.disbursement import (
    DisbursementDesk,
    RailOutcome,
    apply_outcome,
    resolve_payout,
)
from mobilend.app.funding.ports import (
    TOPIC_PAYOUT,
    DisbursementSettings,
    OutboxItem,
    PayoutRecord,
    PayoutStatus,
)
from mobilend.app.ports import PayoutRequest
from mobilend.app.unit_of_work import UnitOfWorkFactory
from mobilend.domain.errors import Conflict, GatewayUnavailable, NotFound


def backoff_s(settings: DisbursementSettings, attempts: int, salt: str) -> float:
    """Exponential backoff, capped, with a deterministic jitter (50–100 %) per message so
    messages that failed together do not come back together."""
    ceiling = min(settings.backoff_cap_s, settings.backoff_base_s * 2.0 ** max(0, attempts - 1))
    jitter = int.from_bytes(hashlib.sha256(f"{salt}:{attempts}".encode()).digest()[:4], "big")
    return ceiling * (0.5 + 0.5 * jitter / 2**32)


# --------------------------------------------------------------------------- dispatcher


def dispatch_payouts(desk: DisbursementDesk, limit: int | None = None) -> int:
    """Send every due payout once (leased, so other workers skip them); returns how many."""
    now = desk.now()
    lease = now + dt.timedelta(seconds=desk.settings.lease_s)
    with desk.uow_factory() as uow:
        items = uow.funding.outbox.claim_due(
            [TOPIC_PAYOUT], now, limit or desk.settings.batch_size, lease
        )
        uow.commit()
    for item in items:
        send_payout(desk, item)
    return len(items)


def send_payout(desk: DisbursementDesk, item: OutboxItem) -> str:
    loan_id = str(item.payload["loan_id"])
    with desk.uow_factory.reading() as uow:
        payout = uow.funding.payouts.get(loan_id)
    if payout is None:
        return give_up(desk, item, "payout record missing")
    if payout.status not in (PayoutStatus.QUEUED, PayoutStatus.SENT, PayoutStatus.DEAD_LETTER):
        _done(desk, item)
        return "nothing_to_send"
    try:
        account = desk.payout_accounts.for_borrower(payout.borrower_id)
    except NotFound as exc:
        return give_up(desk, item, f"no payout account: {exc}")
    request = PayoutRequest(
        payout.idempotency_key,
        loan_id,
        payout.amount,
        account.account_name,
        account.card_number,
        account.bank_code,
    )
    try:
        ack = desk.rail.send_payout(request)
    except GatewayUnavailable as exc:
        return retry_later(desk, item, str(exc))
    except Exception as exc:  # the rail answered outside its contract: people must look
        return give_up(desk, item, f"{type(exc).__name__}: {exc}")
    now = desk.now()
    with desk.uow_factory() as uow:
        stores = uow.funding
        stores.outbox.mark_done(item.message_id)
        current = stores.payouts.get(loan_id, for_update=True)
        assert current is not None
        if not ack.accepted:
            result = apply_outcome(
                uow, desk, current, RailOutcome("failed", ack.failure_code or "rejected"), "ack"
            )
        else:
            if current.status in (PayoutStatus.QUEUED, PayoutStatus.DEAD_LETTER):
                current = replace(
                    current,
                    status=PayoutStatus.SENT,
                    rail_reference=ack.rail_reference,
                    sent_at=now,
                    attempts=item.attempts + 1,
                    last_error="",
                    updated_at=now,
                    next_poll_at=now + dt.timedelta(seconds=desk.settings.confirm_after_s),
                )
                stores.payouts.save(current)
            result = "sent"
            if ack.status in ("succeeded", "failed"):
                result = apply_outcome(
                    uow,
                    desk,
                    current,
                    RailOutcome(ack.status, ack.failure_code, ack.settled_on, ack.rail_reference),
                    "ack",
                )
        uow.commit()
    return result


def _done(desk: DisbursementDesk, item: OutboxItem) -> None:
    with desk.uow_factory() as uow:
        uow.funding.outbox.mark_done(item.message_id)
        uow.commit()


def retry_later(desk: DisbursementDesk, item: OutboxItem, error: str) -> str:
    attempts = item.attempts + 1
    if attempts >= desk.settings.max_attempts:
        return give_up(desk, item, error, attempts)
    now = desk.now()
    wait = backoff_s(desk.settings, attempts, item.message_id)
    with desk.uow_factory() as uow:
        stores = uow.funding
        stores.outbox.mark_retry(
            item.message_id, attempts, now + dt.timedelta(seconds=wait), error[:500]
        )
        if item.topic == TOPIC_PAYOUT:
            payout = stores.payouts.get(str(item.payload["loan_id"]), for_update=True)
            if payout is not None and payout.status not in PayoutStatus.FINAL:
                stores.payouts.save(
                    replace(payout, attempts=attempts, last_error=error[:500], updated_at=now)
                )
        uow.commit()
    return "retry"


def give_up(
    desk: DisbursementDesk, item: OutboxItem, error: str, attempts: int | None = None
) -> str:
    """Dead-letter the message; a payout waits for operators (and is still polled, since
    the rail may have taken it after all)."""
    now = desk.now()
    with desk.uow_factory() as uow:
        stores = uow.funding
        stores.outbox.mark_dead(item.message_id, attempts or item.attempts + 1, error[:500])
        if item.topic == TOPIC_PAYOUT:
            payout = stores.payouts.get(str(item.payload["loan_id"]), for_update=True)
            if payout is not None and payout.status in (PayoutStatus.QUEUED, PayoutStatus.SENT):
                stores.payouts.save(
                    replace(
                        payout,
                        status=PayoutStatus.DEAD_LETTER,
                        last_error=error[:500],
                        updated_at=now,
                        next_poll_at=now + dt.timedelta(seconds=desk.settings.confirm_after_s),
                    )
                )
        uow.commit()
    return "dead_letter"


def poll_unconfirmed(desk: DisbursementDesk, limit: int | None = None) -> int:
    """Ask the rail about payouts it accepted (or we gave up on) but never confirmed."""
    now = desk.now()
    lease = now + dt.timedelta(seconds=desk.settings.confirm_after_s)
    with desk.uow_factory() as uow:
        payouts = uow.funding.payouts.awaiting_confirmation(
            now, limit or desk.settings.batch_size, lease
        )
        uow.commit()
    for payout in payouts:
        try:
            ack = desk.rail.payout_status(payout.idempotency_key)
        except GatewayUnavailable:
            continue  # asked again when the lease runs out
        if ack.status in ("succeeded", "failed"):
            outcome = RailOutcome(ack.status, ack.failure_code, ack.settled_on, ack.rail_reference)
            resolve_payout(desk, payout.idempotency_key, outcome, "poll")
        elif ack.status == "unknown" and payout.status == PayoutStatus.SENT:
            retry_payout(desk, payout.loan_id)  # the rail lost it: send again, same key
    return len(payouts)


# --------------------------------------------------------------------------- operating


def dead_letters(uow_factory: UnitOfWorkFactory, limit: int = 100) -> list[PayoutRecord]:
    """Payouts waiting for people: the rail unreachable, or an answer not applied."""
    with uow_factory() as uow:
        return uow.funding.payouts.with_status(
            [PayoutStatus.DEAD_LETTER, PayoutStatus.NEEDS_REVIEW], limit
        )


def payout_counts(uow_factory: UnitOfWorkFactory) -> dict[str, int]:
    with uow_factory() as uow:
        return uow.funding.payouts.counts()


def retry_payout(desk: DisbursementDesk, loan_id: str) -> PayoutRecord:
    """Send a dead-lettered (or lost) payout again, with the same idempotency key."""
    now = desk.now()
    with desk.uow_factory() as uow:
        stores = uow.funding
        payout = stores.payouts.get(loan_id, for_update=True)
        if payout is None:
            raise NotFound(f"no disbursement for loan {loan_id}")
        if payout.status not in (PayoutStatus.DEAD_LETTER, PayoutStatus.SENT, PayoutStatus.QUEUED):
            raise Conflict(f"payout of loan {loan_id} is {payout.status}; nothing to retry")
        if not stores.outbox.requeue(payout.idempotency_key, now):
            raise NotFound(f"no outbox message for the payout of loan {loan_id}")
        payout = replace(payout, status=PayoutStatus.QUEUED, last_error="", updated_at=now)
        stores.payouts.save(payout)
        uow.commit()
    return payout
