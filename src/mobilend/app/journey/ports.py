"""Storage ports of the borrower journey: credit applications, e-contracts,
notifications, the outbox of the journey's messages and idempotency records.

They are the ``journey`` group of the platform unit of work, so signing a contract,
drawing the loan, routing it to its funders, posting its ledger entries and queueing its
payout commit together. The payout itself is funding's (``app.funding.disbursement``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from mobilend.domain.decisions import DecisionOutcome, DecisionReason
from mobilend.domain.money import Money

# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class CreditApplication:
    """One application for a credit line (授信) and the decision it got."""

    application_id: str
    borrower_id: str
    product_code: str
    outcome: DecisionOutcome
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
class InstallmentTerms:
    n: int
    due_date: dt.date
    principal_fen: int
    interest_fen: int
    fees_fen: int
    total_fen: int
    balance_after_fen: int


@dataclass(frozen=True, slots=True)
class OfferTerms:
    """A drawdown offer frozen as values (fen, dates, decimal rates): what a contract is
    rendered from and keeps, and what screens show. ``to_state`` is its stored JSON."""

    line_id: str
    product_code: str
    product_name: str
    currency: str
    amount_fen: int
    disbursed_fen: int
    periods: int
    method: str
    start_date: dt.date
    maturity_date: dt.date
    annual_rate: Decimal
    apr: Decimal
    total_interest_fen: int
    total_fees_fen: int
    upfront_fees_fen: int
    total_cost_fen: int
    total_repayment_fen: int
    penalty_rate: Decimal
    penalty_grace_days: int
    installments: tuple[InstallmentTerms, ...]

    @property
    def amount(self) -> Money:
        return Money.from_minor(self.amount_fen, self.currency)

    def to_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name == "installments":
                value = [
                    {
                        k: (v.isoformat() if isinstance(v, dt.date) else v)
                        for k, v in ((f, getattr(i, f)) for f in i.__dataclass_fields__)
                    }
                    for i in value
                ]
            elif isinstance(value, dt.date):
                value = value.isoformat()
            elif isinstance(value, Decimal):
                value = str(value)
            state[name] = value
        return state

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> OfferTerms:
        installments = tuple(
            InstallmentTerms(
                n=int(i["n"]),
                due_date=dt.date.fromisoformat(i["due_date"]),
                principal_fen=int(i["principal_fen"]),
                interest_fen=int(i["interest_fen"]),
                fees_fen=int(i["fees_fen"]),
                total_fen=int(i["total_fen"]),
                balance_after_fen=int(i["balance_after_fen"]),
            )
            for i in state["installments"]
        )
        return cls(
            line_id=str(state["line_id"]),
            product_code=str(state["product_code"]),
            product_name=str(state["product_name"]),
            currency=str(state["currency"]),
            amount_fen=int(state["amount_fen"]),
            disbursed_fen=int(state["disbursed_fen"]),
            periods=int(state["periods"]),
            method=str(state["method"]),
            start_date=dt.date.fromisoformat(state["start_date"]),
            maturity_date=dt.date.fromisoformat(state["maturity_date"]),
            annual_rate=Decimal(str(state["annual_rate"])),
            apr=Decimal(str(state["apr"])),
            total_interest_fen=int(state["total_interest_fen"]),
            total_fees_fen=int(state["total_fees_fen"]),
            upfront_fees_fen=int(state["upfront_fees_fen"]),
            total_cost_fen=int(state["total_cost_fen"]),
            total_repayment_fen=int(state["total_repayment_fen"]),
            penalty_rate=Decimal(str(state["penalty_rate"])),
            penalty_grace_days=int(state["penalty_grace_days"]),
            installments=installments,
        )


@dataclass(frozen=True, slots=True)
class LoanContract:
    """An e-contract as rendered for the borrower; once signed it never changes.

    ``sha256`` is over ``body`` (UTF-8) exactly as shown; ``terms`` is the offer
    (amount, rate, APR, schedule) the body was rendered from.
    """

    contract_id: str
    borrower_id: str
    line_id: str
    status: str  # draft | signed
    template_version: str
    body: str
    sha256: str
    terms: OfferTerms
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


class JourneyStores(Protocol):
    """The journey's store group of the platform unit of work."""

    @property
    def applications(self) -> CreditApplicationRepository: ...

    @property
    def contracts(self) -> ContractRepository: ...

    @property
    def notifications(self) -> NotificationRepository: ...

    @property
    def outbox(self) -> OutboxRepository: ...

    @property
    def idempotency(self) -> IdempotencyRepository: ...

    @property
    def payees(self) -> PayeeCards: ...
