"""Use cases: partner funders deciding for themselves.

A partner whose registry entry says ``requires_approval`` decides each loan (its
tranche) on its own. The worker sends the request (``send_approval_requests``) with the
request id as idempotency key; the partner answers by signed callback
(``record_partner_decision``) or, when the callback is slow, to a status poll
(``check_pending_approvals``). A partner that has not decided within the configured
timeout is passed over.

The partner's decision is recorded once and never changed: a second, different answer
is refused. What routing makes of it is ours: when every partner of the plan approves,
the loan is disbursed; when one declines or times out, the loan is routed again without
that funder (the others' open requests are withdrawn); when no funder is left, the loan
is cancelled and the line given back — the borrower's payout ``failed``.

Lock order (as everywhere in funding): payout row, then approval rows, loan, line,
funder positions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import replace

from mobilend.app.funding.disbursement import (
    DisbursementDesk,
    book_payout,
    fail_unfunded,
    place_on_plan,
)
from mobilend.app.funding.dispatch import retry_later
from mobilend.app.funding.ports import (
    TOPIC_APPROVAL,
    ApprovalRecord,
    ApprovalStatus,
    FundingStores,
    OutboxItem,
    PartnerDecision,
    PayoutRecord,
    PayoutStatus,
)
from mobilend.app.funding.routing import release, route_loan
from mobilend.app.ports import PartnerApprovalRequest
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.compliance import ANY_LICENCE
from mobilend.domain.errors import GatewayUnavailable
from mobilend.domain.funding import FundingRequest, score_band

_DECIDED = (ApprovalStatus.APPROVED, ApprovalStatus.DECLINED)


def process_approvals(desk: DisbursementDesk) -> int:
    """One pass of the approval side of the worker; returns how much it did."""
    return send_approval_requests(desk) + check_pending_approvals(desk)


def send_approval_requests(desk: DisbursementDesk, limit: int | None = None) -> int:
    now = desk.now()
    lease = now + dt.timedelta(seconds=desk.settings.lease_s)
    with desk.uow_factory() as uow:
        items = uow.funding.outbox.claim_due(
            [TOPIC_APPROVAL], now, limit or desk.settings.batch_size, lease
        )
        uow.commit()
    for item in items:
        _send_one(desk, item)
    return len(items)


def _send_one(desk: DisbursementDesk, item: OutboxItem) -> None:
    request_id = str(item.payload["request_id"])
    with desk.uow_factory() as uow:
        stores = uow.funding
        approval = stores.approvals.get(request_id)
        payout = stores.payouts.get(str(item.payload["loan_id"]))
        loan = uow.lending.loans.get(str(item.payload["loan_id"]))
    if approval is None or payout is None or approval.status != ApprovalStatus.PENDING:
        _mark_done(desk, item)
        return
    partner = desk.partners.get(approval.funder_code)
    if partner is None:  # no connection to this partner: it cannot decide in time
        _mark_done(desk, item)
        _conclude(desk, approval, ApprovalStatus.TIMED_OUT, "no_partner_connection")
        return
    context = payout.context
    last_due = max(i.due_date for i in loan.installments)
    request = PartnerApprovalRequest(
        request_id=request_id,
        loan_id=approval.loan_id,
        amount=approval.amount,
        term_days=max(1, (last_due - loan.terms.start_date).days),
        score_band=str(context.get("score_band") or score_band(_int(context.get("score")))),
        product_code=loan.product_code,
        region_code=str(context.get("region_code") or ""),
    )
    try:
        ack = partner.request_approval(request)
    except GatewayUnavailable as exc:
        retry_later(
            desk, item, str(exc)
        )  # the timeout check passes the partner over if it stays down
        return
    now = desk.now()
    with desk.uow_factory() as uow:
        stores = uow.funding
        stores.outbox.mark_done(item.message_id)
        locked_payout = stores.payouts.get(approval.loan_id, for_update=True)
        current = stores.approvals.get(request_id, for_update=True)
        if current is not None and locked_payout is not None:
            current = replace(
                current,
                sent=True,
                partner_reference=ack.partner_reference or current.partner_reference,
                next_check_at=now + dt.timedelta(seconds=desk.settings.approval_poll_s),
            )
            stores.approvals.save(current)
            if ack.status in _DECIDED:
                decision = PartnerDecision(
                    request_id, ack.status, ack.partner_reference, ack.reason_code,
                    ack.approved_amount,
                )  # fmt: skip
                _note_decision(uow, desk, locked_payout, current, decision, "ack")
        uow.commit()


def _int(value: object) -> int | None:
    return None if value is None else int(str(value))


def _mark_done(desk: DisbursementDesk, item: OutboxItem) -> None:
    with desk.uow_factory() as uow:
        uow.funding.outbox.mark_done(item.message_id)
        uow.commit()


def record_partner_decision(
    desk: DisbursementDesk,
    decision: PartnerDecision,
    source: str = "callback",
    from_funders: Collection[str] | None = None,
) -> str:
    """Record a partner's decision (from its signed callback or a poll) and act on it.
    ``from_funders``: the funders the callback can come from (whose secret signed it);
    a request made to another funder is unknown to them."""
    with desk.uow_factory() as uow:
        stores = uow.funding
        found = stores.approvals.get(decision.request_id)
        if found is None or (from_funders is not None and found.funder_code not in from_funders):
            return "unknown_request"
        payout = stores.payouts.get(found.loan_id, for_update=True)
        approval = stores.approvals.get(decision.request_id, for_update=True)
        assert payout is not None and approval is not None
        outcome = _note_decision(uow, desk, payout, approval, decision, source)
        uow.commit()
    return outcome


def _note_decision(
    uow: UnitOfWork,
    desk: DisbursementDesk,
    payout: PayoutRecord,
    approval: ApprovalRecord,
    decision: PartnerDecision,
    source: str,
) -> str:
    stores = uow.funding
    if decision.status not in _DECIDED:
        return "not_a_decision"
    if approval.partner_decision:
        # Recorded once, never changed: a different second answer is refused.
        same = approval.partner_decision == decision.status
        return "already_recorded" if same else "conflicting_decision_refused"
    now = desk.now()
    status = approval.status
    if status == ApprovalStatus.PENDING:
        partial = (
            decision.status == ApprovalStatus.APPROVED
            and decision.approved_amount is not None
            and decision.approved_amount != approval.amount
        )
        status = ApprovalStatus.DECLINED if partial else decision.status
    stores.approvals.save(
        replace(
            approval,
            status=status,
            partner_decision=decision.status,
            partner_reference=decision.partner_reference or approval.partner_reference,
            reason_code=decision.reason_code,
            decided_at=now,
            source=source,
        )
    )
    if status != approval.status:
        advance(uow, desk, payout)
        return f"recorded_{status}"
    return f"recorded_late_{decision.status}"


def check_pending_approvals(desk: DisbursementDesk, limit: int = 100) -> int:
    """Pass over partners past the timeout; ask the others that are due for a poll."""
    now = desk.now()
    with desk.uow_factory.reading() as uow:
        stores = uow.funding
        timeout = dt.timedelta(seconds=stores.funders.settings().approval_timeout_s)
        pending = stores.approvals.pending(limit)
    done = 0
    for approval in pending:
        if approval.requested_at is not None and approval.requested_at + timeout <= now:
            _conclude(desk, approval, ApprovalStatus.TIMED_OUT, "no_decision_in_time")
            done += 1
            continue
        due = approval.next_check_at is None or approval.next_check_at <= now
        partner = desk.partners.get(approval.funder_code)
        if not (approval.sent and due and partner is not None):
            continue
        try:
            ack = partner.approval_status(approval.request_id)
        except GatewayUnavailable:
            ack = None
        if ack is not None and ack.status in _DECIDED:
            record_partner_decision(
                desk,
                PartnerDecision(
                    approval.request_id, ack.status, ack.partner_reference, ack.reason_code,
                    ack.approved_amount,
                ),
                "poll",
            )  # fmt: skip
        else:
            _postpone_check(desk, approval.request_id)
        done += 1
    return done


def _postpone_check(desk: DisbursementDesk, request_id: str) -> None:
    with desk.uow_factory() as uow:
        stores = uow.funding
        current = stores.approvals.get(request_id, for_update=True)
        if current is not None and current.status == ApprovalStatus.PENDING:
            later = desk.now() + dt.timedelta(seconds=desk.settings.approval_poll_s)
            stores.approvals.save(replace(current, next_check_at=later))
        uow.commit()


def _conclude(desk: DisbursementDesk, approval: ApprovalRecord, status: str, reason: str) -> None:
    """Our own verdict on a request (a timeout): the partner's decision field stays empty."""
    with desk.uow_factory() as uow:
        stores = uow.funding
        payout = stores.payouts.get(approval.loan_id, for_update=True)
        current = stores.approvals.get(approval.request_id, for_update=True)
        if payout is None or current is None or current.status != ApprovalStatus.PENDING:
            return
        stores.approvals.save(replace(current, status=status, reason_code=reason))
        advance(uow, desk, payout)
        uow.commit()


def advance(uow: UnitOfWork, desk: DisbursementDesk, payout: PayoutRecord) -> None:
    """Move a loan awaiting approval on: fund it, route it again, or cancel it."""
    stores = uow.funding
    if payout.status != PayoutStatus.AWAITING_APPROVAL:
        return
    attempt = int(payout.context.get("attempt", 1))
    approvals = stores.approvals.for_loan(payout.loan_id)
    current = [a for a in approvals if a.request_id.startswith(f"{payout.loan_id}.{attempt}.")]
    if any(a.status in (ApprovalStatus.DECLINED, ApprovalStatus.TIMED_OUT) for a in current):
        _reroute(uow, desk, stores, payout, approvals)
    elif current and all(a.status == ApprovalStatus.APPROVED for a in current):
        loan = uow.lending.loans.get(payout.loan_id, for_update=True)
        _, funded = book_payout(uow, stores, desk.new_id, loan, payout, due_at=desk.now())
        stores.payouts.save(replace(funded, updated_at=desk.now()))


def _reroute(
    uow: UnitOfWork,
    desk: DisbursementDesk,
    stores: FundingStores,
    payout: PayoutRecord,
    approvals: list[ApprovalRecord],
) -> None:
    for other in approvals:
        if other.status == ApprovalStatus.PENDING:
            stores.approvals.save(replace(other, status=ApprovalStatus.WITHDRAWN))
    excluded = {
        a.funder_code
        for a in approvals
        if a.status in (ApprovalStatus.DECLINED, ApprovalStatus.TIMED_OUT)
    }
    release(stores, payout.loan_id, payout.business_date)
    loan = uow.lending.loans.get(payout.loan_id, for_update=True)
    context = payout.context
    attempt = int(context.get("attempt", 1)) + 1
    request = FundingRequest(
        loan.principal,
        loan.product_code,
        payout.business_date,
        _int(context.get("score")),
        str(context.get("region_code") or ""),
    )
    choice = route_loan(
        uow,
        desk.new_id,
        request,
        loan_id=loan.loan_id,
        borrower_id=loan.borrower_id,
        attempt=attempt,
        excluded=excluded,
        rules=desk.rules,
        licence_type=uow.lending.products.get(loan.product_code).licence_type
        if desk.rules is not None and loan.product_code
        else ANY_LICENCE,
    )
    if choice.programme is None:
        fail_unfunded(uow, desk, payout, "no_funder_approved")
        return
    moved = replace(payout, context={**context, "attempt": attempt}, updated_at=desk.now())
    place_on_plan(
        uow, stores, desk.new_id, loan, choice.tranches, moved,
        new_loan=False, new_payout=False, due_at=desk.now(),
    )  # fmt: skip
