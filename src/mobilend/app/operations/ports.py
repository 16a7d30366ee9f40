"""Ports of the back office: maker-checker requests, manual reviews of referred
applications (the ``operations`` group of the platform unit of work), the audit trail,
and the read-side queries the console and the staff API look records up with.

The queries are not in the unit of work: they only read, set-based, and may point at a
read replica (``adapters/db/backoffice_queries.py``).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from mobilend.domain.approvals import ApprovalKind, ApprovalRequest, ApprovalStatus
from mobilend.domain.money import Money

# --------------------------------------------------------------------------- who acts


@dataclass(frozen=True, slots=True)
class StaffActor:
    """A signed-in staff member as the use cases see them."""

    user_id: str
    username: str
    roles: frozenset[str]

    @property
    def actor(self) -> str:
        return f"staff:{self.user_id}"


class AuditTrail(Protocol):
    """The append-only, hash-chained audit log."""

    def append(
        self,
        *,
        at: dt.datetime,
        actor: str,
        action: str,
        target: str,
        details: Mapping[str, Any] | None = None,
    ) -> object: ...


# --------------------------------------------------------------------------- stores


class ReviewStatus(enum.StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    AWAITING_CHECKER = "awaiting_checker"  # approved above the limit: a second person next
    CHECKER_REJECTED = "checker_rejected"  # back in the queue


@dataclass(frozen=True, slots=True)
class ReferralReview:
    """A reviewer's word on a referred application."""

    application_id: str
    borrower_id: str
    status: ReviewStatus
    reviewer: str
    reviewed_at: dt.datetime
    reason: str
    limit: Money | None = None
    annual_rate: Decimal | None = None
    approval_id: str | None = None


class ApprovalStore(Protocol):
    def add(self, request: ApprovalRequest) -> None: ...

    def get(self, request_id: str, *, for_update: bool = False) -> ApprovalRequest:
        """The request, or NotFound."""
        ...

    def save(self, request: ApprovalRequest) -> None: ...

    def pending_for(self, kind: ApprovalKind, target: str) -> ApprovalRequest | None: ...

    def list(
        self, status: ApprovalStatus | None = None, limit: int = 100
    ) -> list[ApprovalRequest]: ...


class ReferralStore(Protocol):
    def review_of(self, application_id: str) -> ReferralReview | None: ...

    def save_review(self, review: ReferralReview) -> None:
        """Insert or replace the review of its application."""
        ...

    def resolve_application(
        self,
        application_id: str,
        *,
        outcome: str,
        limit: Money | None,
        annual_rate: Decimal | None,
        price_band: str,
        expires_on: dt.date | None,
        line_id: str | None,
        reasons: Sequence[Mapping[str, str]],
    ) -> None:
        """Record the final outcome of a referred application (only while it is
        ``refer``; Conflict otherwise). The engine's own decision record is untouched."""
        ...


class OperationsStores(Protocol):
    @property
    def approvals(self) -> ApprovalStore: ...

    @property
    def referrals(self) -> ReferralStore: ...


# --------------------------------------------------------------------------- read side


class RecordKind(enum.StrEnum):
    BORROWER = "borrower"
    LINE = "line"
    LOAN = "loan"
    CONTRACT = "contract"
    APPLICATION = "application"
    DECISION = "decision"


@dataclass(frozen=True, slots=True)
class SearchHit:
    kind: RecordKind
    record_id: str
    borrower_id: str
    summary: str
    status: str = ""


class PiiField(enum.StrEnum):
    PHONE = "phone"
    NAME = "name"
    NATIONAL_ID = "national_id"
    BANK_CARD = "bank_card"


@dataclass(frozen=True, slots=True)
class BorrowerRecord:
    """A borrower as stored: personal fields still sealed by the vault."""

    borrower_id: str
    status: str
    created_at: dt.datetime
    kyc_verified_at: dt.datetime | None
    birth_date_enc: str | None  # sealed by the PII vault (field ``birth_date``)
    freeze_reason: str
    sealed: Mapping[PiiField, str | None]


@dataclass(frozen=True, slots=True)
class LineRow:
    line_id: str
    borrower_id: str
    product_code: str
    limit: Money
    used: Money
    status: str
    opened_on: dt.date | None
    expires_on: dt.date | None
    frozen_reason: str


@dataclass(frozen=True, slots=True)
class LoanRow:
    loan_id: str
    borrower_id: str
    line_id: str | None
    product_code: str
    principal: Money
    outstanding_principal: Money
    status: str
    disbursed_on: dt.date | None
    closed_on: dt.date | None
    dpd: int
    max_dpd: int
    bucket: str
    annual_rate: Decimal
    funding_account: str


@dataclass(frozen=True, slots=True)
class ApplicationRow:
    application_id: str
    borrower_id: str
    product_code: str
    outcome: str
    decision_id: str
    applied_at: dt.datetime
    decided_on: dt.date
    limit: Money | None
    annual_rate: Decimal | None
    line_id: str | None
    reasons: tuple[Mapping[str, str], ...]
    versions: Mapping[str, str]
    declared: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ContractRow:
    contract_id: str
    borrower_id: str
    line_id: str
    loan_id: str | None
    status: str
    template_version: str
    sha256: str
    created_at: dt.datetime
    signed_at: dt.datetime | None
    ip_address: str
    device_id: str
    terms: Mapping[str, Any]
    body: str


@dataclass(frozen=True, slots=True)
class InstallmentRow:
    n: int
    due_date: dt.date
    principal_due: Money
    interest_due: Money
    fees_due: Money
    penalty: Money
    paid: Money
    status: str
    settled_on: dt.date | None


@dataclass(frozen=True, slots=True)
class PostingRow:
    entry_id: str
    kind: str
    business_date: dt.date
    account: str
    amount: Money  # signed: debit positive


@dataclass(frozen=True, slots=True)
class RepaymentRow:
    repayment_id: str
    amount: Money
    received_on: dt.date
    channel: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PayoutRow:
    status: str
    amount: Money
    attempts: int
    rail_reference: str
    failure_code: str
    settled_on: dt.date | None
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class TrancheRow:
    funder_code: str
    principal: Money
    share: Decimal


@dataclass(frozen=True, slots=True)
class MessageRow:
    created_at: dt.datetime
    channel: str
    kind: str
    title: str
    status: str


@dataclass(frozen=True, slots=True)
class CollectionEvent:
    """One step of a loan's collection history: reminders, auto-debits, behaviour score."""

    on: dt.date
    kind: str
    detail: str
    status: str


@dataclass(frozen=True, slots=True)
class LoanDetail:
    loan: LoanRow
    installments: tuple[InstallmentRow, ...]
    postings: tuple[PostingRow, ...]
    repayments: tuple[RepaymentRow, ...]
    payout: PayoutRow | None
    tranches: tuple[TrancheRow, ...]
    messages: tuple[MessageRow, ...]
    collection: tuple[CollectionEvent, ...]
    contract_id: str | None
    receivables: Mapping[str, Money] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DecisionDetail:
    decision_id: str
    application_id: str
    borrower_id: str
    product_code: str
    decided_on: dt.date
    outcome: str
    limit: Money | None
    annual_rate: Decimal | None
    score: int | None
    policy_id: str
    model_version: str
    arm: str
    cost: Money
    reasons: tuple[Mapping[str, str], ...]
    versions: Mapping[str, str]
    #: The stored record with its personal fields still sealed (rule hits, workings,
    #: source costs and versions are in the clear).
    record: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ReviewQueueItem:
    application_id: str
    borrower_id: str
    product_code: str
    applied_at: dt.datetime
    decided_on: dt.date
    decision_id: str
    reasons: tuple[Mapping[str, str], ...]
    declared_income: Money | None
    score: int | None
    data_cost: Money | None
    review_status: str  # "" (not reviewed yet) or a ReviewStatus value
    approval_id: str | None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list: the rows, and the cursor of the next page (None at the end)."""

    rows: tuple[Any, ...]
    next_cursor: str | None


class BackofficeQueries(Protocol):
    """Record look-ups for the console and the staff API (set-based, indexed)."""

    def search(self, text: str, phone_bidx: str | None, id_bidx: str | None) -> list[SearchHit]: ...

    def borrower(self, borrower_id: str) -> BorrowerRecord:
        """NotFound when there is no such borrower."""
        ...

    def borrowers(self, status: str | None, cursor: str | None, limit: int) -> Page:
        """Rows are ``BorrowerRecord``; newest first."""
        ...

    def lines_of(self, borrower_id: str) -> list[LineRow]: ...

    def line(self, line_id: str) -> LineRow: ...

    def loans_of(self, borrower_id: str) -> list[LoanRow]: ...

    def loans_of_line(self, line_id: str) -> list[LoanRow]: ...

    def loans(
        self, status: str | None, bucket: str | None, cursor: str | None, limit: int
    ) -> Page: ...

    def loan(self, loan_id: str) -> LoanDetail: ...

    def applications_of(self, borrower_id: str) -> list[ApplicationRow]: ...

    def application(self, application_id: str) -> ApplicationRow: ...

    def contracts_of(self, borrower_id: str) -> list[ContractRow]: ...

    def contract(self, contract_id: str) -> ContractRow: ...

    def decision(self, decision_id: str) -> DecisionDetail | None:
        """None when the engine kept no record (the basic policy keeps none)."""
        ...

    def review_queue(self, limit: int) -> list[ReviewQueueItem]: ...

    def review_queue_size(self) -> int: ...


# --------------------------------------------------------------------------- operations pages


@dataclass(frozen=True, slots=True)
class EodDateRow:
    business_date: dt.date
    status: str
    partitions: int
    started_at: dt.datetime
    closed_at: dt.datetime | None
    summary: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class JobCount:
    queue: str
    task: str
    status: str
    jobs: int


@dataclass(frozen=True, slots=True)
class ReconciliationRow:
    business_date: dt.date
    clean: bool
    breaks: int
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class AuditRow:
    seq: int
    at: dt.datetime
    actor: str
    action: str
    target: str
    details: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PolicyUse:
    policy_id: str
    model_version: str
    arm: str
    decisions: int
    approved: int
    first_on: dt.date
    last_on: dt.date


class OperationsQueries(Protocol):
    def eod_dates(self, limit: int) -> list[EodDateRow]: ...

    def job_counts(self) -> list[JobCount]: ...

    def reconciliations(self, limit: int) -> list[ReconciliationRow]: ...

    def audit(self, before_seq: int | None, target: str | None, limit: int) -> list[AuditRow]: ...

    def policy_use(self, since: dt.date) -> list[PolicyUse]: ...
