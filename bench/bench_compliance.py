"""Compliance report and credit-bureau export speed on a seeded portfolio.

Seeds N people (a verified identity, a line, one loan drawn through the use cases, end
of day run to the month's end), then times on a fresh database:

1. ``compliance_report_in`` over the whole portfolio (loans checked per second);
2. ``export_bureau_month_in`` for the month (loans reported per second);
3. the same-run reference: loading every loan aggregate by id (``loans.get``), the
   per-loan cost most use cases pay.

    .venv/bin/python bench/bench_compliance.py              # 300 people
    .venv/bin/python bench/bench_compliance.py --people 2000

Uses MOBILEND_DATABASE_URL's server when set, else the embedded one under var/pg.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import sys
import time
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "integration")]

from compliance_fixtures import draw, line_for, person_account  # noqa: E402
from tests.lending_scenarios import make_product  # noqa: E402

from mobilend.adapters.db import admin  # noqa: E402
from mobilend.adapters.db.engine import database_url  # noqa: E402
from mobilend.adapters.ids import SortableIds  # noqa: E402
from mobilend.app.compliance.bureau import export_bureau_month_in  # noqa: E402
from mobilend.app.compliance.report import compliance_report_in  # noqa: E402
from mobilend.bootstrap.infra import load_vault  # noqa: E402
from mobilend.bootstrap.lending import build_lending  # noqa: E402
from mobilend.config import get_settings  # noqa: E402
from mobilend.domain.compliance import CostCapPolicy  # noqa: E402

OPENED = dt.date(2026, 1, 15)
MONTH_END = dt.date(2026, 1, 31)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=300)
    args = parser.parse_args()
    admin_url = database_url()
    name = f"mobilend_bench_{os.getpid()}"
    url = admin.create_database(admin_url, name, template=admin.migrated_template(admin_url))
    engine = sa.create_engine(url, pool_size=5)
    try:
        lending = dataclasses.replace(build_lending(engine=engine), cost_caps=CostCapPolicy())
        make_product(lending)
        vault = load_vault(get_settings())
        started = time.monotonic()
        loan_ids = []
        for n in range(args.people):
            account = f"bench-{n:06d}"
            person_account(engine, vault, account, person=1000 + n, phone_seq=n)
            line = line_for(lending, account, "20000")
            loan_ids.append(draw(lending, line, "5000").loan.loan_id)
        day = OPENED
        while day < MONTH_END:
            day += dt.timedelta(days=1)
            lending.eod.run(day)
        print(f"seeded {args.people} people and loans in {time.monotonic() - started:.1f} s")

        started = time.monotonic()
        with lending.uow_factory() as uow:
            report = compliance_report_in(uow, CostCapPolicy(), MONTH_END)
        report_s = time.monotonic() - started
        print(
            f"compliance report: {report_s:.2f} s, {len(loan_ids) / report_s:,.0f} loans/s "
            f"({len(report.breaches)} breaches)"
        )

        started = time.monotonic()
        with lending.uow_factory() as uow:
            exported = export_bureau_month_in(
                uow, vault, SortableIds(), month="2026-01",
                now=dt.datetime(2026, 2, 1, tzinfo=dt.UTC), lender_code="BENCH",
            )  # fmt: skip
            uow.commit()
        bureau_s = time.monotonic() - started
        print(
            f"bureau export: {bureau_s:.2f} s, "
            f"{exported.submission.regular_records / bureau_s:,.0f} loans/s"
        )

        started = time.monotonic()
        with lending.uow_factory() as uow:
            for loan_id in loan_ids:
                uow.lending.loans.get(loan_id)
        reference_s = time.monotonic() - started
        reference = len(loan_ids) / reference_s
        print(f"reference: loan aggregates loaded by id, {reference:,.0f} loans/s")
        print(
            f"ratios: report {len(loan_ids) / report_s / reference:.2f} × an aggregate load, "
            f"bureau {exported.submission.regular_records / bureau_s / reference:.2f} ×"
        )
    finally:
        engine.dispose()
        admin.drop_database(admin_url, name)


if __name__ == "__main__":
    main()
