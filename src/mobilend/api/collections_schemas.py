"""Request and response bodies of the collections staff API (``/ops/collections``)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from mobilend.api.schemas import ID_PATTERN, Body, MoneyOut
from mobilend.app.collections.ports import (
    CaseRecord,
    ComplaintRecord,
    ContactRecord,
    PromiseRecord,
    ResolutionRecord,
)
from mobilend.app.collections.reports import RecoveryLine
from mobilend.domain.collections_templates import TemplateRecord

AmountFen = Field(gt=0, le=10_000_000_00, description="Amount in fen")
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"


class CaseOut(BaseModel):
    case_id: str
    loan_id: str
    borrower_id: str
    status: str
    bucket: str
    bucket_at_open: str
    dpd: int
    segment: str
    strategy: str
    arm: str
    placement: str
    agency: str
    agent_id: str
    paused: bool
    owed: MoneyOut
    collected: MoneyOut
    expected_recovery: MoneyOut
    opened_on: dt.date
    next_action_on: dt.date | None
    closed_on: dt.date | None
    close_reason: str | None

    @classmethod
    def of(cls, c: CaseRecord) -> CaseOut:
        return cls(
            case_id=c.case_id, loan_id=c.loan_id, borrower_id=c.borrower_id, status=c.status.value,
            bucket=c.bucket, bucket_at_open=c.bucket_at_open, dpd=c.dpd, segment=c.segment.value,
            strategy=c.strategy, arm=c.arm.value, placement=c.placement.value, agency=c.agency,
            agent_id=c.agent_id, paused=c.paused, owed=MoneyOut.of(c.owed),
            collected=MoneyOut.of(c.collected), expected_recovery=MoneyOut.of(c.expected),
            opened_on=c.opened_on, next_action_on=c.next_action_on, closed_on=c.closed_on,
            close_reason=c.close_reason.value if c.close_reason else None,
        )  # fmt: skip


class CaseListOut(BaseModel):
    items: list[CaseOut]


class ContactOut(BaseModel):
    attempt_id: str
    at: dt.datetime
    actor: str
    team: str
    channel: str
    party: str
    template: str
    allowed: bool
    rules: list[str]
    outcome: str
    recording_ref: str
    text: str = Field(description="What was said or sent (empty for refusals)")

    @classmethod
    def of(cls, r: ContactRecord) -> ContactOut:
        return cls(
            attempt_id=r.attempt_id, at=r.at, actor=r.actor, team=r.team, channel=r.channel.value,
            party=r.party.value, template=r.template, allowed=r.allowed, rules=list(r.rules),
            outcome=r.outcome, recording_ref=r.recording_ref, text=r.text,
        )  # fmt: skip


class ContactListOut(BaseModel):
    items: list[ContactOut]


class PromiseOut(BaseModel):
    promise_id: str
    amount: MoneyOut
    due_on: dt.date
    made_on: dt.date
    made_by: str
    status: str

    @classmethod
    def of(cls, p: PromiseRecord) -> PromiseOut:
        return cls(
            promise_id=p.promise_id, amount=MoneyOut.of(p.amount), due_on=p.due_on,
            made_on=p.made_on, made_by=p.made_by, status=p.status.value,
        )  # fmt: skip


class InstalmentOut(BaseModel):
    due_on: dt.date
    amount: MoneyOut


class ResolutionOut(BaseModel):
    resolution_id: str
    kind: str
    case_id: str
    loan_id: str
    status: str
    amount: MoneyOut
    owed: MoneyOut
    proposed_by: str
    approved_by: str
    proposed_on: dt.date
    valid_until: dt.date | None
    instalments: list[InstalmentOut]
    entry_ids: list[str]

    @classmethod
    def of(cls, r: ResolutionRecord) -> ResolutionOut:
        return cls(
            resolution_id=r.resolution_id, kind=r.kind, case_id=r.case_id, loan_id=r.loan_id,
            status=r.status.value, amount=MoneyOut.of(r.amount), owed=MoneyOut.of(r.owed),
            proposed_by=r.proposed_by, approved_by=r.approved_by, proposed_on=r.proposed_on,
            valid_until=r.valid_until,
            instalments=[InstalmentOut(due_on=i.due_on, amount=MoneyOut.of(i.amount)) for i in r.instalments],
            entry_ids=list(r.entry_ids),
        )  # fmt: skip


class ResolutionListOut(BaseModel):
    items: list[ResolutionOut]


class ComplaintOut(BaseModel):
    complaint_id: str
    case_id: str
    received_at: dt.datetime
    channel: str
    summary: str
    status: str
    reviewed_by: str
    resolution: str

    @classmethod
    def of(cls, c: ComplaintRecord) -> ComplaintOut:
        return cls(
            complaint_id=c.complaint_id, case_id=c.case_id, received_at=c.received_at,
            channel=c.channel, summary=c.summary, status=c.status, reviewed_by=c.reviewed_by,
            resolution=c.resolution,
        )  # fmt: skip


class ComplaintListOut(BaseModel):
    items: list[ComplaintOut]


class CaseDetailOut(BaseModel):
    case: CaseOut
    contacts: list[ContactOut]
    promises: list[PromiseOut]
    resolutions: list[ResolutionOut]
    complaints: list[ComplaintOut]


class PaymentOut(BaseModel):
    payment_id: str
    case_id: str
    loan_id: str
    kind: str
    amount: MoneyOut
    received_on: dt.date
    entry_ids: list[str]


class RecoveryLineOut(BaseModel):
    group: str
    cases: int
    owed_at_open: MoneyOut
    collected: MoneyOut
    recovery_rate: str = Field(description="collected / owed at opening, e.g. 0.4312")
    cured: int
    settled: int
    written_off: int
    still_open: int

    @classmethod
    def of(cls, line: RecoveryLine) -> RecoveryLineOut:
        return cls(
            group=line.group, cases=line.cases, owed_at_open=MoneyOut.of(line.owed_at_open),
            collected=MoneyOut.of(line.collected), recovery_rate=str(line.recovery_rate),
            cured=line.cured, settled=line.settled, written_off=line.written_off,
            still_open=line.still_open,
        )  # fmt: skip


class RecoveryReportOut(BaseModel):
    by_bucket: list[RecoveryLineOut]
    by_strategy: list[RecoveryLineOut]


class TemplateOut(BaseModel):
    template_id: str
    code: str
    version: str
    status: str = Field(description="proposed | approved (live) | rejected | retired")
    channels: list[str]
    parties: list[str]
    body_zh: str
    body_en: str
    free_text: list[str]
    proposed_by: str
    proposed_at: dt.datetime
    decided_by: str
    decided_at: dt.datetime | None
    note: str

    @classmethod
    def of(cls, record: TemplateRecord) -> TemplateOut:
        t = record.template
        return cls(
            template_id=record.template_id, code=t.code, version=t.version,
            status=record.status.value, channels=sorted(c.value for c in t.channels),
            parties=sorted(p.value for p in t.parties), body_zh=t.body_zh, body_en=t.body_en,
            free_text=sorted(t.free_text), proposed_by=record.proposed_by,
            proposed_at=record.proposed_at, decided_by=record.decided_by,
            decided_at=record.decided_at, note=record.note,
        )  # fmt: skip


class TemplateListOut(BaseModel):
    items: list[TemplateOut]


class AssignmentOut(BaseModel):
    to_agents: int
    to_agencies: int
    unassigned: int


# --------------------------------------------------------------------------- requests


class ContactIn(Body):
    channel: Literal["call", "sms", "push", "visit"]
    template: str = Field(pattern=r"^[a-z_]{1,64}$")
    party: Literal["borrower", "contact_person", "third_party"] = "borrower"
    contact_person_id: str = Field(default="", pattern=r"^[0-9A-Za-z_-]{0,64}$")
    free_text: dict[str, str] = Field(default_factory=dict, max_length=5)
    note: str = Field(default="", max_length=500, pattern=TEXT)


class PromiseIn(Body):
    amount_fen: int = AmountFen
    due_on: dt.date


class ComplaintIn(Body):
    channel: Literal["phone", "app", "regulator", "letter", "email"]
    summary: str = Field(min_length=1, max_length=2000, pattern=TEXT)


class ComplaintReviewIn(Body):
    upheld: bool
    resolution: str = Field(min_length=1, max_length=2000, pattern=TEXT)


class SettlementIn(Body):
    amount_fen: int = AmountFen


class InstalmentIn(Body):
    due_on: dt.date
    amount_fen: int = AmountFen


class PlanIn(Body):
    instalments: list[InstalmentIn] = Field(min_length=1, max_length=36)
    reason: str = Field(default="", max_length=500, pattern=TEXT)


class WriteOffIn(Body):
    reason: str = Field(default="", max_length=500, pattern=TEXT)


class DecisionIn(Body):
    approve: bool
    reason: str = Field(default="", max_length=500, pattern=TEXT)


class TemplateIn(Body):
    """A new version of a script or message; placeholders in braces are filled by the
    gate ({name}, {loan_ref}, {dpd}, {amount}, {callback}, {agent_ref}…) or typed by the
    agent when listed in ``free_text``."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,47}$")
    version: str = Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")
    channels: list[Literal["call", "sms", "push", "visit"]] = Field(min_length=1, max_length=4)
    parties: list[Literal["borrower", "contact_person", "third_party"]] = Field(
        min_length=1, max_length=3
    )
    body_zh: str = Field(min_length=1, max_length=500, pattern=TEXT)
    body_en: str = Field(min_length=1, max_length=500, pattern=TEXT)
    free_text: list[str] = Field(default_factory=list, max_length=5)
    note: str = Field(default="", max_length=500, pattern=TEXT)


class PaymentIn(Body):
    amount_fen: int = AmountFen


class AssignIn(Body):
    agent_id: str = Field(pattern=ID_PATTERN)


class AgencyIn(Body):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,31}$")
    name: str = Field(min_length=1, max_length=100, pattern=TEXT)
    capacity: int = Field(default=10_000, ge=1, le=10_000_000)
    commission_percent: int = Field(default=0, ge=0, le=100)


class AgentIn(Body):
    agent_id: str = Field(pattern=ID_PATTERN, description="The staff user's id")
    name: str = Field(min_length=1, max_length=100, pattern=TEXT)
    team: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,31}$", description="lender or an agency code")
    capacity: int = Field(default=200, ge=1, le=100_000)
