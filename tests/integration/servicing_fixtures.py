"""Fixtures and helpers of the servicing and job-queue tests (PostgreSQL).

Loans are built with the domain (any terms a test needs) and stored through the SQL
repositories with their disbursement entry and, when asked, a credit line; borrowers get
an encrypted phone and card like onboarding leaves them. ``Jobs`` runs the real job queue
(procrastinate on the test database) in this process until it has nothing left to do.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from mobilend.adapters.db.onboarding_tables import borrowers, consents
from mobilend.adapters.vault import FieldVault, KeyRing
from mobilend.app.onboarding.pii import BANK_CARD, PHONE, REAL_NAME
from mobilend.app.servicing.settings import ServicingSettings
from mobilend.bootstrap.servicing import ServicingRuntime, build_servicing_runtime
from mobilend.domain.daycount import DayCount, Frequency, PeriodUnit
from mobilend.domain.ledger import loan_balances
from mobilend.domain.lines import CreditLine
from mobilend.domain.loans import Loan
from mobilend.domain.loans_rules import ServicingRules
from mobilend.domain.money import Money
from mobilend.domain.schedules import generate_schedule
from mobilend.domain.terms import LoanTerms, RepaymentMethod

#: Only the fixtures, so a star import brings them in without shadowing warnings.
__all__ = ["clock", "jobs", "vault"]

DAY = dt.timedelta(days=1)
PRODUCT = "svc-test"
INDEX_KEY = b"\x22" * 32


class FakeClock:
    def __init__(self, now: dt.datetime | None = None) -> None:
        self.current = now or dt.datetime(2026, 1, 1, 2, 0, tzinfo=dt.UTC)

    def now(self) -> dt.datetime:
        return self.current

    def set(self, moment: dt.datetime) -> None:
        self.current = moment


@pytest.fixture
def vault() -> FieldVault:
    return FieldVault(KeyRing.generate("k1"), INDEX_KEY)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_runtime(
    db: sa.Engine,
    clock: FakeClock,
    vault: FieldVault,
    *,
    messages: Any = None,
    rail: Any = None,
    settings: ServicingSettings | None = None,
    partitions: int = 2,
    chunk_size: int = 1000,
) -> ServicingRuntime:
    wired = build_servicing_runtime(
        engine=db,
        clock=clock,
        messages=messages,
        rail=rail,
        vault=vault,
        servicing_settings=settings,
        partitions=partitions,
    )
    wired.eod.chunk_size = chunk_size
    return wired


# --------------------------------------------------------------------------- borrowers and loans


def add_borrower(
    db: sa.Engine,
    vault: FieldVault,
    borrower_id: str,
    *,
    phone: str = "13800138000",
    card: str = "6222021234567890128",
    marketing: bool = False,
) -> None:
    with db.begin() as conn:
        conn.execute(
            borrowers.insert().values(
                id=borrower_id,
                status="kyc_passed",
                phone_enc=vault.encrypt(PHONE, phone),
                phone_bidx=vault.blind_index(PHONE, phone),
                name_enc=vault.encrypt(REAL_NAME, "王小明"),
                bank_card_enc=vault.encrypt(BANK_CARD, card),
            )
        )
        if marketing:
            conn.execute(
                consents.insert().values(
                    id=f"c-{borrower_id}",
                    borrower_id=borrower_id,
                    purpose="marketing",
                    text_version="marketing-2026.1",
                    granted_at=dt.datetime(2025, 12, 1, tzinfo=dt.UTC),
                )
            )
        conn.execute(
            sa.text(
                "INSERT INTO products (code, definition) VALUES (:code, '{}')"
                " ON CONFLICT DO NOTHING"
            ),
            {"code": PRODUCT},
        )


@dataclass(frozen=True)
class LoanSpec:
    principal: str = "9000.00"
    periods: int = 3
    rate: str = "0.12"
    method: RepaymentMethod = RepaymentMethod.EQUAL_PRINCIPAL
    every_days: int | None = 30  # None: monthly
    penalty_rate: str = "0.18"
    grace: int = 3
    day_count: DayCount = DayCount.ACT_360


def open_loan(
    wired: ServicingRuntime,
    loan_id: str,
    borrower_id: str,
    start: dt.date,
    spec: LoanSpec = LoanSpec(),
    *,
    line_limit: str | None = "20000.00",
) -> Loan:
    """A disbursed loan (and its line) stored as the lending use cases store one."""
    frequency = (
        Frequency(spec.every_days, PeriodUnit.DAYS) if spec.every_days else Frequency.monthly()
    )
    terms = LoanTerms(
        principal=Money(spec.principal),
        periods=spec.periods,
        annual_rate=Decimal(spec.rate),
        method=spec.method,
        start_date=start,
        frequency=frequency,
        day_count=spec.day_count,
    )
    rules = ServicingRules(penalty_rate=Decimal(spec.penalty_rate), penalty_grace_days=spec.grace)
    line = None
    if line_limit is not None:
        line = CreditLine(
            line_id=f"line-{loan_id}",
            borrower_id=borrower_id,
            limit=Money(line_limit),
            expires_on=start + 400 * DAY,
            opened_on=start,
            product_code=PRODUCT,
        )
        line.draw(terms.principal, start)
    loan = Loan.create(
        loan_id,
        borrower_id,
        generate_schedule(terms),
        rules,
        line_id=line.line_id if line else None,
        product_code=PRODUCT,
    )
    entries = loan.disburse(start, wired.lending.new_id)
    with wired.lending.uow_factory() as uow:
        uow.lending.borrowers.ensure(borrower_id)
        if line is not None:
            uow.lending.lines.add(line)
        uow.lending.loans.add(loan)
        uow.lending.ledger.append(entries, borrower_id)
        uow.commit()
    return loan


def stored_loan(wired: ServicingRuntime, loan_id: str) -> Loan:
    with wired.lending.uow_factory() as uow:
        return uow.lending.loans.get(loan_id)


def assert_ledger_matches(wired: ServicingRuntime, loan_id: str) -> None:
    """The loan's balances rebuilt from its postings equal what the stored loan says."""
    with wired.lending.uow_factory() as uow:
        loan = uow.lending.loans.get(loan_id)
        rebuilt = loan_balances(uow.lending.ledger.entries_for_loan(loan_id), loan_id)
        assert rebuilt == loan.ledger_balances(), loan_id


def trial_balance_is_zero(db: sa.Engine) -> bool:
    with db.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT currency, sum(amount_minor) FROM postings GROUP BY currency")
        ).all()
    return all(int(total) == 0 for _, total in rows)


def account_balances(db: sa.Engine, loan_id: str) -> dict[str, int]:
    with db.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT split_part(account, ':', 1), sum(amount_minor) FROM postings"
                " WHERE loan_id = :id GROUP BY 1 HAVING sum(amount_minor) <> 0"
            ),
            {"id": loan_id},
        ).all()
    return {account: int(total) for account, total in rows}


# --------------------------------------------------------------------------- the job queue


JOB_TABLES = (
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_jobs",
    "procrastinate_workers",
)


@dataclass
class Jobs:
    """The real job queue on the test database, worked in this process."""

    db: sa.Engine
    runs: int = field(default=0)

    def use(self, wired: ServicingRuntime) -> None:
        from mobilend.jobs.queue import use_runtime

        use_runtime(wired)

    def request(self, business_date: dt.date, partitions: int | None = None) -> None:
        from mobilend.jobs.queue import queue_app

        kwargs: dict[str, Any] = {"business_date": business_date.isoformat()}
        if partitions is not None:
            kwargs["partitions"] = partitions
        queue_app.perform_import_paths()
        with queue_app.open():
            queue_app.tasks["eod.run_business_date"].defer(**kwargs)

    def work(self, queues: tuple[str, ...] = ("eod",)) -> None:
        """Run a worker until no job of ``queues`` is left (then it stops)."""
        from mobilend.jobs.queue import queue_app

        # Schedules stay out of the tests: a periodic job queued at a minute's tick
        # would run beside the test's own jobs.
        registry = queue_app.periodic_registry
        schedules, registry.periodic_tasks = registry.periodic_tasks, {}
        failures: list[BaseException] = []

        def run() -> None:
            try:
                queue_app.run_worker(
                    queues=list(queues),
                    wait=False,
                    install_signal_handlers=False,
                    listen_notify=False,
                    concurrency=1,
                )
            except BaseException as exc:  # handed to the test's thread below
                failures.append(exc)

        # In a thread of its own: the worker starts its own event loop, which asyncio
        # refuses in a thread where one already runs (Playwright's sync API leaves one
        # in the test thread when browser tests ran earlier in the same process).
        worker = threading.Thread(target=run, name="test-worker")
        try:
            worker.start()
            worker.join()
        finally:
            registry.periodic_tasks = schedules
        if failures:
            raise failures[0]
        self.runs += 1

    def run_date(self, business_date: dt.date, partitions: int | None = None) -> None:
        self.request(business_date, partitions)
        self.work()

    def statuses(self) -> dict[str, int]:
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT status::text, count(*) FROM procrastinate.procrastinate_jobs GROUP BY 1"
                )
            ).all()
        return {status: int(n) for status, n in rows}

    def closed_dates(self) -> list[dt.date]:
        with self.db.connect() as conn:
            return list(
                conn.execute(
                    sa.text(
                        "SELECT business_date FROM eod_business_dates WHERE status = 'done'"
                        " ORDER BY closed_at"
                    )
                ).scalars()
            )


def reset_job_queue(db: sa.Engine) -> None:
    with db.begin() as conn:
        tables = ", ".join(f"procrastinate.{name}" for name in JOB_TABLES)
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def jobs(db: sa.Engine) -> Iterator[Jobs]:
    from mobilend.jobs.queue import use_runtime

    reset_job_queue(db)
    try:
        yield Jobs(db)
    finally:
        use_runtime(None)
