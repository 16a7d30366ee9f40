"""Collection cases on PostgreSQL: opened by bucket and placed by strategy, dealt to agents
and agencies, worked by expected recovery, closed on cure; promises kept and broken;
settlement, hardship plans, write-off and recoveries under four eyes, through the ledger."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa
from tests.integration.collections_fixtures import (
    START,
    add_team,
    age_loan,
    at_local,
    build_world,
    case_for_loan,
    overdue_loan,
)
from tests.integration.servicing_fixtures import *  # noqa: F403  (fixtures)
from tests.integration.servicing_fixtures import (
    assert_ledger_matches,
    stored_loan,
    trial_balance_is_zero,
)

from mobilend.app.collections.cases import assign_cases, run_strategy, sync_cases, work_queue
from mobilend.app.collections.promises import make_promise, review_promises
from mobilend.app.collections.resolutions import (
    decide,
    pay_settlement,
    propose_plan,
    propose_settlement,
    propose_write_off,
    propose_write_offs,
    record_recovery,
    review_resolutions,
)
from mobilend.app.collections.settings import CollectionsSettings
from mobilend.app.lending.repayments import post_repayment
from mobilend.domain.collections import (
    ApprovalStatus,
    AssignmentMode,
    CaseStatus,
    CloseReason,
    Placement,
    PlanInstalment,
    PromiseStatus,
    SameApprover,
    StrategyBook,
)
from mobilend.domain.errors import Conflict, ValidationFailed
from mobilend.domain.loans_rules import LoanStatus
from mobilend.domain.money import Money

pytestmark = pytest.mark.db

DAY = dt.timedelta(days=1)


def champion_only(**changes: object) -> CollectionsSettings:
    return CollectionsSettings(strategies=StrategyBook(challenger_percent=0), **changes)  # type: ignore[arg-type]


@pytest.fixture
def world(db: sa.Engine, clock, vault):  # type: ignore[no-untyped-def]
    return build_world(db, clock, vault, champion_only())


def pay(world, loan_id: str, amount: str, on: dt.date, key: str) -> None:  # type: ignore[no-untyped-def]
    post_repayment(
        world.wired.lending.uow_factory, world.wired.lending.new_id, loan_id=loan_id,
        amount=Money(amount), on=on, idempotency_key=key, channel="transfer",
    )  # fmt: skip


def test_cases_open_by_bucket_with_the_strategy_placement_and_close_on_cure(world) -> None:  # type: ignore[no-untyped-def]
    m1 = overdue_loan(world, "l-m1", "b-1", dpd=10, phone="13800000001")
    overdue_loan(world, "l-m2", "b-2", dpd=45, phone="13800000002")
    overdue_loan(world, "l-m4", "b-3", dpd=100, phone="13800000003")
    on = overdue_loan(world, "l-m7", "b-4", dpd=200, phone="13800000004")
    summary = sync_cases(world.desk, on)
    assert summary.opened == 4
    placements = {
        loan: (case_for_loan(world, loan).bucket, case_for_loan(world, loan).placement)
        for loan in ("l-m1", "l-m2", "l-m4", "l-m7")
    }
    assert placements == {
        "l-m1": ("M1", Placement.DIGITAL),  # low risk (no behaviour score yet)
        "l-m2": ("M2", Placement.AGENT),
        "l-m4": ("M4", Placement.AGENCY),
        "l-m7": ("M6+", Placement.LEGAL),
    }
    assert sync_cases(world.desk, on).opened == 0  # one open case per loan
    # A loan that pays everything past due is cured: its case closes.
    loan = stored_loan(world.wired, "l-m1")
    owed = loan.overdue_amounts(m1 + DAY).total
    pay(world, "l-m1", str(owed.amount), m1 + DAY, "cure-1")
    age_loan(world.wired, "l-m1", m1 + DAY)
    summary = sync_cases(world.desk, on)
    assert summary.cured == 1
    with world.desk.uow_factory() as uow:
        [closed] = uow.collections.cases.listing(status="closed")
    assert closed.loan_id == "l-m1" and closed.close_reason is CloseReason.CURED
    assert closed.collected == owed


def test_m1_low_risk_gets_digital_reminders_through_the_gate(world) -> None:  # type: ignore[no-untyped-def]
    on = overdue_loan(world, "l-1", "b-1", dpd=5)
    sync_cases(world.desk, on)
    case = case_for_loan(world, "l-1")
    assert (case.bucket, case.segment.value, case.placement) == ("M1", "low", Placement.DIGITAL)
    world.clock.set(at_local(on + DAY, 10))
    summary = run_strategy(world.desk, on + DAY)
    assert (summary.sent, summary.refused) == (1, 1)  # SMS sent; no push token: refused
    [sms] = world.gateway.sent
    assert sms.channel == "sms" and "已逾期5天" in sms.body
    assert run_strategy(world.desk, on + DAY).sent == 0  # next message in 3 days
    # At night the strategy's messages are refused and logged, not queued past the rule.
    world.clock.set(at_local(on + 4 * DAY, 22, 30))
    assert run_strategy(world.desk, on + 4 * DAY).sent == 0
    with world.desk.uow_factory() as uow:
        refused = uow.collections.contacts.refusals()
    assert any(r.rules == ("contact_hours",) for r in refused)


def test_agents_get_cases_round_robin_or_by_load_and_work_them_by_expected_recovery(
    db: sa.Engine,
    clock,
    vault,  # type: ignore[no-untyped-def]
) -> None:
    world = build_world(db, clock, vault, champion_only(assignment=AssignmentMode.ROUND_ROBIN))
    on = START
    for i, principal in enumerate(("3000.00", "9000.00", "6000.00", "12000.00")):
        from tests.integration.servicing_fixtures import LoanSpec

        on = overdue_loan(
            world, f"l-{i}", f"b-{i}", dpd=45, phone=f"1380000000{i}",
            spec=LoanSpec(principal=principal, periods=12),
        )  # fmt: skip
    sync_cases(world.desk, on)
    add_team(world, [("a-1", "lender"), ("a-2", "lender")])
    summary = assign_cases(world.desk)
    assert summary.to_agents == 4
    with world.desk.uow_factory() as uow:
        cases = uow.collections.cases.listing(limit=10)
    by_agent: dict[str, list[str]] = {}
    for case in cases:
        by_agent.setdefault(case.agent_id, []).append(case.loan_id)
    assert sorted(len(v) for v in by_agent.values()) == [2, 2]
    queue = work_queue(world.desk, "a-1", on)
    assert [c.expected for c in queue] == sorted((c.expected for c in queue), reverse=True)
    assert all(c.expected.is_positive() for c in queue)


def test_agency_cases_go_to_agencies_by_load_then_to_their_agents(world) -> None:  # type: ignore[no-untyped-def]
    on = START
    for i in range(4):
        on = overdue_loan(world, f"l-{i}", f"b-{i}", dpd=100, phone=f"1380000000{i}")
    sync_cases(world.desk, on)
    add_team(world, [("x-1", "agency-x"), ("y-1", "agency-y")], agencies=["agency-x", "agency-y"])
    summary = assign_cases(world.desk)
    assert (summary.to_agencies, summary.to_agents) == (4, 4)
    with world.desk.uow_factory() as uow:
        cases = uow.collections.cases.listing(limit=10)
    assert sorted(c.agency for c in cases) == ["agency-x", "agency-x", "agency-y", "agency-y"]
    assert all(c.agent_id == {"agency-x": "x-1", "agency-y": "y-1"}[c.agency] for c in cases)


def test_promises_are_kept_or_broken_and_followed_up(world) -> None:  # type: ignore[no-untyped-def]
    overdue_loan(world, "l-1", "b-1", dpd=10, phone="13800000001")
    on = overdue_loan(world, "l-2", "b-2", dpd=10, phone="13800000002")
    sync_cases(world.desk, on)
    kept_case, broken_case = case_for_loan(world, "l-1"), case_for_loan(world, "l-2")
    promise_kept = make_promise(
        world.desk, kept_case.case_id, amount=Money("500.00"), due_on=on + 3 * DAY, on=on,
        actor="staff:a-1",
    )  # fmt: skip
    make_promise(
        world.desk, broken_case.case_id, amount=Money("500.00"), due_on=on + 3 * DAY, on=on,
        actor="staff:a-1",
    )  # fmt: skip
    with pytest.raises(ValidationFailed):
        make_promise(
            world.desk, kept_case.case_id, amount=Money("500.00"), due_on=on + 60 * DAY, on=on,
            actor="staff:a-1",
        )  # fmt: skip
    world.clock.set(at_local(on + 2 * DAY, 9))
    assert review_promises(world.desk, on + 2 * DAY).reminded == 2  # due tomorrow
    pay(world, "l-1", "500.00", on + 3 * DAY, "ptp-1")
    review = review_promises(world.desk, on + 4 * DAY)
    assert (review.kept, review.broken) == (1, 0)  # the other is still within its grace day
    review = review_promises(world.desk, on + 5 * DAY)
    assert (review.kept, review.broken) == (0, 1)
    with world.desk.uow_factory() as uow:
        statuses = {
            p.promise_id: p.status
            for c in (kept_case, broken_case)
            for p in uow.collections.promises.for_case(c.case_id)
        }
    assert statuses[promise_kept.promise_id] is PromiseStatus.KEPT
    assert sorted(statuses.values()) == [PromiseStatus.BROKEN, PromiseStatus.KEPT]
    assert case_for_loan(world, "l-2").next_action_on == on + 5 * DAY  # back on top of the queue


def test_a_settlement_needs_a_second_approver_and_closes_the_loan_with_a_waiver(world) -> None:  # type: ignore[no-untyped-def]
    on = overdue_loan(world, "l-1", "b-1", dpd=60)
    sync_cases(world.desk, on)
    case = case_for_loan(world, "l-1")
    loan = stored_loan(world.wired, "l-1")
    owed = loan.receivables.total
    with pytest.raises(ValidationFailed):  # more than the largest discount allowed
        propose_settlement(
            world.desk, case.case_id, amount=Money("100.00"), on=on, actor="staff:a-1"
        )
    offer = propose_settlement(
        world.desk, case.case_id, amount=Money("6000.00"), on=on, actor="staff:a-1"
    )
    with pytest.raises(SameApprover):
        decide(world.desk, offer.resolution_id, approve=True, on=on, actor="staff:a-1")
    with pytest.raises(sa.exc.IntegrityError), world.wired.engine.begin() as conn:
        conn.execute(sa.text("UPDATE collection_resolutions SET approved_by = proposed_by"))
    world.clock.set(at_local(on, 10))
    approved = decide(world.desk, offer.resolution_id, approve=True, on=on, actor="staff:mgr")
    assert approved.status is ApprovalStatus.APPROVED
    assert "6000.00元结清" in world.gateway.sent[-1].body
    payment = pay_settlement(
        world.desk, offer.resolution_id, amount=Money("6000.00"), on=on + DAY, idempotency_key="s-1"
    )
    again = pay_settlement(
        world.desk, offer.resolution_id, amount=Money("6000.00"), on=on + DAY, idempotency_key="s-1"
    )
    assert again.payment_id == payment.payment_id
    settled = stored_loan(world.wired, "l-1")
    assert settled.status is LoanStatus.CLOSED
    assert settled.written_off is not None
    assert settled.written_off.total + Money("6000.00") == owed  # the rest was waived
    assert_ledger_matches(world.wired, "l-1")
    assert trial_balance_is_zero(world.wired.engine)
    with world.wired.engine.connect() as conn:
        waived = conn.execute(
            sa.text(
                "SELECT sum(amount_minor) FROM postings WHERE account ="
                " 'write_off_expense:settlement_waiver' AND loan_id = 'l-1'"
            )
        ).scalar_one()
    assert waived == settled.written_off.total.to_minor() > 0
    closed = uow_case(world, case.case_id)
    assert (closed.status, closed.close_reason) == (CaseStatus.CLOSED, CloseReason.SETTLED)
    # The closed loan uses none of its line (the waived principal is released too: it
    # stayed "used" before), and the line is frozen; the whole book verifies.
    from mobilend.bootstrap.ledger import verify_book
    from mobilend.domain.lines import LineStatus

    assert settled.line_id is not None
    with world.wired.lending.uow_factory() as uow:
        line = uow.lending.lines.get(settled.line_id)
    assert line.used_amount.is_zero()
    assert (line.status, line.freeze_reason) == (LineStatus.FROZEN, "collections_settled")
    book = verify_book(world.wired.engine)
    assert book.clean, book.mismatches


def uow_case(world, case_id: str):  # type: ignore[no-untyped-def]
    with world.desk.uow_factory() as uow:
        return uow.collections.cases.get(case_id)


def test_write_off_after_the_configured_days_then_recoveries(db: sa.Engine, clock, vault) -> None:  # type: ignore[no-untyped-def]
    from mobilend.domain.collections import ResolutionPolicy

    world = build_world(
        db, clock, vault, champion_only(resolution=ResolutionPolicy(write_off_after_dpd=90))
    )
    on = overdue_loan(world, "l-1", "b-1", dpd=80)
    sync_cases(world.desk, on)
    case = case_for_loan(world, "l-1")
    with pytest.raises(ValidationFailed):
        propose_write_off(world.desk, case.case_id, on=on, actor="staff:a-1")
    age_loan(world.wired, "l-1", on + 10 * DAY)
    sync_cases(world.desk, on + 10 * DAY)
    assert propose_write_offs(world.desk, on + 10 * DAY) == 1  # the nightly run finds it
    assert propose_write_offs(world.desk, on + 10 * DAY) == 0  # once
    with pytest.raises(Conflict):  # one proposal waits at a time
        propose_write_off(world.desk, case.case_id, on=on + 10 * DAY, actor="staff:a-1")
    with world.desk.uow_factory() as uow:
        [proposal] = uow.collections.resolutions.for_case(case.case_id)
    assert proposal.proposed_by == "system:collections"
    with pytest.raises(SameApprover):  # the system proposed: it cannot approve as well
        decide(
            world.desk,
            proposal.resolution_id,
            approve=True,
            on=on + 10 * DAY,
            actor="system:collections",
        )
    done = decide(
        world.desk, proposal.resolution_id, approve=True, on=on + 10 * DAY, actor="staff:mgr"
    )
    assert done.status is ApprovalStatus.DONE and done.entry_ids
    loan = stored_loan(world.wired, "l-1")
    assert loan.status is LoanStatus.WRITTEN_OFF
    assert_ledger_matches(world.wired, "l-1")
    record_recovery(
        world.desk, case.case_id, amount=Money("300.00"), on=on + 20 * DAY, idempotency_key="r-1"
    )
    record_recovery(
        world.desk, case.case_id, amount=Money("300.00"), on=on + 20 * DAY, idempotency_key="r-1"
    )
    assert stored_loan(world.wired, "l-1").recovered == Money("300.00")
    assert_ledger_matches(world.wired, "l-1")
    assert trial_balance_is_zero(world.wired.engine)
    sync_cases(world.desk, on + 21 * DAY)
    after = uow_case(world, case.case_id)
    assert after.status is CaseStatus.WRITTEN_OFF and after.collected == Money("300.00")


def test_a_hardship_plan_puts_the_case_in_arrangement_until_missed(world) -> None:  # type: ignore[no-untyped-def]
    on = overdue_loan(world, "l-1", "b-1", dpd=40)
    sync_cases(world.desk, on)
    case = case_for_loan(world, "l-1")
    plan = propose_plan(
        world.desk, case.case_id, on=on, actor="staff:a-1",
        instalments=[PlanInstalment(on + 7 * DAY, Money("400.00")), PlanInstalment(on + 37 * DAY, Money("8700.00"))],
    )  # fmt: skip
    decide(world.desk, plan.resolution_id, approve=True, on=on, actor="staff:mgr")
    assert uow_case(world, case.case_id).status is CaseStatus.ARRANGEMENT
    pay(world, "l-1", "400.00", on + 6 * DAY, "plan-1")
    assert review_resolutions(world.desk, on + 20 * DAY).plans_broken == 0
    review = review_resolutions(world.desk, on + 41 * DAY)
    assert review.plans_broken == 1
    assert uow_case(world, case.case_id).status is CaseStatus.OPEN


def test_concurrent_case_sync_keeps_one_open_case_per_loan(world) -> None:  # type: ignore[no-untyped-def]
    on = overdue_loan(world, "l-1", "b-1", dpd=10)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            sync_cases(world.desk, on)
        except sa.exc.IntegrityError as exc:  # the loser of the race: the index held
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with world.desk.uow_factory() as uow:
        assert len(uow.collections.cases.listing(limit=10)) == 1
