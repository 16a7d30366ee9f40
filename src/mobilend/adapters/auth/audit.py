"""Append-only, hash-chained audit log.

Each record stores ``hash = sha256(prev_hash + canonical_json(payload))`` where the
payload is the record's own content (sequence number, time, actor, action, target,
details). Changing, removing or reordering any record breaks every hash after it,
which ``verify_chain`` reports with the first sequence number that fails. Removing the
newest records leaves a shorter chain that is still whole; an *anchor* (a sequence
number and its hash, kept outside the database — ``mobilend audit verify`` prints the
head to keep) catches that too. The database adds a trigger refusing UPDATE and DELETE.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

GENESIS_HASH = "0" * 64


def _json_default(value: object) -> str:
    if isinstance(value, Decimal | dt.date | dt.datetime):
        return str(value)
    raise TypeError(
        f"audit details hold JSON values, str, Decimal or dates, not {type(value).__name__}"
    )


def _refuse_floats(value: object) -> None:
    # A float may not survive a round trip through storage digit for digit; the hash would break.
    if isinstance(value, float):
        raise TypeError("audit details may not hold floats; pass amounts as str or Decimal")
    if isinstance(value, Mapping):
        for item in value.values():
            _refuse_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_floats(item)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept: the same data always gives the same text."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
    )


def normalise_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """Details as they will read back from storage (Decimals and dates become strings)."""
    _refuse_floats(details)
    loaded: dict[str, Any] = json.loads(canonical_json(dict(details)))
    return loaded


def _instant(at: dt.datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    at: dt.datetime
    actor: str  # "staff:<id>", "borrower:<id>", "system:<job>"
    action: str  # e.g. "borrower.kyc_passed", "line.frozen", "decision.made"
    target: str  # what was acted on, e.g. "borrower:01H…"
    details: Mapping[str, Any] = field(default_factory=dict)
    prev_hash: str = GENESIS_HASH
    hash: str = ""

    def payload(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": _instant(self.at),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "details": dict(self.details),
        }

    def computed_hash(self) -> str:
        return chain_hash(self.prev_hash, self.payload())


def chain_hash(prev_hash: str, payload: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(payload)).encode("utf-8")).hexdigest()


def next_record(
    previous: AuditRecord | None,
    *,
    at: dt.datetime,
    actor: str,
    action: str,
    target: str,
    details: Mapping[str, Any] | None = None,
) -> AuditRecord:
    """The record that follows ``previous`` (or starts the chain), with its hash filled in."""
    seq = 1 if previous is None else previous.seq + 1
    prev_hash = GENESIS_HASH if previous is None else previous.hash
    draft = AuditRecord(seq, at, actor, action, target, normalise_details(details or {}), prev_hash)
    return AuditRecord(
        seq, at, actor, action, target, draft.details, prev_hash, draft.computed_hash()
    )


@dataclass(frozen=True, slots=True)
class ChainVerification:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""
    #: The newest record checked (0 and the genesis hash for an empty log).
    head_seq: int = 0
    head_hash: str = GENESIS_HASH


def verify_chain(
    records: Iterable[AuditRecord], *, anchor: tuple[int, str] | None = None
) -> ChainVerification:
    """Walk the records in sequence order and recompute every link. ``anchor``: a
    (sequence, hash) recorded earlier that must still be in the chain as it was."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for record in records:
        if record.seq != expected_seq:
            return ChainVerification(
                False, checked, record.seq, f"expected sequence {expected_seq}"
            )
        if record.prev_hash != expected_prev:
            return ChainVerification(False, checked, record.seq, "previous hash does not match")
        if record.computed_hash() != record.hash:
            return ChainVerification(False, checked, record.seq, "content does not match its hash")
        if anchor is not None and record.seq == anchor[0] and record.hash != anchor[1]:
            return ChainVerification(False, checked, record.seq, "differs from the anchor")
        expected_prev = record.hash
        expected_seq += 1
        checked += 1
    head_seq = expected_seq - 1
    if anchor is not None and anchor[0] > head_seq:
        return ChainVerification(
            False,
            checked,
            head_seq + 1,
            f"records up to the anchor ({anchor[0]}) are missing: the log ends at {head_seq}",
            head_seq,
            expected_prev,
        )
    return ChainVerification(True, checked, head_seq=head_seq, head_hash=expected_prev)


class AuditStore(Protocol):
    def append_next(
        self, *, at: dt.datetime, actor: str, action: str, target: str, details: Mapping[str, Any]
    ) -> AuditRecord:
        """Read the last record and append its successor, serialised against other writers."""
        ...

    def records(self, after_seq: int = 0) -> list[AuditRecord]: ...


class InMemoryAuditStore:
    def __init__(self) -> None:
        self._records: list[AuditRecord] = []
        self._lock = threading.Lock()

    def append_next(
        self, *, at: dt.datetime, actor: str, action: str, target: str, details: Mapping[str, Any]
    ) -> AuditRecord:
        with self._lock:
            previous = self._records[-1] if self._records else None
            record = next_record(
                previous, at=at, actor=actor, action=action, target=target, details=details
            )
            self._records.append(record)
            return record

    def records(self, after_seq: int = 0) -> list[AuditRecord]:
        return [r for r in self._records if r.seq > after_seq]


class AuditLog:
    def __init__(self, store: AuditStore) -> None:
        self._store = store

    def append(
        self,
        *,
        at: dt.datetime,
        actor: str,
        action: str,
        target: str,
        details: Mapping[str, Any] | None = None,
    ) -> AuditRecord:
        return self._store.append_next(
            at=at, actor=actor, action=action, target=target, details=details or {}
        )

    def verify(self) -> ChainVerification:
        return verify_chain(self._store.records())
