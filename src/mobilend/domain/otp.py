"""One-time passwords for phone sign-in: code format, expiry, attempts, send limits.

Pure rules. The code is made from a random integer the caller drew, and only its
keyed hash (computed outside the domain) is ever stored or compared here.
Borrower-facing messages are Simplified Chinese first, English in brackets.
"""

from __future__ import annotations

import datetime as dt
import enum
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mobilend.domain.errors import Conflict, DomainError, Problem, ValidationFailed


def _text(zh: str, en: str) -> str:
    return f"{zh} ({en})"


# --------------------------------------------------------------------------- errors


class OtpRateLimited(Conflict):
    """Too many codes asked for: wait ``retry_after_seconds`` before asking again."""

    code = "otp_rate_limited"

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message, [Problem("phone", message)])
        self.retry_after_seconds = retry_after_seconds


class OtpRejected(ValidationFailed):
    """The code presented does not open the challenge (wrong, expired, used, locked)."""

    code = "otp_invalid"

    def __init__(self, outcome: OtpOutcome, attempts_left: int) -> None:
        super().__init__([Problem("code", _OTP_MESSAGES[outcome])])
        self.outcome = outcome
        self.attempts_left = attempts_left


class OtpDeliveryFailed(DomainError):
    """The SMS gateway did not take the message; the borrower may ask again later."""

    code = "otp_delivery_failed"


# --------------------------------------------------------------------------- one-time passwords


@dataclass(frozen=True, slots=True)
class OtpPolicy:
    digits: int = 6
    ttl: dt.timedelta = dt.timedelta(minutes=5)
    max_attempts: int = 5
    resend_cooldown: dt.timedelta = dt.timedelta(seconds=60)
    #: Codes one phone may be sent within any 24 hours (a rolling window: no time zone to argue over).
    daily_send_cap: int = 10

    def __post_init__(self) -> None:
        if not 4 <= self.digits <= 10:
            raise ValueError("an OTP has 4 to 10 digits")
        if self.max_attempts < 1 or self.daily_send_cap < 1:
            raise ValueError("attempt and send limits must be positive")

    @property
    def ttl_minutes(self) -> int:
        return max(1, int(self.ttl.total_seconds() // 60))


def otp_code_from(random_value: int, policy: OtpPolicy) -> str:
    """The code shown to the borrower, from a uniformly drawn integer in ``[0, 10**digits)``."""
    space = 10**policy.digits
    if not 0 <= random_value < space:
        raise ValueError(f"random value must lie in [0, {space})")
    return f"{random_value:0{policy.digits}d}"


def is_well_formed_code(code: str, policy: OtpPolicy) -> bool:
    return len(code) == policy.digits and code.isascii() and code.isdigit()


def ensure_can_send(sent_at: Iterable[dt.datetime], now: dt.datetime, policy: OtpPolicy) -> None:
    """Refuse a new code inside the resend cool-down or past the rolling 24-hour cap."""
    window_start = now - dt.timedelta(days=1)
    recent = sorted(t for t in sent_at if window_start < t <= now)
    if recent:
        wait = recent[-1] + policy.resend_cooldown - now
        if wait > dt.timedelta(0):
            seconds = max(1, int(wait.total_seconds() + 0.999))
            raise OtpRateLimited(
                _text(f"请{seconds}秒后再获取验证码", f"try again in {seconds} s"), seconds
            )
    if len(recent) >= policy.daily_send_cap:
        # The window frees a slot when the oldest send inside it leaves it.
        seconds = max(1, int((recent[0] + dt.timedelta(days=1) - now).total_seconds() + 0.999))
        raise OtpRateLimited(
            _text("今日验证码发送次数已达上限", "daily verification-code limit reached"), seconds
        )


class OtpOutcome(enum.StrEnum):
    ACCEPTED = "accepted"
    WRONG_CODE = "wrong_code"
    EXPIRED = "expired"
    LOCKED = "locked"  # attempts used up
    USED = "used"  # already accepted once
    MISSING = "missing"  # no code was ever sent to this phone


_OTP_MESSAGES: Mapping[OtpOutcome, str] = {
    OtpOutcome.ACCEPTED: "",
    OtpOutcome.WRONG_CODE: _text("验证码错误", "wrong verification code"),
    OtpOutcome.EXPIRED: _text("验证码已过期，请重新获取", "code expired; request a new one"),
    OtpOutcome.LOCKED: _text(
        "错误次数过多，请重新获取验证码", "too many attempts; request a new code"
    ),
    OtpOutcome.USED: _text("验证码已使用，请重新获取", "code already used; request a new one"),
    OtpOutcome.MISSING: _text("请先获取验证码", "request a verification code first"),
}


@dataclass(slots=True)
class OtpChallenge:
    """A code sent to one subject (the phone's blind index: no phone number is kept here)."""

    challenge_id: str
    subject: str
    code_hash: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    attempts: int = 0
    consumed_at: dt.datetime | None = None

    @classmethod
    def issue(
        cls, challenge_id: str, subject: str, code_hash: str, now: dt.datetime, policy: OtpPolicy
    ) -> OtpChallenge:
        return cls(challenge_id, subject, code_hash, now, now + policy.ttl)

    def attempts_left(self, policy: OtpPolicy) -> int:
        return max(0, policy.max_attempts - self.attempts)

    def check(self, presented_hash: str, now: dt.datetime, policy: OtpPolicy) -> OtpOutcome:
        """Try a code (by its keyed hash). Counts the attempt; the caller saves the challenge."""
        if self.consumed_at is not None:
            return OtpOutcome.USED
        if now >= self.expires_at:
            return OtpOutcome.EXPIRED
        if self.attempts >= policy.max_attempts:
            return OtpOutcome.LOCKED
        self.attempts += 1
        if hmac.compare_digest(self.code_hash.encode(), presented_hash.encode()):
            self.consumed_at = now
            return OtpOutcome.ACCEPTED
        return OtpOutcome.WRONG_CODE
