"""`MessageGateway` over HTTP: SMS and app push through the message gateway's wire format.

``message_id`` is the gateway's idempotency key, so a retry after a timeout or 5xx never
sends the same text twice. A gateway that stays down raises ``GatewayUnavailable`` after
the retries (the caller's outbox retries later, then dead-letters); a definitive refusal
(invalid recipient, id reused for another text) comes back as ``DeliveryAck(accepted=False)``.
Delivery receipts arrive by signed webhook (``verify_receipt_webhook``) or by polling
``poll_receipts``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mobilend.adapters.http_resilience import (
    SignedGatewayClient,
    UnexpectedResponse,
)
from mobilend.adapters.webhook_signature import (
    DEFAULT_TOLERANCE_S,
    InvalidWebhook,
    SecretRing,
    object_field,
    verify_signed_body,
)
from mobilend.app.messaging import DeliveryAck, OutgoingMessage


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    """Whether a message reached the phone."""

    message_id: str
    gateway_reference: str
    channel: str  # sms | push
    recipient: str
    status: str  # delivered | failed
    error: str = ""
    event_id: str = ""


def _receipt(data: Mapping[str, Any], event_id: str = "") -> DeliveryReceipt:
    return DeliveryReceipt(
        message_id=str(data["message_id"]),
        gateway_reference=str(data["gateway_reference"]),
        channel=str(data["channel"]),
        recipient=str(data["recipient"]),
        status=str(data["status"]),
        error=str(data.get("error") or ""),
        event_id=event_id,
    )


def verify_receipt_webhook(
    headers: Mapping[str, str],
    raw_body: bytes,
    secret: str | SecretRing,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> DeliveryReceipt:
    """Authenticate a receipt callback and parse it; raises ``InvalidWebhook`` otherwise."""
    payload = verify_signed_body(headers, raw_body, secret, tolerance_s=tolerance_s, now=now)
    try:
        return _receipt(object_field(payload, "data"), str(payload["event_id"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidWebhook(f"bad_payload: {exc}") from None


class HttpMessageGateway(SignedGatewayClient):
    """``MessageGateway`` backed by the HTTP SMS/push gateway."""

    service_name = "message-gateway"
    default_retries = 3

    def send(self, message: OutgoingMessage) -> DeliveryAck:
        if message.channel not in ("sms", "push"):
            return DeliveryAck(accepted=False, error="unsupported_channel")
        body: dict[str, Any] = {
            "message_id": message.message_id,
            "recipient": message.recipient,
            "body": message.body,
            "kind": message.kind,
        }
        if self.callback_url:
            body["callback_url"] = self.callback_url
        response = self.http.request("POST", f"/{message.channel}", json=body)
        if response.status_code in (200, 202):
            return DeliveryAck(
                accepted=True, gateway_reference=response.json()["gateway_reference"]
            )
        if response.status_code == 409:
            return DeliveryAck(accepted=False, error="message_id_reused")
        if response.status_code in (400, 422):
            return DeliveryAck(accepted=False, error="invalid_request")
        raise UnexpectedResponse(self.http.name, response.status_code, response.text)

    def poll_receipts(self, since: int = 0) -> tuple[list[DeliveryReceipt], int]:
        """Receipts after sequence ``since``, and the sequence to ask from next time."""
        response = self.http.request("GET", "/receipts", params={"since": since})
        if response.status_code != 200:
            raise UnexpectedResponse(self.http.name, response.status_code, response.text)
        body = response.json()
        return [_receipt(row) for row in body["receipts"]], int(body["next"])

    def verify_webhook(
        self, headers: Mapping[str, str], raw_body: bytes, *, now: float | None = None
    ) -> DeliveryReceipt:
        return verify_receipt_webhook(headers, raw_body, self.secret, now=now)

    def close(self) -> None:
        self.http.close()
