"""The data subject's copy of everything held about them (PIPL art. 45): every table of
the register, row by row, sealed fields opened and blind indexes left out, each with its
purposes, legal basis and retention; and the full decision records (every answer the
credit bureau and other sources gave about them).

``export_personal_data`` is what the borrower's "my data" page and ``mobilend privacy
export`` call; ``PersonalDataExport.to_json`` is the document they hand over.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass

from mobilend.app.ports import PiiVault
from mobilend.app.privacy.ports import JsonValue
from mobilend.app.privacy.register import HOLDINGS, PURPOSE_BY_CODE, SOURCES, Holding
from mobilend.app.unit_of_work import UnitOfWork, UnitOfWorkFactory
from mobilend.domain.errors import NotFound

EXPORT_VERSION = "personal-data-1"


@dataclass(frozen=True, slots=True)
class ExportedTable:
    table: str
    zh: str
    en: str
    purposes: tuple[str, ...]
    sources: tuple[str, ...]
    retention: str
    rows: tuple[Mapping[str, JsonValue], ...]


@dataclass(frozen=True, slots=True)
class PersonalDataExport:
    borrower_id: str
    generated_at: dt.datetime
    tables: tuple[ExportedTable, ...]
    decision_records: tuple[Mapping[str, JsonValue], ...]

    def table(self, name: str) -> ExportedTable:
        return next(t for t in self.tables if t.table == name)

    def to_json(self) -> str:
        document = {
            "export": EXPORT_VERSION,
            "borrower_id": self.borrower_id,
            "generated_at": self.generated_at.isoformat(),
            "sources": {s.code: {"zh": s.zh, "en": s.en, "data": s.data} for s in SOURCES},
            "data": [
                {
                    "table": t.table,
                    "zh": t.zh,
                    "en": t.en,
                    "purposes": [
                        {
                            "code": code,
                            "zh": PURPOSE_BY_CODE[code].zh,
                            "en": PURPOSE_BY_CODE[code].en,
                            "basis": PURPOSE_BY_CODE[code].basis.value,
                        }
                        for code in t.purposes
                    ],
                    "sources": list(t.sources),
                    "retention": t.retention,
                    "rows": [dict(row) for row in t.rows],
                }
                for t in self.tables
            ],
            "decision_records": [dict(r) for r in self.decision_records],
        }
        return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False)


def _opened(
    row: Mapping[str, JsonValue], holding: Holding, vault: PiiVault
) -> dict[str, JsonValue]:
    """The row as the borrower may read it: sealed columns opened under their field name,
    blind indexes (keyed hashes, meaningless outside) left out."""
    sealed = dict(holding.sealed)
    shown: dict[str, JsonValue] = {}
    for column, value in row.items():
        if column.endswith("_bidx"):
            continue
        if column in sealed:
            shown[sealed[column]] = (
                vault.decrypt(sealed[column], value) if isinstance(value, str) and value else None
            )
            continue
        shown[column] = value
    return shown


def export_personal_data_in(
    uow: UnitOfWork, vault: PiiVault, borrower_id: str, now: dt.datetime
) -> PersonalDataExport:
    """Everything held about ``borrower_id``; ``NotFound`` for an unknown borrower."""
    if uow.onboarding.borrowers.get(borrower_id) is None:
        raise NotFound(f"borrower {borrower_id} not found")
    searchable = [h for h in HOLDINGS if h.found_by]
    held = {
        h.table: h.rows
        for h in uow.privacy.personal_data.rows_of(borrower_id, [h.table for h in searchable])
    }
    tables = tuple(
        ExportedTable(
            h.table,
            h.zh,
            h.en,
            h.purposes,
            h.sources,
            h.retention,
            tuple(_opened(row, h, vault) for row in held.get(h.table, ())),
        )
        for h in searchable
    )
    records = tuple(uow.privacy.personal_data.decision_records(borrower_id))
    return PersonalDataExport(borrower_id, now, tables, records)


def export_personal_data(
    uow_factory: UnitOfWorkFactory, vault: PiiVault, borrower_id: str, now: dt.datetime
) -> PersonalDataExport:
    """The export in a unit of work of its own (read only)."""
    with uow_factory() as uow:
        return export_personal_data_in(uow, vault, borrower_id, now)
