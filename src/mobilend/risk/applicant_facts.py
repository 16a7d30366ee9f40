"""Facts the knock-out rules read, taken from the application and each source's answer.

These are the free checks (identity format, age, region, student status) and the
plain fields of the paid sources' payloads, named as the knock-out table's columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from stdnum.cn import ric

STUDENT_OCCUPATIONS = frozenset({"student", "学生", "在校学生"})


def id_birth_date(national_id: str) -> dt.date | None:
    """Birth date encoded in an 18-digit resident ID, None when it has none."""
    try:
        return ric.get_birth_date(national_id)
    except Exception:  # stdnum raises its own ValidationError subclasses
        return None


def age_on(birth: dt.date, on: dt.date) -> int:
    """Whole years of age on ``on``."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def application_facts(
    applicant: Mapping[str, Any], on: dt.date, blacklist_hits: int
) -> dict[str, Any]:
    """Free checks, from the application alone (``applicant`` is its recorded dict form)."""
    national_id = str(applicant.get("national_id", "")).strip().upper()
    id_valid = bool(ric.is_valid(national_id))
    id_birth = id_birth_date(national_id) if id_valid else None
    declared_birth = applicant.get("birth_date")
    declared = dt.date.fromisoformat(declared_birth) if declared_birth else None
    birth = declared or id_birth
    region = str(applicant.get("region_code") or "").strip() or national_id[:6]
    answers: Mapping[str, Any] = applicant.get("declared") or {}
    occupation = str(answers.get("occupation", "")).strip().lower()
    return {
        "id_valid": id_valid,
        "id_birth_match": None if declared is None or id_birth is None else declared == id_birth,
        "age": age_on(birth, on) if birth else None,
        "province": region[:2],
        "is_student": bool(answers.get("is_student")) or occupation in STUDENT_OCCUPATIONS,
        "blacklist_hits": blacklist_hits,
    }


def telco_facts(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "real_name_match": payload.get("real_name_match"),
        "phone_status": payload.get("phone_status"),
        "phone_tenure_months": payload.get("phone_tenure_months"),
    }


def bureau_facts(payload: Mapping[str, Any]) -> dict[str, Any]:
    subject = payload.get("subject") or {}
    loans = payload.get("loans") or {}
    queries = payload.get("queries") or {}
    return {
        "name_match": subject.get("name_match"),
        "current_overdue_fen": loans.get("current_overdue_fen"),
        "queries_30d": queries.get("last_30d"),
        "queries_90d": queries.get("last_90d"),
        "new_lenders_30d": loans.get("new_lenders_30d"),
        "new_lenders_90d": loans.get("new_lenders_90d"),
    }


def ecommerce_facts(payload: Mapping[str, Any]) -> dict[str, Any]:
    merchant = payload.get("merchant") or {}
    rate = payload.get("return_rate")
    return {
        # The rule engine compares numbers; the wire carries the rate as decimal text.
        "return_rate": float(rate) if rate not in (None, "") else None,
        "merchant_active_months": merchant.get("active_months"),
    }
