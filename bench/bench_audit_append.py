"""What writing the audit record inside the transaction costs: repayments per second
with and without it, in the same run, on the same database.

Each repayment is the real use case (``post_repayment``: row lock, waterfall, ledger,
receipt) in its own unit of work. With the audit record, the unit of work appends one
hash-chained record just before committing, under the chain's advisory lock, which
it holds through the commit: audited transactions commit one at a time. Without it, the
same unit of work drops its queue. The two runs alternate (A B A B …) so a busy machine
weighs on both alike; the figure to compare is the ratio.

In a fresh database (on ``MOBILEND_DATABASE_URL``, or the embedded server):

    .venv/bin/python bench/bench_audit_append.py                  # 1 and 8 clients
    .venv/bin/python bench/bench_audit_append.py --seconds 5 --clients 1 4 16
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import itertools
import os
import statistics
import threading
import time
from decimal import Decimal

import sqlalchemy as sa

from mobilend.adapters.db import admin, migrate
from mobilend.adapters.db.engine import database_url
from mobilend.adapters.db.unit_of_work import SqlUnitOfWork, SqlUnitOfWorkFactory
from mobilend.app.lending.repayments import post_repayment
from mobilend.app.unit_of_work import UnitOfWorkFactory
from mobilend.bootstrap.lending import build_lending
from mobilend.domain.daycount import Frequency
from mobilend.domain.loans import Loan
from mobilend.domain.loans_rules import ServicingRules
from mobilend.domain.money import Money
from mobilend.domain.schedules import generate_schedule
from mobilend.domain.terms import LoanTerms, RepaymentMethod

START = dt.date(2026, 1, 1)
PAY_ON = START + dt.timedelta(days=1)
PRODUCT = "bench-audit"


class UnauditedUnitOfWork(SqlUnitOfWork):
    """The same unit of work, its audit queue dropped instead of appended."""

    def commit(self) -> None:
        self.audit.discard()
        self.connection.commit()


def open_loans(engine: sa.Engine, count: int) -> list[str]:
    lending = build_lending(engine=engine)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO products (code, definition) VALUES (:c, '{}')"), {"c": PRODUCT}
        )
    terms = LoanTerms(
        principal=Money("100000.00"), periods=12, annual_rate=Decimal("0.12"),
        method=RepaymentMethod.EQUAL_INSTALLMENT, start_date=START,
        frequency=Frequency.monthly(),
    )  # fmt: skip
    schedule = generate_schedule(terms)
    ids = [f"L-{n:05d}" for n in range(count)]
    with lending.uow_factory() as uow:
        for loan_id in ids:
            borrower = f"B-{loan_id}"
            loan = Loan.create(
                loan_id, borrower, schedule, ServicingRules(Decimal("0.18")), product_code=PRODUCT
            )
            entries = loan.disburse(START, lending.new_id)
            uow.lending.borrowers.ensure(borrower)
            uow.lending.loans.add(loan)
            uow.lending.ledger.append(entries, borrower)
        uow.commit()
    return ids


def repayments_per_second(
    factory: UnitOfWorkFactory, loans: list[str], clients: int, seconds: float, label: str
) -> float:
    new_id = build_lending(in_memory=True).new_id
    keys = itertools.count()
    lock = threading.Lock()
    stop = time.perf_counter() + seconds
    done = [0] * clients

    def client(n: int) -> None:
        mine = loans[n::clients]
        i = 0
        while time.perf_counter() < stop:
            with lock:
                key = f"{label}-{next(keys)}"
            post_repayment(
                factory, new_id, loan_id=mine[i % len(mine)], amount=Money("1.00"),
                on=PAY_ON, idempotency_key=key,
            )  # fmt: skip
            done[n] += 1
            i += 1

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    return sum(done) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each run")
    parser.add_argument("--rounds", type=int, default=3, help="A/B pairs per client count")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--loans", type=int, default=400)
    args = parser.parse_args()
    admin_url = database_url()
    name = f"mobilend_bench_audit_{os.getpid()}"
    url = admin.create_database(admin_url, name)
    engine = sa.create_engine(url, pool_size=max(args.clients) + 2, max_overflow=4)
    try:
        migrate.upgrade(url)
        loans = open_loans(engine, args.loans)
        audited = SqlUnitOfWorkFactory(engine)

        def unaudited() -> SqlUnitOfWork:
            return UnauditedUnitOfWork(engine)

        load = os.getloadavg()[0]
        print(f"{os.cpu_count()} cores, load average {load:.1f} before")
        for clients in args.clients:
            with_audit, without = [], []
            for r in range(args.rounds):
                without.append(
                    repayments_per_second(unaudited, loans, clients, args.seconds, f"n{clients}{r}")
                )
                with_audit.append(
                    repayments_per_second(audited, loans, clients, args.seconds, f"a{clients}{r}")
                )
            a, b = statistics.median(with_audit), statistics.median(without)
            print(
                f"{clients:>2} clients: with the audit record {a:,.0f} repayments/s, "
                f"without {b:,.0f}/s (medians of {args.rounds}); ratio {a / b:.2f}"
            )
        with engine.connect() as conn:
            records = conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one()
        print(f"audit records written: {records:,}; load average {os.getloadavg()[0]:.1f} after")
    finally:
        engine.dispose()
        admin.drop_database(admin_url, name)


if __name__ == "__main__":
    main()
