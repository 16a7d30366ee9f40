"""Callbacks from the outside world: the payment rail's payout and debit outcomes and partner
banks' funding decisions, each a signed webhook (``X-Timestamp`` + ``X-Signature``, the
HMAC-SHA256 of ``<timestamp>.<raw body>`` with that counterparty's own secret; during a
rotation the previous secret is accepted until the configured end of the overlap).

A callback whose signature or timestamp does not check out is refused (401) and changes
nothing. A verified one is applied once (``app.disbursement.apply_rail_event``,
``app.funding_approvals.record_partner_decision``) and answered 200 with what became of
it — duplicates, stale or non-final events, and events about payouts we never made
included (the latter recorded for operators), so the sender stops retrying.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Header, Request
from fastapi.concurrency import run_in_threadpool

from mobilend.adapters.counterparty_secrets import (
    ANY_PARTNER,
    CounterpartySecrets,
    counterparty_secrets,
)
from mobilend.adapters.funders.http_partner import verify_partner_webhook
from mobilend.adapters.rails.http_rail import verify_webhook
from mobilend.adapters.webhook_signature import (
    InvalidWebhook,
    SecretRing,
    signers,
    verify_signed_body,
)
from mobilend.api.deps import journey_of
from mobilend.api.errors import error_responses
from mobilend.api.schemas import CallbackOut
from mobilend.app.funding.approvals import record_partner_decision
from mobilend.app.funding.disbursement import DisbursementDesk, apply_rail_event
from mobilend.app.funding.ports import PartnerDecision
from mobilend.app.servicing.autodebit import apply_debit_event
from mobilend.app.servicing.desk import ServicingDesk
from mobilend.domain.errors import DomainError, NotFound

log = logging.getLogger("mobilend.api.callbacks")

router = APIRouter(prefix="/callbacks", tags=["callbacks 回调"])

#: Outcomes after which the borrower has a new notice to be sent.
NOTICE_OUTCOMES = frozenset({"paid", "cancelled", "recorded_declined", "collected", "failed"})


#: Checked when no partner's secret matched, only for the precise refusal reason.
_UNMATCHABLE = "\x00no partner signed this\x00"

#: ``InvalidWebhook`` reasons of a body that was signed but is not one we understand.
MALFORMED = frozenset({"bad_json", "bad_payload"})


class CallbackRefused(DomainError):
    """The callback is not authentic or not fresh (401), or not well-formed (400)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"回调未通过校验 (callback refused: {reason})")
        malformed = reason.partition(":")[0] in MALFORMED
        self.code = "malformed_callback" if malformed else "invalid_signature"


Signature = Annotated[
    str | None,
    Header(alias="X-Signature", description="`sha256=<hex>` HMAC of `<X-Timestamp>.<body>`"),
]
Timestamp = Annotated[
    str | None, Header(alias="X-Timestamp", description="Unix seconds when it was signed")
]


def _signed_body(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["event_id", "data"],
                    "properties": {"event_id": {"type": "string"}, **event},
                }
            }
        },
    }


RAIL_EVENT = _signed_body(
    {
        "type": {"type": "string", "examples": ["payout.succeeded", "payout.failed"]},
        "sequence": {"type": "integer"},
        "attempt": {"type": "integer"},
        "final": {"type": "boolean"},
        "created_at": {"type": "string"},
        "data": {"type": "object", "description": "The transaction as the rail sees it"},
    }
)
PARTNER_EVENT = _signed_body(
    {
        "type": {"type": "string", "examples": ["approval.decided"]},
        "data": {"type": "object", "description": "The partner's decision on one request"},
    }
)


def _desk(request: Request) -> DisbursementDesk:
    desk = getattr(request.app.state.container, "disbursement", None)
    if not isinstance(desk, DisbursementDesk):
        raise NotFound("本服务不接收放款回调 (no payouts are made here)")
    return desk


def _secrets(request: Request) -> CounterpartySecrets:
    """The rail's and the partners' secret rings (each counterparty signs with its own)."""
    container = request.app.state.container
    found = getattr(container, "webhook_secrets", None)
    if not isinstance(found, CounterpartySecrets):
        found = counterparty_secrets(container.settings)
        container.webhook_secrets = found
    return found


def _servicing(request: Request) -> ServicingDesk:
    desk = getattr(request.app.state.container, "servicing", None)
    if not isinstance(desk, ServicingDesk):
        raise NotFound("本服务不接收扣款回调 (no debits are collected here)")
    return desk


@router.post(
    "/rail",
    response_model=CallbackOut,
    summary="Payment rail: a payout's or a debit's outcome 放款/扣款结果回调",
    description="Signed webhook of the payment gateway. A final `payout.succeeded` settles "
    "the payout (in transit → the funders' cash); a final `payout.failed` cancels the loan, "
    "reverses its entries and restores the credit line. A final `debit.succeeded` books the "
    "borrower's payment (collections in transit); a final `debit.failed` books nothing and "
    "tells the borrower why. Applied once per event id; stale sequences change nothing.",
    responses=error_responses(400, 401),
    openapi_extra={"requestBody": RAIL_EVENT},
)
async def rail_callback(
    request: Request,
    background: BackgroundTasks,
    _signature: Signature = None,
    _timestamp: Timestamp = None,
) -> CallbackOut:
    body = await request.body()
    desk = _desk(request)
    try:
        event = verify_webhook(request.headers, body, _secrets(request).rail)
    except InvalidWebhook as exc:
        log.warning("rail callback refused: %s", exc.reason)
        raise CallbackRefused(exc.reason) from None
    if event.direction == "debit":
        outcome = await run_in_threadpool(
            apply_debit_event, _servicing(request), event, event.sequence, event.final
        )
    else:
        outcome = await run_in_threadpool(apply_rail_event, desk, event)
    if outcome in ("unknown_payout", "unknown_debit"):
        log.warning("rail callback for an unknown payout recorded: event %s", event.event_id)
    if outcome in NOTICE_OUTCOMES:
        background.add_task(journey_of(request).dispatch_due)
    return CallbackOut(outcome=outcome)


@router.post(
    "/partner",
    response_model=CallbackOut,
    summary="Partner bank: its funding decision 资金方审批回调",
    description="Signed webhook of a partner bank deciding on its share of a loan. The "
    "decision is recorded once and never overridden; a decline sends the loan to the next "
    "eligible funder.",
    responses=error_responses(400, 401),
    openapi_extra={"requestBody": PARTNER_EVENT},
)
async def partner_callback(
    request: Request,
    background: BackgroundTasks,
    _signature: Signature = None,
    _timestamp: Timestamp = None,
) -> CallbackOut:
    body = await request.body()
    desk = _desk(request)
    rings = _secrets(request).partners
    # The partner is whoever's secret signed it; its decision binds only its own requests.
    partners = signers(request.headers, body, rings)
    try:
        if not partners:
            verify_signed_body(request.headers, body, SecretRing(_UNMATCHABLE))
        event = verify_partner_webhook(request.headers, body, rings[min(partners)])
    except InvalidWebhook as exc:
        log.warning("partner callback refused: %s", exc.reason)
        raise CallbackRefused(exc.reason) from None
    decision = PartnerDecision(
        event.request_id,
        event.status,
        event.partner_reference,
        event.reason_code,
        event.approved_amount,
    )
    from_funders = None if ANY_PARTNER in partners else partners
    outcome = await run_in_threadpool(
        record_partner_decision, desk, decision, "callback", from_funders
    )
    if outcome in NOTICE_OUTCOMES:
        background.add_task(journey_of(request).dispatch_due)
    return CallbackOut(outcome=outcome)
