"""Use cases: what ends a case other than the borrower simply paying — settlement offers
(discounted payoff), hardship plans, write-off, and recoveries after write-off.

Settlements, plans and write-offs follow four eyes: one person proposes, a collections
manager who is someone else approves. Every amount that moves goes through the ledger in
the same transaction as the state change: a settlement books the payment and a waiver
entry and closes the loan; a write-off moves every receivable to write-off expense; a
recovery books cash against recovery income. Payments carry an idempotency key.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mobilend.app.audit import money_details
from mobilend.app.collections.desk import CollectionsDesk
from mobilend.app.collections.gate import STRATEGY_ACTOR, ContactRequest
from mobilend.app.collections.hardship import check_plan, reschedule_in
from mobilend.app.collections.ports import CollectionPayment, ResolutionRecord
from mobilend.app.collections.promises import cash_in
from mobilend.app.lending.ports import RepaymentRecord
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.collections import (
    ApprovalStatus,
    CaseStatus,
    CloseReason,
    PlanInstalment,
    plan_broken,
    plan_complete,
    require_second_person,
    validate_plan,
    validate_settlement,
    write_off_problems,
)
from mobilend.domain.collections_conduct import Channel, ConductRefused
from mobilend.domain.collections_settlement import settle_loan
from mobilend.domain.errors import Conflict, Problem, ValidationFailed
from mobilend.domain.lines import LineStatus
from mobilend.domain.loans import Loan, LoanStatus
from mobilend.domain.money import Money

SETTLEMENT = "settlement"
HARDSHIP_PLAN = "hardship_plan"
WRITE_OFF = "write_off"
#: How the audit log names a proposal of each kind.
_PROPOSED = {SETTLEMENT: "settlement", HARDSHIP_PLAN: "plan", WRITE_OFF: "write_off"}
SYSTEM_MAKER = "system:collections"


class CaseAlreadyClosed(Conflict):
    """A plan or write-off was approved for a case that closed meanwhile (e.g. cured)."""

    code = "case_closed"


def _check_key(key: str) -> None:
    if not key or len(key) > 200:
        raise ValidationFailed([Problem("idempotency_key", "is required (1–200 characters)")])


def _open_case_loan(uow: UnitOfWork, case_id: str) -> tuple[Loan, Money]:
    case = uow.collections.cases.get(case_id)
    if not case.is_open:
        raise Conflict(f"案件已结案 (case {case_id} is closed)")
    loan = uow.lending.loans.get(case.loan_id)
    owed = loan.receivables.total - loan.held_credit
    return loan, owed


def _propose(
    desk: CollectionsDesk,
    uow: UnitOfWork,
    kind: str,
    case_id: str,
    *,
    loan_id: str,
    owed: Money,
    amount: Money,
    on: dt.date,
    actor: str,
    valid_until: dt.date | None = None,
    instalments: Sequence[PlanInstalment] = (),
    reason: str = "",
) -> ResolutionRecord:
    for earlier in uow.collections.resolutions.for_case(case_id):
        if earlier.kind == kind and earlier.status is ApprovalStatus.PROPOSED:
            raise Conflict(f"该案件已有待审批的{kind} (a {kind} is already waiting for approval)")
    record = ResolutionRecord(
        resolution_id=desk.new_id(),
        kind=kind,
        case_id=case_id,
        loan_id=loan_id,
        proposed_by=actor,
        proposed_on=on,
        owed=owed,
        amount=amount,
        valid_until=valid_until,
        instalments=tuple(instalments),
        reason=reason,
    )
    uow.collections.resolutions.add(record)
    details: dict[str, Any] = {"resolution_id": record.resolution_id, **money_details(amount)}
    if instalments:
        details["instalments"] = len(instalments)
    uow.audit.record(actor, f"collections.{_PROPOSED[kind]}_proposed", f"case:{case_id}", details)
    return record


# --------------------------------------------------------------------------- proposals


def propose_settlement(
    desk: CollectionsDesk, case_id: str, *, amount: Money, on: dt.date, actor: str
) -> ResolutionRecord:
    policy = desk.settings.resolution
    with desk.uow_factory() as uow:
        loan, owed = _open_case_loan(uow, case_id)
        if loan.status is not LoanStatus.ACTIVE:
            raise Conflict(f"loan {loan.loan_id} is {loan.status}; only an active loan settles")
        validate_settlement(amount, owed, policy)
        record = _propose(
            desk, uow, SETTLEMENT, case_id, loan_id=loan.loan_id, owed=owed, amount=amount,
            on=on, actor=actor, valid_until=on + dt.timedelta(days=policy.settlement_valid_days),
        )  # fmt: skip
        uow.commit()
    return record


def propose_plan(
    desk: CollectionsDesk,
    case_id: str,
    *,
    instalments: Sequence[PlanInstalment],
    on: dt.date,
    actor: str,
    reason: str = "",
) -> ResolutionRecord:
    with desk.uow_factory() as uow:
        loan, owed = _open_case_loan(uow, case_id)
        validate_plan(instalments, on, owed, desk.settings.resolution.max_plan_instalments)
        check_plan(desk, uow, loan, instalments, on)
        total = sum((i.amount for i in instalments), Money.zero(owed.currency))
        record = _propose(
            desk, uow, HARDSHIP_PLAN, case_id, loan_id=loan.loan_id, owed=owed, amount=total,
            on=on, actor=actor, instalments=instalments, reason=reason,
        )  # fmt: skip
        uow.commit()
    return record


def propose_write_off(
    desk: CollectionsDesk, case_id: str, *, on: dt.date, actor: str, reason: str = ""
) -> ResolutionRecord:
    with desk.uow_factory() as uow:
        loan, owed = _open_case_loan(uow, case_id)
        if loan.status is not LoanStatus.ACTIVE:
            raise Conflict(
                f"loan {loan.loan_id} is {loan.status}; only an active loan is written off"
            )
        problems = write_off_problems(loan.dpd, desk.settings.resolution)
        if problems:
            raise ValidationFailed(problems)
        record = _propose(
            desk, uow, WRITE_OFF, case_id, loan_id=loan.loan_id, owed=owed, amount=owed,
            on=on, actor=actor, reason=reason or f"{loan.dpd} days past due",
        )  # fmt: skip
        uow.commit()
    return record


def propose_write_offs(desk: CollectionsDesk, on: dt.date, *, limit: int = 5000) -> int:
    """Propose (as the system: a manager still approves) every eligible loan's write-off."""
    after_dpd = desk.settings.resolution.write_off_after_dpd
    proposed = 0
    with desk.uow_factory() as uow:
        candidates = uow.collections.cases.write_off_candidates(after_dpd, limit)
    for case_id in candidates:
        try:
            propose_write_off(desk, case_id, on=on, actor=SYSTEM_MAKER)
        except (Conflict, ValidationFailed):
            continue  # paid or changed since it was listed
        proposed += 1
    return proposed


# --------------------------------------------------------------------------- decisions


def decide(
    desk: CollectionsDesk,
    resolution_id: str,
    *,
    approve: bool,
    on: dt.date,
    actor: str,
    reason: str = "",
) -> ResolutionRecord:
    """Approve or reject a proposal (never one's own). An approved write-off is booked at
    once; an approved plan reschedules the loan and puts the case in arrangement; an
    approved settlement waits for the borrower's payment until it expires."""
    with desk.uow_factory() as uow:
        record = uow.collections.resolutions.get(resolution_id, for_update=True)
        if record.status is not ApprovalStatus.PROPOSED:
            raise Conflict(f"already {record.status.value}")
        require_second_person(record.proposed_by, actor)
        if approve and record.kind in (HARDSHIP_PLAN, WRITE_OFF):
            # The borrower may have caught up (case closed as cured) between the proposal
            # and its approval: nothing is left to reschedule or write off.
            case = uow.collections.cases.get(record.case_id)
            if not case.is_open:
                raise CaseAlreadyClosed(
                    f"案件已结案，不能批准该方案 (case {record.case_id} is closed; "
                    f"the {record.kind.replace('_', ' ')} cannot be approved)",
                    [Problem("resolution_id", "案件已结案 (the case is closed)")],
                )
        decided = dataclasses.replace(
            record,
            status=ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED,
            approved_by=actor,
            decided_on=on,
            reason=reason or record.reason,
        )
        if approve and record.kind == WRITE_OFF:
            decided = _book_write_off(desk, uow, decided, on)
        elif approve and record.kind == HARDSHIP_PLAN:
            # The plan's instalments replace the loan's schedule (principal exact, the
            # concession through the ledger, no more interest or penalty while kept).
            reschedule_in(desk, uow, record.loan_id, record.instalments, on)
            decided = dataclasses.replace(decided, cash_in_at_approval=cash_in(uow, record.loan_id))
            case = uow.collections.cases.get(record.case_id, for_update=True)
            uow.collections.cases.save(
                dataclasses.replace(case, status=CaseStatus.ARRANGEMENT, version=case.version + 1)
            )
        uow.collections.resolutions.save(decided)
        uow.audit.record(
            actor,
            f"collections.{record.kind}_{'approved' if approve else 'rejected'}",
            f"resolution:{resolution_id}",
            {"case_id": record.case_id, "entries": list(decided.entry_ids)},
        )
        uow.commit()
    if approve and record.kind in (SETTLEMENT, HARDSHIP_PLAN):
        _tell_borrower(desk, decided)
    return decided


def announce_approved(desk: CollectionsDesk, resolution_id: str) -> None:
    """Tell the borrower of an approved settlement offer or hardship plan (through the
    gate), after the approval committed wherever it was given (here or in the console's
    maker-checker queue)."""
    with desk.uow_factory() as uow:
        record = uow.collections.resolutions.get(resolution_id)
    if record.status is ApprovalStatus.APPROVED and record.kind in (SETTLEMENT, HARDSHIP_PLAN):
        _tell_borrower(desk, record)


def _tell_borrower(desk: CollectionsDesk, record: ResolutionRecord) -> None:
    if record.kind == SETTLEMENT:
        facts = {
            "amount": record.amount.format(),
            "valid_until": record.valid_until.isoformat() if record.valid_until else "",
        }
        template = "settlement_offer"
    else:
        first = record.instalments[0]
        facts = {"next_due": first.due_on.isoformat(), "next_amount": first.amount.format()}
        template = "hardship_plan"
    # A refusal (e.g. at night) is logged by the gate; the agent tells the borrower instead.
    with contextlib.suppress(ConductRefused):
        desk.gate.contact(
            ContactRequest(record.case_id, STRATEGY_ACTOR, Channel.SMS, template, facts=facts)
        )


def _book_write_off(
    desk: CollectionsDesk, uow: UnitOfWork, record: ResolutionRecord, on: dt.date
) -> ResolutionRecord:
    loan = uow.lending.loans.get(record.loan_id, for_update=True)
    if loan.status is not LoanStatus.ACTIVE:
        raise Conflict(f"loan {loan.loan_id} is {loan.status}; nothing to write off")
    problems = write_off_problems(loan.dpd, desk.settings.resolution)
    if problems:
        raise ValidationFailed(problems)
    entry = loan.write_off(on, desk.new_id)
    uow.lending.loans.save(loan)
    uow.lending.ledger.append([entry], loan.borrower_id)
    _freeze_line(uow, loan, "collections_written_off")
    case = uow.collections.cases.get(record.case_id, for_update=True)
    uow.collections.cases.save(
        dataclasses.replace(case, status=CaseStatus.WRITTEN_OFF, version=case.version + 1)
    )
    return dataclasses.replace(
        record, status=ApprovalStatus.DONE, done_on=on, entry_ids=(entry.entry_id,)
    )


def _freeze_line(uow: UnitOfWork, loan: Loan, reason: str) -> None:
    if loan.line_id is None:
        return
    line = uow.lending.lines.get(loan.line_id, for_update=True)
    if line.status in (LineStatus.ACTIVE, LineStatus.FROZEN):
        line.freeze(reason)
        uow.lending.lines.save(line)


# --------------------------------------------------------------------------- money in


def _replay(uow: UnitOfWork, key: str, loan_id: str, amount: Money) -> CollectionPayment | None:
    previous = uow.collections.payments.by_key(key)
    if previous is None:
        return None
    if previous.loan_id != loan_id or previous.amount != amount:
        raise Conflict("this idempotency key was already used for a different payment")
    return previous


def pay_settlement(
    desk: CollectionsDesk,
    resolution_id: str,
    *,
    amount: Money,
    on: dt.date,
    idempotency_key: str,
    channel: str = "transfer",
    actor: str = "system:collections",
) -> CollectionPayment:
    """The borrower paid the agreed amount: book it, waive the rest, close loan and case."""
    _check_key(idempotency_key)
    with desk.uow_factory() as uow:
        record = uow.collections.resolutions.get(resolution_id, for_update=True)
        replayed = _replay(uow, idempotency_key, record.loan_id, amount)
        if replayed is not None:
            return replayed
        if record.kind != SETTLEMENT or record.status is not ApprovalStatus.APPROVED:
            raise Conflict(
                f"settlement {resolution_id} is not approved and open ({record.status.value})"
            )
        if record.valid_until is not None and on > record.valid_until:
            uow.collections.resolutions.save(
                dataclasses.replace(record, status=ApprovalStatus.EXPIRED)
            )
            uow.commit()
            raise Conflict(f"结清方案已过期 (the settlement offer expired on {record.valid_until})")
        if amount != record.amount:
            raise ValidationFailed(
                [Problem("amount", f"the agreed settlement is {record.amount.format()}")]
            )
        loan = uow.lending.loans.get(record.loan_id, for_update=True)
        result = settle_loan(loan, amount, on, new_id=desk.new_id)
        # The loan is closed: none of its principal is in use on the line any more, the
        # waived part included (restoring only what was repaid left the waived principal
        # "used" for ever). A line whose borrower settled for less is frozen, as after a
        # write-off: no new draws on the limit just given back.
        released = result.principal_repaid + result.waived.principal
        if loan.line_id is not None and released.is_positive():
            line = uow.lending.lines.get(loan.line_id, for_update=True)
            line.restore(released)
            uow.lending.lines.save(line)
        if result.waived.total.is_positive():
            _freeze_line(uow, loan, "collections_settled")
        uow.lending.loans.save(loan)
        uow.lending.ledger.append(result.entries, loan.borrower_id)
        uow.lending.repayments.add(
            RepaymentRecord(
                repayment_id=desk.new_id(), loan_id=loan.loan_id, borrower_id=loan.borrower_id,
                amount=amount, received_on=on, channel=f"settlement_{channel}",
                idempotency_key=idempotency_key,
                allocation={"settlement": resolution_id, "waived": result.waived.total.format()},
            )
        )  # fmt: skip
        payment = CollectionPayment(
            desk.new_id(), record.case_id, loan.loan_id, SETTLEMENT, amount, on, idempotency_key,
            tuple(e.entry_id for e in result.entries),
        )  # fmt: skip
        uow.collections.payments.add(payment)
        uow.collections.resolutions.save(
            dataclasses.replace(
                record, status=ApprovalStatus.DONE, done_on=on, entry_ids=payment.entry_ids
            )
        )
        case = uow.collections.cases.get(record.case_id, for_update=True)
        uow.collections.cases.save(
            dataclasses.replace(
                case, status=CaseStatus.CLOSED, close_reason=CloseReason.SETTLED, closed_on=on,
                collected=case.collected + amount, owed=Money.zero(amount.currency), paused=False,
                version=case.version + 1,
            )
        )  # fmt: skip
        _record_payment(
            uow, actor, "collections.settlement_paid", f"resolution:{resolution_id}", payment
        )
        uow.commit()
    return payment


def _record_payment(
    uow: UnitOfWork, actor: str, action: str, subject: str, payment: CollectionPayment
) -> None:
    uow.audit.record(
        actor,
        action,
        subject,
        {
            "loan_id": payment.loan_id,
            "entries": list(payment.entry_ids),
            **money_details(payment.amount),
        },
    )


def record_recovery(
    desk: CollectionsDesk,
    case_id: str,
    *,
    amount: Money,
    on: dt.date,
    idempotency_key: str,
    party: str | None = None,
    actor: str = "system:collections",
) -> CollectionPayment:
    """Money collected on a written-off loan: Dr cash / Cr recovery income."""
    _check_key(idempotency_key)
    with desk.uow_factory() as uow:
        case = uow.collections.cases.get(case_id, for_update=True)
        replayed = _replay(uow, idempotency_key, case.loan_id, amount)
        if replayed is not None:
            return replayed
        loan = uow.lending.loans.get(case.loan_id, for_update=True)
        if loan.status is not LoanStatus.WRITTEN_OFF:
            raise Conflict(f"loan {loan.loan_id} is {loan.status}: repay it, it is not written off")
        entry = loan.recover(amount, on, party=party, new_id=desk.new_id)
        uow.lending.loans.save(loan)
        uow.lending.ledger.append([entry], loan.borrower_id)
        payment = CollectionPayment(
            desk.new_id(), case_id, loan.loan_id, "recovery", amount, on, idempotency_key,
            (entry.entry_id,),
        )  # fmt: skip
        uow.collections.payments.add(payment)
        uow.collections.cases.save(
            dataclasses.replace(case, collected=case.collected + amount, version=case.version + 1)
        )
        _record_payment(uow, actor, "collections.recovered", f"case:{case_id}", payment)
        uow.commit()
    return payment


# --------------------------------------------------------------------------- plans and offers over time


@dataclass(frozen=True, slots=True)
class ResolutionReview:
    plans_completed: int = 0
    plans_broken: int = 0
    offers_expired: int = 0


def review_resolutions(
    desk: CollectionsDesk, on: dt.date, *, limit: int = 5000
) -> ResolutionReview:
    """Plans kept to the end are done, missed ones broken (the case goes back to work);
    approved settlement offers past their date expire."""
    completed = broken = expired = 0
    grace = desk.settings.resolution.plan_grace_days
    with desk.uow_factory() as uow:
        store = uow.collections.resolutions
        approved = store.listing(status=ApprovalStatus.APPROVED.value, limit=limit)
        received = uow.collections.cases.cash_in(
            {r.loan_id for r in approved if r.kind == HARDSHIP_PLAN}
        )
        for record in approved:
            if record.kind == SETTLEMENT:
                if record.valid_until is not None and on > record.valid_until:
                    store.save(dataclasses.replace(record, status=ApprovalStatus.EXPIRED))
                    expired += 1
                continue
            if record.kind != HARDSHIP_PLAN or record.cash_in_at_approval is None:
                continue
            paid = received[record.loan_id] - record.cash_in_at_approval
            if plan_complete(record.instalments, paid):
                status = ApprovalStatus.DONE
                completed += 1
            elif plan_broken(record.instalments, paid, on, grace):
                status = ApprovalStatus.BROKEN
                broken += 1
            else:
                continue
            store.save(dataclasses.replace(record, status=status, done_on=on))
            case = uow.collections.cases.get(record.case_id, for_update=True)
            if case.status is CaseStatus.ARRANGEMENT:
                uow.collections.cases.save(
                    dataclasses.replace(
                        case, status=CaseStatus.OPEN, next_action_on=on, version=case.version + 1
                    )
                )
        uow.commit()
    return ResolutionReview(completed, broken, expired)
