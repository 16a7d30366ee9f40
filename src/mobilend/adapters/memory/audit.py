"""The audit queue of the in-memory unit of work (use-case tests)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mobilend.app.audit import AuditEntry, take_staged


class InMemoryAuditQueue:
    """The queue of an in-memory unit of work: ``committed`` holds what commits kept."""

    def __init__(self, committed: list[AuditEntry] | None = None) -> None:
        self.committed = committed if committed is not None else []
        self.pending: list[AuditEntry] = []

    def record(
        self, actor: str, action: str, subject: str, details: Mapping[str, Any] | None = None
    ) -> None:
        self.pending.append(AuditEntry(actor, action, subject, dict(details or {})))

    def commit(self) -> None:
        self.committed.extend(take_staged())
        self.committed.extend(self.pending)
        self.pending = []

    def rollback(self) -> None:
        self.pending = []
