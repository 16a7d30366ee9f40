"""Ports of the servicing use cases: the stores they keep their records in (bound to the
same transaction as the lending repositories), who a borrower is to a message, and the
outside systems beyond ``app.ports`` that servicing reads (debit status, receipts).

Planning steps that touch every loan (reminders, auto-debits, behaviour scores) are
single store calls so an adapter can do them set-based.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from mobilend.app.ports import RailAck
from mobilend.app.servicing.settings import EarlyWarningWeights, ReminderStep
from mobilend.domain.money import Money

# --------------------------------------------------------------------------- messages


@dataclass(frozen=True, slots=True)
class MessageRecord:
    message_id: str
    borrower_id: str
    loan_id: str | None
    template: str
    kind: str  # service | legal | marketing
    channel: str  # sms | push
    locale: str
    params: Mapping[str, Any]
    dedupe_key: str
    business_date: dt.date
    next_attempt_at: dt.datetime
    status: str = "pending"  # pending | sent | delivered | failed | dead | suppressed
    attempts: int = 0
    title: str = ""
    body: str = ""
    last_error: str = ""
    gateway_reference: str = ""
    recipient_masked: str = ""
    sent_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ReceiptRecord:
    message_id: str
    gateway_reference: str
    status: str  # delivered | failed
    error: str
    event_key: str


class MessageStore(Protocol):
    def plan_reminders(
        self,
        business_date: dt.date,
        steps: Sequence[ReminderStep],
        send_from: dt.time,
        default_time_zone: str,
        partition: int = 0,
        partitions: int = 1,
    ) -> int:
        """Queue the plan's reminders for every unpaid installment (of the loans of one
        partition) whose due date is ``business_date - step.offset``, not before
        ``send_from`` local time on the business date; idempotent (one per loan,
        installment, step and channel). Returns how many were new."""
        ...

    def add(self, message: MessageRecord) -> bool:
        """Queue one message; False when its dedupe key was already used."""
        ...

    def due(self, now: dt.datetime, limit: int) -> list[str]:
        """Ids of pending messages whose next attempt is due, oldest first."""
        ...

    def claim(self, message_id: str, now: dt.datetime) -> MessageRecord | None:
        """The message, row-locked, if still pending and due (None: sent, or another
        sender holds it)."""
        ...

    def save(self, message: MessageRecord) -> None: ...

    def get(self, message_id: str) -> MessageRecord | None: ...

    def take_daily_slot(self, borrower_id: str, local_day: dt.date, cap: int) -> bool:
        """Count one message against the borrower's cap for ``local_day``; False (and no
        change) when the cap is reached."""
        ...

    def release_daily_slot(self, borrower_id: str, local_day: dt.date) -> None: ...

    def add_receipt(self, receipt: ReceiptRecord) -> bool:
        """Store a delivery receipt once (False when its event key was seen before)."""
        ...

    def cursor(self, name: str) -> int: ...

    def set_cursor(self, name: str, position: int) -> None: ...

    def for_borrower(self, borrower_id: str, limit: int = 50) -> list[MessageRecord]: ...

    def dead_letters(self, limit: int = 100) -> list[MessageRecord]: ...


@dataclass(frozen=True, slots=True)
class Contact:
    """Where a borrower's messages go, decrypted only for the call to the gateway."""

    borrower_id: str
    phone: str | None
    push_token: str | None
    time_zone: str
    locale: str  # zh-CN | en
    marketing_allowed: bool


class ContactDirectory(Protocol):
    def contact(self, borrower_id: str) -> Contact:
        """The borrower's contact details (NotFound when there is no such borrower)."""
        ...

    def update(
        self,
        borrower_id: str,
        *,
        time_zone: str | None = None,
        locale: str | None = None,
        push_token: str | None = None,
    ) -> None:
        """Change the borrower's messaging settings (None leaves a setting as it is)."""
        ...


@dataclass(frozen=True, slots=True)
class GatewayReceipt:
    """A delivery receipt as a gateway reports it (poll or webhook)."""

    message_id: str
    gateway_reference: str
    status: str
    error: str = ""
    event_id: str = ""


@runtime_checkable
class ReceiptSource(Protocol):
    def poll_receipts(self, since: int = 0) -> tuple[Sequence[Any], int]:
        """Receipts after sequence ``since`` (objects with ``message_id``,
        ``gateway_reference``, ``status``, ``error``) and where to ask from next time."""
        ...


# --------------------------------------------------------------------------- auto-debit


@dataclass(frozen=True, slots=True)
class DebitAttempt:
    attempt_id: str
    loan_id: str
    borrower_id: str
    business_date: dt.date
    due_date: dt.date
    plan_day: int
    amount: Money
    idempotency_key: str
    status: str = "pending"  # pending | submitted | succeeded | failed
    failure_code: str = ""
    rail_reference: str = ""
    repayment_id: str | None = None
    settled_on: dt.date | None = None
    #: ``schedule`` (the auto-debit plan) or the borrower's own payment from the app:
    #: ``due``, ``amount``, ``payoff``, ``prepay`` (with its ``mode``).
    purpose: str = "schedule"
    mode: str = ""
    #: The highest rail event sequence applied to it.
    last_sequence: int = 0
    #: The day the rail paid the money it took into the lender's bank (None: not yet).
    bank_settled_on: dt.date | None = None

    @property
    def in_flight(self) -> bool:
        return self.status in ("pending", "submitted")

    @property
    def from_app(self) -> bool:
        return self.purpose != "schedule"


class DebitStore(Protocol):
    def plan(
        self,
        business_date: dt.date,
        plan_days: Sequence[int],
        minimum_fen: int,
        partition: int = 0,
        partitions: int = 1,
    ) -> int:
        """Plan one debit for each active loan (of one partition) whose oldest unpaid due date is
        ``business_date - d`` for a ``d`` in ``plan_days``, for everything due and unpaid,
        unless the loan had a debit fail for good (card expired…) since that due date.
        Idempotent per loan and date. Returns how many were new."""
        ...

    def add(self, attempt: DebitAttempt) -> None:
        """Record a debit the borrower asked for in the app (the plan's come from ``plan``)."""
        ...

    def open(self, status: str, limit: int) -> list[DebitAttempt]: ...

    def get(self, idempotency_key: str, *, for_update: bool = False) -> DebitAttempt | None: ...

    def save(self, attempt: DebitAttempt) -> None: ...

    def for_loan(self, loan_id: str) -> list[DebitAttempt]: ...


@runtime_checkable
class DebitStatusSource(Protocol):
    def debit_status(self, idempotency_key: str) -> RailAck: ...


# --------------------------------------------------------------------------- transfers, reversals, refunds


@dataclass(frozen=True, slots=True)
class IncomingTransfer:
    transfer_id: str
    bank_transaction_id: str
    reference: str
    payer_masked: str
    amount: Money
    received_on: dt.date
    status: str  # matched | suspense | assigned
    loan_id: str | None = None
    borrower_id: str | None = None
    repayment_id: str | None = None
    suspense_entry_id: str | None = None
    assigned_by: str = ""
    assigned_at: dt.datetime | None = None


class TransferStore(Protocol):
    def add(self, transfer: IncomingTransfer) -> None: ...

    def by_bank_id(self, bank_transaction_id: str) -> IncomingTransfer | None: ...

    def get(self, transfer_id: str, *, for_update: bool = False) -> IncomingTransfer | None: ...

    def save(self, transfer: IncomingTransfer) -> None: ...

    def in_suspense(self, limit: int = 100) -> list[IncomingTransfer]: ...


@dataclass(frozen=True, slots=True)
class ReversalRecord:
    reversal_id: str
    repayment_id: str
    loan_id: str
    borrower_id: str
    amount: Money
    reason: str
    business_date: dt.date
    entry_ids: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class RefundRecord:
    refund_id: str
    loan_id: str
    borrower_id: str
    amount: Money
    business_date: dt.date
    entry_id: str
    idempotency_key: str
    status: str = "pending"  # awaiting_approval | pending | sent | paid | failed
    attempts: int = 0
    rail_reference: str = ""
    failure_code: str = ""
    approved_by: str = ""


class ReversalStore(Protocol):
    def add(self, reversal: ReversalRecord) -> None: ...

    def for_repayment(self, repayment_id: str) -> ReversalRecord | None: ...

    def repayment_entry_id(self, loan_id: str, received_on: dt.date, amount: Money) -> list[str]:
        """Ids of the repayment entries of this loan dated ``received_on`` that moved
        ``amount`` of cash, oldest first, leaving out entries already reversed."""
        ...


class RefundStore(Protocol):
    def add(self, refund: RefundRecord) -> None: ...

    def pending(self, limit: int = 100, *, status: str = "pending") -> list[RefundRecord]:
        """Refunds in ``status`` (default: not yet accepted by the rail), oldest first."""
        ...

    def get(self, refund_id: str, *, for_update: bool = False) -> RefundRecord | None: ...

    def save(self, refund: RefundRecord) -> None: ...

    def closed_loans_holding_credit(self, limit: int = 1000) -> list[str]: ...


# --------------------------------------------------------------------------- early warning


@dataclass(frozen=True, slots=True)
class ScoreRow:
    loan_id: str
    borrower_id: str
    scored_on: dt.date
    score: int
    band: str
    roll_risk: bool
    bucket: str
    next_bucket: str
    days_to_roll: int | None  # inside the warning horizon, else None
    dpd: int
    max_dpd: int
    late_installments: int
    avg_days_late: int
    partial_installments: int
    failed_debits: int
    bureau_events: int


class ScoreStore(Protocol):
    def compute(
        self,
        business_date: dt.date,
        weights: EarlyWarningWeights,
        partition: int = 0,
        partitions: int = 1,
        only: Sequence[str] | None = None,
    ) -> int:
        """Score every active loan (of one partition, or ``only`` those of it) as of
        ``business_date`` and store the scores that changed; returns how many of the
        loans scored are flagged roll risk."""
        ...

    def get(self, loan_id: str) -> ScoreRow | None: ...

    def roll_risk(self, limit: int = 100) -> list[ScoreRow]:
        """Flagged loans, riskiest first (the collections and line-review queue)."""
        ...

    def count_roll_risk(self) -> int: ...

    def add_bureau_change(
        self, borrower_id: str, observed_on: dt.date, kind: str, detail: str = ""
    ) -> None: ...


# --------------------------------------------------------------------------- unit of work


class ServicingStores(Protocol):
    """Servicing's store group of the platform unit of work."""

    @property
    def messages(self) -> MessageStore: ...

    @property
    def debits(self) -> DebitStore: ...

    @property
    def transfers(self) -> TransferStore: ...

    @property
    def reversals(self) -> ReversalStore: ...

    @property
    def refunds(self) -> RefundStore: ...

    @property
    def scores(self) -> ScoreStore: ...
