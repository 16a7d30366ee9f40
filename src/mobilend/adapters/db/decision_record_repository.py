"""PostgreSQL store of credit decision records (the ``decisions`` table).

A queryable summary row per decision sits beside the full record (every input: the
application, source answers, fraud counts, versions, workings, result). The record's
personal fields are sealed by the PII vault — applicant identity fields one by one, each
data source answer whole — and the SHA-256 of the plain canonical record is stored, so
reading a record proves it opens to exactly what was saved. The table is append-only
(migration ``0007_risk``): only the sealed record may be rewritten, for key rotation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from mobilend.adapters.db.risk_tables import decisions
from mobilend.adapters.vault import FieldVault
from mobilend.app.ports import PiiVault
from mobilend.domain.money import Money
from mobilend.risk.records import canonical_json

#: Applicant fields sealed inside a stored record (each under its own vault field name).
SEALED_APPLICANT_FIELDS = (
    "full_name",
    "national_id",
    "phone",
    "bank_card",
    "birth_date",
    "device_id",
    "ip_address",
)
_FIELD = "decision_record."


#: A decision kept once, first write wins (built once: ``adapters.db.statements``).
_SAVE_DECISION = (
    pg_insert(decisions)
    .on_conflict_do_nothing(index_elements=[decisions.c.id])
    .returning(decisions.c.id)
)


class DecisionRecordConflict(Exception):
    """A different record is already stored under this decision id."""


class DecisionRecordTampered(Exception):
    """A stored record no longer opens to what was saved (its SHA-256 differs)."""


def seal_record(record: Mapping[str, Any], vault: PiiVault) -> dict[str, Any]:
    """The record with its personal fields sealed: applicant identity fields one by one,
    and each data source answer (payload, failure detail) whole."""
    sealed: dict[str, Any] = json.loads(canonical_json(record))
    applicant = sealed["applicant"]
    for name in SEALED_APPLICANT_FIELDS:
        if applicant.get(name) is not None:
            applicant[name] = vault.encrypt(_FIELD + name, str(applicant[name]))
    for entry in sealed["inputs"]["sources"]:
        if "payload" in entry:
            entry["payload"] = vault.encrypt(_FIELD + "payload", canonical_json(entry["payload"]))
        if entry.get("detail"):
            entry["detail"] = vault.encrypt(_FIELD + "detail", entry["detail"])
    return sealed


def open_record(sealed: Mapping[str, Any], vault: PiiVault) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(json.dumps(sealed))
    applicant = record["applicant"]
    for name in SEALED_APPLICANT_FIELDS:
        if applicant.get(name) is not None:
            applicant[name] = vault.decrypt(_FIELD + name, applicant[name])
    for entry in record["inputs"]["sources"]:
        if "payload" in entry:
            entry["payload"] = json.loads(vault.decrypt(_FIELD + "payload", entry["payload"]))
        if entry.get("detail"):
            entry["detail"] = vault.decrypt(_FIELD + "detail", entry["detail"])
    return record


def _sha256(record: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(record).encode("utf-8")).hexdigest()


def _money_minor(value: Mapping[str, Any] | None) -> tuple[int | None, str | None]:
    if value is None:
        return None, None
    money = Money(str(value["amount"]), str(value["currency"])).round()
    return money.to_minor(), money.currency


class SqlDecisionRecordStore:
    """Implements ``DecisionRecordStore`` on ``decisions``."""

    def __init__(self, engine: sa.Engine, vault: PiiVault) -> None:
        self._engine = engine
        self._vault = vault

    def save(self, decision_id: str, record: Mapping[str, Any]) -> None:
        if record.get("decision_id") != decision_id:
            raise ValueError(f"record is for {record.get('decision_id')!r}, not {decision_id!r}")
        digest = _sha256(record)
        result = record["result"]
        applicant = record["applicant"]
        limit_minor, limit_currency = _money_minor(result.get("limit"))
        cost_minor, cost_currency = _money_minor(record["costs"]["total"])
        values = dict(
            id=decision_id,
            application_id=str(applicant["application_id"]),
            borrower_id=str(applicant["borrower_id"]),
            product_code=str(applicant["product_code"]),
            decided_on=dt.date.fromisoformat(record["decided_on"]),
            outcome=result["outcome"],
            limit_minor=limit_minor,
            currency=limit_currency or cost_currency or "CNY",
            annual_rate=Decimal(result["annual_rate"])
            if result.get("annual_rate") is not None
            else None,
            reasons=result["reasons"],
            versions=record["versions"],
            policy_id=record["policy"]["id"],
            model_version=record["model_version"],
            arm=record["arm"],
            market=record["market"]["id"],
            cost_minor=cost_minor or 0,
            record=seal_record(record, self._vault),
            record_sha256=digest,
        )
        with self._engine.begin() as conn:
            if conn.execute(_SAVE_DECISION, values).first() is not None:
                return
            stored = conn.execute(
                sa.select(decisions.c.record_sha256).where(decisions.c.id == decision_id)
            ).scalar_one()
        if stored != digest:  # saving the same record twice is harmless; another is not
            raise DecisionRecordConflict(f"decision {decision_id} is already stored differently")

    def get(self, decision_id: str) -> Mapping[str, Any]:
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(decisions.c.record, decisions.c.record_sha256).where(
                    decisions.c.id == decision_id
                )
            ).first()
        if row is None:
            raise KeyError(decision_id)
        record = open_record(row.record, self._vault)
        if _sha256(record) != row.record_sha256:
            raise DecisionRecordTampered(f"decision {decision_id}: stored record was altered")
        return record

    def raw(self, decision_id: str) -> str:
        """The record's canonical JSON (what a replay compares byte for byte)."""
        return canonical_json(self.get(decision_id))

    def ids_for_application(self, application_id: str) -> list[str]:
        with self._engine.connect() as conn:
            return list(
                conn.execute(
                    sa.select(decisions.c.id)
                    .where(decisions.c.application_id == application_id)
                    .order_by(decisions.c.decided_on, decisions.c.id)
                ).scalars()
            )

    def outcomes_by_arm(self, since: dt.date, until: dt.date) -> dict[tuple[str, str], int]:
        """Decision counts by (arm, outcome) between the dates: the champion/challenger view."""
        d = decisions.c
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(d.arm, d.outcome, sa.func.count())
                .where(d.decided_on.between(since, until))
                .group_by(d.arm, d.outcome)
            ).all()
        return {(arm, outcome): int(n) for arm, outcome, n in rows}


def rotate_decision_records(engine: sa.Engine, vault: FieldVault, *, batch_size: int = 200) -> int:
    """Re-seal every record not sealed under the vault's current key; returns rows changed.

    Short batches (rows locked, others skipped), so it runs beside live traffic; run it
    until it returns 0, then retire the old key. The plain record, and so its SHA-256,
    does not change.
    """
    prefix = vault.current_key_id + ":"
    sealed_id = decisions.c.record[("applicant", "national_id")].astext
    stale = sa.not_(sa.func.starts_with(sealed_id, prefix))
    changed, last_id = 0, ""
    while True:
        with engine.begin() as conn:
            rows = conn.execute(
                sa.select(decisions.c.id, decisions.c.record, decisions.c.record_sha256)
                .where(stale, decisions.c.id > last_id)
                .order_by(decisions.c.id)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return changed
            for row in rows:
                record = open_record(row.record, vault)
                if _sha256(record) != row.record_sha256:
                    raise DecisionRecordTampered(f"decision {row.id}: stored record was altered")
                conn.execute(
                    decisions.update()
                    .where(decisions.c.id == row.id)
                    .values(record=seal_record(record, vault))
                )
            changed += len(rows)
            last_id = rows[-1].id
