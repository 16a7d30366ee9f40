"""Simulated applicants drawn from a real dataset, and when they arrive.

Each applicant is one row of ``data/german_credit.csv`` (Statlog German Credit, 1,000
people, 30 % of whom did not repay; see ``data/README.md``), drawn at random with
replacement. The row's own fields become the person: age (in the national ID's birth
date), employment, housing, marital status, job, savings and property, credit history,
existing debt, the amount and term asked for. They reach the risk engine only as the
credit data sources' answers (``sandbox.credit_profiles``, the mapping the sandbox data
service uses), built from a copy of the row whose outcome is blanked; the real outcome
(``creditability``) stays here, as the hidden truth the borrower behaviour follows.

Mapping German fields → the feature row the platform's data sources speak (one dataset
money unit = ¥40; 1 DM requested ≈ ¥2):

* ``present_employment_since`` → years of tenure (0, 0, 2, 5, 10);
* ``housing`` own / rent / for free → owner / rent / parents;
* ``personal_status_and_sex`` → single / married / separated;
* ``job`` → fixed (skilled), freelance (management, self-employed), partime (unskilled
  resident), others (unemployed / non-resident);
* ``credit_history`` "delay in paying off in the past" → past overdue records;
* income (units) from the job, plus savings; expenses from dependants and rent; assets
  from property and savings; debt from an overdrawn checking account, other instalment
  plans and other credits at the bank;
* ``credit_amount`` × 2 → yuan asked for (500–50,000); ``duration_in_month`` → 3–12
  monthly periods (the cash product's range).

Arrivals: a weekly pattern (weekdays busier, Sunday quietest), a daily one (late morning
and evening peaks) and a promotion day at 60 % of the run with four times the traffic.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import random
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from stdnum import luhn
from stdnum.cn import ric

from mobilend.sandbox.credit_profiles import DatasetRow

DATA_FILE = Path(__file__).resolve().parents[3] / "data" / "german_credit.csv"
REGION = "310104"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "明华丽强军芳敏静磊洋伟娜婷杰"
#: Relative traffic Monday … Sunday.
WEEKDAY_WEIGHT = (1.1, 1.05, 1.0, 1.0, 1.15, 0.85, 0.7)
#: Relative traffic by local hour 08 … 22.
HOUR_WEIGHT = (2, 4, 6, 7, 6, 4, 4, 5, 5, 4, 4, 5, 7, 8, 6)
FIRST_HOUR = 8
PROMOTION_FACTOR = 4.0

_TENURE = {
    "unemployed": 0, "... < 1 year": 0, "1 <= ... < 4 years": 2, "4 <= ... < 7 years": 5,
    "... >= 7 years": 10,
}  # fmt: skip
_HOME = {"own": "owner", "rent": "rent", "for free": "parents"}
_MARITAL = {
    "male : single": "single", "male : married/widowed": "married",
    "male : divorced/separated": "separated", "female : divorced/separated/married": "married",
}  # fmt: skip
_JOB = {
    "skilled employee / official": ("fixed", 130),
    "management/ self-employed/ highly qualified employee/ officer": ("freelance", 170),
    "unskilled - resident": ("partime", 95),
    "unemployed/ unskilled - non-resident": ("others", 70),
}
_SAVINGS = {
    "unknown/ no savings account": 0, "... < 100 DM": 50, "100 <= ... < 500 DM": 250,
    "500 <= ... < 1000 DM": 600, "... >= 1000 DM": 1500,
}  # fmt: skip
_PROPERTY = {
    "real estate": 6000, "building society savings agreement/ life insurance": 2500,
    "car or other, not in attribute Savings account/bonds": 1500, "unknown / no property": 0,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Person:
    index: int
    borrower_id: str
    phone: str
    national_id: str
    bank_card: str
    name: str
    birth_date: dt.date
    row_number: int  # 1-based line of the dataset (after the header)
    bad: bool  # the row's real outcome: hidden from the platform
    features: DatasetRow  # outcome blanked
    amount_yuan: int
    periods: int
    monthly_income_fen: int
    arrives_at: dt.datetime  # local time (Asia/Shanghai)


@dataclass(frozen=True, slots=True)
class GermanRow:
    number: int
    bad: bool
    features: DatasetRow
    age: int
    amount_yuan: int
    periods: int


def load_rows(path: Path = DATA_FILE) -> tuple[list[GermanRow], str]:
    """The dataset's rows mapped to features, and the file's data version."""
    content = path.read_bytes()
    version = f"german_credit-{hashlib.sha256(content).hexdigest()[:12]}/sim-1"
    rows = []
    for number, raw in enumerate(csv.DictReader(content.decode("utf-8").splitlines()), 1):
        job, income = _JOB[raw["job"]]
        savings = _SAVINGS[raw["savings_account_and_bonds"]]
        dependants = int(raw["number_of_people_being_liable_to_provide_maintenance_for"])
        debt = 0
        if raw["status_of_existing_checking_account"] == "... < 0 DM":
            debt += 400
        if raw["other_installment_plans"] != "none":
            debt += 600
        debt += 300 * (int(raw["number_of_existing_credits_at_this_bank"]) - 1)
        amount = min(50_000, max(500, round(int(raw["credit_amount"]) * 2, -2)))
        features = DatasetRow(
            row_id=f"G{number}",
            status="",  # the outcome never reaches the data sources
            seniority=_TENURE[raw["present_employment_since"]],
            home=_HOME[raw["housing"]],
            age=int(raw["age_in_years"]),
            marital=_MARITAL[raw["personal_status_and_sex"]],
            records="yes" if raw["credit_history"].startswith("delay") else "no",
            job=job,
            expenses=Decimal(35 + 15 * dependants + (20 if raw["housing"] == "rent" else 0)),
            income=Decimal(income + savings // 20),
            assets=Decimal(_PROPERTY[raw["property"]] + savings),
            debt=Decimal(debt),
            amount=Decimal(amount) / 40,
            price=Decimal(amount) / 40,
            time=int(raw["duration_in_month"]),
        )
        rows.append(
            GermanRow(
                number, raw["creditability"] == "bad", features, int(raw["age_in_years"]),
                amount, min(12, max(3, int(raw["duration_in_month"]))),
            )
        )  # fmt: skip
    return rows, version


def arrival_days(count: int, start: dt.date, days: int, rng: random.Random) -> list[dt.date]:
    """``count`` arrival dates over ``days`` from ``start``, sorted, in proportion to the
    weekly pattern with the promotion day's peak."""
    promotion = int(days * 0.6)
    weights = []
    for k in range(days):
        day = start + dt.timedelta(days=k)
        weight = WEEKDAY_WEIGHT[day.weekday()] * (PROMOTION_FACTOR if k == promotion else 1.0)
        weights.append(weight)
    chosen = rng.choices(range(days), weights=weights, k=count)
    return sorted(start + dt.timedelta(days=k) for k in chosen)


def _national_id(index: int, birth: dt.date) -> str:
    body = f"{REGION}{birth:%Y%m%d}{index % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def _card(index: int) -> str:
    stem = f"62220{index:013d}"
    return stem + luhn.calc_check_digit(stem)


def draw_people(
    count: int, start: dt.date, days: int, rng: random.Random, rows: list[GermanRow]
) -> list[Person]:
    """``count`` applicants in arrival order: each a random row, a name, an identity whose
    birth date gives the row's age, and an arrival time."""
    people = []
    for index, day in enumerate(arrival_days(count, start, days, rng)):
        row = rows[rng.randrange(len(rows))]
        hour = FIRST_HOUR + rng.choices(range(len(HOUR_WEIGHT)), weights=HOUR_WEIGHT)[0]
        arrives = dt.datetime.combine(day, dt.time(hour, rng.randrange(60), rng.randrange(60)))
        birth = dt.date(day.year - row.age, 1 + rng.randrange(12), 1 + rng.randrange(28))
        if (birth.month, birth.day) > (day.month, day.day):  # the age on the day is the row's
            birth = dt.date(birth.year - 1, birth.month, birth.day)
        people.append(
            Person(
                index=index,
                borrower_id=f"SIM{index:06d}",
                phone=f"+86137{index:08d}",
                national_id=_national_id(index, birth),
                bank_card=_card(index),
                name=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                birth_date=birth,
                row_number=row.number,
                bad=row.bad,
                features=replace(row.features, row_id=f"{row.features.row_id}-{index}"),
                amount_yuan=row.amount_yuan,
                periods=row.periods,
                monthly_income_fen=int(row.features.income or 0) * 4000,
                arrives_at=arrives,
            )
        )
    return people
