"""Use cases: collection cases follow their loans, are dealt to agents and agencies, and
the strategy's digital reminders go out through the conduct gate.

``sync_cases(desk, on)`` opens a case for every loan past due, moves each case to its
bucket, segment and placement as the loan ages (a case placed with people stays with
people when a part payment improves its bucket), closes cases whose loans cured or were
paid off, and keeps a written-off loan's case open for recoveries. ``assign_cases``
deals unassigned cases out — agencies by load, agents round robin or by load — and
``run_strategy`` sends the due digital reminders. A collections day runs them in order
(``app.collections.daily``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from mobilend.app.collections.desk import CollectionsDesk
from mobilend.app.collections.gate import STRATEGY_ACTOR, ContactRequest
from mobilend.app.collections.ports import LENDER, CaseRecord, OverdueLoan
from mobilend.domain.collections import (
    Assignee,
    AssignmentBoard,
    CaseStatus,
    CloseReason,
    Placement,
    expected_recovery,
    segment_for,
)
from mobilend.domain.collections_conduct import ConductRefused
from mobilend.domain.money import Money


@dataclass(frozen=True, slots=True)
class CaseSyncSummary:
    business_date: dt.date
    opened: int = 0
    updated: int = 0
    cured: int = 0
    paid_off: int = 0
    written_off: int = 0
    replaced: int = 0  # placement changed as the loan aged


def _bump(summary: CaseSyncSummary, name: str) -> CaseSyncSummary:
    return dataclasses.replace(summary, **{name: getattr(summary, name) + 1})


def sync_cases(desk: CollectionsDesk, on: dt.date, *, batch: int = 500) -> CaseSyncSummary:
    summary = CaseSyncSummary(on)
    after = ""
    while True:
        with desk.uow_factory() as uow:
            loans = uow.collections.cases.overdue_loans(after, batch)
            # The batch's open cases in one read (locked), not one query per loan.
            open_cases = uow.collections.cases.open_for_loans(
                [loan.loan_id for loan in loans], for_update=True
            )
            opened: list[CaseRecord] = []
            changed: list[CaseRecord] = []
            for loan in loans:
                summary = _sync_one(
                    desk, loan, open_cases.get(loan.loan_id), on, summary, opened, changed
                )
            for case in opened:
                uow.collections.cases.add(case)
            # Most open cases change every day (days past due): written in one batch.
            uow.collections.cases.save_many(changed)
            uow.commit()
        if len(loans) < batch:
            return summary
        after = loans[-1].loan_id


def _sync_one(
    desk: CollectionsDesk,
    loan: OverdueLoan,
    case: CaseRecord | None,
    on: dt.date,
    summary: CaseSyncSummary,
    to_add: list[CaseRecord],
    to_save: list[CaseRecord],
) -> CaseSyncSummary:
    """Bring one loan's case up to date: a new case goes to ``to_add``, a changed one to
    ``to_save`` (the caller writes both in the batch's transaction)."""
    settings = desk.settings
    segment = segment_for(loan.score, settings.high_risk_score)
    bucket = settings.buckets.bucket_for(loan.dpd).code
    if case is None:
        if loan.status != "active" or loan.dpd <= 0:
            return summary
        arm, strategy = settings.strategies.arm_for(loan.loan_id)
        treatment = strategy.treatment_for(bucket, segment)
        to_add.append(
            CaseRecord(
                case_id=desk.new_id(),
                loan_id=loan.loan_id,
                borrower_id=loan.borrower_id,
                opened_on=on,
                status=CaseStatus.OPEN,
                bucket=bucket,
                dpd=loan.dpd,
                segment=segment,
                strategy=strategy.code,
                arm=arm,
                placement=treatment.placement,
                owed_at_open=loan.owed,
                cash_in_at_open=loan.cash_in,
                owed=loan.owed,
                collected=Money.zero(loan.owed.currency),
                expected=expected_recovery(loan.owed, bucket, segment),
                next_action_on=on,
                bucket_at_open=bucket,
            )
        )
        return _bump(summary, "opened")
    collected = loan.cash_in - case.cash_in_at_open
    if loan.status == "written_off":
        if case.status is CaseStatus.WRITTEN_OFF and case.collected == collected:
            return summary
        to_save.append(
            dataclasses.replace(
                case, status=CaseStatus.WRITTEN_OFF, collected=collected, owed=loan.owed,
                dpd=loan.dpd, version=case.version + 1,
            )
        )  # fmt: skip
        return _bump(
            summary, "written_off" if case.status is not CaseStatus.WRITTEN_OFF else "updated"
        )
    if loan.status == "active" and loan.dpd <= 0 and case.status is CaseStatus.ARRANGEMENT:
        # A rescheduled loan is current while its plan is kept: the case stays open for
        # the plan's review (done, or broken and back to work).
        if case.owed == loan.owed and case.collected == collected and case.dpd == loan.dpd:
            return summary
        to_save.append(
            dataclasses.replace(
                case, dpd=loan.dpd, owed=loan.owed, collected=collected, version=case.version + 1
            )
        )
        return _bump(summary, "updated")
    if loan.status != "active" or loan.dpd <= 0:
        reason = {
            "closed": CloseReason.PAID_OFF,
            "cancelled": CloseReason.CANCELLED,
        }.get(loan.status, CloseReason.CURED)
        to_save.append(
            dataclasses.replace(
                case, status=CaseStatus.CLOSED, close_reason=reason, closed_on=on,
                collected=collected, owed=loan.owed, dpd=loan.dpd, paused=False,
                version=case.version + 1,
            )
        )  # fmt: skip
        return _bump(summary, "paid_off" if reason is CloseReason.PAID_OFF else "cured")
    changed = dataclasses.replace(
        case,
        dpd=loan.dpd,
        owed=loan.owed,
        collected=collected,
        segment=segment,
        expected=expected_recovery(loan.owed, bucket, segment),
    )
    replaced = False
    table = settings.buckets
    if table.rank(bucket) > table.rank(case.bucket) and case.status is CaseStatus.OPEN:
        strategy = settings.strategies.strategy(case.strategy)
        placement = strategy.treatment_for(bucket, segment).placement
        if placement is not case.placement:
            changed = dataclasses.replace(
                changed, placement=placement, agent_id="", agency="", next_action_on=on
            )
            replaced = True
    if bucket != case.bucket:
        changed = dataclasses.replace(changed, bucket=bucket)
    if changed == case:
        return summary
    to_save.append(dataclasses.replace(changed, version=case.version + 1))
    return _bump(summary, "replaced" if replaced else "updated")


# --------------------------------------------------------------------------- assignment


@dataclass(frozen=True, slots=True)
class AssignmentSummary:
    to_agents: int = 0
    to_agencies: int = 0
    unassigned: int = 0  # nobody free to take them


def assign_cases(desk: CollectionsDesk, *, limit: int = 5000) -> AssignmentSummary:
    """Place agency cases with agencies (fewest open cases per capacity first), then deal
    every team's unassigned cases to its agents."""
    mode = desk.settings.assignment
    to_agents = to_agencies = unassigned = 0
    with desk.uow_factory() as uow:
        store, agents = uow.collections.cases, uow.collections.agents
        agencies = [a for a in agents.agencies() if a.active]
        to_place = store.unassigned(Placement.AGENCY, "", limit)
        # Counting every agency's open cases is a pass over the book: only when placing.
        loads = agents.agency_loads() if to_place else {}
        for case_id in to_place:
            free = [a for a in agencies if loads.get(a.code, 0) < a.capacity]
            if not free:
                unassigned += 1
                continue
            chosen = min(free, key=lambda a: (Fraction(loads.get(a.code, 0), a.capacity), a.code))
            loads[chosen.code] = loads.get(chosen.code, 0) + 1
            case = store.get(case_id, for_update=True)
            store.save(dataclasses.replace(case, agency=chosen.code, version=case.version + 1))
            to_agencies += 1
        teams = [(Placement.AGENT, LENDER)] + [(Placement.AGENCY, a.code) for a in agencies]
        for placement, team in teams:
            waiting = store.unassigned(placement, "" if team == LENDER else team, limit)
            if not waiting:
                continue
            board = AssignmentBoard(
                [
                    Assignee(x.agent.agent_id, x.open_cases, x.agent.capacity)
                    for x in agents.loads(team)
                ],
                mode,
                agents.cursor(f"assign:{team}"),
            )
            for case_id in waiting:
                agent_id = board.next()
                if agent_id is None:
                    unassigned += 1
                    continue
                case = store.get(case_id, for_update=True)
                store.save(
                    dataclasses.replace(
                        case, agent_id=agent_id, next_action_on=case.next_action_on,
                        version=case.version + 1,
                    )
                )  # fmt: skip
                to_agents += 1
            agents.set_cursor(f"assign:{team}", board.cursor)
        uow.commit()
    return AssignmentSummary(to_agents, to_agencies, unassigned)


def reassign_case(desk: CollectionsDesk, case_id: str, *, agent_id: str) -> CaseRecord:
    """A manager moves a case to a named agent (of the case's team)."""
    from mobilend.domain.errors import Problem, ValidationFailed

    with desk.uow_factory() as uow:
        case = uow.collections.cases.get(case_id, for_update=True)
        agent = uow.collections.agents.agent(agent_id)
        if agent is None or not agent.active or agent.team != case.team:
            raise ValidationFailed(
                [Problem("agent_id", f"no active agent of team {case.team} with id {agent_id}")]
            )
        moved = dataclasses.replace(case, agent_id=agent_id, version=case.version + 1)
        uow.collections.cases.save(moved)
        uow.commit()
    return moved


def work_queue(
    desk: CollectionsDesk, agent_id: str, on: dt.date, limit: int = 50
) -> list[CaseRecord]:
    """The agent's cases due for action today, highest expected recovery first."""
    with desk.uow_factory.reading() as uow:
        return uow.collections.cases.queue(agent_id, on, limit)


# --------------------------------------------------------------------------- the strategy's messages


@dataclass(frozen=True, slots=True)
class StrategySummary:
    sent: int = 0
    refused: int = 0
    failed: int = 0


def run_strategy(desk: CollectionsDesk, on: dt.date, *, batch: int = 500) -> StrategySummary:
    """Send the digital reminders due today, through the gate; a refused or failed one is
    counted and the case waits for its next turn."""
    sent = refused = failed = 0
    after = ""
    while True:
        with desk.uow_factory() as uow:
            due = uow.collections.cases.digital_due(on, batch, after)
        for case in due:
            strategy = desk.settings.strategies.strategy(case.strategy)
            treatment = strategy.treatment_for(case.bucket, case.segment)
            for channel in treatment.channels:
                try:
                    record = desk.gate.contact(
                        ContactRequest(case.case_id, STRATEGY_ACTOR, channel, treatment.template)
                    )
                except ConductRefused:
                    refused += 1
                    continue
                if record.outcome == "sent":
                    sent += 1
                else:
                    failed += 1
            with desk.uow_factory() as uow:
                fresh = uow.collections.cases.get(case.case_id, for_update=True)
                uow.collections.cases.save(
                    dataclasses.replace(
                        fresh,
                        last_message_on=on,
                        next_action_on=on + dt.timedelta(days=treatment.every_days),
                        version=fresh.version + 1,
                    )
                )
                uow.commit()
        if len(due) < batch:
            return StrategySummary(sent, refused, failed)
        after = due[-1].case_id


def follow_up(desk: CollectionsDesk, case_id: str, *, on: dt.date) -> CaseRecord:
    """After working a case, when it comes back to the agent's queue (a promise sets its
    own date; this one is for calls that ended without one)."""
    with desk.uow_factory() as uow:
        case = uow.collections.cases.get(case_id, for_update=True)
        later = case.next_action_on if case.next_action_on and case.next_action_on > on else on
        moved = dataclasses.replace(case, next_action_on=later, version=case.version + 1)
        uow.collections.cases.save(moved)
        uow.commit()
    return moved
