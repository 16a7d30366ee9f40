"""Signed webhooks: how outside systems prove a callback is theirs and fresh.

Wire format (shared by the payment gateway, message gateway and partner banks):

* ``X-Timestamp``: Unix seconds when the sender signed the request.
* ``X-Signature``: ``sha256=<hex>``, the HMAC-SHA256 with the shared secret of
  ``<timestamp> + "." + <raw body bytes>``.

Signing the timestamp together with the body means neither can be changed alone; a
timestamp outside ``tolerance_s`` of now is refused, which bounds replays to that window.
Within the window a receiver must still deduplicate by the event id in the body.

Each counterparty has a secret of its own (``SecretRing``). Rotating it is an overlap, not
a flag day: the new secret signs and verifies at once, and callbacks signed with the old
one are still accepted until the ring's ``previous_until``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Timestamp"
DEFAULT_TOLERANCE_S = 300


class InvalidWebhook(Exception):
    """The callback is not authentic, not fresh, or not well-formed; answer 400/401."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SecretRing:
    """A counterparty's current webhook secret and, during a rotation, the previous one,
    accepted until ``previous_until`` (Unix seconds)."""

    current: str
    previous: str = ""
    previous_until: float | None = None

    def __post_init__(self) -> None:
        if not self.current:
            raise ValueError("a webhook secret may not be empty")

    def accepted(self, now: float) -> tuple[str, ...]:
        """The secrets a callback received at ``now`` may be signed with, newest first."""
        if self.previous and self.previous_until is not None and now < self.previous_until:
            return (self.current, self.previous)
        return (self.current,)


def as_ring(secret: str | SecretRing) -> SecretRing:
    return secret if isinstance(secret, SecretRing) else SecretRing(secret)


def compute_signature(secret: str, timestamp: str, raw_body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + raw_body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def signed_headers(secret: str, raw_body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """Headers a sender attaches (used by tests and by our own outgoing callbacks)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: compute_signature(secret, stamp, raw_body)}


def verify_signed_body(
    headers: Mapping[str, str],
    raw_body: bytes,
    secret: str | SecretRing,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> dict[str, Any]:
    """Check signature (constant-time, against every secret the ring accepts now) and
    freshness; return the decoded JSON object."""
    lowered = {k.lower(): v for k, v in headers.items()}
    stamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    signature = lowered.get(SIGNATURE_HEADER.lower(), "")
    if not stamp or not signature:
        raise InvalidWebhook("missing_signature")
    try:
        signed_at = int(stamp)
    except ValueError:
        raise InvalidWebhook("bad_timestamp") from None
    current = time.time() if now is None else now
    if not _signed_by_any(as_ring(secret).accepted(current), stamp, raw_body, signature):
        raise InvalidWebhook("bad_signature")
    if abs(current - signed_at) > tolerance_s:
        raise InvalidWebhook("stale_timestamp")
    try:
        payload = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidWebhook("bad_json") from None
    if not isinstance(payload, dict):
        raise InvalidWebhook("bad_json")
    return payload


def _signed_by_any(secrets: Iterable[str], stamp: str, raw_body: bytes, signature: str) -> bool:
    matched = False
    for secret in secrets:  # every one is tried, so timing does not tell which matched
        expected = compute_signature(secret, stamp, raw_body)
        matched |= hmac.compare_digest(expected.encode(), signature.encode())
    return matched


def signers(
    headers: Mapping[str, str],
    raw_body: bytes,
    rings: Mapping[str, SecretRing],
    *,
    now: float | None = None,
) -> frozenset[str]:
    """Which of several counterparties (by name) could have signed this request: those
    whose ring holds a secret that verifies. Empty when none (or no signature)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    stamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    signature = lowered.get(SIGNATURE_HEADER.lower(), "")
    if not stamp or not signature:
        return frozenset()
    current = time.time() if now is None else now
    return frozenset(
        name
        for name, ring in rings.items()
        if _signed_by_any(ring.accepted(current), stamp, raw_body, signature)
    )


#: Largest value a counter in a callback may carry (the columns are 32-bit integers).
MAX_COUNTER = 2**31 - 1


def object_field(payload: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """``payload[name]``, which must be a JSON object (``ValueError`` otherwise)."""
    value = payload[name]
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be an object")
    return value


def bounded_int(value: object, name: str, low: int = 0, high: int = MAX_COUNTER) -> int:
    """A JSON integer within ``[low, high]`` (``ValueError`` otherwise; booleans refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}")
    return value
