"""Ports of the risk side: counted fraud signals and periodic line reviews.

``FraudSignalCounter`` lets a fraud store answer all the anti-fraud counts of one
application in one batch (a database: one statement of indexed ``count(DISTINCT …)``)
instead of handing every past sighting back; a store whose identifiers are blind
indexes must, because the current application's values are in the clear.

A line review re-decides an active credit line's borrower with the current model,
policy and market overlay, and lowers or freezes the line when risk has risen; a higher
limit is only proposed (the borrower must consent). ``LineReviewUnitOfWork`` is one
transaction holding the line and the review record, so the change and its record are
written together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from mobilend.app.ports import ApplicationSighting, DecisionReason
from mobilend.app.ports_lending import CreditLineRepository
from mobilend.domain.money import Money

# --------------------------------------------------------------------------- fraud counts


@dataclass(frozen=True, slots=True)
class DistinctCount:
    """Distinct non-empty values of ``counted`` (``application_id`` or an identifier of
    ``ApplicationSighting``) over the applications dated ``since`` ≤ on ≤ ``until`` whose
    ``anchor`` equals the current application's, the current one counted once."""

    anchor: str
    counted: str
    since: dt.date
    until: dt.date


@runtime_checkable
class FraudSignalCounter(Protocol):
    def count_distinct(
        self, current: ApplicationSighting, queries: Sequence[DistinctCount]
    ) -> list[int]:
        """One count per query, in order."""
        ...

    def blacklisted(self, current: ApplicationSighting) -> list[str]:
        """The identifiers of ``current`` whose values are on the blacklist."""
        ...


# --------------------------------------------------------------------------- line reviews

#: Review actions (the first four are ``risk.line_review``'s).
KEEP, LOWER, FREEZE, PROPOSE_INCREASE = "keep", "lower", "freeze", "propose_increase"
#: A proposed increase waits for the borrower; it is applied only when accepted.
PENDING, ACCEPTED, DECLINED, EXPIRED = "pending", "accepted", "declined", "expired"


@dataclass(frozen=True, slots=True)
class ReviewCandidate:
    """An active line due for review, with what the re-decision needs besides PII."""

    line_id: str
    borrower_id: str
    product_code: str
    limit: Money
    used: Money
    monthly_income: Money | None = None  # as declared on the application that opened it


@dataclass(frozen=True, slots=True)
class LineReviewRecord:
    """One review of one line on one business date (stored whether or not it changed)."""

    review_id: str
    line_id: str
    borrower_id: str
    reviewed_on: dt.date
    action: str  # keep | lower | freeze | propose_increase
    previous_limit: Money
    new_limit: Money  # in force after the review
    decision_id: str
    decision_outcome: str
    proposed_limit: Money | None = None
    proposal_status: str | None = None  # pending | accepted | declined | expired
    proposal_expires_on: dt.date | None = None
    responded_at: dt.datetime | None = None
    reasons: tuple[DecisionReason, ...] = field(default_factory=tuple)


class LineReviewRepository(Protocol):
    def due(
        self,
        on: dt.date,
        every_days: int,
        *,
        after_line_id: str = "",
        limit: int = 100,
        partition: int = 0,
        partitions: int = 1,
    ) -> list[ReviewCandidate]:
        """Active, unexpired lines opened and last reviewed at least ``every_days`` before
        ``on``, in line-id order after ``after_line_id``, in this partition."""
        ...

    def add(self, review: LineReviewRecord) -> None: ...

    def get(self, review_id: str, *, for_update: bool = False) -> LineReviewRecord:
        """The review, or NotFound."""
        ...

    def save(self, review: LineReviewRecord) -> None:
        """Store a changed proposal status (the review's facts never change)."""
        ...

    def for_line(self, line_id: str) -> list[LineReviewRecord]:
        """Newest first."""
        ...

    def pending_proposals(self, borrower_id: str) -> list[LineReviewRecord]:
        """Proposals still waiting for the borrower's answer, newest first."""
        ...


class LineReviewUnitOfWork(Protocol):
    @property
    def lines(self) -> CreditLineRepository: ...

    @property
    def reviews(self) -> LineReviewRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...


class LineReviewUnitOfWorkFactory(Protocol):
    def __call__(self) -> LineReviewUnitOfWork: ...
