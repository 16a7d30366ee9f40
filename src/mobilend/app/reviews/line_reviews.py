"""Use cases: periodic credit line reviews (额度复评) and the borrower's answer to a
proposed increase.

``LineReviews.run(on)`` re-decides the borrower of every active line due for review
with the decision engine as it stands (current model, policy and market overlay) and
then, per ``risk.line_review.review_line``:

* decline → freeze the line (no new draws; what is owed stays due);
* a lower offer → lower the limit (never below what is drawn: the line stays valid);
* a higher offer → a proposal, stored and shown to the borrower, applied only when the
  borrower accepts it before it expires;
* otherwise keep.

A referral without terms (a data source down, income unverified) changes nothing and
writes nothing, so the line is tried again on the next run: a line is never frozen
for want of data. A borrower who has withdrawn the credit-report or data-use consent is
not re-decided at all (the bureau is not queried): the line stays as it is. An accepted
increase is checked against the per-borrower cap over every account of the person. A line reviewed on a date is not due again for ``every_days``,
so running a date twice changes nothing. ``review_lines`` is the plain function the
job scheduler calls.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from mobilend.app.compliance.exposure import check_limit_raise_in, identity_exposure_in
from mobilend.app.ports import Clock, DecisionEngine
from mobilend.app.reviews.ports import LineReviewRecord, ReviewCandidate
from mobilend.app.unit_of_work import UnitOfWork, UnitOfWorkFactory
from mobilend.domain.borrowers import Borrower, missing_consents
from mobilend.domain.compliance import CostCapPolicy
from mobilend.domain.decisions import (
    Applicant,
    CreditDecision,
    DecisionOutcome,
    ProposalStatus,
    ReviewAction,
)
from mobilend.domain.errors import Conflict, DomainError, NotFound
from mobilend.domain.lines import CreditLine, LineStatus
from mobilend.domain.money import Money
from mobilend.risk.line_review import review_line

log = logging.getLogger(__name__)

#: Prefix of the freeze reason a review sets (end of day lifts only its own "overdue").
REVIEW_FREEZE_REASON = "line_review"


class ProposalUnavailable(Conflict):
    code = "limit_proposal_unavailable"


@dataclass(frozen=True, slots=True)
class LineReviewSummary:
    business_date: dt.date
    reviewed: int = 0
    kept: int = 0
    lowered: int = 0
    frozen: int = 0
    proposed: int = 0
    deferred: int = 0  # no usable decision (data missing, borrower inactive): retried next run
    failed: int = 0

    def add(self, action: str | None) -> LineReviewSummary:
        field = {
            ReviewAction.KEEP: "kept",
            ReviewAction.LOWER: "lowered",
            ReviewAction.FREEZE: "frozen",
            ReviewAction.PROPOSE_INCREASE: "proposed",
            None: "deferred",
            "failed": "failed",
        }[action]
        changes = {field: getattr(self, field) + 1}
        if action in (
            ReviewAction.KEEP,
            ReviewAction.LOWER,
            ReviewAction.FREEZE,
            ReviewAction.PROPOSE_INCREASE,
        ):
            changes["reviewed"] = self.reviewed + 1
        return replace(self, **changes)


def review_application_id(line_id: str) -> str:
    """The application id a review's decision is made under (its decision id adds the date)."""
    return f"LR-{line_id}"


class LineReviews:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        decisions: DecisionEngine,
        borrowers: Callable[[str], Borrower],
        new_id: Callable[[], str],
        clock: Clock,
        every_days: int = 30,
        proposal_days: int = 30,
        min_change: Money | None = None,
        rules: CostCapPolicy | None = None,
    ) -> None:
        if every_days < 1 or proposal_days < 1:
            raise ValueError("every_days and proposal_days must be at least 1")
        self._uow = uow
        self._decisions = decisions
        self._borrowers = borrowers  # PII in the clear: the decision engine needs it
        self._new_id = new_id
        self._clock = clock
        self.every_days = every_days
        self.proposal_days = proposal_days
        self.min_change = min_change
        self._rules = rules or CostCapPolicy()

    # -- the periodic run --------------------------------------------------------------
    def run(
        self, on: dt.date, *, partition: int = 0, partitions: int = 1, batch: int = 100
    ) -> LineReviewSummary:
        summary = LineReviewSummary(on)
        after = ""
        while True:
            with self._uow() as uow:
                due = uow.reviews.line_reviews.due(
                    on,
                    self.every_days,
                    after_line_id=after,
                    limit=batch,
                    partition=partition,
                    partitions=partitions,
                )
            if not due:
                return summary
            for candidate in due:
                try:
                    review = self.review(candidate, on)
                except Exception as exc:  # one line's failure must not stop the others
                    log.error(
                        "line review of %s failed: %s: %s",
                        candidate.line_id,
                        type(exc).__name__,
                        str(exc)[:200],
                    )
                    summary = summary.add("failed")
                    continue
                summary = summary.add(review.action if review is not None else None)
            after = due[-1].line_id

    def review(self, candidate: ReviewCandidate, on: dt.date) -> LineReviewRecord | None:
        """Review one line; None when there was no usable decision (nothing changed)."""
        decision = self._decide(candidate, on)
        if decision is None:
            return None
        with self._uow() as uow:
            line = uow.lending.lines.get(candidate.line_id, for_update=True)
            if line.status is not LineStatus.ACTIVE or line.is_expired_on(on):
                return None  # changed since it was listed (frozen, closed): not ours to touch
            previous = line.limit  # as locked now, should it have moved since the listing
            verdict = review_line(previous, decision, min_change=self.min_change)
            action, new_limit = verdict.action, line.limit
            if action == ReviewAction.LOWER:
                # Never below what is drawn: the available amount simply drops to zero.
                new_limit = verdict.new_limit.max(line.used_amount)
                if new_limit >= line.limit:
                    action, new_limit = ReviewAction.KEEP, line.limit
                else:
                    line.change_limit(new_limit)
            elif action == ReviewAction.FREEZE:
                codes = ",".join(r.code for r in decision.reasons[:4])
                line.freeze(f"{REVIEW_FREEZE_REASON}:{codes}" if codes else REVIEW_FREEZE_REASON)
            for earlier in uow.reviews.line_reviews.for_line(line.line_id):
                if earlier.proposal_status == ProposalStatus.PENDING:  # superseded by this review
                    uow.reviews.line_reviews.save(
                        replace(earlier, proposal_status=ProposalStatus.EXPIRED)
                    )
            proposal = action == ReviewAction.PROPOSE_INCREASE
            record = LineReviewRecord(
                review_id=self._new_id(),
                line_id=line.line_id,
                borrower_id=line.borrower_id,
                reviewed_on=on,
                action=action,
                previous_limit=previous,
                new_limit=new_limit,
                decision_id=decision.decision_id,
                decision_outcome=decision.outcome,
                proposed_limit=verdict.proposed_limit if proposal else None,
                proposal_status=ProposalStatus.PENDING if proposal else None,
                proposal_expires_on=on + dt.timedelta(days=self.proposal_days)
                if proposal
                else None,
                reasons=tuple(decision.reasons),
            )
            uow.reviews.line_reviews.add(record)
            uow.lending.lines.save(line)
            uow.commit()
        return record

    def _decide(self, candidate: ReviewCandidate, on: dt.date) -> CreditDecision | None:
        try:
            borrower = self._borrowers(candidate.borrower_id)
            kyc = borrower.ensure_can_borrow()
        except DomainError as exc:
            log.info("line %s not reviewed: %s", candidate.line_id, exc)
            return None
        with self._uow() as uow:
            withdrawn = missing_consents(uow.onboarding.borrowers.consents(borrower.borrower_id))
            # What the person owes and may draw elsewhere: the limit leaves room for it.
            elsewhere = identity_exposure_in(
                uow, candidate.borrower_id, on, currency=candidate.limit.currency,
                leave_out_line=candidate.line_id, lock=False,
            ).exposure  # fmt: skip
        if withdrawn:  # no consent, no bureau query and no re-scoring
            log.info("line %s not reviewed: consent withdrawn", candidate.line_id)
            return None
        applicant = Applicant(
            application_id=review_application_id(candidate.line_id),
            borrower_id=candidate.borrower_id,
            product_code=candidate.product_code,
            full_name=kyc.real_name,
            national_id=kyc.national_id,
            phone=borrower.phone,
            birth_date=kyc.birth_date,
            bank_card=kyc.bank_card,
            monthly_income=candidate.monthly_income,
            # The amount in question is the line itself.
            declared={
                "requested_amount": str(candidate.limit.amount),
                "existing_credit_limits": str(elsewhere.total.amount),
            },
        )
        decision = self._decisions.decide(applicant, on)
        if decision.outcome is DecisionOutcome.REFER and decision.limit is None:
            return None
        return decision

    # -- the borrower's side -------------------------------------------------------------
    def proposals(self, borrower_id: str, on: dt.date) -> list[LineReviewRecord]:
        """Proposed increases the borrower may still accept on ``on``."""
        return open_proposals(self._uow, borrower_id, on)

    def accept_proposal(self, borrower_id: str, review_id: str, on: dt.date) -> CreditLine:
        """The borrower consents: the line's limit rises to the proposed one."""
        with self._uow() as uow:
            line = accept_proposal_in(
                uow, self._rules, borrower_id, review_id, on, self._clock.now()
            )
            uow.commit()
        return line

    def decline_proposal(self, borrower_id: str, review_id: str, on: dt.date) -> LineReviewRecord:
        with self._uow() as uow:
            declined = decline_proposal_in(uow, borrower_id, review_id, on, self._clock.now())
            uow.commit()
        return declined


def _open_proposal(
    uow: UnitOfWork, borrower_id: str, review_id: str, on: dt.date
) -> LineReviewRecord:
    try:
        proposal = uow.reviews.line_reviews.get(review_id, for_update=True)
    except NotFound:
        proposal = None
    if proposal is None or proposal.borrower_id != borrower_id:
        raise NotFound(f"没有该提额邀请 / no limit proposal {review_id}")
    if proposal.proposal_status != ProposalStatus.PENDING:
        raise ProposalUnavailable(
            f"提额邀请已处理 / proposal {review_id} is {proposal.proposal_status}"
        )
    if proposal.proposal_expires_on is not None and on > proposal.proposal_expires_on:
        raise ProposalUnavailable(f"提额邀请已过期 / proposal {review_id} has expired")
    return proposal


def accept_proposal_in(
    uow: UnitOfWork,
    rules: CostCapPolicy,
    borrower_id: str,
    review_id: str,
    on: dt.date,
    now: dt.datetime,
) -> CreditLine:
    """The borrower consents to a proposed increase: the line's limit rises to it (in the
    open unit of work; the caller commits) — within the per-borrower cap over every account
    of the person, checked under the identity's lock."""
    proposal = _open_proposal(uow, borrower_id, review_id, on)
    line = uow.lending.lines.get(proposal.line_id, for_update=True)
    if line.status is not LineStatus.ACTIVE or line.is_expired_on(on):
        raise ProposalUnavailable(f"额度当前不可调整 / line {line.line_id} is {line.status.value}")
    assert proposal.proposed_limit is not None
    product = uow.lending.products.get(line.product_code)
    check_limit_raise_in(
        uow, rules, borrower_id=line.borrower_id, line_id=line.line_id,
        new_limit=proposal.proposed_limit, used=line.used_amount,
        licence_type=product.licence_type, on=on,
    )  # fmt: skip
    line.change_limit(proposal.proposed_limit)
    uow.lending.lines.save(line)
    uow.reviews.line_reviews.save(
        replace(proposal, proposal_status=ProposalStatus.ACCEPTED, responded_at=now)
    )
    return line


def decline_proposal_in(
    uow: UnitOfWork, borrower_id: str, review_id: str, on: dt.date, now: dt.datetime
) -> LineReviewRecord:
    """The borrower turns a proposed increase down (the caller commits)."""
    proposal = _open_proposal(uow, borrower_id, review_id, on)
    declined = replace(proposal, proposal_status=ProposalStatus.DECLINED, responded_at=now)
    uow.reviews.line_reviews.save(declined)
    return declined


def open_proposals(
    uow_factory: UnitOfWorkFactory, borrower_id: str, on: dt.date
) -> list[LineReviewRecord]:
    """Proposed increases ``borrower_id`` may still accept on ``on``, newest first."""
    with uow_factory() as uow:
        pending = uow.reviews.line_reviews.pending_proposals(borrower_id)
    return [p for p in pending if p.proposal_expires_on is None or on <= p.proposal_expires_on]


def review_lines(
    reviews: LineReviews, business_date: dt.date, *, partition: int = 0, partitions: int = 1
) -> LineReviewSummary:
    """Review every line due on ``business_date`` (one partition of them): the job."""
    return reviews.run(business_date, partition=partition, partitions=partitions)
