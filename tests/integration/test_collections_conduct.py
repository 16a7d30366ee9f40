"""The conduct gate on PostgreSQL: each rule refuses what it must (and logs the rule), the
call cap holds across agencies and under 30 concurrent attempts, a complaint pauses the
case, and the contact log cannot be rewritten."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa
from tests.integration.collections_fixtures import (
    add_team,
    at_local,
    build_world,
    case_for_loan,
    overdue_loan,
    set_case,
)
from tests.integration.servicing_fixtures import *  # noqa: F403  (fixtures)

from mobilend.app.collections.cases import sync_cases
from mobilend.app.collections.gate import STRATEGY_ACTOR, ContactRequest
from mobilend.app.collections.promises import file_complaint, review_complaint
from mobilend.domain.collections import Placement
from mobilend.domain.collections_conduct import Channel, ConductRefused, ConductRule, Party

pytestmark = pytest.mark.db


def refused_rules(world, request: ContactRequest) -> set[str]:  # type: ignore[no-untyped-def]
    with pytest.raises(ConductRefused) as caught:
        world.desk.gate.contact(request)
    with world.desk.uow_factory() as uow:
        logged = uow.collections.contacts.get(caught.value.attempt_id)
    assert logged is not None and not logged.allowed
    assert set(logged.rules) == {r.value for r in caught.value.rules}
    return set(logged.rules)


def call(case_id: str, agent: str) -> ContactRequest:
    return ContactRequest(case_id, f"staff:{agent}", Channel.CALL, "call_script")


@pytest.fixture
def world(db: sa.Engine, clock, vault):  # type: ignore[no-untyped-def]
    w = build_world(db, clock, vault)
    on = overdue_loan(w, "loan-a", "b-1", dpd=10)
    clock.set(at_local(on + dt.timedelta(days=1), 10))
    sync_cases(w.desk, on)
    add_team(w, [("agent-1", "lender")])
    set_case(w, case_for_loan(w, "loan-a").case_id, agent_id="agent-1", placement=Placement.AGENT)
    return w


def test_a_call_at_23_00_local_time_is_refused_and_logged(world) -> None:  # type: ignore[no-untyped-def]
    case = case_for_loan(world, "loan-a")
    world.clock.set(at_local(dt.date(2026, 2, 12), 23, 0))
    assert refused_rules(world, call(case.case_id, "agent-1")) == {ConductRule.CONTACT_HOURS.value}
    assert world.dialer.placed == []
    world.clock.set(at_local(dt.date(2026, 2, 12), 7, 59))
    assert refused_rules(world, call(case.case_id, "agent-1")) == {ConductRule.CONTACT_HOURS.value}
    world.clock.set(at_local(dt.date(2026, 2, 12), 21, 59))
    record = world.desk.gate.contact(call(case.case_id, "agent-1"))
    assert record.allowed and record.outcome == "connected" and record.recording_ref
    assert len(world.dialer.placed) == 1


def test_a_fourth_connected_call_is_refused_across_two_agencies(world) -> None:  # type: ignore[no-untyped-def]
    overdue_loan(world, "loan-b", "b-1", dpd=10, new_borrower=False)
    sync_cases(world.desk, dt.date(2026, 2, 10))
    add_team(
        world, [("ag-a1", "agency-a"), ("ag-b1", "agency-b")], agencies=["agency-a", "agency-b"]
    )
    first, second = case_for_loan(world, "loan-a"), case_for_loan(world, "loan-b")
    set_case(world, first.case_id, placement=Placement.AGENCY, agency="agency-a", agent_id="ag-a1")
    set_case(world, second.case_id, placement=Placement.AGENCY, agency="agency-b", agent_id="ag-b1")
    world.dialer.script = ["connected", "no_answer", "connected", "connected"]
    outcomes = [
        world.desk.gate.contact(call(first.case_id, "ag-a1")).outcome,
        world.desk.gate.contact(call(first.case_id, "ag-a1")).outcome,  # not connected: no slot
        world.desk.gate.contact(call(second.case_id, "ag-b1")).outcome,
        world.desk.gate.contact(call(second.case_id, "ag-b1")).outcome,
    ]
    assert outcomes == ["connected", "no_answer", "connected", "connected"]
    # The borrower had three connected calls from two agencies: the fourth is refused, for
    # either agency.
    assert refused_rules(world, call(first.case_id, "ag-a1")) == {ConductRule.DAILY_CALL_CAP.value}
    assert refused_rules(world, call(second.case_id, "ag-b1")) == {ConductRule.DAILY_CALL_CAP.value}
    assert len(world.dialer.placed) == 4
    # Another agency's agent cannot call a case that is not theirs at all.
    assert ConductRule.NOT_ASSIGNED.value in refused_rules(world, call(first.case_id, "ag-b1"))
    # The next local day the count starts again.
    world.clock.set(world.clock.now() + dt.timedelta(days=1))
    assert world.desk.gate.contact(call(first.case_id, "ag-a1")).allowed


def test_thirty_concurrent_call_attempts_connect_at_most_three(world) -> None:  # type: ignore[no-untyped-def]
    case = case_for_loan(world, "loan-a")
    results: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(30)

    def attempt() -> None:
        barrier.wait()
        try:
            outcome = world.desk.gate.contact(call(case.case_id, "agent-1")).outcome
        except ConductRefused as refused:
            outcome = ",".join(r.value for r in refused.rules)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=attempt) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("connected") == 3
    assert results.count(ConductRule.DAILY_CALL_CAP.value) == 27
    day = world.clock.now().astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    with world.desk.uow_factory() as uow:
        assert uow.collections.contacts.slots_taken("b-1", day, "call") == 3
        logged = uow.collections.contacts.for_case(case.case_id)
    assert sum(1 for r in logged if r.counted_call) == 3
    assert sum(1 for r in logged if not r.allowed) == 27


def test_a_banned_word_is_refused_and_nothing_is_sent(world) -> None:  # type: ignore[no-untyped-def]
    case = case_for_loan(world, "loan-a")

    def message(note: str) -> ContactRequest:
        return ContactRequest(
            case.case_id, "staff:agent-1", Channel.SMS, "agent_message", free_text={"note": note}
        )

    assert refused_rules(world, message("再不还钱就报 警抓你")) == {ConductRule.BANNED_WORDS.value}
    assert refused_rules(world, message("你这个老赖")) == {ConductRule.BANNED_WORDS.value}
    assert world.gateway.sent == []
    sent = world.desk.gate.contact(message("请于本周五前还款，如有困难可申请还款计划。"))
    assert sent.outcome == "sent"
    assert "本周五前还款" in world.gateway.sent[0].body
    assert world.gateway.sent[0].recipient == "13800138000"


def test_unapproved_templates_are_refused(world) -> None:  # type: ignore[no-untyped-def]
    case = case_for_loan(world, "loan-a")
    request = ContactRequest(case.case_id, "staff:agent-1", Channel.SMS, "my_own_words")
    assert refused_rules(world, request) == {ConductRule.UNAPPROVED_TEMPLATE.value}


def test_a_contact_person_may_get_a_call_back_request_but_never_the_debt(world) -> None:  # type: ignore[no-untyped-def]
    case = case_for_loan(world, "loan-a")
    person = world.collections.reach.add_contact_person("b-1", "spouse", "13900139000")

    def to_person(message: str = "") -> ContactRequest:
        return ContactRequest(
            case.case_id, "staff:agent-1", Channel.SMS, "callback_request",
            party=Party.CONTACT_PERSON, contact_person_id=person,
            free_text={"message": message} if message else {},
        )  # fmt: skip

    assert refused_rules(world, to_person("他在我们这里欠款5000元已逾期")) == {
        ConductRule.CONTACT_PERSON_DISCLOSURE.value
    }
    # The debt message template is not approved for contact persons at all.
    debt = ContactRequest(
        case.case_id, "staff:agent-1", Channel.SMS, "overdue_reminder",
        party=Party.CONTACT_PERSON, contact_person_id=person,
    )  # fmt: skip
    assert refused_rules(world, debt) == {
        ConductRule.TEMPLATE_CHANNEL.value,
        ConductRule.CONTACT_PERSON_DISCLOSURE.value,
    }
    assert world.gateway.sent == []
    record = world.desk.gate.contact(to_person())
    assert record.outcome == "sent"
    [message] = world.gateway.sent
    assert message.recipient == "13900139000"
    assert "回电" in message.body and "元" not in message.body and "逾期" not in message.body
    # Phone-book contacts are never contacted, whatever the template.
    phone_book = ContactRequest(
        case.case_id, "staff:agent-1", Channel.CALL, "callback_request", party=Party.THIRD_PARTY
    )
    assert ConductRule.THIRD_PARTY.value in refused_rules(world, phone_book)


def test_a_complaint_pauses_the_case_until_reviewed(world) -> None:  # type: ignore[no-untyped-def]
    case = case_for_loan(world, "loan-a")
    complaint = file_complaint(
        world.desk, case.case_id, channel="phone", summary="催收员语气粗暴", actor="staff:agent-1"
    )
    assert case_for_loan(world, "loan-a").paused
    assert refused_rules(world, call(case.case_id, "agent-1")) == {ConductRule.CASE_PAUSED.value}
    reminder = ContactRequest(case.case_id, STRATEGY_ACTOR, Channel.SMS, "overdue_reminder")
    assert refused_rules(world, reminder) == {ConductRule.CASE_PAUSED.value}
    with world.desk.uow_factory() as uow:
        assert uow.collections.cases.queue("agent-1", dt.date(2026, 3, 1)) == []
    review_complaint(
        world.desk,
        complaint.complaint_id,
        upheld=True,
        resolution="已培训该催收员",
        reviewer="staff:mgr",
    )
    assert not case_for_loan(world, "loan-a").paused
    assert world.desk.gate.contact(call(case.case_id, "agent-1")).allowed


def test_the_contact_log_is_a_record(world, db: sa.Engine) -> None:  # type: ignore[no-untyped-def]
    case = case_for_loan(world, "loan-a")
    world.clock.set(at_local(dt.date(2026, 2, 12), 23, 30))
    refused_rules(world, call(case.case_id, "agent-1"))
    with pytest.raises(sa.exc.DBAPIError, match="is a record"), db.begin() as conn:
        conn.execute(sa.text("UPDATE collection_contacts SET allowed = true, rules = '{}'"))
    with pytest.raises(sa.exc.DBAPIError, match="is a record"), db.begin() as conn:
        conn.execute(sa.text("DELETE FROM collection_contacts"))
