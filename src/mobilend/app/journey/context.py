"""Shared machinery of the borrower journey: what every use case needs, once-only
requests, and queueing notices. (Lending's and funding's cores run inside the journey's
own unit of work: they take it as their first argument.)

Once-only requests: a money-moving request carries a client key. The key is claimed in
the same transaction that moves the money and stores the response, so a replay (even one
racing the first request) gets the first response back and moves nothing; the same key
with a different request is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, TypeVar

from mobilend.app.journey.application_limits import ApplicationGuard
from mobilend.app.journey.notices import render_notice
from mobilend.app.journey.ports import Notification, OutboxMessage
from mobilend.app.messaging import MessageGateway
from mobilend.app.onboarding.service import Onboarding
from mobilend.app.ports import Clock, DecisionEngine
from mobilend.app.unit_of_work import UnitOfWork, UnitOfWorkFactory, run_again_if_changed
from mobilend.domain.business_day import business_date
from mobilend.domain.compliance import CostCapPolicy
from mobilend.domain.errors import Conflict, Problem, ValidationFailed

T = TypeVar("T")

TOPIC_SMS = "notify.sms"
#: The outbox topics the journey sends (the outbox table is shared with other features;
#: payouts leave through funding's own outbox, ``app.disbursement``).
JOURNEY_TOPICS = (TOPIC_SMS,)


@dataclass(frozen=True, slots=True)
class JourneySettings:
    #: Product a credit line is opened on when the application names none.
    default_product: str = "cash"
    #: Days after a decline before the borrower may apply again.
    reapply_after_days: int = 30
    contract_template_version: str = "loan-contract-v1"
    #: Attempts at an outside call before its outbox message is given up (dead).
    outbox_max_attempts: int = 8
    #: Lender named in the contract.
    lender_name_zh: str = "mobilend 示范小额贷款有限公司"
    lender_name_en: str = "mobilend Demonstration Microcredit Co., Ltd."


@dataclass
class JourneyContext:
    """Everything the journey's use cases need, wired by the composition root."""

    uow: UnitOfWorkFactory
    new_id: Callable[[], str]
    clock: Clock
    cost_caps: CostCapPolicy
    onboarding: Onboarding
    decisions: DecisionEngine
    messages: MessageGateway
    settings: JourneySettings = field(default_factory=JourneySettings)
    #: Sends the card debits of the borrower's payments now (by key), after the commit;
    #: None: the background pass sends them.
    collector: Callable[[Sequence[str]], object] | None = None
    #: Applications per device and identity per day; None: not limited (use-case tests).
    application_guard: ApplicationGuard | None = None

    def now(self) -> dt.datetime:
        return self.clock.now()

    def today(self) -> dt.date:
        """The business date (the lending core's: the clock's day in Beijing)."""
        return business_date(self.clock.now())


# --------------------------------------------------------------------------- once-only requests


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


_KEY = re.compile(r"[\x21-\x7e]{1,100}")


def check_idempotency_key(key: str | None) -> str:
    if key is None or not _KEY.fullmatch(key):
        message = (
            "幂等键为1至100个可见ASCII字符 (Idempotency-Key must be 1-100 visible ASCII characters)"
        )
        raise ValidationFailed([Problem("Idempotency-Key", message)])
    return key


def fingerprint(operation: str, request: Mapping[str, Any]) -> str:
    canonical = json.dumps(
        {"operation": operation, "request": request},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Once(Generic[T]):
    """A once-only request's response; ``result`` is None when it was a replay."""

    response: Mapping[str, Any]
    replayed: bool
    result: T | None


def run_once(
    ctx: JourneyContext,
    *,
    key: str | None,
    borrower_id: str,
    operation: str,
    request: Mapping[str, Any],
    action: Callable[[UnitOfWork], T],
    render: Callable[[T], Mapping[str, Any]],
) -> Once[T]:
    """Run ``action`` and store ``render(result)`` under the key, all in one transaction
    (run again when its commit finds the funding it chose taken: ``run_again_if_changed``)."""
    key = check_idempotency_key(key)
    scope = f"borrower:{borrower_id}"
    request_hash = fingerprint(operation, request)

    def attempt() -> Once[T]:
        with ctx.uow() as uow:
            previous = uow.journey.idempotency.claim(key, scope, borrower_id, request_hash)
            if previous is not None:
                if previous.request_hash != request_hash or previous.response is None:
                    message = "该幂等键已用于另一请求 (this Idempotency-Key was already used for a different request)"
                    raise IdempotencyKeyReused(message, [Problem("Idempotency-Key", message)])
                return Once(previous.response, True, None)
            result = action(uow)
            response = dict(render(result))
            uow.journey.idempotency.complete(key, scope, response)
            uow.commit()
        return Once(response, False, result)

    return run_again_if_changed(attempt)


# --------------------------------------------------------------------------- outbox


def queue_notice(
    uow: UnitOfWork,
    new_id: Callable[[], str],
    now: dt.datetime,
    borrower_id: str,
    kind: str,
    params: Mapping[str, str],
) -> str:
    """Put a notice in the borrower's inbox and queue its SMS; returns the outbox id."""
    text = render_notice(kind, params)
    notification_id = new_id()
    uow.journey.notifications.add(
        Notification(
            notification_id=notification_id,
            borrower_id=borrower_id,
            kind=kind,
            title_zh=text.title_zh,
            title_en=text.title_en,
            body_zh=text.body_zh,
            body_en=text.body_en,
            created_at=now,
        )
    )
    message_id = new_id()
    payload = {"notification_id": notification_id}
    uow.journey.outbox.add(
        OutboxMessage(
            message_id, TOPIC_SMS, borrower_id, payload, f"sms-{notification_id}",
            next_attempt_at=now,
        )
    )  # fmt: skip
    return message_id


def notify(
    uow: UnitOfWork,
    ctx: JourneyContext,
    borrower_id: str,
    kind: str,
    params: Mapping[str, str],
) -> str:
    """``queue_notice`` with the journey's ids and clock."""
    return queue_notice(uow, ctx.new_id, ctx.now(), borrower_id, kind, params)


def percent(rate: Decimal | str) -> str:
    """``Decimal('0.1825')`` → ``'18.25%'``."""
    return f"{(Decimal(rate) * 100).quantize(Decimal('0.01'))}%"
