"""Application limits per device and per identity per day, counted through the
``RateLimiter`` port (atomic PostgreSQL counters in production).

Each attempt that gets this far counts, whether or not it is then decided: a burst of
applications is the signal, and the counter is committed before the decision starts, so
concurrent attempts each see their own count and exactly the limit get through. The
identity is counted first, so one person retrying does not use up a shared device's
allowance. Keys are blind indexes: the counters hold no ID number or device id in clear.
"""

from __future__ import annotations

import datetime as dt

from mobilend.app.ports import PiiVault, RateLimiter
from mobilend.domain.limits import (
    ApplicationLimits,
    ApplicationRateLimited,
    RateLimit,
    seconds_until,
)

#: Blind-index fields of the counter keys (the national ID's is the vault's own).
IDENTITY_FIELD = "national_id"
DEVICE_FIELD = "device_id"

TOO_MANY_APPLICATIONS = (
    "今日申请次数过多，请明天再试 (too many applications today; please try again tomorrow)"
)


class ApplicationGuard:
    def __init__(
        self, limiter: RateLimiter, vault: PiiVault, limits: ApplicationLimits | None = None
    ) -> None:
        self._limiter = limiter
        self._vault = vault
        self.limits = limits or ApplicationLimits()

    def before_apply(self, national_id: str, device_id: str, now: dt.datetime) -> None:
        """Count this application; ``ApplicationRateLimited`` past either limit."""
        identity = national_id.strip().upper()
        device = device_id.strip()
        if identity:
            key = self._vault.blind_index(IDENTITY_FIELD, identity)
            self._count(self.limits.per_identity, key, now)
        if device:
            self._count(self.limits.per_device, self._vault.blind_index(DEVICE_FIELD, device), now)

    def _count(self, limit: RateLimit, key: str, now: dt.datetime) -> None:
        start, end = limit.window_at(now)
        if limit.exceeded_by(self._limiter.hit(limit.bucket, key, start, end)):
            raise ApplicationRateLimited(TOO_MANY_APPLICATIONS, seconds_until(now, end))
