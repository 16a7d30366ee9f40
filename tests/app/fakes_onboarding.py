"""In-memory stand-ins for the onboarding ports, with transaction semantics.

The unit of work copies the committed state on entry and publishes the working copy
only on ``commit()``, so a use case that raises before committing leaves no trace,
as with the database.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from mobilend.app.messaging import DeliveryAck, OutgoingMessage
from mobilend.app.onboarding.ports import SealedBorrower, TokenClaims, TokenPair
from mobilend.app.onboarding.service import Onboarding, OnboardingSettings
from mobilend.domain.borrowers import Consent, NationalIdTaken, Unauthenticated
from mobilend.domain.errors import Conflict, GatewayUnavailable
from mobilend.domain.otp import OtpChallenge


class FakeClock:
    def __init__(self, now: dt.datetime) -> None:
        self.current = now

    def now(self) -> dt.datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += dt.timedelta(**delta)


class SequentialIds:
    def __init__(self, prefix: str = "id") -> None:
        self._counter = itertools.count(1)
        self._prefix = prefix

    def new_id(self) -> str:
        return f"{self._prefix}{next(self._counter):06d}"


class ScriptedRandom:
    """Returns the queued values in order, then repeats the last one."""

    def __init__(self, *values: int) -> None:
        self.values = list(values) or [123456]

    def randbelow(self, exclusive_upper_bound: int) -> int:
        value = self.values.pop(0) if len(self.values) > 1 else self.values[0]
        assert 0 <= value < exclusive_upper_bound
        return value


class FakeVault:
    """Reversible sealing that never shows the plain value, keyed-hash blind indexes."""

    def encrypt(self, field: str, value: str) -> str:
        return f"fake:{field}:" + base64.b64encode(value[::-1].encode()).decode()

    def decrypt(self, field: str, sealed: str) -> str:
        prefix = f"fake:{field}:"
        assert sealed.startswith(prefix), f"{sealed!r} was sealed for another field than {field}"
        return base64.b64decode(sealed[len(prefix) :]).decode()[::-1]

    def blind_index(self, field: str, value: str) -> str:
        return hmac.new(b"k" * 32, f"{field}|{value}".encode(), hashlib.sha256).hexdigest()


@dataclass
class SmsOutbox:
    sent: list[OutgoingMessage] = field(default_factory=list)
    refuse: bool = False
    unavailable: bool = False

    def send(self, message: OutgoingMessage) -> DeliveryAck:
        if self.unavailable:
            raise GatewayUnavailable("sms gateway timed out")
        if self.refuse:
            return DeliveryAck(False, error="rejected")
        self.sent.append(message)
        return DeliveryAck(True, gateway_reference=f"gw-{len(self.sent)}")

    def last_code(self) -> str:
        body = self.sent[-1].body
        return (
            body.split("验证码是")[1][:6] if "验证码是" in body else body.split("code is ")[1][:6]
        )


@dataclass
class OnboardingState:
    borrowers: dict[str, SealedBorrower] = field(default_factory=dict)
    consents: dict[str, Consent] = field(default_factory=dict)
    challenges: dict[str, OtpChallenge] = field(default_factory=dict)


class InMemoryBorrowers:
    def __init__(self, state: OnboardingState) -> None:
        self._s = state

    def _check_unique(self, borrower: SealedBorrower) -> None:
        for other in self._s.borrowers.values():
            if other.borrower_id == borrower.borrower_id:
                continue
            if other.phone_bidx == borrower.phone_bidx:
                raise Conflict("phone taken")
            if (
                borrower.national_id_bidx
                and other.national_id_bidx == borrower.national_id_bidx
                and "closed" not in (other.status, borrower.status)
            ):
                raise NationalIdTaken("national id taken")

    def add(self, borrower: SealedBorrower) -> None:
        assert borrower.borrower_id not in self._s.borrowers
        self._check_unique(borrower)
        self._s.borrowers[borrower.borrower_id] = borrower

    def save(self, borrower: SealedBorrower) -> None:
        assert borrower.borrower_id in self._s.borrowers
        self._check_unique(borrower)
        self._s.borrowers[borrower.borrower_id] = borrower

    def get(self, borrower_id: str) -> SealedBorrower | None:
        return self._s.borrowers.get(borrower_id)

    def find_by_phone_index(self, phone_bidx: str) -> SealedBorrower | None:
        return next((b for b in self._s.borrowers.values() if b.phone_bidx == phone_bidx), None)

    def find_by_national_id_index(self, national_id_bidx: str) -> SealedBorrower | None:
        return next(
            (
                b
                for b in self._s.borrowers.values()
                if b.national_id_bidx == national_id_bidx and b.status != "closed"
            ),
            None,
        )

    def add_consent(self, consent: Consent) -> None:
        for held in self._s.consents.values():
            if (held.borrower_id, held.purpose) == (
                consent.borrower_id,
                consent.purpose,
            ) and held.is_active:
                raise Conflict("an active consent exists")
        self._s.consents[consent.consent_id] = replace(consent)

    def save_consent(self, consent: Consent) -> None:
        self._s.consents[consent.consent_id] = replace(consent)

    def consents(self, borrower_id: str) -> list[Consent]:
        return [replace(c) for c in self._s.consents.values() if c.borrower_id == borrower_id]


class InMemoryOtps:
    def __init__(self, state: OnboardingState) -> None:
        self._s = state

    def add(self, challenge: OtpChallenge) -> None:
        self._s.challenges[challenge.challenge_id] = replace(challenge)

    def save(self, challenge: OtpChallenge) -> None:
        self._s.challenges[challenge.challenge_id] = replace(challenge)

    def latest(self, subject: str) -> OtpChallenge | None:
        mine = [c for c in self._s.challenges.values() if c.subject == subject]
        return replace(max(mine, key=lambda c: (c.issued_at, c.challenge_id))) if mine else None

    def sent_since(self, subject: str, since: dt.datetime) -> list[dt.datetime]:
        return [
            c.issued_at
            for c in self._s.challenges.values()
            if c.subject == subject and c.issued_at > since
        ]


@dataclass
class OnboardingGroup:
    borrowers: InMemoryBorrowers
    otps: InMemoryOtps


class InMemoryUnitOfWork:
    def __init__(self, store: FakeStore) -> None:
        self._store = store
        self.commits = 0

    def __enter__(self) -> InMemoryUnitOfWork:
        self._working = copy.deepcopy(self._store.committed)
        # Onboarding's store group of the platform unit of work (the only one it uses).
        self.onboarding = OnboardingGroup(
            InMemoryBorrowers(self._working), InMemoryOtps(self._working)
        )
        return self

    def before_commit(self, work: Callable[[], None]) -> None:
        raise NotImplementedError("onboarding defers no work to the commit")

    def commit(self) -> None:
        self._store.committed = copy.deepcopy(self._working)
        self._store.commits += 1

    def __exit__(self, *exc_info: object) -> None:
        self._working = OnboardingState()


class FakeStore:
    def __init__(self) -> None:
        self.committed = OnboardingState()
        self.commits = 0

    @property
    def unit_of_work(self) -> StoreUnitsOfWork:
        return StoreUnitsOfWork(self)


class StoreUnitsOfWork:
    """Units of work on a ``FakeStore`` (a reading one is the same: the fake has no
    transactions to leave out)."""

    def __init__(self, store: FakeStore) -> None:
        self._store = store

    def __call__(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self._store)

    def reading(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self._store)


class FakeTokenIssuer:
    """Opaque tokens ``<kind>:<subject>:<n>``; refresh spends the old token."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self.live_refresh: dict[str, tuple[str, str]] = {}
        self.revoked: set[str] = set()

    def issue(self, subject: str, kind: str, roles: tuple[str, ...], now: dt.datetime) -> TokenPair:
        n = next(self._counter)
        refresh = f"refresh:{kind}:{subject}:{n}"
        self.live_refresh[refresh] = (subject, kind)
        return TokenPair(
            f"access:{kind}:{subject}:{n}",
            refresh,
            now + dt.timedelta(minutes=15),
            now + dt.timedelta(days=30),
        )

    def refresh(self, refresh_token: str, now: dt.datetime) -> TokenPair:
        owner = self.live_refresh.pop(refresh_token, None)
        if owner is None:
            raise Unauthenticated("unknown refresh token")
        return self.issue(owner[0], owner[1], (), now)

    def revoke(self, refresh_token: str, now: dt.datetime) -> None:
        self.live_refresh.pop(refresh_token, None)
        self.revoked.add(refresh_token)

    def verify_access(self, access_token: str, now: dt.datetime) -> TokenClaims:
        parts = access_token.split(":")
        if len(parts) != 4 or parts[0] != "access":
            raise Unauthenticated("invalid token")
        return TokenClaims(parts[2], parts[1], (), parts[3], now + dt.timedelta(minutes=15))


@dataclass
class OnboardingKit:
    onboarding: Onboarding
    store: FakeStore
    sms: SmsOutbox
    clock: FakeClock
    random: ScriptedRandom
    tokens: FakeTokenIssuer
    vault: FakeVault


def build_onboarding(
    now: dt.datetime, *codes: int, settings: OnboardingSettings | None = None
) -> OnboardingKit:
    store, sms, clock = FakeStore(), SmsOutbox(), FakeClock(now)
    random, tokens, vault = ScriptedRandom(*codes), FakeTokenIssuer(), FakeVault()
    onboarding = Onboarding(
        unit_of_work=store.unit_of_work,
        vault=vault,
        messages=sms,
        tokens=tokens,
        clock=clock,
        ids=SequentialIds(),
        random=random,
        settings=settings,
    )
    return OnboardingKit(onboarding, store, sms, clock, random, tokens, vault)
