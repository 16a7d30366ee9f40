"""Request and response bodies of the borrower API.

Money goes over the wire as integer fen (``amount_fen``) with a display string beside
it, never as a decimal: clients and fuzzers cannot send half a fen or an empty amount.
Rates go out as a decimal fraction string and a percent. Identity fields only ever go
out masked.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from mobilend.domain.money import Money

#: Ids the platform issues (sortable base32) or clients pick: letters, digits, - and _.
ID_PATTERN = r"^[0-9A-Za-z_-]{1,64}$"
#: Free text a client may send: printable, no control characters.
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
MAX_FEN = 10_000_000_000  # CNY 100 million: far above any product
T = TypeVar("T")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- shared output


class MoneyOut(BaseModel):
    amount_fen: int = Field(description="Amount in fen (1/100 yuan)")
    currency: str = "CNY"
    display: str = Field(description="For screens, e.g. ¥1,234.56")

    @classmethod
    def of(cls, money: Money) -> MoneyOut:
        return cls.fen(money.round().to_minor(), money.currency)

    @classmethod
    def fen(cls, amount_fen: int, currency: str = "CNY") -> MoneyOut:
        sign = "-" if amount_fen < 0 else ""
        value = Decimal(abs(amount_fen)).scaleb(-2)
        symbol = "¥" if currency == "CNY" else f"{currency} "
        return cls(amount_fen=amount_fen, currency=currency, display=f"{sign}{symbol}{value:,.2f}")


class RateOut(BaseModel):
    rate: str = Field(description="Annual rate as a decimal fraction, e.g. 0.182456")
    percent: str = Field(description="The same as a percent for screens, e.g. 18.25%")

    @classmethod
    def of(cls, rate: Decimal | str) -> RateOut:
        value = Decimal(str(rate))
        return cls(rate=str(value), percent=f"{(value * 100).quantize(Decimal('0.01'))}%")


class ReasonOut(BaseModel):
    code: str
    text_zh: str
    text_en: str


class Page(BaseModel, Generic[T]):
    items: list[T]


# --------------------------------------------------------------------------- auth & profile


class OtpRequestIn(Body):
    phone: str = Field(min_length=1, max_length=32, pattern=TEXT_PATTERN, examples=["13800000001"])
    locale: Literal["zh", "en"] = "zh"


class OtpSentOut(BaseModel):
    phone: str = Field(description="Masked, e.g. 138****5678")
    expires_at: dt.datetime
    resend_after_seconds: int


class OtpVerifyIn(Body):
    phone: str = Field(min_length=1, max_length=32, pattern=TEXT_PATTERN)
    code: str = Field(min_length=1, max_length=10, pattern=TEXT_PATTERN, examples=["123456"])


class TokensOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    access_expires_at: dt.datetime
    refresh_expires_at: dt.datetime


class SignedInOut(TokensOut):
    borrower_id: str
    is_new: bool


class RefreshIn(Body):
    refresh_token: str = Field(min_length=1, max_length=4096, pattern=TEXT_PATTERN)


class ProfileOut(BaseModel):
    borrower_id: str
    status: str
    phone: str = Field(description="Masked")
    real_name: str | None = Field(default=None, description="Masked")
    national_id: str | None = Field(default=None, description="Masked: 110***********1234")
    bank_card: str | None = Field(default=None, description="Masked: last four digits only")
    registered_at: dt.datetime
    kyc_verified_at: dt.datetime | None = None


class KycIn(Body):
    # The examples are the sandbox's "approve" test identity (README: Test identities).
    real_name: str = Field(min_length=1, max_length=64, pattern=TEXT_PATTERN, examples=["张通过"])
    national_id: str = Field(
        min_length=1, max_length=40, pattern=TEXT_PATTERN, examples=["110101199001010111"]
    )
    bank_card: str = Field(
        min_length=1, max_length=40, pattern=TEXT_PATTERN, examples=["6222020000000015"]
    )


ConsentPurposeName = Literal["credit_report_query", "data_use", "e_contract", "marketing"]


class ConsentTextOut(BaseModel):
    purpose: str
    text_version: str
    required_for: list[str]
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str


class ConsentIn(Body):
    purpose: ConsentPurposeName
    text_version: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")


class ConsentOut(BaseModel):
    purpose: str
    text_version: str
    granted_at: dt.datetime
    withdrawn_at: dt.datetime | None = None


# --------------------------------------------------------------------------- lines


class ApplicationIn(Body):
    product_code: str | None = Field(default=None, pattern=ID_PATTERN)
    monthly_income_fen: int = Field(ge=0, le=MAX_FEN, description="Declared monthly income, fen")


class AprRangeOut(BaseModel):
    low: RateOut
    high: RateOut


class ApplicationOut(BaseModel):
    application_id: str
    outcome: Literal["approve", "decline", "refer"]
    product_code: str
    applied_at: dt.datetime
    decided_on: dt.date
    line_id: str | None = None
    limit: MoneyOut | None = None
    apr_range: AprRangeOut | None = Field(
        default=None, description="APR (IRR) from the shortest to the longest term"
    )
    annual_rate: RateOut | None = None
    price_band: str | None = None
    expires_on: dt.date | None = None
    reasons: list[ReasonOut] = Field(default_factory=list)


class ProductOut(BaseModel):
    code: str
    name: str
    method: str
    min_amount: MoneyOut
    max_amount: MoneyOut
    min_periods: int
    max_periods: int


class LineOut(BaseModel):
    line_id: str
    status: str
    limit: MoneyOut
    used: MoneyOut
    available: MoneyOut
    apr_range: AprRangeOut | None = None
    annual_rate: RateOut
    price_band: str
    opened_on: dt.date
    expires_on: dt.date
    product: ProductOut
    application_id: str | None = None


# --------------------------------------------------------------------------- offers & contracts


class OfferIn(Body):
    line_id: str = Field(pattern=ID_PATTERN)
    amount_fen: int = Field(ge=1, le=MAX_FEN, examples=[500000])
    periods: int = Field(ge=1, le=360, examples=[6])


class InstallmentPlanOut(BaseModel):
    n: int
    due_date: dt.date
    principal: MoneyOut
    interest: MoneyOut
    fees: MoneyOut
    total: MoneyOut
    balance_after: MoneyOut


class OfferOut(BaseModel):
    apr: RateOut = Field(description="APR: the IRR of every payment, annualised (shown first)")
    annual_rate: RateOut = Field(description="Nominal annual interest rate (simple)")
    rate_disclosure_zh: str
    rate_disclosure_en: str
    line_id: str
    product_code: str
    product_name: str
    amount: MoneyOut
    disbursed: MoneyOut
    periods: int
    method: str
    start_date: dt.date
    maturity_date: dt.date
    total_interest: MoneyOut
    total_fees: MoneyOut
    upfront_fees: MoneyOut
    total_cost: MoneyOut
    total_repayment: MoneyOut
    penalty_rate: RateOut
    penalty_grace_days: int
    installments: list[InstallmentPlanOut]


class KeyTermOut(BaseModel):
    key: str
    label_zh: str
    label_en: str
    value_zh: str
    value_en: str


class ContractSummaryOut(BaseModel):
    contract_id: str
    status: Literal["draft", "signed"]
    line_id: str
    sha256: str = Field(description="SHA-256 of `body` (UTF-8), hex")
    template_version: str
    created_at: dt.datetime
    offer_date: dt.date
    signed_at: dt.datetime | None = None
    loan_id: str | None = None
    apr: RateOut
    amount: MoneyOut


class ContractOut(ContractSummaryOut):
    ip_address: str = ""
    device_id: str = ""
    key_terms: list[KeyTermOut]
    terms: OfferOut
    body: str


class SignIn(Body):
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="Hash of the contract shown")
    accept: Literal[True] = Field(description="The borrower ticked 'I have read and accept'")


# --------------------------------------------------------------------------- loans & repayments


class FunderShareOut(BaseModel):
    funder_code: str = Field(description="The funder (own_pool: the platform's own capital)")
    amount: MoneyOut


class DisbursementOut(BaseModel):
    status: Literal["pending", "paid", "failed"]
    stage: str = Field(
        description="Where the payout stands: awaiting_approval, queued, sent, paid, failed, "
        "dead_letter (operators retry it), needs_review"
    )
    amount: MoneyOut
    requested_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    settled_on: dt.date | None = None
    failure_code: str = ""
    funders: list[FunderShareOut] = Field(
        default_factory=list, description="Who funds the loan, and how much of it"
    )


class ScheduleLineOut(BaseModel):
    n: int
    kind: str
    due_date: dt.date
    status: str
    principal: MoneyOut
    interest: MoneyOut
    fees: MoneyOut
    penalty: MoneyOut
    paid: MoneyOut
    remaining: MoneyOut
    settled_on: dt.date | None = None


class LoanSummaryOut(BaseModel):
    loan_id: str
    status: str
    apr: RateOut | None = None
    annual_rate: RateOut
    principal: MoneyOut
    outstanding_principal: MoneyOut
    due_now: MoneyOut = Field(description="What paying 'the installment due' charges today")
    next_due_date: dt.date | None = None
    disbursed_on: dt.date | None = None
    closed_on: dt.date | None = None
    contract_id: str | None = None
    disbursement_status: Literal["pending", "paid", "failed"] | None = None
    credit_balance: MoneyOut | None = Field(
        default=None, description="Money received beyond what was owed, held for you"
    )
    payments_pending: MoneyOut | None = Field(
        default=None, description="Card payments asked for, not yet confirmed by the bank"
    )


class LoanOut(LoanSummaryOut):
    disbursement: DisbursementOut | None = None
    as_of: dt.date
    schedule: list[ScheduleLineOut]


class PayoffQuoteOut(BaseModel):
    loan_id: str
    on: dt.date
    amount_due: MoneyOut
    principal: MoneyOut
    interest: MoneyOut
    fees: MoneyOut
    penalty: MoneyOut
    credit_balance: MoneyOut


class RepaymentIn(Body):
    amount_fen: int = Field(ge=1, le=MAX_FEN)


class PayoffIn(Body):
    amount_fen: int | None = Field(
        default=None, ge=1, le=MAX_FEN, description="The quoted amount; omitted: today's quote"
    )


class PrepayIn(Body):
    amount_fen: int = Field(ge=1, le=MAX_FEN)
    mode: Literal["shorten_term", "lower_installment"] = "shorten_term"


class AllocationOut(BaseModel):
    installment: int
    component: str
    amount: MoneyOut


class ReceiptOut(BaseModel):
    repayment_id: str
    loan_id: str
    amount: MoneyOut
    received_on: dt.date
    channel: str
    allocation: list[AllocationOut]
    overpayment: MoneyOut


class PaymentOut(BaseModel):
    """A card payment: `pending` until the bank confirms the debit, then `paid` (booked:
    see `repayment_id`'s receipt) or `failed` (nothing taken; `failure_reason` says why)."""

    payment_id: str
    loan_id: str
    kind: Literal["due", "amount", "payoff", "prepay", "autodebit"]
    status: Literal["pending", "paid", "failed"]
    amount: MoneyOut
    requested_on: dt.date
    settled_on: dt.date | None = None
    repayment_id: str | None = None
    failure_code: str = ""
    failure_reason: str = ""
    mode: str = ""


class PaymentAcceptedOut(BaseModel):
    payment: PaymentOut
    loan: LoanSummaryOut


class SignedOut(BaseModel):
    contract: ContractSummaryOut
    loan: LoanSummaryOut
    disbursement: DisbursementOut


# --------------------------------------------------------------------------- inbox


class NotificationOut(BaseModel):
    notification_id: str
    kind: str
    channel: str
    status: str
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    created_at: dt.datetime
    sent_at: dt.datetime | None = None


# --------------------------------------------------------------------------- callbacks


class CallbackOut(BaseModel):
    outcome: str = Field(
        description="What became of it: paid, cancelled, duplicate, stale, not_final, "
        "unknown_payout (recorded for operators), recorded_approved, …"
    )


class HealthOut(BaseModel):
    status: str
    business_date: dt.date
    sandboxes: dict[str, str] = Field(default_factory=dict)
