"""Ports: the Protocols through which use cases reach storage and the outside world.

Adapters implement these; tests use in-memory fakes built by the same bootstrap.
Wire-level details (HTTP, SQL) never appear here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from mobilend.domain.money import Money

# --------------------------------------------------------------------------- time & ids


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """Current instant, timezone-aware (UTC)."""
        ...


class IdSource(Protocol):
    def new_id(self) -> str:
        """A new unique, sortable id (string)."""
        ...


# --------------------------------------------------------------------------- payment rail


@dataclass(frozen=True, slots=True)
class PayoutRequest:
    """Send ``amount`` to a borrower's bank card. ``idempotency_key`` makes retries safe."""

    idempotency_key: str
    loan_id: str
    amount: Money
    account_name: str
    card_number: str
    bank_code: str = ""


@dataclass(frozen=True, slots=True)
class DebitRequest:
    """Collect ``amount`` from a borrower's card (auto-debit, 代扣)."""

    idempotency_key: str
    loan_id: str
    amount: Money
    account_name: str
    card_number: str


@dataclass(frozen=True, slots=True)
class RailAck:
    """The rail's synchronous answer: it accepted (final status comes by webhook) or refused."""

    accepted: bool
    rail_reference: str = ""
    status: str = "pending"  # pending | succeeded | failed
    failure_code: str = ""  # e.g. insufficient_funds, card_expired
    settled_on: dt.date | None = None  # the rail's business date, once settled


@dataclass(frozen=True, slots=True)
class RailStatementLine:
    rail_reference: str
    idempotency_key: str
    direction: str  # payout | debit
    amount: Money
    status: str  # succeeded | failed
    settled_on: dt.date


class PaymentRail(Protocol):
    def send_payout(self, request: PayoutRequest) -> RailAck: ...

    def request_debit(self, request: DebitRequest) -> RailAck: ...

    def payout_status(self, idempotency_key: str) -> RailAck: ...

    def statement(self, day: dt.date) -> list[RailStatementLine]: ...


# --------------------------------------------------------------------------- notifications


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    message_id: str
    channel: str  # sms | push
    recipient: str  # phone number (sms) or device token (push)
    body: str
    kind: str = "service"  # service | legal | marketing


@dataclass(frozen=True, slots=True)
class DeliveryAck:
    accepted: bool
    gateway_reference: str = ""
    error: str = ""


class MessageGateway(Protocol):
    def send(self, message: OutgoingMessage) -> DeliveryAck: ...


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True, slots=True)
class Applicant:
    """What the decision engine is told about an application (PII already decrypted)."""

    application_id: str
    borrower_id: str
    product_code: str
    full_name: str
    national_id: str
    phone: str
    birth_date: dt.date | None = None
    region_code: str = ""
    device_id: str = ""
    ip_address: str = ""
    bank_card: str = ""
    monthly_income: Money | None = None
    declared: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DecisionReason:
    code: str
    text_zh: str
    text_en: str


@dataclass(frozen=True, slots=True)
class CreditDecision:
    decision_id: str
    outcome: str  # approve | decline | refer
    limit: Money | None
    annual_rate: Any  # Decimal fraction, e.g. Decimal("0.18")
    expires_on: dt.date | None
    reasons: tuple[DecisionReason, ...] = ()
    versions: Mapping[str, str] = field(default_factory=dict)


class DecisionEngine(Protocol):
    def decide(self, applicant: Applicant, on: dt.date) -> CreditDecision: ...


# --------------------------------------------------------------------------- outside-world failures


class GatewayUnavailable(Exception):
    """An outside system did not answer (timeouts, 5xx, circuit open) after the adapter's retries.

    The call may or may not have taken effect: retry later with the same idempotency key,
    or ask for the status. Adapters raise subclasses of this; use cases catch it.
    """


# --------------------------------------------------------------------------- partner bank


@dataclass(frozen=True, slots=True)
class PartnerApprovalRequest:
    """Ask a partner institution to fund ``amount`` of a loan; it decides on its own.

    ``request_id`` is the idempotency key: asking again returns the same decision.
    """

    request_id: str
    loan_id: str
    amount: Money
    term_days: int
    score_band: str  # e.g. A..E, best first
    product_code: str = ""
    region_code: str = ""


@dataclass(frozen=True, slots=True)
class PartnerAck:
    """The partner's answer so far; the final decision usually arrives later by callback."""

    accepted: bool  # the request was received (not: the loan was approved)
    partner_reference: str = ""
    status: str = "pending"  # pending | approved | declined | unknown
    approved_amount: Money | None = None
    reason_code: str = ""


class PartnerBank(Protocol):
    def request_approval(self, request: PartnerApprovalRequest) -> PartnerAck: ...

    def approval_status(self, request_id: str) -> PartnerAck: ...


# --------------------------------------------------------------------------- borrowers & onboarding

from mobilend.domain.borrowers import Consent  # noqa: E402
from mobilend.domain.otp import OtpChallenge  # noqa: E402


class PiiVault(Protocol):
    """Field-level encryption of personal data and keyed blind indexes for lookups.

    ``field`` names the column (``phone``, ``national_id``, ``real_name``, ``bank_card``…):
    a value sealed for one field does not open as another.
    """

    def encrypt(self, field: str, value: str) -> str: ...

    def decrypt(self, field: str, sealed: str) -> str: ...

    def blind_index(self, field: str, value: str) -> str: ...


@dataclass(frozen=True, slots=True)
class SealedBorrower:
    """A borrower as stored: personal data only sealed by the vault, plus blind indexes."""

    borrower_id: str
    status: str
    phone_enc: str
    phone_bidx: str
    registered_at: dt.datetime
    last_login_at: dt.datetime | None = None
    freeze_reason: str = ""
    name_enc: str | None = None
    national_id_enc: str | None = None
    national_id_bidx: str | None = None
    bank_card_enc: str | None = None
    bank_card_bidx: str | None = None
    birth_date_enc: str | None = None
    kyc_verified_at: dt.datetime | None = None


class BorrowerRepository(Protocol):
    """Borrowers and their consents. ``add``/``save`` raise ``Conflict`` (``NationalIdTaken``
    for the national ID) when a unique blind index is already held by another borrower."""

    def add(self, borrower: SealedBorrower) -> None: ...

    def save(self, borrower: SealedBorrower) -> None: ...

    def get(self, borrower_id: str) -> SealedBorrower | None: ...

    def find_by_phone_index(self, phone_bidx: str) -> SealedBorrower | None: ...

    def find_by_national_id_index(self, national_id_bidx: str) -> SealedBorrower | None: ...

    def add_consent(self, consent: Consent) -> None: ...

    def save_consent(self, consent: Consent) -> None: ...

    def consents(self, borrower_id: str) -> list[Consent]: ...


class OtpRepository(Protocol):
    """One-time-password challenges, keyed by subject (the phone's blind index)."""

    def add(self, challenge: OtpChallenge) -> None: ...

    def save(self, challenge: OtpChallenge) -> None: ...

    def latest(self, subject: str) -> OtpChallenge | None: ...

    def sent_since(self, subject: str, since: dt.datetime) -> list[dt.datetime]: ...


class OnboardingUnitOfWork(Protocol):
    """One transaction over the onboarding repositories: commit or, on leaving, roll back."""

    @property
    def borrowers(self) -> BorrowerRepository: ...

    @property
    def otps(self) -> OtpRepository: ...

    def commit(self) -> None: ...

    def __enter__(self) -> OnboardingUnitOfWork: ...

    def __exit__(self, *exc_info: object) -> None: ...


class RateLimiter(Protocol):
    """Counters of events per key and time window, for abuse limits. ``hit`` counts one
    event and returns how many the window holds so far, this one included — atomically:
    concurrent hits never read the same count. Counts survive the caller's own
    transaction rolling back (an attempt counts even when it fails)."""

    def hit(
        self, bucket: str, key: str, window_start: dt.datetime, window_end: dt.datetime
    ) -> int: ...


class RandomSource(Protocol):
    def randbelow(self, exclusive_upper_bound: int) -> int:
        """A uniformly drawn integer in ``[0, exclusive_upper_bound)``, from a CSPRNG."""
        ...


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    access_expires_at: dt.datetime
    refresh_expires_at: dt.datetime
    token_type: str = "Bearer"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """Who a valid access token speaks for."""

    subject: str  # borrower id or staff user id
    kind: str  # borrower | staff
    roles: tuple[str, ...]
    token_id: str
    expires_at: dt.datetime


class TokenIssuer(Protocol):
    """Short-lived access tokens and rotating refresh tokens.

    ``refresh``, ``revoke`` and ``verify_access`` raise ``Unauthenticated`` for a bad,
    expired, revoked or reused token; reusing a rotated refresh token revokes its family.
    """

    def issue(
        self, subject: str, kind: str, roles: tuple[str, ...], now: dt.datetime
    ) -> TokenPair: ...

    def refresh(self, refresh_token: str, now: dt.datetime) -> TokenPair: ...

    def revoke(self, refresh_token: str, now: dt.datetime) -> None: ...

    def verify_access(self, access_token: str, now: dt.datetime) -> TokenClaims: ...


# --------------------------------------------------------------------------- credit data sources


@dataclass(frozen=True, slots=True)
class SourceReport:
    """One paid data source's answer (bureau, telco, e-commerce), kept verbatim for replay."""

    source: str  # bureau | telco | ecommerce
    payload: Mapping[str, Any]  # the wire JSON as received
    data_version: str
    fetched_on: dt.date  # business date of the paid call (earlier than today on a cache hit)
    cost: Money  # what this answer cost the lender: zero when served from the report cache
    cached: bool = False


class DataSourceUnavailable(GatewayUnavailable):
    """A data source gave no usable answer (after retries, or with its circuit open)."""

    def __init__(self, source: str, reason: str, detail: str = "") -> None:
        super().__init__(f"{source} unavailable: {reason}" + (f" ({detail})" if detail else ""))
        self.source = source
        self.reason = reason  # timeout | server_error | circuit_open | rejected | bad_payload
        self.detail = detail


class CreditDataSource(Protocol):
    @property
    def name(self) -> str: ...

    def fetch(self, applicant: Applicant, on: dt.date) -> SourceReport:
        """The source's report on the applicant; raises DataSourceUnavailable."""
        ...


# --------------------------------------------------------------------------- fraud signals


@dataclass(frozen=True, slots=True)
class ApplicationSighting:
    """The identifiers one application used, for velocity and shared-identifier checks."""

    application_id: str
    on: dt.date
    national_id: str
    phone: str
    device_id: str = ""
    ip_address: str = ""
    bank_card: str = ""


class FraudSignalStore(Protocol):
    def record(self, sighting: ApplicationSighting) -> None: ...

    def sightings(
        self, identifier: str, value: str, since: dt.date, until: dt.date
    ) -> list[ApplicationSighting]:
        """Applications whose ``identifier`` (a field name above) equals ``value``, dated
        ``since`` ≤ on ≤ ``until``."""
        ...

    def is_blacklisted(self, identifier: str, value: str) -> bool: ...


# --------------------------------------------------------------------------- decision records


class DecisionRecordStore(Protocol):
    """Keeps every decision's full record (inputs, versions, outcome) for audit and replay."""

    def save(self, decision_id: str, record: Mapping[str, Any]) -> None: ...

    def get(self, decision_id: str) -> Mapping[str, Any]:
        """The stored record; raises KeyError when there is none."""
        ...
