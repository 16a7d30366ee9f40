"""Storage ports of the borrower journey: credit applications, e-contracts,
notifications, the outbox of the journey's messages and idempotency records.

A ``JourneyUnitOfWork`` is one database transaction over these repositories *and* the
lending core's and funding's (it is a ``FundingUnitOfWork``), so signing a contract,
drawing the loan, routing it to its funders, posting its ledger entries and queueing its
payout commit together. The payout itself is funding's (``app.disbursement``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from mobilend.app.ports import DecisionReason
from mobilend.app.ports_funding import FundingUnitOfWork
from mobilend.domain.money import Money

# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class CreditApplication:
    """One application for a credit line (授信) and the decision it got."""

    application_id: str
    borrower_id: str
    product_code: str
    outcome: str  # approve | decline | refer
    decision_id: str
    applied_at: dt.datetime
    decided_on: dt.date
    limit: Money | None = None
    annual_rate: Decimal | None = None
    price_band: str = ""
    expires_on: dt.date | None = None
    line_id: str | None = None
    reasons: tuple[DecisionReason, ...] = ()
    versions: Mapping[str, str] = field(default_factory=dict)
    #: What the applicant declared (e.g. monthly income in fen); never identity data.
    declared: Mapping[str, Any] = field(default_factory=dict)


class ContractStatus:
    DRAFT = "draft"
    SIGNED = "signed"


@dataclass(frozen=True, slots=True)
class LoanContract:
    """An e-contract as rendered for the borrower; once signed it never changes.

    ``sha256`` is over ``body`` (UTF-8) exactly as shown; ``terms`` is the offer
    snapshot (amount, rate, APR, schedule) the body was rendered from.
    """

    contract_id: str
    borrower_id: str
    line_id: str
    status: str  # draft | signed
    template_version: str
    body: str
    sha256: str
    terms: Mapping[str, Any]
    created_at: dt.datetime
    offer_date: dt.date
    signed_at: dt.datetime | None = None
    ip_address: str = ""
    device_id: str = ""
    loan_id: str | None = None


@dataclass(frozen=True, slots=True)
class Notification:
    """A message sent (or being sent) to a borrower: what their inbox shows."""

    notification_id: str
    borrower_id: str
    kind: str  # line_approved | line_declined | loan_disbursed | ...
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    created_at: dt.datetime
    channel: str = "sms"
    status: str = "pending"  # pending | sent | failed
    gateway_reference: str = ""
    sent_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A call to the outside world, written in the transaction that decided it."""

    message_id: str
    topic: str  # notify.sms
    borrower_id: str | None
    payload: Mapping[str, Any]  # ids only: never personal data
    idempotency_key: str
    attempts: int = 0
    status: str = "pending"  # pending | sent | dead
    #: When it falls due, by the clock the sender claims with (None: the store's clock).
    next_attempt_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    key: str
    scope: str
    borrower_id: str | None
    request_hash: str
    response: Mapping[str, Any] | None


# --------------------------------------------------------------------------- repositories


class CreditApplicationRepository(Protocol):
    def add(self, application: CreditApplication) -> None: ...

    def get(self, application_id: str) -> CreditApplication:
        """The application, or NotFound."""
        ...

    def for_borrower(self, borrower_id: str) -> list[CreditApplication]:
        """Newest first."""
        ...

    def by_line(self, line_id: str) -> CreditApplication | None: ...

    def lock_applicant(self, borrower_id: str) -> None:
        """Serialise applications of one borrower until the transaction ends."""
        ...


class ContractRepository(Protocol):
    def add(self, contract: LoanContract) -> None: ...

    def get(self, contract_id: str, *, for_update: bool = False) -> LoanContract:
        """The contract, or NotFound."""
        ...

    def save(self, contract: LoanContract) -> None: ...

    def for_borrower(self, borrower_id: str) -> list[LoanContract]:
        """Newest first."""
        ...

    def by_loan(self, loan_id: str) -> LoanContract | None: ...


class NotificationRepository(Protocol):
    def add(self, notification: Notification) -> None: ...

    def get(self, notification_id: str) -> Notification | None: ...

    def save(self, notification: Notification) -> None: ...

    def for_borrower(self, borrower_id: str, limit: int = 100) -> list[Notification]:
        """Newest first."""
        ...


class OutboxRepository(Protocol):
    def add(self, message: OutboxMessage) -> None: ...

    def claim(self, message_ids: Sequence[str], topics: Sequence[str]) -> list[OutboxMessage]:
        """The listed messages of ``topics`` still pending, row-locked (others skip them)."""
        ...

    def due(self, now: dt.datetime, topics: Sequence[str], limit: int = 100) -> list[OutboxMessage]:
        """Pending messages of ``topics`` (the table is shared with other features) whose
        next attempt is due, row-locked (others skip them)."""
        ...

    def mark_sent(self, message_id: str) -> None: ...

    def mark_retry(
        self, message_id: str, attempts: int, next_attempt_at: dt.datetime, error: str, dead: bool
    ) -> None: ...


class IdempotencyRepository(Protocol):
    def claim(
        self, key: str, scope: str, borrower_id: str | None, request_hash: str
    ) -> IdempotencyRecord | None:
        """Insert the key; when it exists already, return the stored record instead.

        A claim made by a transaction still in flight waits for it to finish.
        """
        ...

    def complete(self, key: str, scope: str, response: Mapping[str, Any]) -> None: ...


class PayeeCards(Protocol):
    def card_tail(self, borrower_id: str) -> str:
        """The last four digits of the card the borrower is paid to ('' when unknown),
        read in the unit of work's own transaction."""
        ...


class JourneyUnitOfWork(FundingUnitOfWork, Protocol):
    applications: CreditApplicationRepository
    contracts: ContractRepository
    notifications: NotificationRepository
    outbox: OutboxRepository
    idempotency: IdempotencyRepository
    payees: PayeeCards


class JourneyUnitOfWorkFactory(Protocol):
    def __call__(self) -> JourneyUnitOfWork: ...
