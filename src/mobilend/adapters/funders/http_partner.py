"""`PartnerBank` over HTTP: ask a partner institution to fund a loan (amounts in fen).

The partner decides on its own and answers later by signed webhook; ``request_id`` is
the idempotency key, so asking again (after a timeout) returns the same decision and
never opens a second application at the partner. ``GatewayUnavailable`` means no answer
after the retries: the router may fall back to the next funder, and a late decision for
that request can still be read with ``approval_status`` or arrive by callback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from mobilend.adapters.http_resilience import (
    SignedGatewayClient,
    UnexpectedResponse,
)
from mobilend.adapters.webhook_signature import (
    DEFAULT_TOLERANCE_S,
    InvalidWebhook,
    SecretRing,
    bounded_int,
    object_field,
    verify_signed_body,
)
from mobilend.app.ports import PartnerAck, PartnerApprovalRequest
from mobilend.domain.money import Money


@dataclass(frozen=True, slots=True)
class PartnerDecisionEvent:
    """One authenticated decision callback from a partner bank."""

    event_id: str
    request_id: str
    loan_id: str
    partner_code: str
    partner_reference: str
    status: str  # approved | declined
    approved_amount: Money | None
    reason_code: str

    def ack(self) -> PartnerAck:
        return PartnerAck(
            True, self.partner_reference, self.status, self.approved_amount, self.reason_code
        )


def _approved_amount(data: Mapping[str, Any]) -> Money | None:
    fen = bounded_int(data.get("approved_amount_fen", 0), "approved_amount_fen", 0, 2**63 - 1)
    if data.get("status") != "approved":
        return None
    return Money.from_minor(fen, str(data.get("currency", "CNY")))


def _ack(body: Mapping[str, Any]) -> PartnerAck:
    return PartnerAck(
        accepted=True,
        partner_reference=str(body.get("partner_reference", "")),
        status=str(body.get("status", "pending")),
        approved_amount=_approved_amount(body),
        reason_code=str(body.get("reason_code") or ""),
    )


def verify_partner_webhook(
    headers: Mapping[str, str],
    raw_body: bytes,
    secret: str | SecretRing,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> PartnerDecisionEvent:
    """Authenticate a partner decision callback; raises ``InvalidWebhook`` otherwise."""
    payload = verify_signed_body(headers, raw_body, secret, tolerance_s=tolerance_s, now=now)
    try:
        data = object_field(payload, "data")
        status = str(data["status"])
        if status not in ("approved", "declined"):
            raise ValueError(f"not a decision: {status}")
        return PartnerDecisionEvent(
            event_id=str(payload["event_id"]),
            request_id=str(data["request_id"]),
            loan_id=str(data["loan_id"]),
            partner_code=str(data.get("partner_code", "")),
            partner_reference=str(data["partner_reference"]),
            status=status,
            approved_amount=_approved_amount(data),
            reason_code=str(data.get("reason_code") or ""),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidWebhook(f"bad_payload: {exc}") from None


class HttpPartnerBank(SignedGatewayClient):
    """``PartnerBank`` backed by one partner institution's HTTP API."""

    service_name = "partner-bank"
    default_retries = 2

    def request_approval(self, request: PartnerApprovalRequest) -> PartnerAck:
        body: dict[str, Any] = {
            "request_id": request.request_id,
            "loan_id": request.loan_id,
            "amount_fen": request.amount.to_minor(),
            "currency": request.amount.currency,
            "term_days": request.term_days,
            "score_band": request.score_band,
            "product_code": request.product_code,
            "region_code": request.region_code,
        }
        if self.callback_url:
            body["callback_url"] = self.callback_url
        response = self.http.request("POST", "/approvals", json=body)
        if response.status_code in (200, 202):
            return _ack(response.json())
        if response.status_code in (400, 422):
            return PartnerAck(accepted=False, status="declined", reason_code="invalid_request")
        raise UnexpectedResponse(self.http.name, response.status_code, response.text)

    def approval_status(self, request_id: str) -> PartnerAck:
        response = self.http.request("GET", "/approvals/" + quote(request_id, safe=""))
        if response.status_code == 404:
            return PartnerAck(accepted=False, status="unknown", reason_code="not_found")
        if response.status_code != 200:
            raise UnexpectedResponse(self.http.name, response.status_code, response.text)
        return _ack(response.json())

    def verify_webhook(
        self, headers: Mapping[str, str], raw_body: bytes, *, now: float | None = None
    ) -> PartnerDecisionEvent:
        return verify_partner_webhook(headers, raw_body, self.secret, now=now)

    def close(self) -> None:
        self.http.close()
