"""Model features from an application and its data-source answers.

The default PD model is trained on the columns of ``data/credit_data.csv``; this module
rebuilds exactly those columns, with the same names, types and units, from what a
decision has at hand, so the model sees at serving time what it saw in training:

==========  ==========================================================  ============
column      source                                                      unit
==========  ==========================================================  ============
Seniority   bureau ``personal.employer_tenure_years`` (declared years)   years
Home        bureau ``personal.housing``                                 label
Time        requested term                                              months
Age         birth date (application or national ID) on the decision date  years
Marital     bureau ``personal.marital_status``                          label
Records     bureau ``repayment_history.overdue_events_24m`` > 0          yes / no
Job         bureau ``personal.occupation_type``                         label
Expenses    e-commerce ``monthly_spend_fen``                            dataset unit
Income      e-commerce ``income_estimate_fen``, else declared income    dataset unit
Assets      e-commerce ``wealth_estimate_fen``                          dataset unit
Debt        bureau ``loans.outstanding_balance_fen``                    dataset unit
Amount      requested amount                                            dataset unit
Price       price of the goods financed (the amount for cash loans)     dataset unit
==========  ==========================================================  ============

One dataset money unit is ¥40 (``FEN_PER_UNIT``), the same convention the sandbox data
service uses to turn dataset rows into reports. A value the decision does not have is
None (missing), which the model handles as it did the dataset's empty cells.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from mobilend.risk.applicant_facts import age_on, id_birth_date

FEATURE_SET_VERSION = "credit_data-v1"
FEATURE_COLUMNS = (
    "Seniority", "Home", "Time", "Age", "Marital", "Records", "Job",
    "Expenses", "Income", "Assets", "Debt", "Amount", "Price",
)  # fmt: skip
#: Fen per dataset money unit: one unit of credit_data.csv money is ¥40.
FEN_PER_UNIT = 4000


def _units_from_fen(fen: Any) -> float | None:
    if fen is None or isinstance(fen, bool):
        return None
    return float(Decimal(int(fen)) / FEN_PER_UNIT)


def _units_from_yuan(amount: Any) -> float | None:
    if amount in (None, ""):
        return None
    return float(Decimal(str(amount)) * 100 / FEN_PER_UNIT)


def money_amount(value: Any) -> str | None:
    """The amount text of a recorded Money ({"amount", "currency"}) or a plain amount."""
    if value in (None, ""):
        return None
    if isinstance(value, Mapping):
        return str(value["amount"])
    return str(value)


def requested_amount(applicant: Mapping[str, Any], default: str) -> str:
    declared = applicant.get("declared") or {}
    return money_amount(declared.get("requested_amount")) or default


def requested_term(applicant: Mapping[str, Any], default: int) -> int:
    declared = applicant.get("declared") or {}
    term = declared.get("term_months")
    return int(term) if term not in (None, "") else default


def build_features(
    applicant: Mapping[str, Any],
    on: dt.date,
    reports: Mapping[str, Mapping[str, Any]],
    *,
    default_amount: str,
    default_term_months: int,
) -> dict[str, Any]:
    """The model's feature dict; ``reports`` maps source name → payload (absent = not bought)."""
    bureau = reports.get("bureau") or {}
    ecommerce = reports.get("ecommerce") or {}
    declared: Mapping[str, Any] = applicant.get("declared") or {}
    personal = bureau.get("personal") or {}
    loans = bureau.get("loans") or {}
    history = bureau.get("repayment_history") or {}

    birth_text = applicant.get("birth_date")
    birth = (
        dt.date.fromisoformat(birth_text)
        if birth_text
        else id_birth_date(str(applicant.get("national_id", "")))
    )
    seniority = personal.get("employer_tenure_years")
    if seniority is None and declared.get("employment_years") not in (None, ""):
        seniority = int(declared["employment_years"])
    overdue_events = history.get("overdue_events_24m")
    income = _units_from_fen(ecommerce.get("income_estimate_fen"))
    if income is None:
        income = _units_from_yuan(money_amount(applicant.get("monthly_income")))
    amount = requested_amount(applicant, default_amount)
    price = money_amount(declared.get("purchase_price")) or amount
    return {
        "Seniority": None if seniority is None else float(seniority),
        "Home": personal.get("housing"),
        "Time": float(requested_term(applicant, default_term_months)),
        "Age": None if birth is None else float(age_on(birth, on)),
        "Marital": personal.get("marital_status"),
        "Records": None if overdue_events is None else ("yes" if overdue_events > 0 else "no"),
        "Job": personal.get("occupation_type"),
        "Expenses": _units_from_fen(ecommerce.get("monthly_spend_fen")),
        "Income": income,
        "Assets": _units_from_fen(ecommerce.get("wealth_estimate_fen")),
        "Debt": _units_from_fen(loans.get("outstanding_balance_fen")),
        "Amount": _units_from_yuan(amount),
        "Price": _units_from_yuan(price),
    }
