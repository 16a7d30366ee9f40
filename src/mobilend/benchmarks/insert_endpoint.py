"""The trivial one-row-insert endpoint: the same-run reference for HTTP figures.

``POST /rows`` validates a small JSON body and inserts one row in its own transaction,
through the same stack as the service (FastAPI, a sync SQLAlchemy engine on psycopg 3, one
uvicorn process). Whatever a real request costs beyond this is the platform's own work.
Run by ``benchmarks.processes.start_insert_endpoint`` against ``MOBILEND_DATABASE_URL``.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from fastapi import FastAPI
from pydantic import BaseModel

from mobilend.adapters.db.engine import normalise_url

TABLE_DDL = "CREATE TABLE IF NOT EXISTS bench_rows (id bigserial PRIMARY KEY, amount_fen bigint)"


class Row(BaseModel):
    amount_fen: int


def create_app(url: str) -> FastAPI:
    engine = sa.create_engine(normalise_url(url), pool_size=10, max_overflow=10)
    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/rows")
    def insert(row: Row) -> dict[str, int]:
        with engine.begin() as conn:
            new_id = conn.execute(
                sa.text("INSERT INTO bench_rows (amount_fen) VALUES (:a) RETURNING id"),
                {"a": row.amount_fen},
            ).scalar_one()
        return {"id": int(new_id)}

    return app


def app_from_env() -> FastAPI:
    """uvicorn factory: the endpoint on ``MOBILEND_DATABASE_URL`` (table made beforehand)."""
    return create_app(os.environ["MOBILEND_DATABASE_URL"])
