"""Signed webhooks: how outside systems prove a callback is theirs and fresh.

Wire format (shared by the payment gateway, message gateway and partner banks):

* ``X-Timestamp``: Unix seconds when the sender signed the request.
* ``X-Signature``: ``sha256=<hex>``, the HMAC-SHA256 with the shared secret of
  ``<timestamp> + "." + <raw body bytes>``.

Signing the timestamp together with the body means neither can be changed alone; a
timestamp outside ``tolerance_s`` of now is refused, which bounds replays to that window.
Within the window a receiver must still deduplicate by the event id in the body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Timestamp"
DEFAULT_TOLERANCE_S = 300


class InvalidWebhook(Exception):
    """The callback is not authentic, not fresh, or not well-formed; answer 400/401."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
    secret: str,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> dict[str, Any]:
    """Check signature (constant-time) and freshness; return the decoded JSON object."""
    lowered = {k.lower(): v for k, v in headers.items()}
    stamp = lowered.get(TIMESTAMP_HEADER.lower(), "")
    signature = lowered.get(SIGNATURE_HEADER.lower(), "")
    if not stamp or not signature:
        raise InvalidWebhook("missing_signature")
    try:
        signed_at = int(stamp)
    except ValueError:
        raise InvalidWebhook("bad_timestamp") from None
    expected = compute_signature(secret, stamp, raw_body)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise InvalidWebhook("bad_signature")
    current = time.time() if now is None else now
    if abs(current - signed_at) > tolerance_s:
        raise InvalidWebhook("stale_timestamp")
    try:
        payload = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidWebhook("bad_json") from None
    if not isinstance(payload, dict):
        raise InvalidWebhook("bad_json")
    return payload
