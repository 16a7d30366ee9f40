"""Cost of protecting personal data and sessions: per-field encryption, blind indexes,
JWT issue/verify, argon2 staff passwords, log redaction, and whole onboarding journeys
(OTP request → verify → KYC → two consents) on in-memory storage with the real vault.

Prints figures, asserts nothing.

    .venv/bin/python bench/bench_onboarding.py [--seconds 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import time
from collections.abc import Callable

from argon2 import PasswordHasher
from stdnum.cn import ric

from mobilend.adapters.auth import InMemoryRefreshTokenStore, JwtTokenIssuer, SecretsRandom
from mobilend.adapters.vault import FieldVault, KeyRing, redact_text
from mobilend.app.messaging import DeliveryAck, OutgoingMessage
from mobilend.app.onboarding.service import Onboarding
from mobilend.domain.borrowers import Consent
from mobilend.domain.otp import OtpChallenge

NOW = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)


def rate_per_second(work: Callable[[int], object], seconds: float) -> float:
    for i in range(20):
        work(i)
    done, started = 0, time.perf_counter()
    while time.perf_counter() < started + seconds:
        for _ in range(20):
            work(done)
            done += 1
    return done / (time.perf_counter() - started)


def national_id(n: int) -> str:
    body = f"110101{1970 + n % 30}0307{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


class _Clock:
    def now(self) -> dt.datetime:
        return NOW


class _Ids:
    def __init__(self) -> None:
        self._n = itertools.count()

    def new_id(self) -> str:
        return f"id{next(self._n):09d}"


class _Sms:
    last = ""

    def send(self, message: OutgoingMessage) -> DeliveryAck:
        self.last = message.body
        return DeliveryAck(True)


class _Uow:
    """Dict-backed repositories without copying: measures the use cases, not storage."""

    def __init__(self, state: dict[str, dict[str, object]]) -> None:
        self.borrowers = _Borrowers(state)
        self.otps = _Otps(state)

    def __enter__(self) -> _Uow:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def commit(self) -> None:
        return None


class _Borrowers:
    def __init__(self, state: dict[str, dict[str, object]]) -> None:
        self.s = state

    def add(self, b: object) -> None:
        self.save(b)

    def save(self, b: object) -> None:
        self.s["b"][b.borrower_id] = b  # type: ignore[attr-defined]
        self.s["phone"][b.phone_bidx] = b  # type: ignore[attr-defined]
        if b.national_id_bidx:  # type: ignore[attr-defined]
            self.s["nid"][b.national_id_bidx] = b  # type: ignore[attr-defined]

    def get(self, borrower_id: str) -> object:
        return self.s["b"].get(borrower_id)

    def find_by_phone_index(self, i: str) -> object:
        return self.s["phone"].get(i)

    def find_by_national_id_index(self, i: str) -> object:
        return self.s["nid"].get(i)

    def add_consent(self, c: Consent) -> None:
        self.s["consents"].setdefault(c.borrower_id, []).append(c)  # type: ignore[attr-defined]

    def save_consent(self, c: Consent) -> None:
        return None

    def consents(self, borrower_id: str) -> list[Consent]:
        return list(self.s["consents"].get(borrower_id, []))  # type: ignore[call-overload]


class _Otps:
    def __init__(self, state: dict[str, dict[str, object]]) -> None:
        self.s = state

    def add(self, c: OtpChallenge) -> None:
        self.s["otp"][c.subject] = c

    def save(self, c: OtpChallenge) -> None:
        return None

    def latest(self, subject: str) -> object:
        return self.s["otp"].get(subject)

    def sent_since(self, subject: str, since: dt.datetime) -> list[dt.datetime]:
        return []


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=1.0)
    seconds = parser.parse_args().seconds

    vault = FieldVault(KeyRing.generate("k1"), b"\x01" * 32)
    sealed = vault.encrypt("national_id", national_id(1))
    print(
        f"encrypt field        {rate_per_second(lambda i: vault.encrypt('national_id', national_id(i)), seconds):>10,.0f} /s"
    )
    print(
        f"decrypt field        {rate_per_second(lambda i: vault.decrypt('national_id', sealed), seconds):>10,.0f} /s"
    )
    print(
        f"blind index          {rate_per_second(lambda i: vault.blind_index('national_id', national_id(i)), seconds):>10,.0f} /s"
    )

    tokens = JwtTokenIssuer("j" * 32, InMemoryRefreshTokenStore())
    pair = tokens.issue("b1", "borrower", (), NOW)
    print(
        f"jwt issue pair       {rate_per_second(lambda i: tokens.issue(f'b{i}', 'borrower', (), NOW), seconds):>10,.0f} /s"
    )
    print(
        f"jwt verify access    {rate_per_second(lambda i: tokens.verify_access(pair.access_token, NOW), seconds):>10,.0f} /s"
    )

    line = f"kyc borrower=b1 id={national_id(3)} phone=13812345678 card=6222021234567890128 amount=1000.00"
    print(
        f"redact log line      {rate_per_second(lambda i: redact_text(line), seconds):>10,.0f} /s"
    )

    hasher = PasswordHasher()
    started = time.perf_counter()
    stored = hasher.hash("a long staff password")
    hasher.verify(stored, "a long staff password")
    print(
        f"argon2id hash+verify {1000 * (time.perf_counter() - started):>10.0f} ms (default parameters)"
    )

    state: dict[str, dict[str, object]] = {k: {} for k in ("b", "phone", "nid", "otp", "consents")}
    sms = _Sms()
    onboarding = Onboarding(
        unit_of_work=lambda: _Uow(state),  # type: ignore[arg-type,return-value]
        vault=vault,
        messages=sms,
        tokens=tokens,
        clock=_Clock(),
        ids=_Ids(),
        random=SecretsRandom(),
    )

    def journey(i: int) -> None:
        phone = f"138{i:08d}"
        onboarding.request_otp(phone)
        borrower_id = onboarding.verify_otp(phone, sms.last.split("验证码是")[1][:6]).borrower_id
        onboarding.submit_kyc(
            borrower_id,
            real_name="张三",
            national_id=national_id(i),
            bank_card="6222021234567890128",
        )
        onboarding.record_consent(borrower_id, "credit_report_query", "v1")
        onboarding.record_consent(borrower_id, "data_use", "v1")

    counter = itertools.count(10_000)
    print(
        f"onboarding journeys  {rate_per_second(lambda i: journey(next(counter)), seconds):>10,.0f} /s (in-memory storage)"
    )


if __name__ == "__main__":
    main()
