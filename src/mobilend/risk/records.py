"""Decision records: everything that went into a decision, as plain JSON-ready data.

A record holds the application as the engine saw it, the fraud observations, every data
source answer (payload, version, cost, cache use) or failure, the policy id and file
hash, model version, market condition, champion/challenger arm, features, scores, limit
and price workings, the outcome and its reasons. ``canonical_json`` gives one byte
string per record, so a replay can be compared byte for byte.

PII sits in the record (a replay needs it): store records encrypted at rest, as every
other PII field.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from mobilend.domain.decisions import Applicant, CreditDecision, DecisionOutcome, DecisionReason
from mobilend.domain.money import Money

RECORD_VERSION = 1


def to_jsonable(value: Any) -> Any:
    """Plain JSON types: Money → {"amount", "currency"}, Decimal → text, date → ISO text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("a decision record cannot hold NaN or infinity")
        return value
    if isinstance(value, Money):
        return {"amount": str(value.amount), "currency": value.currency}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [to_jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    raise TypeError(f"cannot record a {type(value).__name__} in a decision record")


def canonical_json(record: Mapping[str, Any]) -> str:
    return json.dumps(
        record, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )


def applicant_to_dict(applicant: Applicant) -> dict[str, Any]:
    return {
        "application_id": applicant.application_id,
        "borrower_id": applicant.borrower_id,
        "product_code": applicant.product_code,
        "full_name": applicant.full_name,
        "national_id": applicant.national_id,
        "phone": applicant.phone,
        "birth_date": applicant.birth_date.isoformat() if applicant.birth_date else None,
        "region_code": applicant.region_code,
        "device_id": applicant.device_id,
        "ip_address": applicant.ip_address,
        "bank_card": applicant.bank_card,
        "monthly_income": to_jsonable(applicant.monthly_income),
        "declared": to_jsonable(dict(applicant.declared)),
    }


def money_from(value: Any) -> Money | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return Money(str(value["amount"]), str(value.get("currency", "CNY")))
    return Money(str(value))


def applicant_from_dict(data: Mapping[str, Any]) -> Applicant:
    birth = data.get("birth_date")
    return Applicant(
        application_id=str(data["application_id"]),
        borrower_id=str(data["borrower_id"]),
        product_code=str(data["product_code"]),
        full_name=str(data["full_name"]),
        national_id=str(data["national_id"]),
        phone=str(data["phone"]),
        birth_date=dt.date.fromisoformat(birth) if birth else None,
        region_code=str(data.get("region_code", "")),
        device_id=str(data.get("device_id", "")),
        ip_address=str(data.get("ip_address", "")),
        bank_card=str(data.get("bank_card", "")),
        monthly_income=money_from(data.get("monthly_income")),
        declared=dict(data.get("declared") or {}),
    )


def decision_from_record(record: Mapping[str, Any]) -> CreditDecision:
    """The ``CreditDecision`` a record stands for."""
    result = record["result"]
    expires = result.get("expires_on")
    return CreditDecision(
        decision_id=str(record["decision_id"]),
        outcome=DecisionOutcome(result["outcome"]),
        limit=money_from(result.get("limit")),
        annual_rate=Decimal(result["annual_rate"])
        if result.get("annual_rate") is not None
        else None,
        expires_on=dt.date.fromisoformat(expires) if expires else None,
        reasons=tuple(
            DecisionReason(r["code"], r["text_zh"], r["text_en"]) for r in result["reasons"]
        ),
        versions={str(k): str(v) for k, v in record["versions"].items()},
    )


class InMemoryDecisionRecordStore:
    """A ``DecisionRecordStore`` in process memory (tests, demos)."""

    def __init__(self) -> None:
        self._records: dict[str, str] = {}

    def save(self, decision_id: str, record: Mapping[str, Any]) -> None:
        self._records[decision_id] = canonical_json(record)

    def get(self, decision_id: str) -> Mapping[str, Any]:
        record: Mapping[str, Any] = json.loads(self._records[decision_id])
        return record

    def raw(self, decision_id: str) -> str:
        return self._records[decision_id]


class JsonFileDecisionRecordStore:
    """One canonical JSON file per decision under a folder (``<decision_id>.json``)."""

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)

    def _path(self, decision_id: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in decision_id)
        return self.folder / f"{safe}.json"

    def save(self, decision_id: str, record: Mapping[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._path(decision_id).write_text(canonical_json(record), encoding="utf-8")

    def get(self, decision_id: str) -> Mapping[str, Any]:
        path = self._path(decision_id)
        if not path.is_file():
            raise KeyError(decision_id)
        record: Mapping[str, Any] = json.loads(path.read_text("utf-8"))
        return record
