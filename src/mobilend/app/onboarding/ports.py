"""Storage and services of onboarding: borrowers (sealed personal data, consents), sign-in
codes, random numbers and session tokens."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from mobilend.domain.borrowers import Consent
from mobilend.domain.otp import OtpChallenge


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

    def find_by_national_id_index(self, national_id_bidx: str) -> SealedBorrower | None:
        """The open (not closed) account verified with this national ID, if any."""
        ...

    def add_consent(self, consent: Consent) -> None: ...

    def save_consent(self, consent: Consent) -> None: ...

    def consents(self, borrower_id: str) -> list[Consent]: ...


class OtpRepository(Protocol):
    """One-time-password challenges, keyed by subject (the phone's blind index)."""

    def add(self, challenge: OtpChallenge) -> None: ...

    def save(self, challenge: OtpChallenge) -> None: ...

    def latest(self, subject: str) -> OtpChallenge | None: ...

    def sent_since(self, subject: str, since: dt.datetime) -> list[dt.datetime]: ...


class OnboardingStores(Protocol):
    """Onboarding's store group of the platform unit of work."""

    @property
    def borrowers(self) -> BorrowerRepository: ...

    @property
    def otps(self) -> OtpRepository: ...


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
