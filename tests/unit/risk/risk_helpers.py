"""Test doubles for the decision engine: a small PD model, data sources, applicants.

``StubSource`` answers from the sandbox's own dataset mapping (in process, no HTTP) and
can be told to fail; ``RuleScorer`` is a tiny transparent PD model over the features,
so tests can steer outcomes without a trained artifact.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stdnum.cn import ric

from mobilend.domain.decisions import Applicant
from mobilend.domain.money import Money
from mobilend.risk.ports import DataSourceUnavailable, SourceReport
from mobilend.sandbox.credit_profiles import (
    CreditDataset,
    bureau_report,
    deep_merge,
    ecommerce_profile,
    telco_record,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
DATA_FILE = REPO_ROOT / "data" / "credit_data.csv"
DECISION_DATE = dt.date(2026, 11, 2)
COSTS = {"telco": Money("0.50"), "bureau": Money("2.00"), "ecommerce": Money("0.30")}

_DATASET: CreditDataset | None = None


def dataset() -> CreditDataset:
    global _DATASET
    if _DATASET is None:
        _DATASET = CreditDataset(DATA_FILE)
    return _DATASET


def national_id(seq: int, birth: dt.date = dt.date(1990, 5, 17), region: str = "110105") -> str:
    """A valid 18-digit resident ID (checksum included)."""
    body = f"{region}{birth:%Y%m%d}{seq % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def applicant(
    seq: int = 1,
    *,
    product: str = "cash",
    birth: dt.date = dt.date(1990, 5, 17),
    region: str = "110105",
    income: str | None = "8000",
    **overrides: Any,
) -> Applicant:
    values: dict[str, Any] = {
        "application_id": f"APP-{seq:05d}",
        "borrower_id": f"B-{seq:05d}",
        "product_code": product,
        "full_name": f"测试{seq}",
        "national_id": national_id(seq, birth, region),
        "phone": f"139{seq:08d}",
        "birth_date": None,
        "region_code": "",
        "device_id": f"dev-{seq}",
        "ip_address": f"10.0.{seq // 250}.{seq % 250}",
        "bank_card": f"6222{seq:012d}",
        "monthly_income": Money(income) if income is not None else None,
        "declared": {"requested_amount": "10000", "term_months": 12},
    }
    values.update(overrides)
    return Applicant(**values)


@dataclass
class StubSource:
    """A ``CreditDataSource`` answering from the dataset mapping; counts calls."""

    name: str
    patch: dict[str, Any] = field(default_factory=dict)
    fail_with: str | None = None  # a DataSourceUnavailable reason, or "crash"
    calls: int = 0

    def fetch(self, applicant: Applicant, on: dt.date) -> SourceReport:
        self.calls += 1
        if self.fail_with == "crash":
            raise RuntimeError("adapter bug")
        if self.fail_with:
            raise DataSourceUnavailable(self.name, self.fail_with, "stub")
        row = dataset().row_for(applicant.national_id)
        if self.name == "bureau":
            payload = bureau_report(row, applicant.national_id, name_match=True)
        elif self.name == "telco":
            payload = telco_record(row, applicant.phone, real_name_match=True)
        else:
            payload = ecommerce_profile(row, applicant.national_id)
        payload = deep_merge(payload, self.patch)
        return SourceReport(self.name, payload, dataset().data_version, on, COSTS[self.name])


def stub_sources(**patches: dict[str, Any]) -> dict[str, StubSource]:
    return {
        name: StubSource(name, patches.get(name, {})) for name in ("telco", "bureau", "ecommerce")
    }


# A clean credit file: no overdue, few enquiries, tenure long enough everywhere.
CLEAN = {
    "telco": {"phone_tenure_months": 60, "real_name_match": True, "phone_status": "active"},
    "bureau": {
        "subject": {"name_match": True},
        "loans": {"current_overdue_fen": 0, "new_lenders_30d": 0, "new_lenders_90d": 0,
                  "outstanding_balance_fen": 0, "monthly_repayment_fen": 0},
        "queries": {"last_30d": 0, "last_90d": 1},
        "repayment_history": {"overdue_events_24m": 0, "max_overdue_days_24m": 0},
    },
    "ecommerce": {"return_rate": "0.05", "income_estimate_fen": 1_200_000,
                  "merchant": {"monthly_turnover_fen": 6_000_000, "active_months": 36}},
}  # fmt: skip


def clean_sources(**extra: dict[str, Any]) -> dict[str, StubSource]:
    return {
        name: StubSource(name, deep_merge(CLEAN[name], extra.get(name, {})))
        for name in ("telco", "bureau", "ecommerce")
    }


@dataclass(frozen=True)
class StubResult:
    pd: float
    score: int
    reasons: list[dict[str, str]]


class RuleScorer:
    """PD from a fixed log-odds formula; ``pd_for`` overrides it for chosen applicants."""

    def __init__(
        self,
        version: str = "rule-1",
        shift: float = 0.0,
        pd_for: Callable[[Mapping[str, Any]], float | None] | None = None,
    ) -> None:
        self.version = version
        self.shift = shift
        self.pd_for = pd_for
        self.calls = 0

    def score_one(self, features: Mapping[str, Any]) -> StubResult:
        self.calls += 1
        fixed = self.pd_for(features) if self.pd_for else None
        reasons = []
        logit = -3.2 + self.shift
        if features.get("Records") == "yes":
            logit += 1.6
            reasons.append(
                {"code": "R_RECORDS", "text_zh": "有逾期记录", "text_en": "Past arrears"}
            )
        if (features.get("Debt") or 0) > 500:
            logit += 0.8
            reasons.append({"code": "R_DEBT", "text_zh": "负债较高", "text_en": "High debt"})
        if features.get("Expenses") is None:
            logit += 0.1
        pd = fixed if fixed is not None else 1 / (1 + math.exp(-logit))
        return StubResult(pd, 0, reasons)


class ConstantScorer:
    def __init__(self, pd: float, version: str = "const") -> None:
        self.pd = pd
        self.version = f"{version}-{pd}"

    def score_one(self, features: Mapping[str, Any]) -> StubResult:
        return StubResult(
            self.pd,
            0,
            [
                {"code": "R_AGE", "text_zh": "年龄", "text_en": "Age"},
                {"code": "R_JOB", "text_zh": "职业", "text_en": "Job"},
                {"code": "R_HOME", "text_zh": "住房", "text_en": "Home"},
                {"code": "R_TIME", "text_zh": "期限", "text_en": "Term"},
            ],
        )
