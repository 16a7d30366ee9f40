"""In-process figures: schedules per second, single-row PD latency, credit decisions.

No database and no HTTP: these measure the lending and risk code itself, against the
bare arithmetic (a plain Decimal loop) and a numpy dot product of the same width.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from stdnum.cn import ric

from mobilend.benchmarks.measure import Results, Sizes, percentile, rate_per_second, time_each
from mobilend.benchmarks.references import decimal_loop_per_s, numpy_dot_p50_us
from mobilend.domain.daycount import DayCount
from mobilend.domain.decisions import Applicant
from mobilend.domain.money import Money
from mobilend.domain.products import FeeKind, FeeRule, LoanTerms, RepaymentMethod
from mobilend.domain.schedules import generate_schedule

DATA_FILE = "credit_data.csv"
TARGET, ID_COLUMN = "Status", "rownames"
DECIDED_ON = dt.date(2026, 11, 2)
# Districts whose codes were valid in every birth year used here (stdnum checks the year).
REGIONS = ("110105", "310104")
PRODUCTS = ("cash", "phone", "sme")
COSTS = {"telco": Money("0.50"), "bureau": Money("2.00"), "ecommerce": Money("0.30")}


def decimal_reference(results: Results, sizes: Sizes) -> None:
    """The plain Decimal loop, once per run: several figures read against it."""
    if "references.decimal_loop_per_s" not in results.values:
        per_s = decimal_loop_per_s(sizes.seconds)
        results.reference("decimal_loop_per_s", per_s)
        results.reference("decimal_loop_ms", 1000 / per_s)


# --------------------------------------------------------------------------- schedules


def twelve_period_terms(count: int = 500) -> list[LoanTerms]:
    """Varied amounts, rates and start dates so no two loans are alike."""
    return [
        LoanTerms(
            principal=Money.from_minor(100_000 + 7919 * i),
            periods=12,
            annual_rate=Decimal(800 + i % 1600) / 10000,
            method=RepaymentMethod.EQUAL_INSTALLMENT,
            day_count=DayCount.ACT_360,
            start_date=dt.date(2024, 1, 1) + dt.timedelta(days=i % 365),
            fees=(FeeRule(FeeKind.PER_INSTALLMENT, amount=Money("3")),),
        )
        for i in range(count)
    ]


def schedules(results: Results, sizes: Sizes) -> None:
    decimal_reference(results, sizes)
    loans = twelve_period_terms()
    per_s = rate_per_second(lambda i: generate_schedule(loans[i % len(loans)]), sizes.seconds)
    results.figure(
        "schedules.per_s", per_s,
        label="12-period equal-installment schedules", unit="/s",
        reference="decimal_loop_per_s", reference_label="plain Decimal 12-period loop, /s",
        per="schedules per loop iteration",
    )  # fmt: skip


# --------------------------------------------------------------------------- PD model


def pd_scorer(sizes: Sizes, details: dict[str, Any]) -> Any:
    """The default PD model; at the quick size, when it was never trained, a scorecard
    trained in seconds instead (the full size trains the default, which takes minutes)."""
    from mobilend.bootstrap.risk import risk_model_dir
    from mobilend.config import get_settings
    from mobilend.risk.model import TrainingConfig, load_model, save_model, train_model
    from mobilend.risk.model.artifact import MANIFEST
    from mobilend.risk.model.defaults import (
        DEFAULT_GOOD_LABEL,
        default_training_data,
        ensure_default_model,
    )
    from mobilend.risk.model.features import read_csv_frame
    from mobilend.risk.model.kinds import CandidateKind

    directory = risk_model_dir(get_settings())
    if sizes.name == "quick" and not (directory / MANIFEST).is_file():
        frame = read_csv_frame(default_training_data())
        config = TrainingConfig(folds=2, repeats=1, candidates=(CandidateKind.SCORECARD,))
        trained = train_model(
            frame, TARGET, ID_COLUMN, good_label=DEFAULT_GOOD_LABEL, config=config
        )
        directory = save_model(trained, Path(tempfile.mkdtemp(prefix="mobilend-bench-model-")))
        details["model"] = "scorecard trained for this run (no default model under var/)"
    else:
        directory = ensure_default_model(directory)
        details["model"] = f"default model ({directory})"
    return load_model(directory)


def feature_rows(count: int) -> list[dict[str, Any]]:
    from mobilend.risk.model.defaults import default_training_data
    from mobilend.risk.model.features import read_csv_frame

    frame = read_csv_frame(default_training_data())
    records = frame.drop(columns=[TARGET, ID_COLUMN]).to_dict("records")
    return [records[i % len(records)] for i in range(count)]


def model(results: Results, sizes: Sizes, scorer: Any) -> None:
    rows = feature_rows(sizes.pd_rows)
    results.reference("numpy_dot_p50_us", numpy_dot_p50_us(len(rows[0]), sizes.pd_rows))
    samples = time_each(scorer.score_one, rows, warmup=200)
    results.figure(
        "model.pd_p50_us", percentile(samples, 50) * 1e6,
        label="single-row PD (`score_one` with reasons), p50", unit="µs",
        reference="numpy_dot_p50_us", reference_label="numpy dot of one feature row, p50 µs",
        per="dot products per PD",
    )  # fmt: skip
    results.values["model.pd_p99_us"] = percentile(samples, 99) * 1e6


# --------------------------------------------------------------------------- decisions


def make_applicant(i: int, tag: str = "A") -> Applicant:
    birth = dt.date(1972 + i % 30, 1 + i % 12, 1 + i % 28)
    body = f"{REGIONS[i % len(REGIONS)]}{birth:%Y%m%d}{i % 1000:03d}"
    product = PRODUCTS[i % 3]
    declared: dict[str, Any] = {"requested_amount": "8000", "term_months": 12}
    if product == "phone":
        declared["purchase_price"] = "5999"
    return Applicant(
        application_id=f"{tag}{i:07d}",
        borrower_id=f"B{i:07d}",
        product_code=product,
        full_name=f"申请人{i}",
        national_id=body + ric.calc_check_digit(body + "0"),
        phone=f"13{i:09d}",
        region_code=REGIONS[i % len(REGIONS)],
        device_id=f"dev-{i}",
        ip_address=f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",
        bank_card=f"6222{i:012d}",
        monthly_income=Money(str(4000 + (i * 37) % 16000)),
        declared=declared,
    )


class Prefetched:
    """A credit data source whose reports were fetched before the clock started."""

    def __init__(self, name: str, reports: dict[str, dict[str, Any]], version: str) -> None:
        self.name = name
        self.reports = reports
        self.version = version

    def fetch(self, applicant: Applicant, on: dt.date) -> Any:
        from mobilend.risk.ports import SourceReport

        return SourceReport(
            self.name, self.reports[applicant.national_id], self.version, on, COSTS[self.name]
        )


def decision(results: Results, sizes: Sizes, scorer: Any) -> None:
    """Full decisions in process (policies, PD model, fraud checks, decision records),
    the three credit reports per applicant already fetched."""
    from mobilend.risk.engine import RiskDecisionEngine
    from mobilend.risk.fraud import InMemoryFraudSignalStore
    from mobilend.risk.model.datasets import data_file
    from mobilend.risk.records import InMemoryDecisionRecordStore
    from mobilend.sandbox.credit_profiles import (
        CreditDataset,
        bureau_report,
        ecommerce_profile,
        telco_record,
    )

    decimal_reference(results, sizes)
    dataset = CreditDataset(data_file(DATA_FILE))
    people = [make_applicant(i) for i in range(sizes.decisions)]
    reports: dict[str, dict[str, dict[str, Any]]] = {"telco": {}, "bureau": {}, "ecommerce": {}}
    for person in people:
        row = dataset.row_for(person.national_id)
        reports["telco"][person.national_id] = telco_record(row, person.phone, True)
        reports["bureau"][person.national_id] = bureau_report(row, person.national_id, True)
        reports["ecommerce"][person.national_id] = ecommerce_profile(row, person.national_id)
    sources = {name: Prefetched(name, rep, dataset.data_version) for name, rep in reports.items()}
    engine = RiskDecisionEngine(
        scorer=scorer,
        sources=sources,  # type: ignore[arg-type]
        fraud_store=InMemoryFraudSignalStore(),
        records=InMemoryDecisionRecordStore(),
    )
    engine.decide(make_applicant(sizes.decisions + 1, "W"), DECIDED_ON)  # compile, warm up
    samples = time_each(lambda p: engine.decide_with_record(p, DECIDED_ON), people, warmup=0)
    for name, q in (("decision.p50_ms", 50), ("decision.p99_ms", 99)):
        results.figure(
            name, percentile(samples, q) * 1000,
            label=f"credit decision in process, data fetched, p{q}", unit="ms",
            reference="decimal_loop_ms", reference_label="one plain Decimal 12-period loop, ms",
            per="Decimal loops per decision",
        )  # fmt: skip
    results.values["decision.per_s"] = len(samples) / sum(samples)
