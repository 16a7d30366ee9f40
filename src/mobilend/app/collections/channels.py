"""The channels that reach a borrower: the dialer (calls) beside the platform's message
gateway (SMS and push). Only the conduct gate (``app.collections.gate``) may use them; an
import-linter contract in pyproject.toml keeps every other collections module, entry
point and job away from this module and from ``app.ports``' message gateway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from mobilend.app.messaging import DeliveryAck, MessageGateway, OutgoingMessage

__all__ = [
    "CallRequest",
    "CallResult",
    "DeliveryAck",
    "Dialer",
    "MessageGateway",
    "OutgoingMessage",
]


@dataclass(frozen=True, slots=True)
class CallRequest:
    """Connect an agent to one number (the agent never sees it)."""

    call_id: str
    phone: str
    agent: str  # the actor placing the call
    team: str  # lender or agency code
    script: str  # the approved script's text, shown to the agent


@dataclass(frozen=True, slots=True)
class CallResult:
    status: str  # connected | no_answer | busy | failed
    recording_ref: str = ""
    seconds: int = 0

    @property
    def connected(self) -> bool:
        return self.status == "connected"


class Dialer(Protocol):
    def place_call(self, request: CallRequest) -> CallResult: ...
