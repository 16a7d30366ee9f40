"""Abuse limits around sign-in codes, counted through the ``RateLimiter`` port.

Each phone already has its cool-down and daily cap (``domain.otp``). These bound what a
single client, or everyone together, can cost and guess: code sends per client address
and for the whole service (each SMS costs money and reaches a real phone), and code
checks per phone and per client address (a fresh code must not mean fresh guesses).
Keys are blind indexes, so the counters hold no phone number or address in the clear.
"""

from __future__ import annotations

import datetime as dt

from mobilend.app.ports import PiiVault, RateLimiter
from mobilend.domain.limits import OtpAbuseLimits, RateLimit, seconds_until
from mobilend.domain.otp import OtpRateLimited
from mobilend.domain.privacy import rate_limit_key

#: The blind-index field of client addresses in counter keys.
CLIENT_ADDRESS = "client_address"
EVERYONE = "*"


def _text(zh: str, en: str) -> str:
    return f"{zh} ({en})"


class AbuseGuard:
    """Counts before acting; raises ``OtpRateLimited`` (429, ``Retry-After``) past a limit."""

    def __init__(
        self, limiter: RateLimiter | None, vault: PiiVault, limits: OtpAbuseLimits
    ) -> None:
        self._limiter = limiter
        self._vault = vault
        self._limits = limits

    def before_send(self, client_ip: str, now: dt.datetime) -> None:
        # Per client first: a client over its own limit does not use up everyone's.
        self._count(self._limits.sends_per_ip, self._client(client_ip), now)
        self._count(self._limits.sends_overall, EVERYONE, now)

    def before_check(self, phone_subject: str, client_ip: str, now: dt.datetime) -> None:
        self._count(self._limits.checks_per_ip, self._client(client_ip), now)
        self._count(self._limits.checks_per_phone, phone_subject, now)

    def _client(self, client_ip: str) -> str:
        key = rate_limit_key(client_ip)
        return self._vault.blind_index(CLIENT_ADDRESS, key) if key else ""

    def _count(self, limit: RateLimit, key: str, now: dt.datetime) -> None:
        if self._limiter is None or not key:
            return
        start, end = limit.window_at(now)
        if limit.exceeded_by(self._limiter.hit(limit.bucket, key, start, end)):
            message = _text("请求过于频繁，请稍后再试", "too many requests; try again later")
            raise OtpRateLimited(message, seconds_until(now, end))
