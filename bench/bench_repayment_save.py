"""Wall time and statements of one repayment, the loan saved two ways in the same run:
only the installments that changed (``SqlLoanRepository.save`` as it is) against the
reference of the whole schedule deleted and inserted again (as a save did before rows
were compared). Loans alternate between the two, so both see the same machine.

    .venv/bin/python bench/bench_repayment_save.py --loans 400 --periods 12

Runs in a fresh database on MOBILEND_DATABASE_URL's server, else the embedded one under
var/pg; the database is dropped afterwards.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import statistics
import time
from typing import Any

import sqlalchemy as sa

from mobilend.adapters.db import admin, migrate
from mobilend.adapters.db.engine import database_url
from mobilend.adapters.db.lending_repository import SqlLoanRepository
from mobilend.app.lending.lines import open_credit_line
from mobilend.app.lending.loans import draw_loan
from mobilend.app.lending.products import create_product
from mobilend.app.lending.repayments import post_repayment
from mobilend.bootstrap.lending import build_lending
from mobilend.domain.money import Money

OPENED_ON = dt.date(2026, 1, 15)
PRODUCT = {
    "code": "cash-12m", "name": "现金贷 12 期", "min_amount": "500.00",
    "max_amount": "50000.00", "min_periods": 3, "max_periods": 12, "annual_rate": "0.18",
    "method": "equal-installment", "penalty_rate": "0.05", "penalty_grace_days": 3,
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loans", type=int, default=400)
    parser.add_argument("--periods", type=int, default=12)
    args = parser.parse_args()

    admin_url = database_url()
    name = f"mobilend_bench_repayment_save_{os.getpid()}"
    url = admin.create_database(admin_url, name)
    engine = sa.create_engine(url, pool_size=2)
    try:
        migrate.upgrade(url)
        run(engine, args.loans, args.periods)
    finally:
        engine.dispose()
        admin.drop_database(admin_url, name)


def run(engine: sa.Engine, loans: int, periods: int) -> None:
    lending = build_lending(engine=engine)
    create_product(lending.uow_factory, PRODUCT, on=OPENED_ON, cost_caps=lending.cost_caps)
    drawn = []
    for k in range(loans):
        borrower = f"b-{k}"
        with lending.uow_factory() as uow:
            uow.lending.borrowers.ensure(borrower)
            uow.commit()
        line = open_credit_line(
            lending.uow_factory, lending.cost_caps, lending.new_id, borrower_id=borrower,
            product_code="cash-12m", limit=Money("20000.00"), opened_on=OPENED_ON,
            expires_on=OPENED_ON + dt.timedelta(days=365),
        )  # fmt: skip
        draw = draw_loan(
            lending.uow_factory, lending.cost_caps, lending.new_id, line_id=line.line_id,
            amount=Money("6000.00"), periods=periods, on=OPENED_ON,
        )  # fmt: skip
        drawn.append(draw.loan)

    # Statistics as a running database has them: the ledger's posting check plans its
    # lookup of the entry by them, and a freshly filled table would be scanned instead.
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
    replace_all = [False]
    stored_rows = SqlLoanRepository._stored_rows

    def forgetting(self: SqlLoanRepository, loan_id: str) -> Any:
        return None if replace_all[0] else stored_rows(self, loan_id)

    SqlLoanRepository._stored_rows = forgetting  # type: ignore[method-assign]
    statements = [0]

    def count(*_args: Any) -> None:
        statements[0] += 1

    sa.event.listen(engine, "before_cursor_execute", count)
    times: dict[str, list[float]] = collections.defaultdict(list)
    counts: dict[str, list[int]] = collections.defaultdict(list)
    for k, loan in enumerate(drawn):
        mode = "whole schedule replaced (reference)" if k % 2 else "changed rows only"
        replace_all[0] = bool(k % 2)
        first = loan.installments[0]
        before = statements[0]
        started = time.perf_counter()
        post_repayment(
            lending.uow_factory, lending.new_id, loan_id=loan.loan_id,
            amount=loan.overdue_amounts(first.due_date + dt.timedelta(days=1)).total,
            on=first.due_date, idempotency_key=f"pay-{k}", channel="transfer",
        )  # fmt: skip
        times[mode].append((time.perf_counter() - started) * 1000)
        counts[mode].append(statements[0] - before)
    reference = statistics.median(times["whole schedule replaced (reference)"])
    print(f"{loans} repayments of the first of {periods} installments")
    for mode in ("whole schedule replaced (reference)", "changed rows only"):
        median = statistics.median(times[mode])
        print(
            f"  {mode}: median {median:.2f} ms ({median / reference:.2f} x reference), "
            f"{statistics.mean(counts[mode]):.1f} statements per repayment"
        )


if __name__ == "__main__":
    main()
