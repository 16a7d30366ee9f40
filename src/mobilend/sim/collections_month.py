"""A simulated month of collections over N overdue loans, driving the real use cases:
end of day (set-based SQL) and behaviour scores each night, then the collections day
(case sync, promise and plan reviews, write-off proposals, assignment), a manager's
approvals, the strategy's reminders, agents and one agency working their queues through
the conduct gate, and borrowers paying (repayments, settlements, recoveries) as a seeded
behaviour model decides. Afterwards the contact log is audited against the conduct rules
and the ledger is verified.

Loans are three 30-day installments, disbursed so that on the first day their oldest
installment is 1–240 days past due (spread over M1 … M6+), aged to the eve of the month
with the domain's own end of day.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from mobilend.adapters.collections.simulated import MessageSink, SimulatedDialer
from mobilend.adapters.db.onboarding_tables import borrowers
from mobilend.adapters.db.servicing_tables import borrower_contact_settings
from mobilend.adapters.vault import FieldVault
from mobilend.app.collections.cases import follow_up, work_queue
from mobilend.app.collections.daily import run_collections_day, send_reminders
from mobilend.app.collections.desk import CollectionsDesk
from mobilend.app.collections.gate import ContactRequest
from mobilend.app.collections.hardship import owed_by_component
from mobilend.app.collections.ports import AgencyRecord, AgentRecord, CaseRecord
from mobilend.app.collections.promises import file_complaint, make_promise, review_complaint
from mobilend.app.collections.reports import RecoveryReport, recovery_report
from mobilend.app.collections.resolutions import (
    decide,
    pay_settlement,
    propose_plan,
    propose_settlement,
    record_recovery,
)
from mobilend.app.collections.settings import CollectionsSettings
from mobilend.app.lending.repayments import post_repayment
from mobilend.app.onboarding.pii import PHONE, REAL_NAME
from mobilend.app.servicing.daily import score_loans
from mobilend.app.servicing.desk import ServicingDesk
from mobilend.bootstrap.collections import build_collections
from mobilend.bootstrap.infra import build_infrastructure
from mobilend.bootstrap.lending import Lending, build_lending
from mobilend.config import Settings
from mobilend.domain.collections import (
    ApprovalStatus,
    CaseStatus,
    PlanInstalment,
    StrategyBook,
)
from mobilend.domain.collections_conduct import Channel, ConductRefused
from mobilend.domain.daycount import Frequency, PeriodUnit
from mobilend.domain.errors import DomainError
from mobilend.domain.loans import Loan
from mobilend.domain.loans_rules import ServicingRules
from mobilend.domain.money import Money
from mobilend.domain.schedules import generate_schedule
from mobilend.domain.terms import LoanTerms, RepaymentMethod
from mobilend.sim.collections_checks import ConductAudit, LedgerCheck, audit_conduct, verify_ledger

ZONE = ZoneInfo("Asia/Shanghai")
DAY = dt.timedelta(days=1)
PRODUCT = "SIM-3X30"
MANAGER = "staff:sim-manager"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
#: Days past due on day one, by bucket share: M1 40 %, M2 20 %, M3 12 %, M4 8 %, M5 6 %,
#: M6 5 %, beyond 9 %.
DPD_MIX = (
    (1, 30, 40),
    (31, 60, 20),
    (61, 90, 12),
    (91, 120, 8),
    (121, 150, 6),
    (151, 180, 5),
    (181, 240, 9),
)
WILLINGNESS = {"M1": 1.0, "M2": 0.7, "M3": 0.5, "M4": 0.4, "M5": 0.3, "M6": 0.2, "M6+": 0.12}


@dataclass(frozen=True, slots=True)
class MonthConfig:
    loans: int = 10_000
    days: int = 30
    seed: int = 7
    start: dt.date = dt.date(2026, 6, 1)
    lender_agents: int = 20
    agency_agents: int = 10
    calls_per_agent: int = 30
    challenger_percent: int = 20


@dataclass
class MonthResult:
    config: MonthConfig
    report: RecoveryReport
    audit: ConductAudit
    ledger: LedgerCheck
    counts: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    timings: dict[str, float] = field(default_factory=dict)


class SimClock:
    def __init__(self) -> None:
        self.current = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def now(self) -> dt.datetime:
        return self.current

    def at(self, day: dt.date, hour: int, minute: int = 0) -> None:
        self.current = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZONE).astimezone(
            dt.UTC
        )


# --------------------------------------------------------------------------- the portfolio


def _dpd(rng: random.Random) -> int:
    roll = rng.uniform(0, 100)
    for low, high, share in DPD_MIX:
        if roll < share:
            return rng.randint(low, high)
        roll -= share
    return rng.randint(1, 30)


def seed_portfolio(
    lending: Lending, engine: sa.Engine, vault: FieldVault, config: MonthConfig, rng: random.Random
) -> dict[str, float]:
    """N borrowers (sealed phone and name, push token) and one overdue loan each, aged to
    the eve of the month. Returns each borrower's willingness to pay (0–1)."""
    eve = config.start - DAY
    willingness: dict[str, float] = {}
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO products (code, definition) VALUES (:c, '{}') ON CONFLICT DO NOTHING"
            ),
            {"c": PRODUCT},
        )
    batch = 250
    for first in range(0, config.loans, batch):
        rows, settings, loans = [], [], []
        for i in range(first, min(first + batch, config.loans)):
            borrower_id, phone = f"SB{i:07d}", f"139{i:08d}"
            name = rng.choice(SURNAMES) + rng.choice("明华丽强军芳敏静磊洋")
            rows.append(
                {
                    "id": borrower_id, "status": "kyc_passed",
                    "phone_enc": vault.encrypt(PHONE, phone), "phone_bidx": vault.blind_index(PHONE, phone),
                    "name_enc": vault.encrypt(REAL_NAME, name),
                }
            )  # fmt: skip
            settings.append({"borrower_id": borrower_id, "push_token": f"tok-{i}"})
            dpd = _dpd(rng)
            start = eve - dt.timedelta(days=30 + dpd)
            principal = Money(rng.randrange(1000, 20001, 100))
            terms = LoanTerms(
                principal=principal, periods=3, annual_rate=Decimal("0.18"),
                method=RepaymentMethod.EQUAL_INSTALLMENT, start_date=start,
                frequency=Frequency(30, PeriodUnit.DAYS),
            )  # fmt: skip
            rules = ServicingRules(penalty_rate=Decimal("0.18"), penalty_grace_days=3)
            loan = Loan.create(
                f"SL{i:07d}", borrower_id, generate_schedule(terms), rules, product_code=PRODUCT
            )
            entries = loan.disburse(start, lending.new_id) + loan.accrue_to(eve, lending.new_id)
            loans.append((loan, entries))
            bucket = next(b for b, (lo, hi) in _BUCKET_RANGES.items() if lo <= dpd <= hi)
            willingness[borrower_id] = rng.random() * WILLINGNESS[bucket]
        with engine.begin() as conn:
            conn.execute(borrowers.insert(), rows)
            conn.execute(borrower_contact_settings.insert(), settings)
        with lending.uow_factory() as uow:
            for loan, entries in loans:
                uow.lending.borrowers.ensure(loan.borrower_id)
                uow.lending.loans.add(loan)
                uow.lending.ledger.append(entries, loan.borrower_id)
            uow.commit()
    return willingness


_BUCKET_RANGES = {
    "M1": (1, 30), "M2": (31, 60), "M3": (61, 90), "M4": (91, 120), "M5": (121, 150),
    "M6": (151, 180), "M6+": (181, 10_000),
}  # fmt: skip


def add_teams(desk: CollectionsDesk, config: MonthConfig) -> tuple[list[str], list[str]]:
    lender = [f"sim-agent-{i:02d}" for i in range(config.lender_agents)]
    agency = [f"sim-agency-{i:02d}" for i in range(config.agency_agents)]
    with desk.uow_factory() as uow:
        uow.collections.agents.add_agency(
            AgencyRecord("sim-agency", "模拟催收公司 (simulated agency)")
        )
        for agent_id in lender:
            uow.collections.agents.add_agent(
                AgentRecord(agent_id, agent_id, "lender", capacity=1000)
            )
        for agent_id in agency:
            uow.collections.agents.add_agent(
                AgentRecord(agent_id, agent_id, "sim-agency", capacity=1000)
            )
        uow.commit()
    return lender, agency


# --------------------------------------------------------------------------- one month


class Month:
    def __init__(
        self,
        engine: sa.Engine,
        vault: FieldVault,
        config: MonthConfig,
        settings: Settings,
        *,
        lending: Lending | None = None,
        clock: SimClock | None = None,
    ) -> None:
        """``lending`` and ``clock``: a portfolio already running (the year simulation)
        whose overdue loans these collections work; by default its own."""
        self.engine, self.vault, self.config = engine, vault, config
        self.rng = random.Random(config.seed)
        self.clock = clock or SimClock()
        if lending is None:
            infra = build_infrastructure(settings, engine=engine, clock=self.clock, vault=vault)
            lending = build_lending(infra=infra)
        self.lending = lending
        self.dialer = SimulatedDialer(self._answer)
        self.sink = MessageSink()
        collections_settings = CollectionsSettings(
            strategies=StrategyBook(challenger_percent=config.challenger_percent)
        )
        self.desk = build_collections(
            self.lending,
            vault=vault,
            messages=self.sink,
            dialer=self.dialer,
            settings=collections_settings,
        ).desk
        self.servicing = ServicingDesk(self.lending.uow_factory, self.lending.new_id, self.clock)
        self.willingness: dict[str, float] = {}
        self.phone_owner: dict[str, str] = {}
        self.counts: Counter[str] = Counter()
        self.refusals: Counter[str] = Counter()
        self.reminded: dict[str, dt.date] = {}

    # -- the borrowers' behaviour ----------------------------------------------------------
    def _answer(self, call_id: str, phone: str) -> str:
        w = self.willingness.get(self.phone_owner.get(phone, ""), 0.3)
        roll = self.rng.random()
        if roll < 0.35 + 0.4 * w:
            return "connected"
        return "no_answer" if roll < 0.9 else "busy"

    def _pay(self, loan_id: str, amount: Money, on: dt.date, key: str) -> bool:
        try:
            post_repayment(
                self.lending.uow_factory, self.lending.new_id, loan_id=loan_id, amount=amount,
                on=on, idempotency_key=key, channel="transfer",
            )  # fmt: skip
        except DomainError:
            return False
        self.counts["payments"] += 1
        self.counts["paid_fen"] += amount.to_minor()
        return True

    def _overdue(self, loan_id: str, on: dt.date) -> Money:
        """What brings the loan current today: every installment due before ``on``."""
        with self.lending.uow_factory() as uow:
            loan = uow.lending.loans.get(loan_id)
        return loan.overdue_amounts(on).total

    def run(self, progress: Callable[[str], None]) -> MonthResult:
        config, timings = self.config, {}
        started = time.perf_counter()
        self.willingness = seed_portfolio(self.lending, self.engine, self.vault, config, self.rng)
        self.phone_owner = {f"139{i:08d}": f"SB{i:07d}" for i in range(config.loans)}
        lender, agency = add_teams(self.desk, config)
        timings["seed_s"] = time.perf_counter() - started
        progress(f"seeded {config.loans} overdue loans in {timings['seed_s']:.0f}s")
        started = time.perf_counter()
        for k in range(config.days):
            business_date = config.start + k * DAY
            self._night(business_date)
            self._day(business_date + DAY, lender + agency)
            if k % 5 == 4 or k == config.days - 1:
                progress(f"day {k + 1}/{config.days}: {dict(self.counts)}")
        timings["month_s"] = time.perf_counter() - started
        self.clock.at(config.start + config.days * DAY, 3)
        run_collections_day(self.desk, config.start + config.days * DAY, send_messages=False)
        report = recovery_report(self.desk.uow_factory, self.desk.settings.buckets.rank)
        started = time.perf_counter()
        audit = audit_conduct(self.engine, self.desk.settings.conduct)
        ledger = verify_ledger(
            self.engine, self.lending.uow_factory, (f"SL{i:07d}" for i in range(config.loans))
        )
        timings["checks_s"] = time.perf_counter() - started
        with self.engine.connect() as conn:
            for rule, n in conn.execute(
                sa.text(
                    "SELECT unnest(rules), count(*) FROM collection_contacts"
                    " WHERE NOT allowed GROUP BY 1"
                )
            ):
                self.refusals[str(rule)] = int(n)
        with self.desk.uow_factory() as uow:
            for outcome, n in uow.collections.contacts.counts().items():
                self.counts[f"contact_{outcome}"] = n
            for status, n in uow.collections.promises.counts().items():
                self.counts[f"promise_{status}"] = n
        return MonthResult(config, report, audit, ledger, self.counts, self.refusals, timings)

    def _night(self, business_date: dt.date) -> None:
        self.clock.at(business_date, 23, 30)
        self.lending.eod.run(business_date)
        score_loans(self.servicing, business_date)

    def _day(self, on: dt.date, agents: list[str]) -> None:
        self.clock.at(on, 2, 30)
        day = run_collections_day(self.desk, on, send_messages=False)
        self.counts["cases_opened"] += day.cases.opened
        self.clock.at(on, 8, 30)
        self._approve(on)
        self._review_complaints(on)
        self.clock.at(on, 10)
        strategy = send_reminders(self.desk, on)
        self.counts["strategy_messages"] += strategy.sent
        self.note_reminded(on)
        self._work_queues(agents, on)
        self.clock.at(on, 20)
        self._borrowers_pay(on)

    def note_reminded(self, on: dt.date) -> None:
        """The borrowers the strategy messaged today (some pay in the app that evening)."""
        with self.desk.uow_factory() as uow:
            for case in uow.collections.cases.messaged_on(on):
                self.reminded[case.loan_id] = on

    def _acting_cases(self) -> list[str]:
        """Ids of the cases ``_borrowers_pay`` draws for — written off (a recovery),
        under a plan, open digital ones reminded — in the case listing's order."""
        with self.engine.connect() as conn:
            return list(conn.execute(_ACTING_CASES, {"reminded": list(self.reminded)}).scalars())

    def _approve(self, on: dt.date) -> None:
        with self.desk.uow_factory() as uow:
            waiting = uow.collections.resolutions.listing(
                status=ApprovalStatus.PROPOSED.value, limit=10_000
            )
        for record in waiting:
            try:
                decide(self.desk, record.resolution_id, approve=True, on=on, actor=MANAGER)
            except DomainError:
                continue
            self.counts[f"approved_{record.kind}"] += 1

    def _review_complaints(self, on: dt.date) -> None:
        with self.desk.uow_factory() as uow:
            open_ = uow.collections.complaints.listing("open", 1000)
        for complaint in open_:
            if complaint.received_at.astimezone(ZONE).date() < on:
                review_complaint(
                    self.desk,
                    complaint.complaint_id,
                    upheld=False,
                    resolution="录音复核无违规 (recording reviewed)",
                    reviewer=MANAGER,
                )
                self.counts["complaints_reviewed"] += 1

    def _work_queues(self, agents: list[str], on: dt.date) -> None:
        """Every agent's queue for the day, dialled in the order of the virtual clock:
        a complaint raised on one call must precede, in time too, every later contact
        with that borrower — the conduct audit reads the timestamps, not the call order."""
        calls: list[tuple[int, int, int, str, CaseRecord]] = []
        for index, agent in enumerate(agents):
            queue = work_queue(self.desk, agent, on, self.config.calls_per_agent)
            for slot, case in enumerate(queue):
                minutes = 10 * 60 + (slot * 20 + index * 3) % (11 * 60)  # after the reminders
                calls.append((minutes, index, slot, agent, case))
        calls.sort(key=lambda call: call[:3])
        for minutes, _, _, agent, case in calls:
            slot_time = dt.datetime.combine(on, dt.time(minutes // 60, minutes % 60), ZONE)
            # Never backwards: a complaint logged 2 minutes into a call moves the day on.
            self.clock.current = max(self.clock.current, slot_time.astimezone(dt.UTC))
            self._call(agent, case, on)

    def _call(self, agent: str, case: CaseRecord, on: dt.date) -> None:
        try:
            record = self.desk.gate.contact(
                ContactRequest(case.case_id, f"staff:{agent}", Channel.CALL, "call_script")
            )
        except ConductRefused:  # logged with its rules; counted from the log at the end
            follow_up(self.desk, case.case_id, on=on + DAY)
            return
        self.counts["calls"] += 1
        if record.outcome != "connected":
            follow_up(self.desk, case.case_id, on=on + DAY)
            return
        self.counts["connected"] += 1
        self._conversation(case, agent, on)

    def _conversation(self, case: CaseRecord, agent: str, on: dt.date) -> None:
        w, roll = self.willingness.get(case.borrower_id, 0.3), self.rng.random()
        actor = f"staff:{agent}"
        if roll < 0.004:
            self.clock.current += dt.timedelta(minutes=2)  # raised during the call, logged after it
            file_complaint(
                self.desk,
                case.case_id,
                channel="phone",
                summary="借款人对催收来电不满",
                actor=actor,
            )
            self.counts["complaints"] += 1
            return
        owed = case.owed
        overdue = self._overdue(case.loan_id, on)
        if not owed.is_positive() or not overdue.is_positive():
            follow_up(self.desk, case.case_id, on=on + 2 * DAY)
            return
        if case.dpd >= 90 and roll < 0.15:
            share = Decimal(self.rng.choice(("0.60", "0.70", "0.80")))
            with contextlib.suppress(DomainError):
                propose_settlement(
                    self.desk, case.case_id, amount=(owed * share).round(), on=on, actor=actor
                )
                self.counts["settlements_proposed"] += 1
        elif roll < 0.05:
            # The plan reschedules the loan: principal and fees in three parts, interest
            # and penalty waived (a concession the cost cap always admits).
            with self.desk.uow_factory() as uow:
                due = owed_by_component(uow.lending.loans.get(case.loan_id))
            parts = (due.principal + due.fees).allocate([Decimal(1)] * 3)
            plan = [PlanInstalment(on + (7 + 30 * n) * DAY, part) for n, part in enumerate(parts)]
            with contextlib.suppress(DomainError):
                propose_plan(
                    self.desk,
                    case.case_id,
                    instalments=plan,
                    on=on,
                    actor=actor,
                    reason="失业 (lost job)",
                )
                self.counts["plans_proposed"] += 1
        elif roll < 0.2 + 0.6 * w:
            share = Decimal(self.rng.choice(("0.3", "0.5", "1")))
            amount = (overdue * share).round().max(Money("1.00")).min(owed)
            with contextlib.suppress(DomainError):
                make_promise(
                    self.desk,
                    case.case_id,
                    amount=amount,
                    due_on=on + self.rng.randint(1, 5) * DAY,
                    on=on,
                    actor=actor,
                )
                self.counts["promises"] += 1
                return
        follow_up(self.desk, case.case_id, on=on + 2 * DAY)

    def _borrowers_pay(self, on: dt.date) -> None:
        with self.desk.uow_factory() as uow:
            pending = uow.collections.promises.pending(100_000)
            offers = uow.collections.resolutions.listing(
                "settlement", ApprovalStatus.APPROVED.value, 10_000
            )
            # Only the cases whose borrowers may pay tonight, not the whole book; in the
            # order of the case listing (the draws below follow it).
            acting = self._acting_cases()
            cases = uow.collections.cases.many(
                {*acting, *(p.case_id for p in pending if p.due_on == on)}
                | {o.case_id for o in offers}
            )
        for promise in pending:
            case = cases.get(promise.case_id)
            if case is None or promise.due_on != on or case.status is not CaseStatus.OPEN:
                continue
            if self.rng.random() < 0.4 + 0.55 * self.willingness.get(case.borrower_id, 0.3):
                self._pay(promise.loan_id, promise.amount, on, f"ptp-{promise.promise_id}")
        for offer in offers:
            w = (
                self.willingness.get(cases[offer.case_id].borrower_id, 0.3)
                if offer.case_id in cases
                else 0.3
            )
            if self.rng.random() < (0.15 + 0.3 * w):
                with contextlib.suppress(DomainError):
                    pay_settlement(
                        self.desk,
                        offer.resolution_id,
                        amount=offer.amount,
                        on=on,
                        idempotency_key=f"set-{offer.resolution_id}",
                    )
                    self.counts["settlements_paid"] += 1
        for case_id in acting:
            case = cases[case_id]
            w = self.willingness.get(case.borrower_id, 0.3)
            if case.status is CaseStatus.WRITTEN_OFF and self.rng.random() < 0.01:
                amount = Money(self.rng.randrange(100, 1001, 50))
                with contextlib.suppress(DomainError):
                    record_recovery(
                        self.desk,
                        case.case_id,
                        amount=amount,
                        on=on,
                        idempotency_key=f"rec-{case.case_id}-{on}",
                    )
                    self.counts["recoveries"] += 1
            elif (
                case.status is CaseStatus.OPEN
                and self.reminded.get(case.loan_id)
                and case.placement.value == "digital"
            ):
                if self.rng.random() < 0.03 + 0.12 * w:  # pays in the app after a reminder
                    overdue = self._overdue(case.loan_id, on)
                    if overdue.is_positive():
                        self._pay(case.loan_id, overdue, on, f"self-{case.loan_id}-{on}")
            elif case.status is CaseStatus.ARRANGEMENT and self.rng.random() < 0.1 + 0.3 * w:
                self._pay(
                    case.loan_id,
                    (case.owed * Decimal("0.25")).round().max(Money("1.00")),
                    on,
                    f"plan-{case.case_id}-{on}",
                )


_ACTING_CASES = sa.text(
    "SELECT id FROM collection_cases"
    " WHERE status IN ('written_off', 'arrangement')"
    " OR (status = 'open' AND placement = 'digital' AND loan_id = ANY(:reminded))"
    " ORDER BY expected_minor DESC, id"
    " LIMIT 100000"
)


def run_month(
    engine: sa.Engine, vault: FieldVault, settings: Settings, config: MonthConfig | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> MonthResult:  # fmt: skip
    return Month(engine, vault, config or MonthConfig(), settings).run(progress)
