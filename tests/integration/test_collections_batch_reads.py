"""The collections stores' batch reads (one query for a batch of cases or loans, where the
collections day used to read one case or loan at a time) return what the one-at-a-time
reads return: open cases by loan, cases by id, money received by loan, the contacts that
left today, and the digital cases the strategy messaged on a day."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa
from tests.integration.collections_fixtures import (
    age_loan,
    at_local,
    build_world,
    case_for_loan,
    overdue_loan,
)
from tests.integration.servicing_fixtures import *  # noqa: F403  (fixtures)

from mobilend.app.collections.cases import run_strategy, sync_cases
from mobilend.app.collections.promises import cash_in
from mobilend.app.collections.settings import CollectionsSettings
from mobilend.app.lending.repayments import post_repayment
from mobilend.domain.collections import StrategyBook
from mobilend.domain.errors import NotFound
from mobilend.domain.money import Money

pytestmark = pytest.mark.db

DAY = dt.timedelta(days=1)


@pytest.fixture
def world(db: sa.Engine, clock, vault):  # type: ignore[no-untyped-def]
    return build_world(
        db, clock, vault, CollectionsSettings(strategies=StrategyBook(challenger_percent=0))
    )


def test_batch_reads_match_the_one_at_a_time_reads(world) -> None:  # type: ignore[no-untyped-def]
    on = overdue_loan(world, "l-a", "b-a", dpd=5, phone="13800000001")
    overdue_loan(world, "l-b", "b-b", dpd=5, phone="13800000002")
    overdue_loan(world, "l-c", "b-c", dpd=5, phone="13800000003")
    world.clock.set(at_local(on, 3))
    assert sync_cases(world.desk, on).opened == 3
    post_repayment(
        world.wired.lending.uow_factory, world.wired.lending.new_id, loan_id="l-b",
        amount=Money("10.00"), on=on, idempotency_key="k-b", channel="transfer",
    )  # fmt: skip
    world.clock.set(at_local(on, 10))
    assert run_strategy(world.desk, on).sent > 0
    a, b = case_for_loan(world, "l-a"), case_for_loan(world, "l-b")

    with world.desk.uow_factory() as uow:
        cases = uow.collections.cases
        by_loan = cases.open_for_loans(["l-a", "l-b", "l-none"], for_update=True)
        assert by_loan == {"l-a": a, "l-b": b}
        assert cases.open_for_loans([]) == {}
        assert cases.many([a.case_id, b.case_id, "nope"]) == {a.case_id: a, b.case_id: b}
        received = cases.cash_in({"l-a", "l-b"})
        assert received == {"l-a": cash_in(uow, "l-a"), "l-b": cash_in(uow, "l-b")}
        assert received["l-b"] == Money("10.00") and received["l-a"] == Money("0.00")
        messaged = cases.messaged_on(on)
        assert {c.loan_id for c in messaged} == {"l-a", "l-b", "l-c"}
        assert cases.messaged_on(on + DAY) == []
        sent = uow.collections.contacts.sent_on([a.case_id], on)
        one_by_one = {
            (c.case_id, c.template, c.channel.value)
            for c in uow.collections.contacts.for_case(a.case_id)
            if c.allowed and c.local_day == on
        }
        assert sent == one_by_one and sent
        assert uow.collections.contacts.sent_on([a.case_id], on + DAY) == set()


def test_a_case_closed_on_cure_is_not_among_the_open_ones(world) -> None:  # type: ignore[no-untyped-def]
    on = overdue_loan(world, "l-a", "b-a", dpd=3, phone="13800000001")
    world.clock.set(at_local(on, 3))
    sync_cases(world.desk, on)
    case = case_for_loan(world, "l-a")
    with world.wired.lending.uow_factory() as uow:
        due = uow.lending.loans.get("l-a").overdue_amounts(on + DAY).total
    post_repayment(
        world.wired.lending.uow_factory, world.wired.lending.new_id, loan_id="l-a",
        amount=due, on=on + DAY, idempotency_key="cure", channel="transfer",
    )  # fmt: skip
    age_loan(world.wired, "l-a", on + DAY)
    assert sync_cases(world.desk, on + DAY).cured == 1
    with world.desk.uow_factory() as uow:
        assert uow.collections.cases.open_for_loans(["l-a"]) == {}
        assert uow.collections.cases.many([case.case_id])[case.case_id].closed_on == on + DAY


def test_the_gate_finds_the_borrower_from_the_case_in_one_read(world) -> None:  # type: ignore[no-untyped-def]
    on = overdue_loan(world, "l-a", "b-a", dpd=3, phone="13800000001")
    world.clock.set(at_local(on, 3))
    sync_cases(world.desk, on)
    case = case_for_loan(world, "l-a")
    reach = world.collections.reach
    by_case = reach.reach_for_case(case.case_id)
    assert by_case == reach.reach("b-a")
    assert by_case.borrower_id == "b-a" and by_case.phone == "13800000001"
    with pytest.raises(NotFound, match="no collection case"):
        reach.reach_for_case("no-such-case")
    with pytest.raises(NotFound, match="borrower"):
        reach.reach("no-such-borrower")


def test_save_many_writes_each_case_as_save_does(world) -> None:  # type: ignore[no-untyped-def]
    on = overdue_loan(world, "l-a", "b-a", dpd=5, phone="13800000001")
    overdue_loan(world, "l-b", "b-b", dpd=5, phone="13800000002")
    world.clock.set(at_local(on, 3))
    sync_cases(world.desk, on)
    a, b = case_for_loan(world, "l-a"), case_for_loan(world, "l-b")
    moved_a = dataclasses.replace(a, dpd=9, owed=Money("1.23"), version=a.version + 1)
    moved_b = dataclasses.replace(
        b, next_action_on=on + 3 * DAY, agent_id="ag-1", version=b.version + 1
    )
    with world.desk.uow_factory() as uow:
        uow.collections.cases.save_many([moved_a, moved_b])
        uow.collections.cases.save_many([])
        uow.commit()
    with world.desk.uow_factory() as uow:
        assert uow.collections.cases.many([a.case_id, b.case_id]) == {
            a.case_id: moved_a,
            b.case_id: moved_b,
        }
