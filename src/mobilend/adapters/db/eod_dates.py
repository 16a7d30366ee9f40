"""Business dates closed by end of day (``eod_business_dates``) and each partition's
progress (``eod_runs``), for the job queue and the operators' views."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert

from mobilend.adapters.db import servicing_tables as st
from mobilend.app.servicing.business_dates import BusinessDate

_b = st.eod_business_dates


def _date(row: sa.Row[Any]) -> BusinessDate:
    return BusinessDate(
        business_date=row.business_date,
        partitions=row.partition_count,
        status=row.status,
        catch_up_to=row.catch_up_to,
        started_at=row.started_at,
        closed_at=row.closed_at,
        summary=dict(row.summary),
    )


class SqlBusinessDates:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def running(self) -> BusinessDate | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(_b).where(_b.c.status == "running").order_by(_b.c.business_date)
            ).first()
        return _date(row) if row is not None else None

    def last_closed(self) -> dt.date | None:
        with self._engine.connect() as conn:
            value = conn.execute(
                sa.select(sa.func.max(_b.c.business_date)).where(_b.c.status == "done")
            ).scalar()
        return value  # type: ignore[no-any-return]

    def get(self, business_date: dt.date) -> BusinessDate | None:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(_b).where(_b.c.business_date == business_date)).first()
        return _date(row) if row is not None else None

    def start(self, business_date: dt.date, partitions: int, catch_up_to: dt.date) -> bool:
        with self._engine.begin() as conn:
            row = conn.execute(
                pg_insert(_b)
                .values(
                    business_date=business_date,
                    partition_count=partitions,
                    catch_up_to=catch_up_to,
                )
                .on_conflict_do_nothing(index_elements=["business_date"])
                .returning(_b.c.business_date)
            ).first()
        return row is not None

    def extend(self, business_date: dt.date, catch_up_to: dt.date) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                _b.update()
                .where(_b.c.business_date == business_date)
                .values(
                    catch_up_to=sa.func.greatest(
                        sa.func.coalesce(_b.c.catch_up_to, catch_up_to), catch_up_to
                    )
                )
            )

    def add_counts(self, business_date: dt.date, counts: dict[str, int]) -> None:
        # One UPDATE: the row lock makes concurrent partitions add up, never overwrite.
        with self._engine.begin() as conn:
            conn.execute(
                sa.text(
                    """
                    UPDATE eod_business_dates d
                    SET summary = d.summary || (
                        SELECT coalesce(jsonb_object_agg(
                            k.key, coalesce((d.summary ->> k.key)::bigint, 0)
                                   + k.value::bigint), '{}'::jsonb)
                        FROM jsonb_each_text(CAST(:counts AS jsonb)) AS k)
                    WHERE d.business_date = :d
                    """
                ),
                {"d": business_date, "counts": json.dumps(counts)},
            )

    def close(self, business_date: dt.date, summary: dict[str, Any]) -> BusinessDate:
        with self._engine.begin() as conn:
            row = conn.execute(
                _b.update()
                .where(_b.c.business_date == business_date)
                .values(
                    status="done",
                    closed_at=sa.func.now(),
                    summary=_b.c.summary.op("||")(
                        sa.cast(json.loads(json.dumps(summary, default=str)), JSONB)
                    ),
                )
                .returning(*_b.c)
            ).one()
        return _date(row)

    def recent(self, limit: int = 30) -> list[BusinessDate]:
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(_b).order_by(_b.c.business_date.desc()).limit(limit))
            return [_date(r) for r in rows]
