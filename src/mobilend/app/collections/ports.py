"""Ports of collections: its records and stores (the ``collections`` group of the platform
unit of work) and what the conduct gate needs to know about a borrower.

The channels that reach a borrower (the message gateway, the dialer) are deliberately not
here: only ``app.collections.gate`` holds them (see ``channels.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from mobilend.domain.collections import (
    ApprovalStatus,
    Arm,
    CaseStatus,
    CloseReason,
    Placement,
    PlanInstalment,
    PromiseStatus,
    RiskSegment,
)
from mobilend.domain.collections_conduct import Channel, Party
from mobilend.domain.collections_templates import TemplateRecord
from mobilend.domain.money import Money

#: Who does collections work: the lender itself, or an agency by its code.
LENDER = "lender"


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True, slots=True)
class OverdueLoan:
    """A loan as case sync sees it (read set-based, no aggregate loaded)."""

    loan_id: str
    borrower_id: str
    status: str  # the loan's: active | closed | written_off | cancelled
    dpd: int
    owed: Money  # every receivable recognised and unpaid
    cash_in: Money  # received + recovered, for measuring what a case collected
    score: int | None  # the latest behaviour score


@dataclass(frozen=True, slots=True)
class CaseRecord:
    case_id: str
    loan_id: str
    borrower_id: str
    opened_on: dt.date
    status: CaseStatus
    bucket: str
    dpd: int
    segment: RiskSegment
    strategy: str
    arm: Arm
    placement: Placement
    owed_at_open: Money
    cash_in_at_open: Money
    owed: Money
    collected: Money = field(default_factory=Money.zero)
    expected: Money = field(default_factory=Money.zero)
    agency: str = ""  # the agency's code when placed with one
    agent_id: str = ""
    paused: bool = False
    next_action_on: dt.date | None = None
    last_message_on: dt.date | None = None
    bucket_at_open: str = ""
    closed_on: dt.date | None = None
    close_reason: CloseReason | None = None
    version: int = 1

    @property
    def is_open(self) -> bool:
        return self.status is not CaseStatus.CLOSED

    @property
    def team(self) -> str:
        return self.agency or LENDER


class CaseStore(Protocol):
    def overdue_loans(self, after_loan_id: str = "", limit: int = 1000) -> list[OverdueLoan]:
        """Loans past due, or with an open case, in loan-id order after ``after_loan_id``."""
        ...

    def cash_in(self, loan_ids: Collection[str]) -> dict[str, Money]:
        """Money each loan has received so far (payments, and recoveries after write-off),
        by loan id: ``promises.cash_in`` for a batch in one read."""
        ...

    def add(self, case: CaseRecord) -> None: ...

    def get(self, case_id: str, *, for_update: bool = False) -> CaseRecord:
        """The case, or NotFound."""
        ...

    def open_for_loan(self, loan_id: str, *, for_update: bool = False) -> CaseRecord | None: ...

    def many(self, case_ids: Collection[str]) -> dict[str, CaseRecord]:
        """The cases of ``case_ids`` that exist, by case id (one read for a batch)."""
        ...

    def messaged_on(self, on: dt.date) -> list[CaseRecord]:
        """Open digital cases whose last strategy message went out on ``on``."""
        ...

    def open_for_loans(
        self, loan_ids: Sequence[str], *, for_update: bool = False
    ) -> dict[str, CaseRecord]:
        """The open (not closed) case of each of ``loan_ids`` that has one, by loan id."""
        ...

    def save(self, case: CaseRecord) -> None: ...

    def save_many(self, cases: Sequence[CaseRecord]) -> None:
        """``save`` for each of ``cases``, sent as one batch."""
        ...

    def open_for_borrower(self, borrower_id: str) -> list[CaseRecord]: ...

    def listing(
        self,
        *,
        status: str | None = None,
        bucket: str | None = None,
        agency: str | None = None,
        agent_id: str | None = None,
        limit: int = 100,
    ) -> list[CaseRecord]: ...

    def unassigned(self, placement: Placement, agency: str = "", limit: int = 1000) -> list[str]:
        """Ids of open, unpaused cases of ``placement`` (of ``agency``) with no agent."""
        ...

    def queue(self, agent_id: str, on: dt.date, limit: int = 50) -> list[CaseRecord]:
        """The agent's open, unpaused cases due for action on ``on``, by expected recovery."""
        ...

    def digital_due(
        self, on: dt.date, limit: int = 1000, after_case_id: str = ""
    ) -> list[CaseRecord]:
        """Open, unpaused digital cases whose next strategy message is due on ``on``."""
        ...

    def at_dpd(
        self, dpds: Sequence[int], limit: int = 1000, after_case_id: str = ""
    ) -> list[CaseRecord]:
        """Open cases (paused ones too: the gate refuses and logs them) whose loan is
        exactly one of ``dpds`` days past due."""
        ...

    def all_cases(self, after_case_id: str = "", limit: int = 1000) -> list[CaseRecord]: ...

    def write_off_candidates(self, min_dpd: int, limit: int = 1000) -> list[str]:
        """Open or legal cases at least ``min_dpd`` days past due with no write-off waiting
        for approval, most overdue first."""
        ...


# --------------------------------------------------------------------------- agents and agencies


@dataclass(frozen=True, slots=True)
class AgencyRecord:
    code: str
    name: str
    active: bool = True
    #: Share of what it collects the agency keeps (for the settlement with it).
    commission_percent: int = 0
    capacity: int = 10_000


@dataclass(frozen=True, slots=True)
class AgentRecord:
    agent_id: str  # the staff user's id
    name: str
    team: str  # LENDER or an agency code
    active: bool = True
    capacity: int = 200


@dataclass(frozen=True, slots=True)
class AgentLoad:
    agent: AgentRecord
    open_cases: int


class AgentStore(Protocol):
    def add_agency(self, agency: AgencyRecord) -> None: ...

    def agency(self, code: str) -> AgencyRecord | None: ...

    def agencies(self) -> list[AgencyRecord]: ...

    def agency_loads(self) -> dict[str, int]:
        """Open cases placed with each agency."""
        ...

    def add_agent(self, agent: AgentRecord) -> None: ...

    def agent(self, agent_id: str) -> AgentRecord | None: ...

    def loads(self, team: str) -> list[AgentLoad]:
        """The team's active agents with their open cases, in agent-id order."""
        ...

    def cursor(self, name: str) -> str: ...

    def set_cursor(self, name: str, value: str) -> None: ...


# --------------------------------------------------------------------------- contacts


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """One contact attempt: allowed (sent, dialled, visited) or refused by the gate."""

    attempt_id: str
    case_id: str
    loan_id: str
    borrower_id: str
    at: dt.datetime
    local_day: dt.date
    actor: str  # "staff:<id>" or "system:strategy"
    team: str  # LENDER or an agency code
    channel: Channel
    party: Party
    template: str
    allowed: bool
    rules: tuple[str, ...] = ()  # the conduct rules a refusal broke
    outcome: str = ""  # sent | failed | connected | no_answer | busy | visited | refused
    recording_ref: str = ""
    gateway_ref: str = ""
    counted_call: bool = False
    note: str = ""
    text: str = ""


class ContactLog(Protocol):
    def add(self, record: ContactRecord) -> None: ...

    def save(self, record: ContactRecord) -> None: ...

    def get(self, attempt_id: str) -> ContactRecord | None: ...

    def for_case(self, case_id: str, limit: int = 200) -> list[ContactRecord]: ...

    def sent_on(self, case_ids: Collection[str], local_day: dt.date) -> set[tuple[str, str, str]]:
        """``(case_id, template, channel)`` of every contact allowed out to ``case_ids`` on
        the borrower's ``local_day``."""
        ...

    def refusals(
        self, since: dt.datetime | None = None, limit: int = 200
    ) -> list[ContactRecord]: ...

    def take_slot(self, borrower_id: str, local_day: dt.date, kind: str, cap: int) -> bool:
        """Count one contact of ``kind`` (``call``/``message``) against the borrower's cap
        for ``local_day``, atomically across every caller; False (no change) at the cap."""
        ...

    def release_slot(self, borrower_id: str, local_day: dt.date, kind: str) -> None: ...

    def slots_taken(self, borrower_id: str, local_day: dt.date, kind: str) -> int: ...

    def counts(self) -> dict[str, int]:
        """Attempts by outcome (``refused`` included) over the whole log."""
        ...


# --------------------------------------------------------------------------- promises, complaints


@dataclass(frozen=True, slots=True)
class PromiseRecord:
    promise_id: str
    case_id: str
    loan_id: str
    amount: Money
    due_on: dt.date
    made_on: dt.date
    made_by: str
    cash_in_at_promise: Money
    status: PromiseStatus = PromiseStatus.PENDING
    resolved_on: dt.date | None = None


@dataclass(frozen=True, slots=True)
class ComplaintRecord:
    complaint_id: str
    case_id: str
    borrower_id: str
    received_at: dt.datetime
    channel: str  # phone | app | regulator | letter
    summary: str
    recorded_by: str
    status: str = "open"  # open | upheld | dismissed
    reviewed_by: str = ""
    reviewed_at: dt.datetime | None = None
    resolution: str = ""


class PromiseStore(Protocol):
    def add(self, promise: PromiseRecord) -> None: ...

    def save(self, promise: PromiseRecord) -> None: ...

    def for_case(self, case_id: str) -> list[PromiseRecord]: ...

    def pending(self, limit: int = 1000, after_id: str = "") -> list[PromiseRecord]: ...

    def counts(self) -> dict[str, int]: ...


class ComplaintStore(Protocol):
    def add(self, complaint: ComplaintRecord) -> None: ...

    def get(self, complaint_id: str, *, for_update: bool = False) -> ComplaintRecord:
        """The complaint, or NotFound."""
        ...

    def save(self, complaint: ComplaintRecord) -> None: ...

    def open_for_case(self, case_id: str) -> list[ComplaintRecord]: ...

    def open_for_borrower(self, borrower_id: str) -> list[ComplaintRecord]: ...

    def listing(self, status: str | None = "open", limit: int = 100) -> list[ComplaintRecord]: ...


# --------------------------------------------------------------------------- four-eyes requests


@dataclass(frozen=True, slots=True)
class ResolutionRecord:
    """A settlement offer, a hardship plan or a write-off: proposed by one person,
    approved by another, then carried out."""

    resolution_id: str
    kind: str  # settlement | hardship_plan | write_off
    case_id: str
    loan_id: str
    proposed_by: str
    proposed_on: dt.date
    owed: Money  # what was owed when proposed
    amount: Money  # settlement: to pay; plan: the plan's total; write-off: the owed amount
    status: ApprovalStatus = ApprovalStatus.PROPOSED
    valid_until: dt.date | None = None
    instalments: tuple[PlanInstalment, ...] = ()
    cash_in_at_approval: Money | None = None
    approved_by: str = ""
    decided_on: dt.date | None = None
    done_on: dt.date | None = None
    reason: str = ""
    entry_ids: tuple[str, ...] = ()


class ResolutionStore(Protocol):
    def add(self, record: ResolutionRecord) -> None: ...

    def get(self, resolution_id: str, *, for_update: bool = False) -> ResolutionRecord:
        """The record, or NotFound."""
        ...

    def save(self, record: ResolutionRecord) -> None: ...

    def for_case(self, case_id: str) -> list[ResolutionRecord]: ...

    def listing(
        self, kind: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[ResolutionRecord]: ...


@dataclass(frozen=True, slots=True)
class CollectionPayment:
    """Money collections booked itself (settlement, recovery), once per idempotency key."""

    payment_id: str
    case_id: str
    loan_id: str
    kind: str  # settlement | recovery
    amount: Money
    received_on: dt.date
    idempotency_key: str
    entry_ids: tuple[str, ...] = ()


class CollectionPaymentStore(Protocol):
    def add(self, payment: CollectionPayment) -> None: ...

    def by_key(self, idempotency_key: str) -> CollectionPayment | None: ...


class TemplateStore(Protocol):
    def add(self, record: TemplateRecord) -> None:
        """Store a new version (``Conflict`` when its code and version exist, or a
        proposal for its code is already waiting)."""
        ...

    def get(self, template_id: str, *, for_update: bool = False) -> TemplateRecord:
        """``NotFound`` when there is no such template version."""
        ...

    def save(self, record: TemplateRecord) -> None: ...

    def live(self, code: str) -> TemplateRecord | None:
        """The approved version of ``code`` (the one the gate uses)."""
        ...

    def listing(self, status: str | None = None, code: str | None = None) -> list[TemplateRecord]:
        """Versions, by code then newest first."""
        ...


# --------------------------------------------------------------------------- the store group


class CollectionStores(Protocol):
    """Collections' store group of the platform unit of work."""

    @property
    def cases(self) -> CaseStore: ...

    @property
    def agents(self) -> AgentStore: ...

    @property
    def contacts(self) -> ContactLog: ...

    @property
    def promises(self) -> PromiseStore: ...

    @property
    def complaints(self) -> ComplaintStore: ...

    @property
    def resolutions(self) -> ResolutionStore: ...

    @property
    def payments(self) -> CollectionPaymentStore: ...

    @property
    def templates(self) -> TemplateStore: ...


# --------------------------------------------------------------------------- whom the gate reaches


@dataclass(frozen=True, slots=True)
class Reach:
    """Where a borrower (or a contact person they listed) can be reached; phone numbers are
    opened only for the gate's call to the channel."""

    borrower_id: str
    phone: str | None
    push_token: str | None
    time_zone: str
    locale: str
    display_name: str = ""  # for scripts addressing the borrower (surname + title)


@dataclass(frozen=True, slots=True)
class ContactPerson:
    person_id: str
    borrower_id: str
    relation: str  # e.g. spouse, parent, friend — as the borrower gave it
    phone: str | None


class BorrowerReach(Protocol):
    def reach(self, borrower_id: str) -> Reach:
        """NotFound when there is no such borrower."""
        ...

    def reach_for_case(self, case_id: str) -> Reach:
        """The borrower of a collection case; NotFound when there is no such case."""
        ...

    def contact_persons(self, borrower_id: str) -> list[ContactPerson]:
        """The contact persons the borrower listed (never their phone book)."""
        ...


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the borrower is, for a legal case file (shown to legal staff only)."""

    name: str
    national_id_masked: str
    phone: str


class BorrowerIdentities(Protocol):
    def identity(self, borrower_id: str) -> Identity:
        """NotFound when there is no such borrower."""
        ...


@dataclass(frozen=True, slots=True)
class CaseFileData:
    """Everything the legal case file shows (typed, rendered by an adapter)."""

    case: CaseRecord
    borrower_name: str
    borrower_id_masked: str
    phone_masked: str
    contract: Mapping[str, Any]
    contract_body: str
    schedule: Sequence[Mapping[str, str]]
    ledger: Sequence[Mapping[str, str]]
    payments: Sequence[Mapping[str, str]]
    contacts: Sequence[ContactRecord]
    promises: Sequence[PromiseRecord]
    generated_on: dt.date
    balances: Mapping[str, str] = field(default_factory=dict)


class CaseFileRenderer(Protocol):
    def render(self, data: CaseFileData) -> bytes:
        """The case file as a PDF document."""
        ...
