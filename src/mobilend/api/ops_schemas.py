"""Request and response bodies of the staff operations API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from mobilend.api.schemas import ID_PATTERN, Body, MoneyOut

#: Staff usernames as the directory stores them (compared case-insensitively).
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$"
#: Printable ASCII: what every keyboard and password manager types the same way.
PASSWORD_PATTERN = r"^[\x20-\x7e]{1,256}$"


class StaffLoginIn(Body):
    username: str = Field(pattern=USERNAME_PATTERN, examples=["ops.li"])
    password: str = Field(pattern=PASSWORD_PATTERN, description="Printable ASCII")


class StaffTokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: dt.datetime
    user_id: str
    username: str
    roles: list[str]


class PartitionOut(BaseModel):
    partition: int
    partitions: int
    status: str
    rows_done: int
    rows_total: int
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class EodStatusOut(BaseModel):
    business_date: dt.date
    status: str = Field(description="not_started | running | done")
    rows_done: int
    rows_total: int
    partitions: list[PartitionOut]
    catch_up_to: dt.date | None = None
    started_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    summary: dict[str, Any] | None = None


class TransferOut(BaseModel):
    transfer_id: str
    bank_transaction_id: str
    reference: str = Field(description="The transfer's remark as the bank sent it")
    payer: str = Field(description="Payer name, masked")
    amount: MoneyOut
    received_on: dt.date
    status: str = Field(description="suspense | assigned | matched")
    loan_id: str | None = None
    repayment_id: str | None = None
    assigned_by: str = ""
    assigned_at: dt.datetime | None = None


class TransferListOut(BaseModel):
    items: list[TransferOut]


class AssignTransferIn(Body):
    loan_id: str = Field(pattern=ID_PATTERN, description="The loan the money repays")


class PayoutOut(BaseModel):
    loan_id: str
    borrower_id: str
    amount: MoneyOut
    status: str
    attempts: int
    failure_code: str
    last_error: str
    business_date: dt.date
    updated_at: dt.datetime | None = None


class PayoutListOut(BaseModel):
    items: list[PayoutOut]


class FunderSettlementOut(BaseModel):
    funder_code: str
    loans: int
    principal: MoneyOut
    interest: MoneyOut
    fees: MoneyOut
    penalty: MoneyOut
    platform_margin: MoneyOut
    total: MoneyOut


class ReconciliationOut(BaseModel):
    business_date: dt.date
    report: dict[str, Any] | None = Field(
        description="The rail reconciliation stored for the date (None: not run yet)"
    )
    settlement: list[FunderSettlementOut] = Field(
        description="What each funder is owed out of the date's collections"
    )


class WarningOut(BaseModel):
    loan_id: str
    borrower_id: str
    phone: str | None = Field(description="In the clear for collections, masked otherwise")
    scored_on: dt.date
    score: int = Field(description="0-1000, higher is riskier")
    band: str
    bucket: str
    next_bucket: str
    days_to_roll: int | None
    dpd: int
    max_dpd: int
    late_installments: int
    partial_installments: int
    failed_debits: int
    bureau_events: int


class WarningListOut(BaseModel):
    items: list[WarningOut]
