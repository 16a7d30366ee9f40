"""The audit queue of the unit of work: what a transaction did, for the hash-chained log.

A use case calls ``uow.audit.record(actor, action, subject, details)`` as it acts. The
records wait on the unit of work and are appended to the chain last, inside the same
transaction, just before it commits: they commit with the action or not at all.

An entry point that carries out a staff action through a use case that opens its own
unit of work stages the record instead (``staged_audit``): the first unit of work that
commits inside the ``with`` block writes it in its transaction. Nothing committed (the
action failed) means nothing written; an action that changed nothing and so committed
nothing is written on its own when the block ends, by the ``fallback`` it is given.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from mobilend.domain.money import Money

if TYPE_CHECKING:
    from mobilend.app.lending.ports import RepaymentRecord


@dataclass(frozen=True, slots=True)
class AuditEntry:
    actor: str  # "staff:<id>", "borrower:<id>", "system:<job>"
    action: str  # e.g. "decision.made", "payout.confirmed"
    subject: str  # what was acted on, e.g. "loan:01H…"
    details: Mapping[str, Any] = field(default_factory=dict)


class AuditQueue(Protocol):
    def record(
        self, actor: str, action: str, subject: str, details: Mapping[str, Any] | None = None
    ) -> None:
        """Queue a record; it is appended to the chain when the unit of work commits."""
        ...


class _Staged:
    def __init__(self, entries: list[AuditEntry]) -> None:
        self.entries = entries
        self.taken = False


_staged: ContextVar[_Staged | None] = ContextVar("mobilend_staged_audit", default=None)


def take_staged() -> list[AuditEntry]:
    """The staged records of the enclosing ``staged_audit`` block, once (called by a unit
    of work as it commits)."""
    staged = _staged.get()
    if staged is None or staged.taken:
        return []
    staged.taken = True
    return staged.entries


@contextlib.contextmanager
def staged_audit(
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, Any] | None = None,
    *,
    fallback: Callable[[AuditEntry], None] | None = None,
) -> Iterator[None]:
    """Write this record in the transaction of the first commit inside the block."""
    entry = AuditEntry(actor, action, subject, dict(details or {}))
    staged = _Staged([entry])
    token = _staged.set(staged)
    try:
        yield
    finally:
        _staged.reset(token)
    # Reached only when the block succeeded: a use case that committed nothing still did
    # what the staff member asked (e.g. an idempotent repeat), so it is still recorded.
    if not staged.taken and fallback is not None:
        fallback(entry)


def money_details(amount: Money) -> dict[str, str]:
    """An amount as audit details: exact decimal text and currency (never a float)."""
    return {"amount": str(amount.amount), "currency": amount.currency}


def repayment_details(record: RepaymentRecord, entry_ids: Sequence[str]) -> dict[str, Any]:
    return {
        "repayment_id": record.repayment_id,
        "channel": record.channel,
        "received_on": record.received_on.isoformat(),
        "entries": list(entry_ids),
        **money_details(record.amount),
    }
