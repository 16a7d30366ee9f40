"""The message gateway's port (SMS and app push), apart from ``app.ports`` so that who may
send a message is visible in the import graph: the import-linter contract "overdue debt
reaches a borrower only through the conduct gate" (pyproject.toml) lets only the conduct
gate, servicing's service-notice sender, the journey's notices and onboarding's one-time
codes import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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
