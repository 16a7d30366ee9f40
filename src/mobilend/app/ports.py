"""Ports to the outside world: time, ids, the payment rail, partner
banks, the decision engine and the PII vault. Storage ports live with their feature
(``app/<feature>/ports.py``); the platform unit of work is in ``app/unit_of_work.py``.
Wire-level details (HTTP, SQL) never appear here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from mobilend.domain.decisions import Applicant, CreditDecision
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
    settled_on: dt.date | None = None  # the rail's business date, once settled


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


# --------------------------------------------------------------------------- decisions


class DecisionEngine(Protocol):
    def decide(self, applicant: Applicant, on: dt.date) -> CreditDecision: ...


# --------------------------------------------------------------------------- partner bank


@dataclass(frozen=True, slots=True)
class PartnerApprovalRequest:
    """Ask a partner institution to fund ``amount`` of a loan; it decides on its own.

    ``request_id`` is the idempotency key: asking again returns the same decision.
    """

    request_id: str
    loan_id: str
    amount: Money
    term_days: int
    score_band: str  # e.g. A..E, best first
    product_code: str = ""
    region_code: str = ""


@dataclass(frozen=True, slots=True)
class PartnerAck:
    """The partner's answer so far; the final decision usually arrives later by callback."""

    accepted: bool  # the request was received (not: the loan was approved)
    partner_reference: str = ""
    status: str = "pending"  # pending | approved | declined | unknown
    approved_amount: Money | None = None
    reason_code: str = ""


class PartnerBank(Protocol):
    def request_approval(self, request: PartnerApprovalRequest) -> PartnerAck: ...

    def approval_status(self, request_id: str) -> PartnerAck: ...


# --------------------------------------------------------------------------- PII vault


class PiiVault(Protocol):
    """Field-level encryption of personal data and keyed blind indexes for lookups.

    ``field`` names the column (``phone``, ``national_id``, ``real_name``, ``bank_card``…):
    a value sealed for one field does not open as another.
    """

    def encrypt(self, field: str, value: str) -> str: ...

    def decrypt(self, field: str, sealed: str) -> str: ...

    def blind_index(self, field: str, value: str) -> str: ...


# --------------------------------------------------------------------------- abuse limits


class RateLimiter(Protocol):
    """Counters of events per key and time window, for abuse limits. ``hit`` counts one
    event and returns how many the window holds so far, this one included — atomically:
    concurrent hits never read the same count. Counts survive the caller's own
    transaction rolling back (an attempt counts even when it fails)."""

    def hit(
        self, bucket: str, key: str, window_start: dt.datetime, window_end: dt.datetime
    ) -> int: ...
