"""The staff side: the operations desk the staff API works on (staff directory, audit log,
staff tokens, the servicing and payout desks) and the staff administration the CLI uses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from mobilend.adapters.auth import AuditLog, JwtTokenIssuer, StaffDirectory
from mobilend.adapters.auth.staff import StaffUserStore
from mobilend.adapters.auth.tokens import load_jwt_secret
from mobilend.adapters.db.security_repository import (
    SqlAuditStore,
    SqlRefreshTokenStore,
    SqlStaffUserStore,
)
from mobilend.app.audit import AuditEntry, staged_audit
from mobilend.app.funding.disbursement import DisbursementDesk
from mobilend.app.ports import Clock
from mobilend.app.servicing.desk import ServicingDesk
from mobilend.bootstrap.platform import Platform
from mobilend.bootstrap.servicing import build_servicing

#: Staff access tokens are short-lived.
STAFF_TOKEN_TTL = dt.timedelta(minutes=30)


@dataclass
class OperationsDesk:
    """Everything the staff routes work on, wired from the service's platform."""

    staff: StaffDirectory
    staff_store: StaffUserStore
    audit: AuditLog
    tokens: JwtTokenIssuer
    clock: Clock
    engine: sa.Engine
    servicing: ServicingDesk
    disbursement: DisbursementDesk
    today: Callable[[], dt.date]

    def now(self) -> dt.datetime:
        return self.clock.now()

    def record(
        self, actor: str, action: str, target: str, details: dict[str, Any] | None = None
    ) -> None:
        """A record of its own (sign-ins, reads such as a generated case file, refusals)."""
        self.audit.append(at=self.now(), actor=actor, action=action, target=target, details=details)

    def staged(
        self, actor: str, action: str, target: str, details: Mapping[str, Any] | None = None
    ) -> AbstractContextManager[None]:
        """A staff action carried out inside the block: its record is written in the
        transaction of the use case's commit (or on its own if nothing was committed)."""
        return staged_audit(actor, action, target, details, fallback=self._append_entry)

    def _append_entry(self, entry: AuditEntry) -> None:
        self.record(entry.actor, entry.action, entry.subject, dict(entry.details))


def build_operations_desk(platform: Platform) -> OperationsDesk:
    """The desk on the platform's database, clock, PII vault and payout desk."""
    settings = platform.settings
    engine = platform.engine
    store = SqlStaffUserStore(engine)
    tokens = JwtTokenIssuer(
        load_jwt_secret(settings.jwt_secret.get_secret_value(), var_dir=settings.var_path),
        SqlRefreshTokenStore(engine),
        access_ttl=STAFF_TOKEN_TTL,
    )
    return OperationsDesk(
        staff=StaffDirectory(store),
        staff_store=store,
        audit=AuditLog(SqlAuditStore(engine)),
        tokens=tokens,
        clock=platform.lending.clock,
        engine=engine,
        servicing=build_servicing(platform.lending, settings=settings, vault=platform.vault),
        disbursement=platform.disbursement,
        today=platform.lending.today,
    )


@dataclass
class StaffAdministration:
    """Creating staff accounts from the command line, with the audit record beside."""

    directory: StaffDirectory
    audit: AuditLog
    engine: sa.Engine

    def close(self) -> None:
        self.engine.dispose()


def build_staff_administration(engine: sa.Engine) -> StaffAdministration:
    return StaffAdministration(
        StaffDirectory(SqlStaffUserStore(engine)), AuditLog(SqlAuditStore(engine)), engine
    )
