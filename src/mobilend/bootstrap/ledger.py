"""Verifying the ledger on PostgreSQL (``app.lending.ledger_check``)."""

from __future__ import annotations

from functools import partial

import sqlalchemy as sa

from mobilend.adapters.db.ledger_audit import ledger_audit_session
from mobilend.app.lending.ledger_check import AuditSession, LedgerReport, verify_ledger
from mobilend.bootstrap.infra import database_engine
from mobilend.config import Settings, get_settings


def ledger_audit(engine: sa.Engine) -> AuditSession:
    """Read-only audit sessions on ``engine``."""
    return partial(ledger_audit_session, engine)


def verify_book(
    engine: sa.Engine | None = None, *, settings: Settings | None = None, batch: int = 500
) -> LedgerReport:
    """Verify the whole ledger of the configured database (or ``engine``)."""
    own = engine is None
    db = engine if engine is not None else database_engine(settings or get_settings())
    try:
        return verify_ledger(ledger_audit(db), batch=batch)
    finally:
        if own:
            db.dispose()
