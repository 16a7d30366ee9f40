"""Periodic line review: compare an active line with a fresh decision on the borrower.

* the fresh decision declines → freeze the line (no new draws; what is owed stays due);
* it offers less than the current limit → lower the limit to the new one;
* it offers more → only a proposal: raising a limit needs the borrower's consent;
* otherwise (or a change smaller than ``min_change``) → keep.

A referred fresh decision never raises a limit; it may still lower it. The result
carries the fresh decision's reasons so the borrower notice can say why.
"""

from __future__ import annotations

from dataclasses import dataclass

from mobilend.domain.decisions import (
    CreditDecision,
    DecisionOutcome,
    DecisionReason,
    ReviewAction,
)
from mobilend.domain.money import Money


@dataclass(frozen=True, slots=True)
class LineReview:
    action: ReviewAction
    current_limit: Money
    new_limit: Money  # the limit in force after the review (unchanged for keep/freeze/proposal)
    proposed_limit: Money | None  # the higher limit offered, when action is propose_increase
    requires_consent: bool
    decision_id: str
    reasons: tuple[DecisionReason, ...] = ()


def review_line(
    current_limit: Money, new_decision: CreditDecision, *, min_change: Money | None = None
) -> LineReview:
    """What to do with a line whose borrower was just re-decided as ``new_decision``."""
    threshold = min_change if min_change is not None else Money("100", current_limit.currency)

    def review(action: ReviewAction, new_limit: Money, proposed: Money | None = None) -> LineReview:
        return LineReview(
            action,
            current_limit=current_limit,
            new_limit=new_limit,
            proposed_limit=proposed,
            requires_consent=proposed is not None,
            decision_id=new_decision.decision_id,
            reasons=new_decision.reasons,
        )

    if new_decision.outcome is DecisionOutcome.DECLINE or new_decision.limit is None:
        return review(ReviewAction.FREEZE, current_limit)
    offered = new_decision.limit
    if offered.is_zero():
        return review(ReviewAction.FREEZE, current_limit)
    if offered <= current_limit - threshold:
        return review(ReviewAction.LOWER, offered)
    if new_decision.outcome is DecisionOutcome.APPROVE and offered >= current_limit + threshold:
        return review(ReviewAction.PROPOSE_INCREASE, current_limit, proposed=offered)
    return review(ReviewAction.KEEP, current_limit)
