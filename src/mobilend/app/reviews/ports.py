"""Storage of periodic line reviews.

A line review re-decides an active credit line's borrower with the current model,
policy and market overlay, and lowers or freezes the line when risk has risen; a higher
limit is only proposed (the borrower must consent). The line and the review record are
written in one platform unit of work, so the change and its record commit together.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from mobilend.domain.decisions import DecisionReason, ProposalStatus, ReviewAction
from mobilend.domain.money import Money

# --------------------------------------------------------------------------- line reviews


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
    action: ReviewAction
    previous_limit: Money
    new_limit: Money  # in force after the review
    decision_id: str
    decision_outcome: str
    proposed_limit: Money | None = None
    proposal_status: ProposalStatus | None = None
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


class ReviewStores(Protocol):
    """The line reviews' store group of the platform unit of work."""

    @property
    def line_reviews(self) -> LineReviewRepository: ...
