"""Use cases: promises to pay (承诺还款) with follow-up and broken-promise detection, and
complaints, which pause a case until a manager has reviewed them.

A promise records how much money the loan had received when it was made; it is kept
once the money since covers the promised amount, broken when its date (plus grace) has
passed without that. A broken promise puts the case back at the top of its agent's queue
the next day; a pending one is followed up the day after it falls due.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from mobilend.app.collections.desk import CollectionsDesk
from mobilend.app.collections.gate import STRATEGY_ACTOR, ContactRequest
from mobilend.app.collections.ports import ComplaintRecord, PromiseRecord
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.collections import PromiseStatus, promise_status, validate_promise
from mobilend.domain.collections_conduct import Channel, ConductRefused
from mobilend.domain.errors import Conflict, NotFound, Problem, ValidationFailed
from mobilend.domain.money import Money

ONE_DAY = dt.timedelta(days=1)


def cash_in(uow: UnitOfWork, loan_id: str) -> Money:
    """Money the loan has received so far (payments, and recoveries after write-off)."""
    loan = uow.lending.loans.get(loan_id)
    assert loan.cash_received is not None and loan.recovered is not None
    return loan.cash_received + loan.recovered


def make_promise(
    desk: CollectionsDesk, case_id: str, *, amount: Money, due_on: dt.date, on: dt.date, actor: str
) -> PromiseRecord:
    with desk.uow_factory() as uow:
        case = uow.collections.cases.get(case_id, for_update=True)
        if not case.is_open:
            raise Conflict(f"案件已结案 (case {case_id} is closed)")
        validate_promise(amount, due_on, on, case.owed, desk.settings.resolution.max_promise_days)
        for earlier in uow.collections.promises.for_case(case_id):
            if earlier.status is PromiseStatus.PENDING:  # a new promise replaces an open one
                uow.collections.promises.save(
                    dataclasses.replace(earlier, status=PromiseStatus.CANCELLED, resolved_on=on)
                )
        promise = PromiseRecord(
            promise_id=desk.new_id(),
            case_id=case_id,
            loan_id=case.loan_id,
            amount=amount,
            due_on=due_on,
            made_on=on,
            made_by=actor,
            cash_in_at_promise=cash_in(uow, case.loan_id),
        )
        uow.collections.promises.add(promise)
        uow.collections.cases.save(
            dataclasses.replace(case, next_action_on=due_on + ONE_DAY, version=case.version + 1)
        )
        uow.commit()
    return promise


@dataclass(frozen=True, slots=True)
class PromiseReview:
    kept: int = 0
    broken: int = 0
    reminded: int = 0


def review_promises(
    desk: CollectionsDesk, on: dt.date, *, batch: int = 500, remind: bool = True
) -> PromiseReview:
    """Mark promises kept or broken as of ``on``; with ``remind``, remind (through the gate)
    borrowers whose promise falls due tomorrow — in daytime: at night the gate refuses."""
    kept = broken = reminded = 0
    grace = desk.settings.resolution.promise_grace_days
    reminders: list[PromiseRecord] = []
    after = ""
    while True:
        with desk.uow_factory() as uow:
            pending = uow.collections.promises.pending(batch, after)
            received = uow.collections.cases.cash_in({p.loan_id for p in pending})
            for promise in pending:
                paid = received[promise.loan_id] - promise.cash_in_at_promise
                status = promise_status(promise.amount, paid, promise.due_on, on, grace)
                if status is PromiseStatus.PENDING:
                    if remind and promise.due_on == on + ONE_DAY:
                        reminders.append(promise)
                    continue
                uow.collections.promises.save(
                    dataclasses.replace(promise, status=status, resolved_on=on)
                )
                if status is PromiseStatus.KEPT:
                    kept += 1
                    continue
                broken += 1
                case = uow.collections.cases.get(promise.case_id, for_update=True)
                uow.collections.cases.save(
                    dataclasses.replace(case, next_action_on=on, version=case.version + 1)
                )
            uow.commit()
        if len(pending) < batch:
            break
        after = pending[-1].promise_id
    for promise in reminders:
        try:
            desk.gate.contact(
                ContactRequest(
                    promise.case_id, STRATEGY_ACTOR, Channel.SMS, "promise_reminder",
                    facts={"due_on": promise.due_on.isoformat(), "promised": promise.amount.format()},
                )
            )  # fmt: skip
            reminded += 1
        except ConductRefused:
            pass  # logged by the gate; the promise stands
    return PromiseReview(kept, broken, reminded)


# --------------------------------------------------------------------------- complaints


def file_complaint(
    desk: CollectionsDesk, case_id: str, *, channel: str, summary: str, actor: str
) -> ComplaintRecord:
    """Record a complaint and pause the case: the gate refuses every contact with the
    borrower until a manager has reviewed it."""
    if not summary.strip():
        raise ValidationFailed([Problem("summary", "describe the complaint")])
    with desk.uow_factory() as uow:
        case = uow.collections.cases.get(case_id, for_update=True)
        complaint = ComplaintRecord(
            complaint_id=desk.new_id(),
            case_id=case_id,
            borrower_id=case.borrower_id,
            received_at=desk.now(),
            channel=channel,
            summary=summary.strip()[:2000],
            recorded_by=actor,
        )
        uow.collections.complaints.add(complaint)
        uow.collections.cases.save(dataclasses.replace(case, paused=True, version=case.version + 1))
        uow.commit()
    return complaint


def review_complaint(
    desk: CollectionsDesk, complaint_id: str, *, upheld: bool, resolution: str, reviewer: str
) -> ComplaintRecord:
    """A manager's review: the case resumes once none of its complaints is open."""
    if not resolution.strip():
        raise ValidationFailed([Problem("resolution", "say what was found and done")])
    with desk.uow_factory() as uow:
        complaint = uow.collections.complaints.get(complaint_id, for_update=True)
        if complaint.status != "open":
            raise Conflict(f"投诉已处理 (complaint {complaint_id} is {complaint.status})")
        reviewed = dataclasses.replace(
            complaint,
            status="upheld" if upheld else "dismissed",
            reviewed_by=reviewer,
            reviewed_at=desk.now(),
            resolution=resolution.strip()[:2000],
        )
        uow.collections.complaints.save(reviewed)
        if not [
            c
            for c in uow.collections.complaints.open_for_case(complaint.case_id)
            if c.complaint_id != complaint_id
        ]:
            case = uow.collections.cases.get(complaint.case_id, for_update=True)
            uow.collections.cases.save(
                dataclasses.replace(case, paused=False, version=case.version + 1)
            )
        uow.commit()
    return reviewed


def get_complaint(desk: CollectionsDesk, complaint_id: str) -> ComplaintRecord:
    with desk.uow_factory() as uow:
        try:
            return uow.collections.complaints.get(complaint_id)
        except NotFound:
            raise NotFound(f"没有该投诉 (no complaint {complaint_id})") from None
