"""Ports of funding and disbursement: the funder registry, tranches, payouts, partner
approvals, the outbox, rail events and reconciliation records; and the outside-world
shapes the use cases need (where to pay a borrower, what a rail event says).

The stores are the ``funding`` group of the platform unit of work (``app.unit_of_work``).
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from mobilend.domain.funding import (
    RAIL_IN_TRANSIT,
    Funder,
    FunderPosition,
    Programme,
    Tranche,
)
from mobilend.domain.ledger import ComponentAmounts
from mobilend.domain.money import Money

if TYPE_CHECKING:
    from mobilend.app.unit_of_work import UnitOfWork

#: Outbox topics of this feature (other features use other topics on the same table).
TOPIC_PAYOUT = "funding.payout"
TOPIC_APPROVAL = "funding.approval"
FUNDING_TOPICS = (TOPIC_PAYOUT, TOPIC_APPROVAL)

# --------------------------------------------------------------------------- records


class Strategy:
    PRIORITY = "priority"
    CHEAPEST = "cheapest"
    ROUND_ROBIN = "round_robin"
    ALL = ("priority", "cheapest", "round_robin")


@dataclass(frozen=True, slots=True)
class FundingSettings:
    strategy: str = Strategy.PRIORITY
    #: Ceiling on the outstanding balance of all joint loans together (None: no ceiling).
    joint_balance_limit: Money | None = None
    #: A partner that has not decided within this many seconds is passed over.
    approval_timeout_s: int = 30


class PayoutStatus:
    AWAITING_APPROVAL = "awaiting_approval"  # partner funders still deciding
    QUEUED = "queued"  # in the outbox, not yet accepted by the rail
    SENT = "sent"  # the rail accepted it; the outcome is awaited
    PAID = "paid"
    FAILED = "failed"  # the rail failed it finally (or no funder): loan cancelled
    DEAD_LETTER = "dead_letter"  # the rail could not be reached: operators decide
    NEEDS_REVIEW = "needs_review"  # the rail said something we will not apply blindly
    FINAL = frozenset({"paid", "failed"})
    OPEN = ("awaiting_approval", "queued", "sent", "dead_letter", "needs_review")


@dataclass(frozen=True, slots=True)
class PayoutRecord:
    """The payout of one loan to the borrower's card, as far as the rail has told us."""

    loan_id: str
    borrower_id: str
    amount: Money
    idempotency_key: str
    status: str
    business_date: dt.date  # the day the offer was accepted
    created_at: dt.datetime | None = None  # None: the store stamps it
    updated_at: dt.datetime | None = None
    rail_reference: str = ""
    failure_code: str = ""
    attempts: int = 0
    last_sequence: int = 0
    sent_at: dt.datetime | None = None
    confirmed_at: dt.datetime | None = None
    settled_on: dt.date | None = None
    resolved_by: str = ""  # webhook | ack | poll | statement | operator | routing
    settlement_entry_id: str | None = None
    last_error: str = ""
    next_poll_at: dt.datetime | None = None
    #: What routing was told about the borrower (score, band, region): kept for re-routing.
    context: Mapping[str, Any] = field(default_factory=dict)


class ApprovalStatus:
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    TIMED_OUT = "timed_out"  # we stopped waiting; the partner's own decision may come later
    WITHDRAWN = "withdrawn"  # the loan went elsewhere before this partner decided


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    """One request to a partner to fund its tranche, and the partner's own decision.

    ``partner_decision`` is set once, from the partner's answer, and never changed.
    ``status`` is what routing made of it (a timeout is ours, not the partner's)."""

    request_id: str
    loan_id: str
    borrower_id: str
    funder_code: str
    amount: Money
    status: str
    requested_at: dt.datetime | None = None  # None: the store stamps it
    partner_decision: str = ""  # '' | approved | declined
    partner_reference: str = ""
    reason_code: str = ""
    decided_at: dt.datetime | None = None
    source: str = ""  # callback | poll
    sent: bool = False  # the partner acknowledged the request
    next_check_at: dt.datetime | None = None  # when to ask the partner again


@dataclass(frozen=True, slots=True)
class RoutingRecord:
    """Why a loan went where it went: every programme weighed and the one chosen."""

    record_id: str
    loan_id: str
    borrower_id: str
    attempt: int
    strategy: str
    programme_code: str | None  # None: no programme could take the loan
    reasons: Mapping[str, Any]
    created_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class OutboxItem:
    message_id: str
    topic: str
    borrower_id: str | None
    payload: Mapping[str, Any]  # ids only, never personal data
    idempotency_key: str
    attempts: int = 0
    status: str = "pending"  # pending | sent | dead
    next_attempt_at: dt.datetime | None = None
    last_error: str = ""


@dataclass(frozen=True, slots=True)
class RailEventRecord:
    event_id: str
    idempotency_key: str
    event_type: str
    sequence: int
    final: bool
    outcome: str  # applied | duplicate | not_final | stale | unknown_payout | ...
    received_at: dt.datetime | None = None
    loan_id: str = ""


@dataclass(frozen=True, slots=True)
class CollectionLine:
    """Money one entry took off a loan's receivables (repayments, credit applied)."""

    loan_id: str
    business_date: dt.date
    collected: ComponentAmounts
    #: The loan's borrower, where the store knows it from the entries.
    borrower_id: str | None = None


# --------------------------------------------------------------------------- stores


class FunderRegistry(Protocol):
    def add(self, funder: Funder) -> None:
        """Conflict when the code exists."""
        ...

    def save(self, funder: Funder) -> None: ...

    def get(self, code: str) -> Funder:
        """The funder, or NotFound."""
        ...

    def add_programme(self, programme: Programme) -> None: ...

    def save_programme(self, programme: Programme) -> None: ...

    def programmes(self) -> list[Programme]: ...

    def settings(self) -> FundingSettings: ...

    def save_settings(self, settings: FundingSettings) -> None: ...

    def list(self) -> builtins.list[Funder]: ...


class FunderPositions(Protocol):
    def get(
        self, codes: Sequence[str], on: dt.date, currency: str, *, for_update: bool = False
    ) -> dict[str, FunderPosition]:
        """Positions of the funders (row-locked with ``for_update``, in code order)."""
        ...

    def change(
        self, code: str, on: dt.date, routed: Money, outstanding: Money, *, joint: bool = False
    ) -> None:
        """Add (or, negative, take back) routed volume on ``on`` and outstanding balance
        (counted in the joint balance too when the tranche is part of a joint loan)."""
        ...

    def count_programme(self, programme: Programme, loans: int, amount: Money) -> None:
        """Add to the programme's tally of loans routed (round-robin reads it)."""
        ...

    def programme_counts(self) -> dict[str, int]: ...

    def joint_outstanding(self, currency: str) -> Money: ...

    def refresh_outstanding(self) -> dict[str, Money]:
        """Recompute every funder's outstanding balance from its tranches of open loans."""
        ...


class TrancheRepository(Protocol):
    def add(self, loan_id: str, borrower_id: str, tranches: Sequence[Tranche]) -> None: ...

    def for_loan(self, loan_id: str) -> list[Tranche]:
        """The loan's live tranches (released ones left out)."""
        ...

    def for_loans(self, loan_ids: Sequence[str]) -> dict[str, list[Tranche]]: ...

    def release(self, loan_id: str) -> None:
        """Mark the loan's tranches released (re-routed or cancelled)."""
        ...


class PayoutRepository(Protocol):
    def add(self, payout: PayoutRecord) -> None: ...

    def get(self, loan_id: str, *, for_update: bool = False) -> PayoutRecord | None: ...

    def by_key(self, idempotency_key: str, *, for_update: bool = False) -> PayoutRecord | None: ...

    def save(self, payout: PayoutRecord) -> None: ...

    def awaiting_confirmation(
        self, now: dt.datetime, limit: int, lease_until: dt.datetime
    ) -> list[PayoutRecord]:
        """Sent (or dead-lettered) payouts whose next status poll is due, leased like
        outbox messages: their ``next_poll_at`` moves to ``lease_until``."""
        ...

    def with_status(self, statuses: Sequence[str], limit: int = 100) -> list[PayoutRecord]: ...

    def counts(self) -> dict[str, int]: ...

    def settled_on(self, day: dt.date) -> list[PayoutRecord]:
        """Payouts the rail settled (paid or failed) on ``day``."""
        ...

    def amount_with_status(self, statuses: Sequence[str], currency: str) -> Money:
        """Sum of the amounts of every payout in one of ``statuses``."""
        ...


class ApprovalRepository(Protocol):
    def add(self, approval: ApprovalRecord) -> None: ...

    def get(self, request_id: str, *, for_update: bool = False) -> ApprovalRecord | None: ...

    def save(self, approval: ApprovalRecord) -> None: ...

    def for_loan(self, loan_id: str) -> list[ApprovalRecord]: ...

    def pending(self, limit: int = 100) -> list[ApprovalRecord]: ...


class RoutingLog(Protocol):
    def add(self, record: RoutingRecord) -> None: ...

    def for_loan(self, loan_id: str) -> list[RoutingRecord]: ...


class FundingOutbox(Protocol):
    def add(self, item: OutboxItem) -> None: ...

    def claim_due(
        self, topics: Sequence[str], now: dt.datetime, limit: int, lease_until: dt.datetime
    ) -> list[OutboxItem]:
        """Pending messages due by ``now``, leased: their next attempt moves to
        ``lease_until`` so no other worker takes them meanwhile (claimed with SKIP LOCKED)."""
        ...

    def mark_done(self, message_id: str) -> None: ...

    def mark_retry(
        self, message_id: str, attempts: int, next_attempt_at: dt.datetime, error: str
    ) -> None: ...

    def mark_dead(self, message_id: str, attempts: int, error: str) -> None: ...

    def dead(self, topics: Sequence[str], limit: int = 100) -> list[OutboxItem]: ...

    def requeue(self, idempotency_key: str, now: dt.datetime) -> bool:
        """Put a dead or pending message back in line now; False when there is none."""
        ...


class RailEventLog(Protocol):
    def record(self, event: RailEventRecord) -> bool:
        """Store the event; False when its id was seen before (a duplicate)."""
        ...

    def set_outcome(self, event_id: str, outcome: str) -> None: ...

    def with_outcome(self, outcome: str, limit: int = 100) -> list[RailEventRecord]: ...


class FundingLedgerQueries(Protocol):
    def account_balance(self, account: str, currency: str) -> Money: ...

    def debits_on(self, account: str, day: dt.date) -> dict[str, tuple[int, Money]]:
        """Per loan: how many postings debited ``account`` in entries dated ``day``, and
        their sum (a payout settled or cancelled debits the rail's in-transit once)."""
        ...

    def collections(self, first: dt.date, last: dt.date) -> list[CollectionLine]:
        """Money repayments and credit applications dated in the period took off each
        loan's receivables, per loan and day; a repayment since reversed (bounced) counts
        for nothing."""
        ...

    def posted(self, entry_ids: Sequence[str]) -> set[str]:
        """Which of these journal entries were posted."""
        ...

    def shares_posted(self, day: dt.date) -> dict[tuple[str, str], ComponentAmounts]:
        """What ``funder_share`` entries dated ``day`` moved, per (loan id, funder code):
        principal (the funder's cash account), interest, fees and penalty (income)."""
        ...


class ReconciliationStore(Protocol):
    def save(self, day: dt.date, report: Mapping[str, Any]) -> None: ...

    def get(self, day: dt.date) -> Mapping[str, Any] | None: ...


class FundingStores(Protocol):
    """Funding's store group of the platform unit of work."""

    @property
    def funders(self) -> FunderRegistry: ...

    @property
    def positions(self) -> FunderPositions: ...

    @property
    def tranches(self) -> TrancheRepository: ...

    @property
    def payouts(self) -> PayoutRepository: ...

    @property
    def approvals(self) -> ApprovalRepository: ...

    @property
    def routing(self) -> RoutingLog: ...

    @property
    def outbox(self) -> FundingOutbox: ...

    @property
    def rail_events(self) -> RailEventLog: ...

    @property
    def ledger_queries(self) -> FundingLedgerQueries: ...

    @property
    def reconciliations(self) -> ReconciliationStore: ...


# --------------------------------------------------------------------------- outside world


@dataclass(frozen=True, slots=True)
class PayoutAccount:
    """Where a borrower's money goes (decrypted only for the call to the rail)."""

    account_name: str
    card_number: str
    bank_code: str = ""


class PayoutAccounts(Protocol):
    def for_borrower(self, borrower_id: str) -> PayoutAccount:
        """The borrower's verified card, or NotFound."""
        ...


class PayoutOutcomeListener(Protocol):
    """Told of every payout that became final (``paid``, or ``failed`` with its loan
    cancelled), inside the transaction that made it so: whatever it writes (a notice to
    the borrower, say) commits with the outcome, or not at all."""

    def __call__(self, uow: UnitOfWork, payout: PayoutRecord) -> None: ...


class RailEvent(Protocol):
    """What a verified rail callback (or a status answer) tells about one transaction."""

    @property
    def event_id(self) -> str: ...

    @property
    def event_type(self) -> str: ...

    @property
    def idempotency_key(self) -> str: ...

    @property
    def rail_reference(self) -> str: ...

    @property
    def direction(self) -> str: ...

    @property
    def amount(self) -> Money: ...

    @property
    def status(self) -> str: ...

    @property
    def failure_code(self) -> str: ...

    @property
    def sequence(self) -> int: ...

    @property
    def final(self) -> bool: ...

    @property
    def settled_on(self) -> dt.date | None: ...


@dataclass(frozen=True, slots=True)
class PartnerDecision:
    """A partner's decision as received (callback or status poll)."""

    request_id: str
    status: str  # approved | declined | pending | unknown
    partner_reference: str = ""
    reason_code: str = ""
    approved_amount: Money | None = None


@dataclass(frozen=True, slots=True)
class DisbursementSettings:
    """How hard the worker tries, and how long it waits, before handing over to people."""

    max_attempts: int = 8
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 300.0
    #: A sent payout with no final word after this long is asked about (status poll).
    confirm_after_s: float = 60.0
    batch_size: int = 20
    #: Where a disbursement waits between booking and the rail's confirmation.
    in_transit_account: str = RAIL_IN_TRANSIT
    #: Outbox and status-poll claims are leased this long; a worker killed mid-call
    #: leaves its claims to be taken again when the lease runs out.
    lease_s: float = 60.0
    #: How often a partner that has not called back is asked for its decision.
    approval_poll_s: float = 2.0
