"""The ``RandomSource`` port on the operating system's CSPRNG (for OTP codes)."""

from __future__ import annotations

import secrets


class SecretsRandom:
    def randbelow(self, exclusive_upper_bound: int) -> int:
        return secrets.randbelow(exclusive_upper_bound)
