"""Abuse limits: how many times something may happen per key in a fixed time window.

Pure rules; the counting itself is a port (``app.ports.RateLimiter``) that must be
atomic under concurrency. Windows are aligned to a fixed origin (the Unix epoch, or a
business day's midnight), so every process agrees on where a window starts without
talking to the others.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from mobilend.domain.errors import Conflict, Problem

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: Midnight in Beijing (UTC+8 all year: China keeps no daylight saving), so a "day" of
#: applications is the borrower's calendar day, not a UTC day that turns at 08:00.
BEIJING_MIDNIGHT = dt.datetime(1970, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``max_events`` per key in each window of length ``window``."""

    bucket: str  # what is counted, e.g. "otp_send_ip"
    max_events: int
    window: dt.timedelta
    origin: dt.datetime = _EPOCH  # windows start here and every ``window`` after

    def __post_init__(self) -> None:
        if self.max_events < 1 or self.window <= dt.timedelta(0):
            raise ValueError("a rate limit needs a positive count and window")

    def window_at(self, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """Start and end of the window ``now`` falls in."""
        length = self.window.total_seconds()
        start = self.origin + dt.timedelta(
            seconds=math.floor((now - self.origin).total_seconds() / length) * length
        )
        return start, start + self.window

    def exceeded_by(self, count: int) -> bool:
        """Whether the ``count``-th event of a window is one too many."""
        return count > self.max_events


def seconds_until(now: dt.datetime, end: dt.datetime) -> int:
    return max(1, math.ceil((end - now).total_seconds()))


@dataclass(frozen=True, slots=True)
class OtpAbuseLimits:
    """Limits on sign-in codes beyond each phone's own cool-down and daily cap: sends per
    client address and for the whole service, and code checks per phone and per address."""

    sends_per_ip: RateLimit = RateLimit("otp_send_ip", 20, dt.timedelta(minutes=10))
    sends_overall: RateLimit = RateLimit("otp_send_all", 300, dt.timedelta(minutes=1))
    checks_per_phone: RateLimit = RateLimit("otp_check_phone", 10, dt.timedelta(minutes=10))
    checks_per_ip: RateLimit = RateLimit("otp_check_ip", 60, dt.timedelta(minutes=10))


@dataclass(frozen=True, slots=True)
class ApplicationLimits:
    """Credit applications per device and per identity (national ID) in each Beijing
    calendar day."""

    per_device: RateLimit = RateLimit("apply_device", 5, dt.timedelta(days=1), BEIJING_MIDNIGHT)
    per_identity: RateLimit = RateLimit("apply_identity", 3, dt.timedelta(days=1), BEIJING_MIDNIGHT)


class ApplicationRateLimited(Conflict):
    """Too many applications today from this device or identity (429, ``Retry-After``)."""

    code = "application_rate_limited"

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message, [Problem("_", message)])
        self.retry_after_seconds = retry_after_seconds
