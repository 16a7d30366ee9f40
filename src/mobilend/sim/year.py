"""A portfolio run through the real platform on a virtual business calendar.

Each business day, in order: the collections day (cases follow last night's end of day,
promises and plans reviewed, write-offs proposed and approved by a manager, reminders
through the conduct gate, agents and an agency calling their queues); the borrowers whose
payment falls today pay (by the behaviour model, ``sim.behaviour``), and those collections
reached pay as promised; the day's applicants arrive at their hour, apply, are decided by
the scoring engine, most accept an offer, sign, and the payout goes out through the rail
and comes back as its webhook, and the rail's statement is reconciled; at 23:30 end of
day (the set-based SQL job) and behaviour scores; then the partners' shares of the day's
collections.

Only loans with something due are touched on a day: each installment's payment day is
drawn when the loan is paid out and kept in a calendar here. The day's applicants run in
a process of their own beside the rest of the day and the night before it
(``sim.arrivals``; ``parallel=False`` runs them after the day's other work, in this
process); that process also shares the day's payments on loans no collections case holds
(``sim.payments``) while this one works the cases. The same seed gives the same run
either way: ids
come from counters, every random draw from seeded generators, and the two processes
touch different loans. Wall-clock figures (latencies, seconds) are the only ones that
vary.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from mobilend.adapters.vault import FieldVault
from mobilend.app.funding.funder_shares import post_funder_shares
from mobilend.app.servicing.daily import score_loans
from mobilend.config import Settings
from mobilend.domain.money import Money
from mobilend.sim.applicants import Person, draw_people, load_rows
from mobilend.sim.applying import take_applications
from mobilend.sim.arrivals import (
    ArrivalsDay,
    ArrivalsEnd,
    ArrivalsProcess,
    ArrivalsRunner,
    ArrivalsSpec,
    InlineArrivals,
    LoanTrack,
)
from mobilend.sim.collections_month import Month, MonthConfig, add_teams
from mobilend.sim.journeys import InProcessJourneys
from mobilend.sim.payments import Numbered, Payment, pay_scheduled, pay_shared, split
from mobilend.sim.world import World, build_world

DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class YearConfig:
    applicants: int = 1000
    days: int = 365
    seed: int = 1
    start: dt.date = dt.date(2026, 3, 2)  # a Monday
    #: Applicants arrive within the first this many days (default: the whole run); a
    #: short run gives its loans time to fall due.
    arrivals_within: int | None = None
    #: Agents per 1,000 applicants (at least two of each team).
    agents_per_thousand: float = 1.5
    #: Each applicant's journey through the borrower API over real HTTP (``--http``).
    http: bool = False
    #: The day's applicants in a process of their own, beside the rest of the day.
    parallel: bool = True


@dataclass
class YearRun:
    config: YearConfig
    people: list[Person]
    counts: Counter[str] = field(default_factory=Counter)
    decision_ms: list[float] = field(default_factory=list)
    payout_ms: list[float] = field(default_factory=list)
    loans: dict[str, LoanTrack] = field(default_factory=dict)
    applications: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[tuple[dt.date, dict[str, str]]] = field(default_factory=list)
    reconciliation_breaks: int = 0
    reconciliation_days: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    daily: list[dict[str, Any]] = field(default_factory=list)
    #: What the credit data the decisions bought cost (known when the arrivals close).
    data_cost: Money = field(default_factory=lambda: Money("0.00"))


class Year:
    def __init__(
        self,
        db: sa.Engine,
        vault: FieldVault,
        settings: Settings,
        config: YearConfig,
        model_dir: Path,
    ) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        rows, version = load_rows()
        window = min(config.days, config.arrivals_within or config.days)
        people = draw_people(config.applicants, config.start, window, self.rng, rows)
        if config.http:
            from mobilend.sim.http_journey import served_settings

            settings = served_settings(settings)
        self.world: World = build_world(db, vault, settings, config.start, version, model_dir)
        spec = ArrivalsSpec(
            db.url.render_as_string(hide_password=False), vault, settings, config.start,
            version, model_dir, config.http, self.rng.getstate(),
        )  # fmt: skip
        self.arrivals: ArrivalsRunner = (
            ArrivalsProcess(spec) if config.parallel else InlineArrivals(spec)
        )
        agents = max(2, round(config.applicants / 1000 * config.agents_per_thousand))
        self.month = Month(
            db,
            vault,
            MonthConfig(
                loans=0, days=config.days, seed=config.seed + 1, start=config.start,
                lender_agents=agents, agency_agents=max(2, agents // 2), calls_per_agent=40,
            ),
            settings,
            lending=self.world.platform.lending,
            clock=self.world.clock,
        )  # fmt: skip
        self.agents: list[str] = []
        self.run = YearRun(config, people)
        self.calendar: dict[dt.date, list[Payment]] = defaultdict(list)
        self._own_payments: list[Numbered] = []
        self._shared_payments: list[list[Numbered]] = []
        self.by_day: dict[dt.date, list[Person]] = defaultdict(list)
        for person in people:
            self.by_day[person.arrives_at.date()].append(person)
        #: The applicants the arrivals are working on (the main process may help).
        self._arriving: list[Person] = []
        self._journeys = InProcessJourneys(self.world)

    # ------------------------------------------------------------------ the run
    def simulate(self, progress: Callable[[int, dict[str, Any]], None]) -> YearRun:
        run, config = self.run, self.config
        lender, agency = add_teams(self.month.desk, self.month.config)
        self.agents = lender + agency
        started = time.perf_counter()
        phases = (
            ("collections_morning", self._collections_morning),
            ("payments_handover", self._hand_over_payments),
            ("agents", self._agents),
            ("payments", self._scheduled_payments),
            ("collections_evening", self._collections_evening),
            ("arrivals_wait", self._arrived),
            ("night", self._night),
        )
        self._start_arrivals(config.start)
        for k in range(config.days):
            on = config.start + k * DAY
            for name, phase in phases:
                began = time.perf_counter()
                phase(on)
                self._time(f"phase.{name}_s", time.perf_counter() - began)
            elapsed = round(time.perf_counter() - started)
            progress(
                k + 1, {"loans": len(run.loans), "applied": run.counts["applied"], "s": elapsed}
            )
        run.timings["days_s"] = time.perf_counter() - started
        return run

    def close(self) -> ArrivalsEnd:
        """Stop the arrivals (and an HTTP run's API server); their latency samples."""
        end = self.arrivals.close()
        self.run.data_cost = end.data_cost
        return end

    def abort(self) -> None:
        self.arrivals.abort()

    def _time(self, key: str, seconds: float) -> None:
        self.run.timings[key] = self.run.timings.get(key, 0.0) + seconds

    # ------------------------------------------------------------------ collections
    def _collections_morning(self, on: dt.date) -> None:
        month, clock = self.month, self.world.clock
        clock.at(on, 2, 30)
        from mobilend.app.collections.daily import run_collections_day, send_reminders

        day = run_collections_day(month.desk, on, send_messages=False)
        self.run.counts["cases_opened"] += day.cases.opened
        clock.at(on, 8, 30)
        month._approve(on)
        month._review_complaints(on)
        clock.at(on, 10)
        strategy = send_reminders(month.desk, on)
        self.run.counts["collection_messages"] += strategy.sent
        month.note_reminded(on)

    def _agents(self, on: dt.date) -> None:
        self.month._work_queues(self.agents, on)

    def _collections_evening(self, on: dt.date) -> None:
        self.world.clock.at(on, 20, 30)
        self.month._borrowers_pay(on)

    # ------------------------------------------------------------------ borrowers paying
    def _hand_over_payments(self, on: dt.date) -> None:
        """The day's payments on loans no collections case holds are shared with the
        arrivals process (``sim.payments``); the others are made here, at 19:00."""
        self._own_payments, self._shared_payments = split(self.world.db, self.calendar.pop(on, []))
        self.arrivals.cursor.reset()
        self.arrivals.start_payments(on, self._shared_payments)

    def _scheduled_payments(self, on: dt.date) -> None:
        self.world.clock.at(on, 19)
        lending, counts = self.world.platform.lending, self.run.counts
        counts.update(pay_scheduled(lending, on, self._own_payments))
        counts.update(pay_shared(lending, on, self._shared_payments, self.arrivals.cursor))
        self._own_payments, self._shared_payments = [], []

    # ------------------------------------------------------------------ applicants
    def _arrived(self, on: dt.date) -> None:
        """Wait for the day's applicants and add what they did to the run; then start the
        next day's, which may run while this night's end of day does (the night reads
        only loans paid out by today: a loan paid out tomorrow has accrued through today,
        so end of day passes it by, and the figures below leave it out)."""
        arrivals = self.arrivals
        if arrivals.shares_applications:
            made, seconds = take_applications(
                self.world, self._journeys, self._arriving, arrivals.applies, arrivals.hand_in
            )
            self._time("phase.applications_beside_s", seconds)
            self._time("applications_beside", made)
        day: ArrivalsDay = arrivals.finish_day()
        if on < self.config.start + (self.config.days - 1) * DAY:
            self._start_arrivals(on + DAY)
        run = self.run
        self._time("phase.arrivals_s", day.seconds)
        self._time("phase.payments_beside_s", day.payment_seconds)
        run.counts.update(day.counts)
        run.decision_ms.extend(day.decision_ms)
        run.payout_ms.extend(day.payout_ms)
        run.applications.extend(day.applications)
        run.loans.update((track.loan_id, track) for track in day.loans)
        for paid_on, payments in day.calendar.items():
            self.calendar[paid_on].extend(payments)
        self.month.willingness.update(day.willingness)
        self.month.phone_owner.update(day.phone_owner)
        run.reconciliation_days += 1
        run.reconciliation_breaks += day.reconciliation_breaks

    def _start_arrivals(self, on: dt.date) -> None:
        self._arriving = self.by_day.pop(on, [])
        self.arrivals.start_day(on, self._arriving)

    # ------------------------------------------------------------------ the night
    def _night(self, on: dt.date) -> None:
        world, run = self.world, self.run
        world.clock.at(on, 23, 30)
        started = time.perf_counter()
        world.platform.lending.eod.run(on)
        run.timings["eod_s"] = run.timings.get("eod_s", 0.0) + time.perf_counter() - started
        score_loans(self.month.servicing, on)
        post_funder_shares(world.platform.lending.uow_factory, on)
        self._delinquency(on)

    def _delinquency(self, on: dt.date) -> None:
        """First day each loan reached 30 days past due (vintage curves), and every 30 days a
        snapshot of each loan's bucket (roll rates)."""
        run = self.run
        with self.world.db.connect() as conn:
            for (loan_id,) in conn.execute(
                sa.text("SELECT id FROM loans WHERE dpd >= 30 AND closed_on IS NULL")
            ):
                track = run.loans.get(loan_id)
                if track is not None and track.first_30dpd is None:
                    track.first_30dpd = on
            active, outstanding, late = conn.execute(
                sa.text(
                    "SELECT count(*), coalesce(sum(outstanding_principal), 0),"
                    " count(*) FILTER (WHERE dpd >= 30) FROM loans"
                    " WHERE status = 'active' AND disbursed_on <= :on"
                ),
                {"on": on},
            ).one()
            run.daily.append(
                {
                    "day": on.isoformat(), "applied": run.counts["applied"],
                    "paid_out": run.counts["paid_out"], "active_loans": int(active),
                    "outstanding": float(Decimal(int(outstanding)) / 100), "dpd30": int(late),
                }
            )  # fmt: skip
            k = (on - self.config.start).days
            if k % 30 == 29 or k == self.config.days - 1:
                # Drawn by today (tomorrow's applicants may be drawing already).
                rows = conn.execute(
                    sa.text(
                        "SELECT id, status, dpd FROM loans"
                        " WHERE CAST(terms->>'start_date' AS date) <= :on"
                    ),
                    {"on": on},
                ).all()
                run.snapshots.append((on, {r[0]: delinquency_bucket(r[1], r[2]) for r in rows}))


def delinquency_bucket(status: str, dpd: int) -> str:
    if status == "written_off":
        return "written_off"
    if status != "active":
        return "closed"
    for bucket, floor in (("90+", 90), ("60-89", 60), ("30-59", 30), ("1-29", 1)):
        if dpd >= floor:
            return bucket
    return "current"
