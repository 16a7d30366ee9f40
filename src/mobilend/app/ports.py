"""Ports: the Protocols through which use cases reach storage and the outside world.

Adapters implement these; tests use in-memory fakes built by the same bootstrap.
Wire-level details (HTTP, SQL) never appear here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from mobilend.domain.money import Money

# --------------------------------------------------------------------------- time & ids


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """Current instant, timezone-aware (UTC)."""
        ...


class IdSource(Protocol):
    def new_id(self) -> str:
        """A new unique, sortable id (string)."""
        ...


# --------------------------------------------------------------------------- payment rail


@dataclass(frozen=True, slots=True)
class PayoutRequest:
    """Send ``amount`` to a borrower's bank card. ``idempotency_key`` makes retries safe."""

    idempotency_key: str
    loan_id: str
    amount: Money
    account_name: str
    card_number: str
    bank_code: str = ""


@dataclass(frozen=True, slots=True)
class DebitRequest:
    """Collect ``amount`` from a borrower's card (auto-debit, 代扣)."""

    idempotency_key: str
    loan_id: str
    amount: Money
    account_name: str
    card_number: str


@dataclass(frozen=True, slots=True)
class RailAck:
    """The rail's synchronous answer: it accepted (final status comes by webhook) or refused."""

    accepted: bool
    rail_reference: str = ""
    status: str = "pending"  # pending | succeeded | failed
    failure_code: str = ""  # e.g. insufficient_funds, card_expired


@dataclass(frozen=True, slots=True)
class RailStatementLine:
    rail_reference: str
    idempotency_key: str
    direction: str  # payout | debit
    amount: Money
    status: str  # succeeded | failed
    settled_on: dt.date


class PaymentRail(Protocol):
    def send_payout(self, request: PayoutRequest) -> RailAck: ...

    def request_debit(self, request: DebitRequest) -> RailAck: ...

    def payout_status(self, idempotency_key: str) -> RailAck: ...

    def statement(self, day: dt.date) -> list[RailStatementLine]: ...


# --------------------------------------------------------------------------- notifications


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    message_id: str
    channel: str  # sms | push
    recipient: str  # phone number (sms) or device token (push)
    body: str
    kind: str = "service"  # service | legal | marketing


@dataclass(frozen=True, slots=True)
class DeliveryAck:
    accepted: bool
    gateway_reference: str = ""
    error: str = ""


class MessageGateway(Protocol):
    def send(self, message: OutgoingMessage) -> DeliveryAck: ...


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True, slots=True)
class Applicant:
    """What the decision engine is told about an application (PII already decrypted)."""

    application_id: str
    borrower_id: str
    product_code: str
    full_name: str
    national_id: str
    phone: str
    birth_date: dt.date | None = None
    region_code: str = ""
    device_id: str = ""
    ip_address: str = ""
    bank_card: str = ""
    monthly_income: Money | None = None
    declared: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DecisionReason:
    code: str
    text_zh: str
    text_en: str


@dataclass(frozen=True, slots=True)
class CreditDecision:
    decision_id: str
    outcome: str  # approve | decline | refer
    limit: Money | None
    annual_rate: Any  # Decimal fraction, e.g. Decimal("0.18")
    expires_on: dt.date | None
    reasons: tuple[DecisionReason, ...] = ()
    versions: Mapping[str, str] = field(default_factory=dict)


class DecisionEngine(Protocol):
    def decide(self, applicant: Applicant, on: dt.date) -> CreditDecision: ...
