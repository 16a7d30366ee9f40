"""PostgreSQL side of collection templates (``collection_templates``, migration 0015)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from mobilend.adapters.db import collections_tables as ct
from mobilend.adapters.db.statements import insert_into
from mobilend.domain.collections_conduct import Channel, ContactTemplate, Party
from mobilend.domain.collections_templates import TemplateRecord, TemplateStatus
from mobilend.domain.errors import Conflict, NotFound

_t = ct.collection_templates
_LIVE = sa.select(_t).where(_t.c.code == sa.bindparam("code"), _t.c.status == "approved")


def _record(row: sa.Row[Any]) -> TemplateRecord:
    return TemplateRecord(
        template_id=row.id,
        template=ContactTemplate(
            row.code,
            row.version,
            frozenset(Channel(c) for c in row.channels),
            frozenset(Party(p) for p in row.parties),
            row.body_zh,
            row.body_en,
            free_text=frozenset(row.free_text),
        ),
        status=TemplateStatus(row.status),
        proposed_by=row.proposed_by,
        proposed_at=row.proposed_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        note=row.note,
    )


def _values(record: TemplateRecord) -> dict[str, Any]:
    t = record.template
    return {
        "id": record.template_id,
        "code": t.code,
        "version": t.version,
        "status": record.status.value,
        "channels": sorted(c.value for c in t.channels),
        "parties": sorted(p.value for p in t.parties),
        "free_text": sorted(t.free_text),
        "body_zh": t.body_zh,
        "body_en": t.body_en,
        "proposed_by": record.proposed_by,
        "proposed_at": record.proposed_at,
        "decided_by": record.decided_by,
        "decided_at": record.decided_at,
        "note": record.note,
    }


class SqlTemplateStore:
    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, record: TemplateRecord) -> None:
        # Checked before inserting: a unique violation would abort the whole transaction.
        clash = self._conn.execute(
            sa.select(_t.c.version, _t.c.status).where(
                _t.c.code == record.code,
                sa.or_(_t.c.version == record.template.version, _t.c.status == "proposed"),
            )
        ).first()
        if clash is not None:
            what = "待审批的版本" if clash.status == "proposed" else "该版本"
            raise Conflict(
                f"模板 {record.code} 已有{what} {clash.version} (template {record.code} already "
                f"has version {clash.version}, {clash.status})"
            )
        self._conn.execute(insert_into(_t), _values(record))

    def get(self, template_id: str, *, for_update: bool = False) -> TemplateRecord:
        query = sa.select(_t).where(_t.c.id == template_id)
        row = self._conn.execute(query.with_for_update() if for_update else query).first()
        if row is None:
            raise NotFound(f"没有该模板版本 (no template version {template_id})")
        return _record(row)

    def save(self, record: TemplateRecord) -> None:
        values = _values(record)
        values.pop("id")
        self._conn.execute(_t.update().where(_t.c.id == record.template_id).values(**values))

    def live(self, code: str) -> TemplateRecord | None:
        row = self._conn.execute(_LIVE, {"code": code}).first()
        return _record(row) if row is not None else None

    def listing(self, status: str | None = None, code: str | None = None) -> list[TemplateRecord]:
        query = sa.select(_t).order_by(_t.c.code, _t.c.proposed_at.desc(), _t.c.id.desc())
        if status is not None:
            query = query.where(_t.c.status == status)
        if code is not None:
            query = query.where(_t.c.code == code)
        return [_record(r) for r in self._conn.execute(query)]
