"""`PaymentRail` over HTTP, speaking the payment gateway's wire format (amounts in fen).

Every payout and debit carries the caller's idempotency key in ``Idempotency-Key``, so
retrying after a timeout or a 5xx can never move money twice; ``ResilientHttp`` supplies
the timeouts, retries with backoff + jitter and the circuit breaker. When the gateway
cannot be reached the methods raise ``GatewayUnavailable`` (the call may or may not
have taken effect: retry with the same key, or ask ``payout_status``).

The final outcome comes by signed webhook; the API layer checks it with
``verify_webhook`` and applies only events with ``final`` set and a ``sequence`` higher
than the last one it applied for that key (duplicates share an ``event_id``).
"""

from __future__ import annotations

import datetime as dt
import json
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
from mobilend.app.ports import (
    DebitRequest,
    PayoutRequest,
    RailAck,
    RailStatementLine,
)
from mobilend.domain.money import Money


@dataclass(frozen=True, slots=True)
class RailWebhookEvent:
    """One authenticated callback from the rail."""

    event_id: str
    event_type: str  # payout.succeeded | payout.failed | debit.succeeded | debit.failed
    idempotency_key: str
    rail_reference: str
    direction: str  # payout | debit
    loan_id: str
    amount: Money
    status: str  # pending | succeeded | failed
    failure_code: str
    sequence: int  # grows with each status change of the same transaction
    attempt: int
    final: bool  # False: an intermediate attempt's news; never act on it
    settled_on: dt.date | None

    def ack(self) -> RailAck:
        return RailAck(True, self.rail_reference, self.status, self.failure_code)


def verify_webhook(
    headers: Mapping[str, str],
    raw_body: bytes,
    secret: str | SecretRing,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> RailWebhookEvent:
    """Authenticate a rail callback and parse it; raises ``InvalidWebhook`` otherwise."""
    payload = verify_signed_body(headers, raw_body, secret, tolerance_s=tolerance_s, now=now)
    try:
        data = object_field(payload, "data")
        settled_on = data.get("settled_on")
        return RailWebhookEvent(
            event_id=str(payload["event_id"]),
            event_type=str(payload["type"]),
            idempotency_key=str(data["idempotency_key"]),
            rail_reference=str(data["reference"]),
            direction=str(data["direction"]),
            loan_id=str(data.get("loan_id", "")),
            amount=_money(data),
            status=str(data["status"]),
            failure_code=str(data.get("failure_code") or ""),
            sequence=bounded_int(payload["sequence"], "sequence"),
            attempt=bounded_int(payload.get("attempt", 1), "attempt"),
            final=bool(payload["final"]),
            settled_on=dt.date.fromisoformat(settled_on) if settled_on else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidWebhook(f"bad_payload: {exc}") from None


def _money(data: Mapping[str, Any]) -> Money:
    amount_fen = bounded_int(data["amount_fen"], "amount_fen", 0, 2**63 - 1)
    return Money.from_minor(amount_fen, str(data.get("currency", "CNY")))


def _ack(body: Mapping[str, Any]) -> RailAck:
    return RailAck(
        accepted=True,
        rail_reference=str(body.get("reference", "")),
        status=str(body.get("status", "pending")),
        failure_code=str(body.get("failure_code") or ""),
        settled_on=dt.date.fromisoformat(str(body["settled_on"]))
        if body.get("settled_on")
        else None,
    )


class HttpPaymentRail(SignedGatewayClient):
    """``PaymentRail`` backed by the HTTP payment gateway."""

    service_name = "payment-rail"
    default_retries = 3

    # -- PaymentRail ------------------------------------------------------------
    def send_payout(self, request: PayoutRequest) -> RailAck:
        return self._submit(
            "/payouts", request.idempotency_key, self._body(request, request.bank_code)
        )

    def request_debit(self, request: DebitRequest) -> RailAck:
        return self._submit("/debits", request.idempotency_key, self._body(request, ""))

    def payout_status(self, idempotency_key: str) -> RailAck:
        return self._status("/payouts/", idempotency_key)

    def statement(self, day: dt.date) -> list[RailStatementLine]:
        response = self.http.request("GET", f"/statements/{day.isoformat()}")
        if response.status_code != 200:
            raise UnexpectedResponse(self.http.name, response.status_code, response.text)
        lines = []
        for raw in response.text.splitlines():
            if not raw.strip():
                continue
            row = json.loads(raw)
            lines.append(
                RailStatementLine(
                    rail_reference=row["reference"],
                    idempotency_key=row["idempotency_key"],
                    direction=row["direction"],
                    amount=_money(row),
                    status=row["status"],
                    settled_on=dt.date.fromisoformat(row["settled_on"]),
                )
            )
        return lines

    # -- beyond the port ----------------------------------------------------------
    def debit_status(self, idempotency_key: str) -> RailAck:
        return self._status("/debits/", idempotency_key)

    def verify_webhook(
        self, headers: Mapping[str, str], raw_body: bytes, *, now: float | None = None
    ) -> RailWebhookEvent:
        return verify_webhook(headers, raw_body, self.secret, now=now)

    def close(self) -> None:
        self.http.close()

    # -- wire -------------------------------------------------------------------
    def _body(self, request: PayoutRequest | DebitRequest, bank_code: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "loan_id": request.loan_id,
            "amount_fen": request.amount.to_minor(),
            "currency": request.amount.currency,
            "account_name": request.account_name,
            "card_number": request.card_number,
            "bank_code": bank_code,
        }
        if self.callback_url:
            body["callback_url"] = self.callback_url
        return body

    def _submit(self, path: str, key: str, body: dict[str, Any]) -> RailAck:
        response = self.http.request("POST", path, json=body, headers={"Idempotency-Key": key})
        if response.status_code in (200, 201, 202):
            return _ack(response.json())
        if response.status_code in (400, 422):
            # Refused before anything was created: safe to treat as a final failure.
            return RailAck(accepted=False, status="failed", failure_code="invalid_request")
        raise UnexpectedResponse(self.http.name, response.status_code, response.text)

    def _status(self, prefix: str, key: str) -> RailAck:
        response = self.http.request("GET", prefix + quote(key, safe=""))
        if response.status_code == 404:
            return RailAck(accepted=False, status="unknown", failure_code="not_found")
        if response.status_code != 200:
            raise UnexpectedResponse(self.http.name, response.status_code, response.text)
        return _ack(response.json())
