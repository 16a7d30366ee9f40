"""Credit profiles for the sandbox data sources, derived from a real dataset row.

Each applicant's bureau report (征信), telco record and e-commerce profile come from one
row of ``credit_data.csv`` (Spanish consumer-credit applications, see ``data/README.md``),
picked by a hash of the national ID — so the same person always gets the same data, and
the data carries the row's real relation between features and outcome (``Status``).

Mapping (version ``MAPPING_VERSION``); money is integer fen, one dataset unit = ¥40:

* bureau: ``Marital`` → ``personal.marital_status``, ``Home`` → ``personal.housing``,
  ``Job`` → ``personal.occupation_type``, ``Seniority`` → ``personal.employer_tenure_years``,
  ``Debt`` → ``loans.outstanding_balance_fen``, ``Records`` = yes → at least one overdue
  event in 24 months; open loans, lenders, query counts and current overdue are drawn
  from the row's debt, records and status plus hash noise.
* telco: phone tenure grows with ``Seniority``; the real-name check compares the phone's
  registered owner (first one seen) with the applicant.
* e-commerce: ``Expenses`` → ``monthly_spend_fen``, ``Income`` → ``income_estimate_fen``,
  ``Assets`` → ``wealth_estimate_fen``; return rate and merchant turnover add noise.

Standard library only: the sandbox shares nothing with the platform but the wire format.
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

MAPPING_VERSION = "cdmap-1"
#: Fen per dataset money unit (one unit = ¥40).
FEN_PER_UNIT = 4000
DATA_ENV = "MOBILEND_CREDIT_DATA_CSV"

CARRIERS = ("CMCC", "CUCC", "CTCC")


def default_data_path() -> Path:
    """``$MOBILEND_CREDIT_DATA_CSV``, else the repository's ``data/credit_data.csv``."""
    configured = os.environ.get(DATA_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "data" / "credit_data.csv"


def _hash_int(*parts: str) -> int:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def _number(text: str) -> Decimal | None:
    text = text.strip()
    return Decimal(text) if text else None


def _text(text: str) -> str | None:
    text = text.strip()
    return text or None


def _fen(units: Decimal | None) -> int | None:
    if units is None:
        return None
    return int((units * FEN_PER_UNIT).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class DatasetRow:
    row_id: str
    status: str  # good | bad (the outcome; only the simulation oracle shows it)
    seniority: int
    home: str | None
    age: int
    marital: str | None
    records: str  # yes | no
    job: str | None
    expenses: Decimal
    income: Decimal | None
    assets: Decimal | None
    debt: Decimal | None
    amount: Decimal
    price: Decimal
    time: int

    @classmethod
    def parse(cls, raw: dict[str, str]) -> DatasetRow:
        return cls(
            row_id=raw["rownames"],
            status=raw["Status"].strip(),
            seniority=int(Decimal(raw["Seniority"])),
            home=_text(raw["Home"]),
            age=int(Decimal(raw["Age"])),
            marital=_text(raw["Marital"]),
            records=raw["Records"].strip(),
            job=_text(raw["Job"]),
            expenses=Decimal(raw["Expenses"]),
            income=_number(raw["Income"]),
            assets=_number(raw["Assets"]),
            debt=_number(raw["Debt"]),
            amount=Decimal(raw["Amount"]),
            price=Decimal(raw["Price"]),
            time=int(Decimal(raw["Time"])),
        )

    def as_dict(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            return str(value) if isinstance(value, Decimal) else value

        return {name: plain(getattr(self, name)) for name in self.__dataclass_fields__}


class CreditDataset:
    """The rows, loaded once; ``row_for(national_id)`` is a pure function of the ID."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(
                f"credit dataset not found at {self.path}; set {DATA_ENV} or pass --data"
            )
        content = self.path.read_bytes()
        self.sha256 = hashlib.sha256(content).hexdigest()
        reader = csv.DictReader(content.decode("utf-8").splitlines())
        self.rows: tuple[DatasetRow, ...] = tuple(DatasetRow.parse(raw) for raw in reader)
        if not self.rows:
            raise ValueError(f"{self.path} has no rows")
        self.data_version = f"credit_data-{self.sha256[:12]}/{MAPPING_VERSION}"

    def row_for(self, national_id: str) -> DatasetRow:
        return self.rows[_hash_int("row", national_id.strip().upper()) % len(self.rows)]


def bureau_report(row: DatasetRow, national_id: str, name_match: bool) -> dict[str, Any]:
    """A credit bureau report (征信) for the person whose data is ``row``."""
    nid = national_id.strip().upper()
    noise = _hash_int("bureau", nid)
    bad = row.status == "bad"
    has_records = row.records == "yes"
    debt_fen = _fen(row.debt)
    in_debt = bool(debt_fen)
    open_loans = 1 + noise % 3 if in_debt else 0
    lenders = min(open_loans, 1 + (noise >> 4) % 2) if open_loans else 0
    new_lenders_90d = min(lenders, (noise >> 8) % 2) + ((noise >> 10) % 3 if bad else 0)
    new_lenders_30d = min(new_lenders_90d, (noise >> 12) % 2)
    queries_90d = (
        (noise >> 14) % 5 + (2 + (noise >> 17) % 6 if bad else 0) + (2 if has_records else 0)
    )
    queries_30d = min(queries_90d, (noise >> 20) % 3 + ((noise >> 22) % 3 if bad else 0))
    remaining_months = 12 + (noise >> 24) % 25
    monthly_repayment = (debt_fen or 0) // remaining_months
    overdue_now = bad and has_records and (noise >> 30) % 3 == 0
    return {
        "report_id": f"BR-{hashlib.sha256(('report:' + nid).encode()).hexdigest()[:16]}",
        "subject": {"name_match": name_match},
        "personal": {
            "marital_status": row.marital,
            "housing": row.home,
            "occupation_type": row.job,
            "employer_tenure_years": row.seniority,
        },
        "loans": {
            "open_loans": open_loans,
            "lenders_count": lenders,
            "new_lenders_30d": new_lenders_30d,
            "new_lenders_90d": new_lenders_90d,
            "outstanding_balance_fen": debt_fen,
            "monthly_repayment_fen": monthly_repayment,
            "current_overdue_fen": 50_000 + (noise >> 34) % 500_000 if overdue_now else 0,
            "current_overdue_days": 1 + (noise >> 44) % 89 if overdue_now else 0,
        },
        "repayment_history": {
            "overdue_events_24m": 1 + (noise >> 50) % 4 if has_records else 0,
            "max_overdue_days_24m": 31 + (noise >> 52) % 90 if has_records else 0,
        },
        "queries": {"last_30d": queries_30d, "last_90d": queries_90d},
    }


def telco_record(row: DatasetRow, phone: str, real_name_match: bool) -> dict[str, Any]:
    """The mobile operator's answer: real-name check, tenure and billing of the number."""
    noise = _hash_int("telco", phone.strip())
    income_fen = _fen(row.income) or 0
    return {
        "verification_id": f"TV-{hashlib.sha256(('telco:' + phone).encode()).hexdigest()[:16]}",
        "real_name_match": real_name_match,
        "phone_status": "active",
        "carrier": CARRIERS[noise % len(CARRIERS)],
        "phone_tenure_months": min(240, 3 + (noise >> 4) % 24 + row.seniority * 9),
        "monthly_bill_fen": 3_000 + income_fen // 100 + (noise >> 12) % 5_000,
    }


def ecommerce_profile(row: DatasetRow, national_id: str) -> dict[str, Any]:
    """Consumption profile from an e-commerce / payment platform."""
    nid = national_id.strip().upper()
    noise = _hash_int("ecommerce", nid)
    bad = row.status == "bad"
    return_pct = 2 + noise % 8 + (6 if bad else 0)
    income_fen = _fen(row.income)
    return {
        "profile_id": f"EC-{hashlib.sha256(('ecom:' + nid).encode()).hexdigest()[:16]}",
        "monthly_spend_fen": _fen(row.expenses),
        "return_rate": f"{Decimal(return_pct) / 100:.2f}",
        "active_months": 6 + (noise >> 8) % 90,
        "income_estimate_fen": income_fen,
        "wealth_estimate_fen": _fen(row.assets),
        "merchant": {
            "monthly_turnover_fen": None
            if income_fen is None
            else income_fen * (2 + (noise >> 16) % 6),
            "active_months": 3 + (noise >> 20) % 60,
        },
    }


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``patch`` laid over ``base``, nested dicts merged key by key."""
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
