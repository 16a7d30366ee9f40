"""The day's applications, shared by both processes of a simulation.

An application — sign-in, identity and consents, then the decision — reads and writes
only what is the applicant's own: their identity's exposure, lines and earlier
applications, the fraud counters of their own identity, phone, device, address and card,
the credit data bought for them. Nothing another journey does that day changes it. So
the applicants' process (``sim.arrivals``) does not have to make every application
itself: the main process, once its own day is done, takes the next application from a
counter the two share and hands the result over (``take_applications``); the applicants'
process takes the others and goes on with each journey (offer, contract, payout) in
applicant order, as funder routing needs.

Two applicants of a day may give the same ID number (the dataset's identities are drawn
from a birth date and a serial, and a few collide): the second is refused at sign-in
because the first registered. Such an applicant waits for their turn in applicant order
in the applicants' process (``waiting_their_turn``), so the first one is always first.

Which process decides an application changes nothing in the run: each journey numbers
its records from its own block of ids (``journey_ids``: by the applicant, one part for
the application and one for the rest), and the clock is the applicant's arrival time in
either process. The random draws of the journeys stay in the applicants' process, in
applicant order.
"""

from __future__ import annotations

import datetime as dt
import queue
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from mobilend.domain.errors import DomainError
from mobilend.domain.money import Money
from mobilend.sim.applicants import Person
from mobilend.sim.collections_month import ZONE
from mobilend.sim.journeys import Decided, Journeys
from mobilend.sim.payments import Cursor
from mobilend.sim.world import World

#: Journeys number their records from here: a block of 4,096 ids per applicant, the
#: application's first half and the offer, contract and payout's second.
#: (The main process counts from 1 << 80, the arrivals from 1 << 100, payments 1 << 110.)
JOURNEY_IDS_FROM = 1 << 120
APPLICATION, DRAW = 0, 1


def journey_ids(person: Person, part: int) -> int:
    """Where the ids of ``part`` (``APPLICATION`` or ``DRAW``) of ``person``'s journey start."""
    return JOURNEY_IDS_FROM + (person.index << 12) + (part << 11)


def arrival_of(person: Person) -> dt.datetime:
    """The person's arrival, in UTC (the simulated clock's time)."""
    return person.arrives_at.replace(tzinfo=ZONE).astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class Applied:
    """What an application came to, for the applicants' process to go on from."""

    #: Sign-in, identity and consents passed (an application was made).
    registered: bool
    borrower_id: str | None
    decided: Decided | None
    #: The refusal's count key (``register_refused_…`` / ``apply_refused_…``), if refused.
    refused: str | None
    #: What the credit data bought for the decision cost.
    data_cost: Money


def apply(world: World, journeys: Journeys, person: Person) -> Applied:
    """The person's sign-in and application, at their arrival time, with their ids."""
    world.clock.current = arrival_of(person)
    spent = _spend(world)
    with world.ids.numbering_from(journey_ids(person, APPLICATION)):
        try:
            borrower_id = journeys.register(person)
        except DomainError as exc:  # over HTTP, identity checks the in-process path skips
            return Applied(False, None, None, f"register_refused_{exc.code}", Money("0.00"))
        try:
            decided = journeys.apply(person, borrower_id)
        except DomainError as exc:
            return Applied(
                True, borrower_id, None, f"apply_refused_{exc.code}", _spend(world) - spent
            )
    return Applied(True, borrower_id, decided, None, _spend(world) - spent)


def waiting_their_turn(people: list[Person]) -> frozenset[int]:
    """The places of applicants whose ID number an earlier applicant of the day gave."""
    seen: set[str] = set()
    waiting = set()
    for k, person in enumerate(people):
        if person.national_id in seen:
            waiting.add(k)
        seen.add(person.national_id)
    return frozenset(waiting)


def _spend(world: World) -> Money:
    return sum((s.spend for s in world.sources.values()), Money("0.00"))


class HandedIn(Protocol):
    """Applications the main process made, as the applicants' process receives them."""

    def ready(self) -> list[tuple[int, Applied]]:
        """Those already here (does not wait)."""
        ...

    def wait(self) -> list[tuple[int, Applied]]:
        """At least one (waits for it)."""
        ...


class QueueHandedIn:
    """``HandedIn`` on a ``multiprocessing`` queue the main process puts into."""

    def __init__(self, inbox: Any) -> None:
        self._inbox = inbox

    def ready(self) -> list[tuple[int, Applied]]:
        found = []
        while True:
            try:
                found.append(self._inbox.get_nowait())
            except queue.Empty:
                return found

    def wait(self) -> list[tuple[int, Applied]]:
        return [self._inbox.get(), *self.ready()]


class NoneHandedIn:
    """Nothing is handed in (the applicants' process makes every application)."""

    def ready(self) -> list[tuple[int, Applied]]:
        return []

    def wait(self) -> list[tuple[int, Applied]]:
        raise RuntimeError("no application is handed in here")


def applications_in_order(
    people: list[Person],
    make: Callable[[Person], Applied],
    applies: Cursor,
    handed_in: HandedIn,
) -> Iterator[tuple[Person, Applied, bool]]:
    """Each person's ``Applied``, in applicant order: made here (``make``) when the shared
    counter gives it here, else waited for from the main process (the flag: handed in).
    While the next person's application is with the main process, the next free one is
    made here. Those waiting their turn are made here at their turn, whoever took them."""
    applied: dict[int, tuple[Applied, bool]] = {}
    waiting = waiting_their_turn(people)
    for i, person in enumerate(people):
        if i in waiting:
            applied[i] = (make(person), False)
        while i not in applied:
            applied.update((k, (a, True)) for k, a in handed_in.ready())
            if i in applied:
                break
            k = applies.take()
            if k < len(people):
                if k not in waiting:
                    applied[k] = (make(people[k]), False)
            else:
                applied.update((k, (a, True)) for k, a in handed_in.wait())
        yield person, *applied.pop(i)


def take_applications(
    world: World,
    journeys: Journeys,
    people: list[Person],
    applies: Cursor,
    hand_in: Callable[[tuple[int, Applied]], None],
) -> tuple[int, float]:
    """The main process's share: the next application from ``applies`` until none is left,
    each handed in as made; how many, and the seconds they took. The clock is put back."""
    began, made, now = time.perf_counter(), 0, world.clock.current
    waiting = waiting_their_turn(people)
    try:
        while (k := applies.take()) < len(people):
            if k in waiting:
                continue
            hand_in((k, apply(world, journeys, people[k])))
            made += 1
    finally:
        world.clock.current = now
    return made, time.perf_counter() - began
