"""Use cases: paying a loan out through the payment rail, so that it is paid exactly once
or cancelled, whatever the network does.

1. Accepting the offer (``accept_offer``, called by ``draw_loan`` inside its unit of
   work) routes the loan, books the disbursement against the rail's in-transit cash
   account (``cash:rail:in_transit``), and writes the payout record and an outbox
   message — all in the one transaction. A plan with partner funders waits for their
   approval first (``funding_approvals``), with no entries yet.
2. The dispatcher (``disbursement_dispatch``) sends each payout with its idempotency
   key; a retry can never pay twice. Transport failures are retried with backoff, then
   dead-lettered for operators.
3. The rail's final word — signed webhook (``apply_rail_event``), a final status in its
   acknowledgement, a status poll for payouts it never confirmed (``poll_unconfirmed``),
   or the daily statement — is applied once under a row lock: success moves the money
   from in-transit to the funders' cash accounts and marks the payout paid; final
   failure cancels the loan (reversing its entries) and gives the line and the funders'
   quota back. Webhooks count only when final, with a sequence not yet passed, and once
   per event id. The desk's ``on_final`` listener (the borrower's notice) is told in
   that same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mobilend.app.audit import money_details
from mobilend.app.funding.ports import (
    TOPIC_APPROVAL,
    TOPIC_PAYOUT,
    ApprovalRecord,
    ApprovalStatus,
    DisbursementSettings,
    FundingStores,
    OutboxItem,
    PayoutAccounts,
    PayoutOutcomeListener,
    PayoutRecord,
    PayoutStatus,
    RailEvent,
    RailEventRecord,
    RoutingRecord,
)
from mobilend.app.funding.routing import NoFunderAvailable, release, route_loan
from mobilend.app.ports import Clock, PartnerBank, PaymentRail
from mobilend.app.unit_of_work import UnitOfWork, UnitOfWorkFactory
from mobilend.domain.compliance import CostCapPolicy
from mobilend.domain.compliance.parties import payout_breaches
from mobilend.domain.errors import Conflict, NotFound, Problem
from mobilend.domain.funding import FundingRequest, Tranche, payout_settlement_entry
from mobilend.domain.ledger import JournalEntry
from mobilend.domain.loans import Loan
from mobilend.domain.money import Money


@dataclass
class DisbursementDesk:
    """What the payout side needs, wired by the composition root."""

    uow_factory: UnitOfWorkFactory
    rail: PaymentRail
    payout_accounts: PayoutAccounts
    clock: Clock
    new_id: Callable[[], str]
    partners: Mapping[str, PartnerBank] = field(default_factory=dict)
    settings: DisbursementSettings = field(default_factory=DisbursementSettings)
    #: Told of each payout that became final, inside the transaction that made it so.
    on_final: PayoutOutcomeListener | None = None
    #: The compliance rulebook: a loan re-routed after a partner's decline goes only to
    #: funders it allows on the day.
    rules: CostCapPolicy | None = None

    def now(self) -> dt.datetime:
        return self.clock.now()

    def announce(self, uow: UnitOfWork, payout: PayoutRecord) -> None:
        if self.on_final is not None:
            self.on_final(uow, payout)


def payout_key(loan_id: str) -> str:
    """The payout's idempotency key at the rail: one loan, one payout, ever."""
    return f"payout-{loan_id}"


# --------------------------------------------------------------------------- acceptance


@dataclass(frozen=True, slots=True)
class Acceptance:
    loan: Loan
    entries: tuple[JournalEntry, ...]
    payout: PayoutRecord
    tranches: tuple[Tranche, ...]
    routing: RoutingRecord


def accept_offer(
    uow: UnitOfWork,
    new_id: Callable[[], str],
    loan: Loan,
    *,
    score: int | None = None,
    score_band: str = "",
    region_code: str = "",
    queued_at: dt.datetime | None = None,
    rules: CostCapPolicy | None = None,
) -> Acceptance:
    """Route a new loan (pending disbursement, booked against the rail's in-transit
    account) and write it with its entries, tranches, payout and outbox message.

    Runs inside the caller's unit of work, which commits; refuses with
    ``NoFunderAvailable`` (and writes nothing) when no funder can take the loan.
    ``queued_at``: when the outbox message falls due, by the clock the worker claims
    with (None: the store's own clock). ``rules``: the compliance rulebook, so only
    funders and joint shares it allows on the day are routed to."""
    stores = uow.funding
    on = loan.terms.start_date
    context: dict[str, Any] = {
        "score": score,
        "score_band": score_band,
        "region_code": region_code,
        "attempt": 1,
    }
    request = FundingRequest(loan.principal, loan.product_code, on, score, region_code)
    licence = uow.lending.products.get(loan.product_code).licence_type if rules else ""
    choice = route_loan(
        uow, new_id, request, loan_id=loan.loan_id, borrower_id=loan.borrower_id,
        rules=rules, licence_type=licence,
    )  # fmt: skip
    if choice.programme is None:
        considered = choice.record.reasons.get("considered", {})
        problems = [
            Problem(code, "; ".join(f"{k}: {', '.join(v)}" for k, v in info["problems"].items()))
            for code, info in considered.items()
        ]
        raise NoFunderAvailable("暂无可放款的资金方 / no funder can take this loan now", problems)
    payout = PayoutRecord(
        loan_id=loan.loan_id,
        borrower_id=loan.borrower_id,
        amount=loan.principal,
        idempotency_key=payout_key(loan.loan_id),
        status=PayoutStatus.QUEUED,
        business_date=on,
        context=context,
    )
    entries, payout = place_on_plan(
        uow, stores, new_id, loan, choice.tranches, payout,
        new_loan=True, new_payout=True, due_at=queued_at,
    )  # fmt: skip
    return Acceptance(loan, tuple(entries), payout, choice.tranches, choice.record)


def place_on_plan(
    uow: UnitOfWork,
    stores: FundingStores,
    new_id: Callable[[], str],
    loan: Loan,
    tranches: tuple[Tranche, ...],
    payout: PayoutRecord,
    *,
    new_loan: bool,
    new_payout: bool,
    due_at: dt.datetime | None = None,
) -> tuple[list[JournalEntry], PayoutRecord]:
    """Put a routed loan on its plan: ask the partners that decide for themselves, or,
    when none does, book the payout at once. Outbox messages fall due at ``due_at``."""
    attempt = int(payout.context.get("attempt", 1))
    deciding = [t for t in tranches if t.requires_approval]
    if not deciding:
        entries, payout = book_payout(
            uow, stores, new_id, loan, payout, new_loan=new_loan, due_at=due_at
        )
        stores.tranches.add(loan.loan_id, loan.borrower_id, tranches)
    else:
        if new_loan:
            uow.lending.loans.add(loan)
        stores.tranches.add(loan.loan_id, loan.borrower_id, tranches)
        for tranche in deciding:
            request_id = f"{loan.loan_id}.{attempt}.{tranche.funder_code}"
            stores.approvals.add(
                ApprovalRecord(
                    request_id=request_id,
                    loan_id=loan.loan_id,
                    borrower_id=loan.borrower_id,
                    funder_code=tranche.funder_code,
                    amount=tranche.principal,
                    status=ApprovalStatus.PENDING,
                )
            )
            stores.outbox.add(
                OutboxItem(
                    new_id(),
                    TOPIC_APPROVAL,
                    loan.borrower_id,
                    {"request_id": request_id, "loan_id": loan.loan_id},
                    f"approval-{request_id}",
                    next_attempt_at=due_at,
                )
            )
        entries, payout = [], replace(payout, status=PayoutStatus.AWAITING_APPROVAL)
    if new_payout:
        stores.payouts.add(payout)
    else:
        stores.payouts.save(payout)
    return entries, payout


def book_payout(
    uow: UnitOfWork,
    stores: FundingStores,
    new_id: Callable[[], str],
    loan: Loan,
    payout: PayoutRecord,
    *,
    new_loan: bool = False,
    due_at: dt.datetime | None = None,
) -> tuple[list[JournalEntry], PayoutRecord]:
    """Disburse the loan against the rail's in-transit account and queue the payout;
    the loan is written (added when ``new_loan``, else saved) as disbursed."""
    entries = loan.disburse(loan.terms.start_date, new_id)
    if new_loan:
        uow.lending.loans.add(loan)
    else:
        uow.lending.loans.save(loan)
    uow.lending.ledger.append(entries, loan.borrower_id)
    stores.outbox.add(
        OutboxItem(
            new_id(),
            TOPIC_PAYOUT,
            loan.borrower_id,
            {"loan_id": loan.loan_id},
            payout.idempotency_key,
            next_attempt_at=due_at,
        )
    )
    return entries, replace(payout, status=PayoutStatus.QUEUED)


# --------------------------------------------------------------------------- outcomes


@dataclass(frozen=True, slots=True)
class RailOutcome:
    status: str  # succeeded | failed
    failure_code: str = ""
    settled_on: dt.date | None = None
    rail_reference: str = ""
    amount: Money | None = None
    sequence: int = 0


def apply_outcome(
    uow: UnitOfWork,
    desk: DisbursementDesk,
    payout: PayoutRecord,
    outcome: RailOutcome,
    source: str,
) -> str:
    """Apply the rail's final word to a payout the caller holds locked; idempotent."""
    stores = uow.funding
    now = desk.now()
    if outcome.status not in ("succeeded", "failed"):
        return "not_final"
    sequence = max(payout.last_sequence, outcome.sequence)
    if payout.status in PayoutStatus.FINAL:
        same = (payout.status == PayoutStatus.PAID) == (outcome.status == "succeeded")
        if sequence != payout.last_sequence:
            stores.payouts.save(replace(payout, last_sequence=sequence, updated_at=now))
        return "already_applied" if same else "conflicting_outcome"
    if payout.status in (PayoutStatus.AWAITING_APPROVAL, PayoutStatus.NEEDS_REVIEW):
        return f"ignored_{payout.status}"
    if outcome.amount is not None and outcome.amount != payout.amount:
        stores.payouts.save(
            replace(
                payout,
                status=PayoutStatus.NEEDS_REVIEW,
                last_error=f"rail amount {outcome.amount} differs from {payout.amount}",
                updated_at=now,
            )
        )
        return "amount_mismatch"
    day = outcome.settled_on or now.date()
    settled = replace(
        payout,
        settled_on=day,
        confirmed_at=now,
        updated_at=now,
        resolved_by=source,
        last_sequence=sequence,
        rail_reference=outcome.rail_reference or payout.rail_reference,
    )
    if outcome.status == "succeeded":
        paid_out = outcome.amount if outcome.amount is not None else payout.amount
        principal = uow.lending.loans.get(payout.loan_id).principal
        deducted = payout_breaches(principal, paid_out)
        if deducted:  # the rail paid other than the contract: an operator must look
            stores.payouts.save(
                replace(
                    payout,
                    status=PayoutStatus.NEEDS_REVIEW,
                    last_error=deducted[0].message,
                    updated_at=now,
                )
            )
            return "upfront_deduction"
        entry = payout_settlement_entry(
            desk.new_id(),
            day,
            payout.loan_id,
            stores.tranches.for_loan(payout.loan_id),
            settled.rail_reference,
            desk.settings.in_transit_account,
        )
        uow.lending.ledger.append([entry], payout.borrower_id)
        paid = replace(settled, status=PayoutStatus.PAID, settlement_entry_id=entry.entry_id)
        stores.payouts.save(paid)
        desk.announce(uow, paid)
        uow.audit.record(
            f"system:{source}",
            "payout.confirmed",
            f"loan:{payout.loan_id}",
            {
                "settled_on": day.isoformat(),
                "rail_reference": paid.rail_reference or "",
                "entries": [entry.entry_id],
                **money_details(paid_out),
            },
        )
        return "paid"
    loan = uow.lending.loans.get(payout.loan_id, for_update=True)
    try:
        entries = loan.cancel(day, desk.new_id)
    except Conflict as exc:
        stores.payouts.save(
            replace(payout, status=PayoutStatus.NEEDS_REVIEW, last_error=str(exc), updated_at=now)
        )
        return "needs_review"
    _cancelled(uow, stores, loan, entries, payout.business_date)
    failure = outcome.failure_code or "payout_failed"
    failed = replace(settled, status=PayoutStatus.FAILED, failure_code=failure)
    stores.payouts.save(failed)
    desk.announce(uow, failed)
    _record_failed(uow, failed, entries, f"system:{source}")
    return "cancelled"


def _record_failed(
    uow: UnitOfWork, failed: PayoutRecord, entries: list[JournalEntry], actor: str
) -> None:
    uow.audit.record(
        actor,
        "payout.failed",
        f"loan:{failed.loan_id}",
        {
            "failure_code": failed.failure_code or "",
            "entries": [e.entry_id for e in entries],
            **money_details(failed.amount),
        },
    )


def _cancelled(
    uow: UnitOfWork,
    stores: FundingStores,
    loan: Loan,
    entries: list[JournalEntry],
    routed_on: dt.date,
) -> None:
    uow.lending.loans.save(loan)
    uow.lending.ledger.append(entries, loan.borrower_id)
    if loan.line_id is not None:
        line = uow.lending.lines.get(loan.line_id, for_update=True)
        line.restore(loan.principal, cancelled=True)
        uow.lending.lines.save(line)
    release(stores, loan.loan_id, routed_on)


def fail_unfunded(
    uow: UnitOfWork, desk: DisbursementDesk, payout: PayoutRecord, reason: str
) -> PayoutRecord:
    """No funder is left for a loan awaiting funding: cancel it, give the line back."""
    stores = uow.funding
    now = desk.now()
    loan = uow.lending.loans.get(payout.loan_id, for_update=True)
    entries = loan.cancel(now.date(), desk.new_id)
    _cancelled(uow, stores, loan, entries, payout.business_date)
    failed = replace(
        payout,
        status=PayoutStatus.FAILED,
        failure_code=reason,
        resolved_by="routing",
        confirmed_at=now,
        updated_at=now,
    )
    stores.payouts.save(failed)
    desk.announce(uow, failed)
    _record_failed(uow, failed, entries, "system:routing")
    return failed


def apply_rail_event(desk: DisbursementDesk, event: RailEvent) -> str:
    """Apply one verified rail callback; returns what became of it.

    Duplicates (same event id), non-final and stale (sequence already passed) events,
    and events about payouts we never made are recorded and change nothing."""
    now = desk.now()
    with desk.uow_factory() as uow:
        stores = uow.funding
        fresh = stores.rail_events.record(
            RailEventRecord(
                event.event_id,
                event.idempotency_key,
                event.event_type,
                event.sequence,
                event.final,
                "received",
                now,
            )
        )
        if not fresh:
            return "duplicate"
        payout = (
            stores.payouts.by_key(event.idempotency_key, for_update=True)
            if event.direction == "payout"
            else None
        )
        if event.direction != "payout":
            outcome = "not_a_payout"
        elif payout is None:
            outcome = "unknown_payout"
        elif not event.final:
            outcome = "not_final"
        elif event.sequence <= payout.last_sequence:
            outcome = "stale"
        else:
            outcome = apply_outcome(
                uow,
                desk,
                payout,
                RailOutcome(
                    event.status,
                    event.failure_code,
                    event.settled_on,
                    event.rail_reference,
                    event.amount,
                    event.sequence,
                ),
                "webhook",
            )
        stores.rail_events.set_outcome(event.event_id, outcome)
        uow.commit()
    return outcome


def resolve_payout(
    desk: DisbursementDesk, idempotency_key: str, outcome: RailOutcome, source: str
) -> str:
    """Apply a final status learnt another way (acknowledgement, poll, statement)."""
    with desk.uow_factory() as uow:
        payout = uow.funding.payouts.by_key(idempotency_key, for_update=True)
        if payout is None:
            return "unknown_payout"
        result = apply_outcome(uow, desk, payout, outcome, source)
        uow.commit()
    return result


# --------------------------------------------------------------------------- reading & operating


@dataclass(frozen=True, slots=True)
class DisbursementView:
    """A loan's payout as a borrower or an operator sees it."""

    loan_id: str
    status: str  # pending | paid | failed
    stage: str  # the payout's own status (awaiting_approval, queued, sent, …)
    amount: Money
    rail_reference: str
    failure_code: str
    settled_on: dt.date | None
    updated_at: dt.datetime | None
    funders: tuple[tuple[str, Money], ...]
    requested_at: dt.datetime | None = None


def _borrower_status(stage: str) -> str:
    if stage == PayoutStatus.PAID:
        return "paid"
    if stage == PayoutStatus.FAILED:
        return "failed"
    return "pending"


def disbursement_view(
    uow: UnitOfWork, loan_id: str, borrower_id: str | None = None
) -> DisbursementView | None:
    """Where a loan's payout stands, read inside an open unit of work: ``pending`` until
    the rail's final word, then ``paid`` or ``failed``; None when the loan has no payout
    (or it is another borrower's)."""
    stores = uow.funding
    payout = stores.payouts.get(loan_id)
    if payout is None or (borrower_id is not None and payout.borrower_id != borrower_id):
        return None
    tranches = stores.tranches.for_loan(loan_id)
    return DisbursementView(
        loan_id=loan_id,
        status=_borrower_status(payout.status),
        stage=payout.status,
        amount=payout.amount,
        rail_reference=payout.rail_reference,
        failure_code=payout.failure_code,
        settled_on=payout.settled_on,
        updated_at=payout.updated_at or payout.created_at,
        funders=tuple((t.funder_code, t.principal) for t in tranches),
        requested_at=payout.created_at,
    )


def disbursement_status(
    uow_factory: UnitOfWorkFactory, loan_id: str, borrower_id: str | None = None
) -> DisbursementView:
    """Where a loan's payout stands (``disbursement_view`` in a unit of work of its own);
    NotFound for a loan with no payout, or another borrower's."""
    with uow_factory() as uow:
        view = disbursement_view(uow, loan_id, borrower_id)
    if view is None:
        raise NotFound(f"no disbursement for loan {loan_id}")
    return view
