"""The day's applicants, worked apart from the rest of the simulated day.

New applicants and the existing book do not meet within a day: an applicant is a new
person (their own identity, device, address, line and loan), and the day's other work —
collections, agents' calls, scheduled payments — touches only loans paid out on earlier
days. So the applicants' journeys run in a process of their own (``ArrivalsProcess``)
while the main process works the book, and the two meet before the night: end of day
only starts once both are done.

The arrivals keep their own world on the same database (``sim.world``): their own clock,
rail and credit data sources, and ids counted from ``ARRIVALS_IDS_FROM`` so they never
meet the main process's ids. They own the random draws of the journeys (who takes an
offer, how the borrower will behave, when each installment will be paid), so a seed
gives the same run whether the arrivals run beside the day's other work or after it
(``InlineArrivals``; the test of the simulation compares the two). Funder routing only
happens here, in applicant order; the funders have no quota the book's repayments could
free, so routing does not depend on how the two processes interleave. The applications
themselves (sign-in and decision) may be made by either process (``sim.applying``):
this one goes on from each in applicant order.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import random
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

from mobilend.adapters.vault import FieldVault
from mobilend.app.funding.reconciliation import reconcile_rail
from mobilend.config import Settings
from mobilend.domain.decisions import DecisionOutcome
from mobilend.domain.errors import DomainError
from mobilend.domain.money import Money
from mobilend.sim.applicants import Person
from mobilend.sim.applying import (
    DRAW,
    Applied,
    HandedIn,
    NoneHandedIn,
    QueueHandedIn,
    applications_in_order,
    apply,
    arrival_of,
    journey_ids,
)
from mobilend.sim.behaviour import Behaviour, days_late, draw_behaviour
from mobilend.sim.journeys import Decided, InProcessJourneys, Journeys
from mobilend.sim.payments import Cursor, Numbered, Payment, SharedCursor, pay_shared
from mobilend.sim.world import World, build_world

DAY = dt.timedelta(days=1)
#: Share of approved applicants who take a loan.
TAKE_UP = 0.85
#: The arrivals' world counts its ids from here; the main process's from 1 << 80.
ARRIVALS_IDS_FROM = 1 << 100


@dataclass
class LoanTrack:
    loan_id: str
    person: Person
    behaviour: Behaviour
    amount: Money
    periods: int
    apr: str
    band: str
    funders: tuple[tuple[str, Money], ...]
    disbursed_on: dt.date
    first_30dpd: dt.date | None = None


@dataclass
class ArrivalsDay:
    """What one day's applicants did, for the main process to add to the run."""

    counts: Counter[str] = field(default_factory=Counter)
    decision_ms: list[float] = field(default_factory=list)
    payout_ms: list[float] = field(default_factory=list)
    applications: list[dict[str, Any]] = field(default_factory=list)
    loans: list[LoanTrack] = field(default_factory=list)
    #: The borrowers' payments by the day they will make them.
    calendar: dict[dt.date, list[Payment]] = field(default_factory=lambda: defaultdict(list))
    #: Borrower id → willingness to pay, and phone → borrower id (for collections).
    willingness: dict[str, float] = field(default_factory=dict)
    phone_owner: dict[str, str] = field(default_factory=dict)
    reconciliation_breaks: int = 0
    seconds: float = 0.0
    #: Seconds spent on the day's payments handed over by the main process.
    payment_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class ArrivalsEnd:
    #: Latency samples (ms) by name from the journeys (an HTTP run's requests).
    latencies: dict[str, list[float]]
    #: What the credit data the decisions bought cost.
    data_cost: Money


class Arrivals:
    """The applicants of a day through their journeys, in arrival order."""

    def __init__(
        self,
        world: World,
        journeys: Journeys,
        rng: random.Random,
        applies: Cursor,
        handed_in: HandedIn,
    ) -> None:
        self.world = world
        self.journeys = journeys
        self.rng = rng
        #: Which of the day's applications is next, counted with the main process.
        self.applies = applies
        self.handed_in = handed_in
        self.data_cost_handed_in = Money("0.00")

    def day(self, on: dt.date, people: list[Person]) -> ArrivalsDay:
        began = time.perf_counter()
        day = ArrivalsDay()
        made = partial(apply, self.world, self.journeys)
        for person, applied, handed_in in applications_in_order(
            people, made, self.applies, self.handed_in
        ):
            if handed_in:  # its credit data was bought in the main process
                self.data_cost_handed_in += applied.data_cost
            self._journey(day, person, applied)
        # The rail's statement of the day against the ledger; payouts only leave here.
        self.world.clock.at(on, 23, 45)
        day.reconciliation_breaks = len(reconcile_rail(self.world.platform.disbursement, on).breaks)
        day.seconds = time.perf_counter() - began
        return day

    def pay(
        self, on: dt.date, groups: list[list[Numbered]], cursor: Cursor
    ) -> tuple[Counter[str], float]:
        """Share the day's payments on loans no collections case holds with the main
        process (``sim.payments``), at the hour it makes the others; what happened here
        and how long it took."""
        began = time.perf_counter()
        self.world.clock.at(on, 19)
        counts = pay_shared(self.world.platform.lending, on, groups, cursor)
        return counts, time.perf_counter() - began

    def close(self) -> ArrivalsEnd:
        spent = sum((s.spend for s in self.world.sources.values()), self.data_cost_handed_in)
        return ArrivalsEnd(self.journeys.close(), spent)

    def _journey(self, day: ArrivalsDay, person: Person, applied: Applied) -> None:
        """The rest of the person's journey from their application, at their arrival."""
        counts = day.counts
        if applied.registered:
            counts["applied"] += 1
        application = applied.decided
        if application is None:
            counts[str(applied.refused)] += 1
            return
        self.world.clock.current = arrival_of(person)
        with self.world.ids.numbering_from(journey_ids(person, DRAW)):
            self._draw(day, person, str(applied.borrower_id), application)

    def _draw(
        self, day: ArrivalsDay, person: Person, borrower_id: str, application: Decided
    ) -> None:
        counts, journeys = day.counts, self.journeys
        day.decision_ms.append(application.ms)
        outcome = application.outcome
        counts[f"decision_{outcome.value}"] += 1
        record: dict[str, Any] = {"bad": person.bad, "outcome": outcome.value, "band": ""}
        day.applications.append(record)
        if outcome is not DecisionOutcome.APPROVE or application.line_id is None:
            return
        record["band"] = application.price_band
        if self.rng.random() >= TAKE_UP:
            counts["offer_not_taken"] += 1
            return
        limit = application.limit or Money("0")
        amount = Money(person.amount_yuan).min(limit)
        amount = Money(int(amount.amount // 100) * 100)
        if amount < Money(500):
            counts["limit_below_minimum"] += 1
            return
        try:
            contract = journeys.draft(
                person, borrower_id, application.line_id, amount, person.periods
            )
            signing = time.perf_counter()
            loan = journeys.sign(person, borrower_id, contract)
        except DomainError as exc:
            counts[f"sign_refused_{exc.code}"] += 1
            return
        counts["signed"] += 1
        paid = journeys.pay_out()
        day.payout_ms.append((time.perf_counter() - signing) * 1000)
        if not paid.get(loan.loan_id):
            counts["payout_failed"] += 1
            return
        counts["paid_out"] += 1
        behaviour = draw_behaviour(person.bad, person.periods, self.rng)
        day.willingness[borrower_id] = behaviour.willingness
        day.phone_owner[person.phone] = borrower_id
        track = LoanTrack(
            loan.loan_id, person, behaviour, amount, person.periods, contract.apr,
            application.price_band or "", loan.funders, person.arrives_at.date(),
        )  # fmt: skip
        day.loans.append(track)
        self._plan_payments(day, track, list(loan.installments))

    def _plan_payments(
        self, day: ArrivalsDay, track: LoanTrack, installments: list[tuple[int, dt.date]]
    ) -> None:
        behaviour = track.behaviour
        for n, due in installments:
            if behaviour.prepay_at and n == behaviour.prepay_at:
                early = due - self.rng.randint(1, 20) * DAY
                day.calendar[max(early, track.disbursed_on + DAY)].append(
                    (track.loan_id, "payoff", due)
                )
                return
            late = days_late(behaviour, n, self.rng)
            if late is not None:
                day.calendar[max(due + late * DAY, track.disbursed_on + DAY)].append(
                    (track.loan_id, "due", due)
                )


# --------------------------------------------------------------------------- runners


@dataclass(frozen=True, slots=True)
class ArrivalsSpec:
    """Everything the arrivals' world is built from (it crosses to another process)."""

    database_url: str
    vault: FieldVault
    settings: Settings
    start: dt.date
    data_version: str
    model_dir: Path
    http: bool
    rng_state: Any


def open_arrivals(spec: ArrivalsSpec, applies: Cursor, handed_in: HandedIn) -> Arrivals:
    from mobilend.adapters.db.engine import create_engine

    engine = create_engine(spec.database_url, pool_size=2, pool_pre_ping=False)
    world = build_world(
        engine, spec.vault, spec.settings, spec.start, spec.data_version, spec.model_dir,
        ids_from=ARRIVALS_IDS_FROM, register_funders=False,
    )  # fmt: skip
    journeys: Journeys = InProcessJourneys(world)
    if spec.http:
        from mobilend.sim.http_journey import HttpJourneys

        journeys = HttpJourneys(world)
    rng = random.Random()
    rng.setstate(spec.rng_state)
    return Arrivals(world, journeys, rng, applies, handed_in)


class ArrivalsRunner(Protocol):
    @property
    def cursor(self) -> Cursor:
        """Which group of the day's shared payments is next (``sim.payments``)."""
        ...

    @property
    def applies(self) -> Cursor:
        """Which of the day's applications is next (``sim.applying``)."""
        ...

    #: Whether the main process may make some of the day's applications (``hand_in``).
    shares_applications: bool

    def hand_in(self, made: tuple[int, Applied]) -> None:
        """An application of the day the main process made (its place in the day)."""
        ...

    def start_day(self, on: dt.date, people: list[Person]) -> None: ...

    def start_payments(self, on: dt.date, groups: list[list[Numbered]]) -> None:
        """The day's payments on loans no collections case holds, shared with the main
        process after the day's journeys; their counts come back with the day
        (``finish_day``)."""
        ...

    def finish_day(self) -> ArrivalsDay: ...

    def close(self) -> ArrivalsEnd: ...

    def abort(self) -> None:
        """Stop at once (the run failed); nothing more is reported."""
        ...


class InlineArrivals:
    """The day's applicants after the rest of the day, in this process."""

    shares_applications = False

    def __init__(self, spec: ArrivalsSpec) -> None:
        self.cursor = SharedCursor(multiprocessing.Value("q", 0))
        self.applies = SharedCursor(multiprocessing.Value("q", 0))
        self.arrivals = open_arrivals(spec, self.applies, NoneHandedIn())
        self._today: tuple[dt.date, list[Person]] | None = None
        self._payments: tuple[dt.date, list[list[Numbered]]] | None = None

    def start_day(self, on: dt.date, people: list[Person]) -> None:
        self.applies.reset()
        self._today = (on, people)

    def hand_in(self, made: tuple[int, Applied]) -> None:
        raise RuntimeError("the applications of a run in one process are all made here")

    def start_payments(self, on: dt.date, groups: list[list[Numbered]]) -> None:
        self._payments = (on, groups)

    def finish_day(self) -> ArrivalsDay:
        assert self._today is not None
        on, people = self._today
        self._today = None
        day = self.arrivals.day(on, people)
        if self._payments is not None:
            counts, day.payment_seconds = self.arrivals.pay(*self._payments, self.cursor)
            day.counts.update(counts)
            self._payments = None
        return day

    def close(self) -> ArrivalsEnd:
        return self.arrivals.close()

    def abort(self) -> None:
        self.arrivals.journeys.close()


def _serve(
    conn: Connection, spec: ArrivalsSpec, cursor: Cursor, applies: Cursor, inbox: Any
) -> None:
    """The arrivals process: a day's people in, what they did out, until told to close."""
    try:
        arrivals = open_arrivals(spec, applies, QueueHandedIn(inbox))
        conn.send(("ready", None))
        while True:
            command, on, work = conn.recv()
            if command == "close":
                conn.send(("ok", arrivals.close()))
                return
            if command == "pay":
                conn.send(("ok", arrivals.pay(on, work, cursor)))
                continue
            conn.send(("ok", arrivals.day(on, work)))
    except BaseException:  # reported to the main process, which stops the run
        conn.send(("error", traceback.format_exc()))


class ArrivalsProcess:
    """The day's applicants in a process of their own, beside the rest of the day."""

    def __init__(self, spec: ArrivalsSpec) -> None:
        # spawn: the main process holds database connections and threads a fork would copy
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self.cursor = SharedCursor(context.Value("q", 0))
        self.applies = SharedCursor(context.Value("q", 0))
        # Over HTTP the applications go through the API this process serves.
        self.shares_applications = not spec.http
        self._inbox = context.Queue()
        self._process = context.Process(
            target=_serve,
            args=(child, spec, self.cursor, self.applies, self._inbox),
            name="sim-arrivals",
            daemon=True,
        )
        self._process.start()
        child.close()
        self._paying = False
        self._receive()

    def _receive(self) -> Any:
        try:
            status, payload = self._conn.recv()
        except EOFError:
            raise RuntimeError("the simulation's arrivals process ended unexpectedly") from None
        if status == "error":
            raise RuntimeError(f"the simulation's arrivals process failed:\n{payload}")
        return payload

    def start_day(self, on: dt.date, people: list[Person]) -> None:
        self.applies.reset()
        self._conn.send(("day", on, people))
        self._paying = False

    def hand_in(self, made: tuple[int, Applied]) -> None:
        self._inbox.put(made)

    def start_payments(self, on: dt.date, groups: list[list[Numbered]]) -> None:
        self._conn.send(("pay", on, groups))
        self._paying = True

    def finish_day(self) -> ArrivalsDay:
        day: ArrivalsDay = self._receive()
        if self._paying:
            counts, day.payment_seconds = self._receive()
            day.counts.update(counts)
            self._paying = False
        return day

    def close(self) -> ArrivalsEnd:
        try:
            self._conn.send(("close", None, None))
            end: ArrivalsEnd = self._receive()
        finally:
            self._process.join(timeout=30)
            if self._process.is_alive():
                self._process.kill()
        return end

    def abort(self) -> None:
        self._process.kill()
        self._process.join(timeout=30)
