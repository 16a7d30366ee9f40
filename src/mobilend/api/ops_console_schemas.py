"""Response and request bodies of the console's staff API routes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from mobilend.api.schemas import MoneyOut
from mobilend.app.analytics.reports import Report
from mobilend.domain.approvals import ApprovalRequest

Scalar = str | int | None


class SearchHitOut(BaseModel):
    kind: str
    id: str
    borrower_id: str
    status: str


class SearchOut(BaseModel):
    items: list[SearchHitOut]


class BorrowerOut(BaseModel):
    borrower_id: str
    status: str
    created_at: dt.datetime
    kyc_verified_at: dt.datetime | None
    phone: str = Field(description="Masked")
    name: str = Field(description="Masked")
    national_id: str = Field(description="Masked")
    bank_card: str = Field(description="Masked")
    can_reveal: bool


class RevealOut(BaseModel):
    field: str
    value: str = Field(description="In the clear; the reveal is in the audit log")


class InstallmentOut(BaseModel):
    n: int
    due_date: dt.date
    principal: MoneyOut
    interest: MoneyOut
    fees: MoneyOut
    penalty: MoneyOut
    paid: MoneyOut
    status: str
    settled_on: dt.date | None


class PostingOut(BaseModel):
    entry_id: str
    kind: str
    business_date: dt.date
    account: str
    amount: MoneyOut


class RepaymentOut(BaseModel):
    repayment_id: str
    amount: MoneyOut
    received_on: dt.date
    channel: str


class LoanOut(BaseModel):
    loan_id: str
    borrower_id: str
    line_id: str | None
    contract_id: str | None
    product_code: str
    principal: MoneyOut
    outstanding_principal: MoneyOut
    annual_rate: str
    status: str
    disbursed_on: dt.date | None
    dpd: int
    bucket: str
    payout_status: str | None
    installments: list[InstallmentOut]
    postings: list[PostingOut]
    repayments: list[RepaymentOut]


class ReasonOut(BaseModel):
    code: str
    text_zh: str = ""
    text_en: str = ""


class ApplicationOut(BaseModel):
    application_id: str
    borrower_id: str
    product_code: str
    outcome: str
    decision_id: str
    applied_at: dt.datetime
    limit: MoneyOut | None
    annual_rate: str | None
    line_id: str | None
    reasons: list[ReasonOut]


class ReviewItemOut(BaseModel):
    application_id: str
    borrower_id: str
    product_code: str
    applied_at: dt.datetime
    score: int | None
    declared_income: MoneyOut | None
    reasons: list[ReasonOut]
    review_status: str


class ReviewQueueOut(BaseModel):
    items: list[ReviewItemOut]


class ReviewIn(BaseModel):
    action: Literal["approve", "decline"]
    reason: str = Field(min_length=1, max_length=500)
    limit_fen: int | None = Field(default=None, gt=0)
    annual_rate: Decimal | None = Field(default=None, gt=0, lt=1)


class ReviewOut(BaseModel):
    application_id: str
    status: str
    line_id: str | None
    approval_id: str | None


class ApprovalOut(BaseModel):
    request_id: str
    kind: str
    target: str
    reason: str
    maker: str
    made_at: dt.datetime
    status: str
    checker: str | None
    checked_at: dt.datetime | None
    check_note: str
    result: dict[str, Scalar | list[str]]

    @classmethod
    def of(cls, r: ApprovalRequest) -> ApprovalOut:
        result: dict[str, Scalar | list[str]] = {}
        for key, value in r.result.items():
            result[key] = (
                [str(v) for v in value]
                if isinstance(value, list)
                else (value if isinstance(value, int | str) or value is None else str(value))
            )
        return cls(
            request_id=r.request_id,
            kind=r.kind.value,
            target=r.target,
            reason=r.reason,
            maker=r.maker,
            made_at=r.made_at,
            status=r.status.value,
            checker=r.checker,
            checked_at=r.checked_at,
            check_note=r.check_note,
            result=result,
        )


class ApprovalListOut(BaseModel):
    items: list[ApprovalOut]


class LoanActionIn(BaseModel):
    kind: Literal["write_off", "refund"]
    loan_id: str = Field(min_length=1, max_length=80)
    reason: str = Field(min_length=1, max_length=500)
    amount_fen: int | None = Field(default=None, gt=0)


class CheckIn(BaseModel):
    note: str = Field(default="", max_length=500)


class TableOut(BaseModel):
    name: str
    columns: list[str]
    rows: list[list[Scalar]] = Field(description="Rates and amounts as decimal strings")


class ReportOut(BaseModel):
    key: str
    as_of: dt.date | None = Field(description="Business date the summaries describe")
    alerts: list[str]
    tables: list[TableOut]

    @classmethod
    def of(cls, report: Report) -> ReportOut:
        return cls(
            key=report.key,
            as_of=report.as_of,
            alerts=list(report.alerts),
            tables=[
                TableOut(
                    name=t.name,
                    columns=list(t.columns),
                    rows=[[str(v) if isinstance(v, Decimal) else v for v in row] for row in t.rows],
                )
                for t in report.tables
            ],
        )
