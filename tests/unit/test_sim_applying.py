"""The simulation's shared applications: with another process taking applications from
the same counter, the applicants' process still gets every applicant's application
once, in applicant order, made here or handed in; a journey's ids are its own block and
the counter goes on where it was after it."""

from __future__ import annotations

import multiprocessing
import threading
import time
from typing import Any, cast

from mobilend.adapters.ids import SequentialIds
from mobilend.domain.money import Money
from mobilend.sim.applicants import Person
from mobilend.sim.applying import (
    APPLICATION,
    DRAW,
    Applied,
    QueueHandedIn,
    applications_in_order,
    journey_ids,
    waiting_their_turn,
)
from mobilend.sim.payments import SharedCursor


class _Person:
    def __init__(self, index: int) -> None:
        self.index = index
        # Every 50th gives the ID number of the one before it.
        self.national_id = f"ID{index - 1 if index % 50 == 49 else index}"


def _applied(person: Any, by: str) -> Applied:
    return Applied(True, f"{by}-{person.index}", None, None, Money("0.00"))


def _helper(cursor: SharedCursor, people: list[Any], inbox: Any, made: list[int]) -> None:
    """The main process's part: take, make (slowly), hand in."""
    waiting = waiting_their_turn(people)
    while (k := cursor.take()) < len(people):
        if k in waiting:
            continue
        time.sleep(0.002)
        inbox.put((k, _applied(people[k], "main")))
        made.append(k)


def test_every_application_comes_once_in_applicant_order_made_here_or_handed_in() -> None:
    people = cast(list[Person], [_Person(i) for i in range(400)])
    cursor = SharedCursor(multiprocessing.Value("q", 0))
    inbox = multiprocessing.Queue()
    made_there: list[int] = []
    helper = threading.Thread(target=_helper, args=(cursor, people, inbox, made_there))
    helper.start()

    order: list[int] = []

    def made_here(person: Person) -> Applied:
        time.sleep(0.001)
        order.append(person.index)
        return _applied(person, "here")

    seen = list(applications_in_order(people, made_here, cursor, QueueHandedIn(inbox)))
    helper.join(timeout=60)
    assert [person.index for person, _, _ in seen] == list(range(400))
    handed_in = {person.index for person, _, came in seen if came}
    assert handed_in == set(made_there) and 0 < len(handed_in) < 400
    for person, applied, came in seen:
        assert applied.borrower_id == f"{'main' if came else 'here'}-{person.index}"
    # One whose ID number came earlier that day is made here, once all before it are in.
    assert waiting_their_turn(people) == {k for k in range(400) if k % 50 == 49}
    for k in waiting_their_turn(people):
        assert k not in handed_in and order.count(k) == 1
        assert set(range(k)) <= set(order[: order.index(k)]) | handed_in


def test_a_journeys_ids_are_its_own_block_and_the_counter_goes_on_after_it() -> None:
    ids = SequentialIds()
    before = [ids.new_id() for _ in range(3)]
    person = cast(Person, _Person(7))
    with ids.numbering_from(journey_ids(person, APPLICATION)):
        application = [ids.new_id() for _ in range(100)]
    after = ids.new_id()
    assert after > before[-1] and after < application[0]  # where it was
    # The same journey numbered in another process (another counter) gets the same ids.
    other = SequentialIds(1 << 100)
    with other.numbering_from(journey_ids(person, APPLICATION)):
        assert [other.new_id() for _ in range(100)] == application
    with other.numbering_from(journey_ids(person, DRAW)):
        draw = other.new_id()
    next_person = cast(Person, _Person(8))
    assert application[-1] < draw < SequentialIds(journey_ids(next_person, APPLICATION)).new_id()
