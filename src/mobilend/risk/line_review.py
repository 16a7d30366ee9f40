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

from mobilend.app.ports import CreditDecision, DecisionReason
from mobilend.domain.money import Money

KEEP = "keep"
LOWER = "lower"
FREEZE = "freeze"
PROPOSE_INCREASE = "propose_increase"


@dataclass(frozen=True, slots=True)
class LineReview:
    action: str  # keep | lower | freeze | propose_increase
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
    base = {
        "current_limit": current_limit,
        "decision_id": new_decision.decision_id,
        "reasons": new_decision.reasons,
    }
    if new_decision.outcome == "decline" or new_decision.limit is None:
        return LineReview(
            FREEZE, new_limit=current_limit, proposed_limit=None, requires_consent=False, **base
        )
    offered = new_decision.limit
    if offered.is_zero():
        return LineReview(
            FREEZE, new_limit=current_limit, proposed_limit=None, requires_consent=False, **base
        )
    if offered <= current_limit - threshold:
        return LineReview(
            LOWER, new_limit=offered, proposed_limit=None, requires_consent=False, **base
        )
    if new_decision.outcome == "approve" and offered >= current_limit + threshold:
        return LineReview(
            PROPOSE_INCREASE,
            new_limit=current_limit,
            proposed_limit=offered,
            requires_consent=True,
            **base,
        )
    return LineReview(
        KEEP, new_limit=current_limit, proposed_limit=None, requires_consent=False, **base
    )
